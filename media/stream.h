/*
 * An ingest stream on its worker: RTP in (UDP per-stream port, shared port by SSRC, TCP passive/active with
 * RFC 4571 framing) -> reorder window and loss accounting -> PS demux -> frames handed to a sink. The sink
 * (relay/live.c: FLV tags, GOP cache, viewers) is attached at open time; media does not know about viewers.
 * Everything here runs on the owning worker's thread.
 */
#ifndef GB_MEDIA_STREAM_H
#define GB_MEDIA_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/directory.h"
#include "media/frame.h"
#include "media/stream_stats.h"
#include "media/worker.h"

struct stream_sink_ops {
    void (*on_track)(void *sink, const struct media_track *track);
    void (*on_frame)(void *sink, struct media_frame *frame); /* takes ownership of frame->buf */
    /* The stream is closing (reason: "api", "rtp timeout", "shutdown", ...): release viewers. */
    void (*on_close)(void *sink, const char *reason);
    /* Adds the sink's own counters (viewers...) to a stats snapshot. */
    void (*fill_stats)(void *sink, struct stream_stats *st);
};

/* Opens the stream described by e on worker w (the caller already put e in the directory). Binds the
 * per-stream port or connects for tcp-active. Returns 0 or an errno with a message in err. */
int stream_open(struct worker *w, const struct stream_entry *e, const struct stream_sink_ops *ops, void *sink,
                struct stream **out, char *err, size_t errsize);
/* Closes and frees the stream, removes it from the directory, notifies the sink and the close hook. */
void stream_close(struct stream *s, const char *reason);

const char *stream_id(const struct stream *s);
void *stream_sink(const struct stream *s);
const struct stream_entry *stream_entry(const struct stream *s);
/* Current counters (with the sink's). */
void stream_get_stats(struct stream *s, struct stream_stats *out);
/* A viewer is waiting for / has seen media: true once the first keyframe went to the sink. */
bool stream_has_keyframe(const struct stream *s);

/* Debug dump of the raw RTP (test_rtp format) to `path`, at most max_bytes and `seconds`; the file is written
 * by a helper thread when the dump ends (limit, stream close, or stream_dump_stop). EBUSY when one runs. */
int stream_dump_start(struct stream *s, const char *path, size_t max_bytes, int seconds);
void stream_dump_stop(struct stream *s, const char *why);
bool stream_dump_active(const struct stream *s);

/* Holds (true) or restarts (false) the stream's RTP timeout: a paused playback sends nothing and must stay
 * open for as long as it is paused. */
void stream_hold_timeout(struct stream *s, bool held);

/* Called once per closed stream on the worker thread (app uses it to BYE GB streams, release ports). */
void stream_set_close_hook(void (*fn)(const char *id, const char *reason, const struct stream_entry *e));

/* --- used by the worker --- */
void stream_input_packet(struct stream *s, const uint8_t *p, size_t len, const struct sockaddr *from,
                         uint64_t now_ms);
/* The oldest shared-port stream that has received nothing yet (media.shared_port_any_ssrc), or NULL. */
struct stream *stream_find_waiting_shared(struct worker *w);
/* A TCP connection accepted on the shared RTP port: its first packet's SSRC tells whose it is. */
void stream_accept_shared_tcp(struct worker *w, int fd, const struct sockaddr *from);
void stream_tick_all(struct worker *w, uint64_t now_ms);
void stream_close_all(struct worker *w, const char *reason);

#endif
