/*
 * A live stream as its viewers see it: the sink of a media stream. Turns frames into FLV tags once, keeps the
 * sequence headers, onMetaData and a GOP cache (so a new viewer starts at the latest keyframe at once), and
 * fans each tag out to every viewer by reference. Owner worker thread only.
 */
#ifndef GB_RELAY_LIVE_H
#define GB_RELAY_LIVE_H

#include <stdbool.h>

#include "media/stream.h"
#include "relay/viewer.h"

struct live;

extern const struct stream_sink_ops live_sink_ops;

struct live *live_create(struct worker *w, const char *id);
/* The live stream of `id` on this worker, or NULL. */
struct live *live_find(struct worker *w, const char *id);
/* Adds a viewer; it starts (FLV header, metadata, sequence headers, GOP) at once when a keyframe is known,
 * else at the first keyframe. */
void live_add_viewer(struct live *l, struct viewer *v);
void live_remove_viewer(struct live *l, struct viewer *v);
int live_viewer_count(const struct live *l);
/* Playback at a speed (thousandths, 250..8000): output timestamps rescaled from the next frame on, continuous
 * (media/timescale.h); `discontinuity` after a seek or a resume. */
void live_set_speed(struct live *l, uint32_t speed_milli, bool discontinuity);
/* Called by viewers' on_close. */
void live_viewer_closed(struct viewer *v);
/* /metrics lines about memory: GOP cache bytes, frame buffers in use / pooled, the C heap. */
struct sbuf;
void live_memory_metrics(struct sbuf *out);

/* Hooks, called on the owning worker: the viewer count changed (app uses it for stream.idle_close_s); the
 * stream's first video keyframe (or first audio frame of an audio-only stream) went out. */
void live_set_viewers_hook(void (*fn)(const char *id, int viewers));
void live_set_first_frame_hook(void (*fn)(const char *id));

#endif
