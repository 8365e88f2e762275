/*
 * Private to the PS and TS demultiplexers (media/ps_video.c, media/ts_video.c): a video elementary stream's
 * access units, built by video_au.h, opened, dated and emitted. Where a unit ends is the container's
 * decision (PTS change, RTP marker, loss, flush); what happens then is the same for both containers and
 * lives here once: a unit whose PES carried no PTS is dated one frame after the previous unit (the frame
 * duration follows the stream's own DTS steps), the track is announced before the first frame and after
 * each parameter-set change, and frames go to the demuxer's callbacks.
 */
#ifndef GB_MEDIA_VIDEO_ES_H
#define GB_MEDIA_VIDEO_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/ps_demux.h"
#include "media/video_au.h"

#define VIDEO_ES_TIME_UNKNOWN INT64_MIN

struct video_es {
    bool announced;
    bool unsupported; /* a codec recognised but not remuxed (MPEG-4, SVAC): payload skipped */
    struct media_track track;
    struct video_au au;
    /* the access unit being built */
    bool au_open, au_has_pts;
    int64_t au_pts, au_dts;
    /* timing of the previous access unit, to date units whose PES carried no PTS */
    int64_t last_pts, last_dts, frame_duration;
};

/* Where a video stream's frames and counts go: the owning demuxer's callbacks and statistics. */
struct video_es_out {
    const struct ps_demux_callbacks *cb;
    void *arg;
    uint64_t *video_frames, *frames_dropped;
};

void video_es_init(struct video_es *v, size_t max_frame);
void video_es_destroy(struct video_es *v);
/* H.264 and H.265 are remuxed; other video codecs are recognised and reported only. */
bool video_es_remuxes(enum codec_id codec);
/* The container named a new codec (PSM, PMT): the track starts over (parameter sets forgotten) and a codec
 * that is recognised but not remuxed is reported at once. The caller completes the unit in progress first. */
void video_es_set_codec(struct video_es *v, enum codec_id codec, const struct video_es_out *o);
/* Reports the track now (also for a codec that is recognised but not remuxed). */
void video_es_announce(struct video_es *v, const struct video_es_out *o);
/* A PES starts: opens a unit dated by its PTS/DTS, or one frame after the previous unit. Nothing when a
 * unit is already open (the PES continues it). */
void video_es_open(struct video_es *v, bool has_pts, int64_t pts, int64_t dts);
/* The open unit is complete: emitted (or counted as dropped when it was oversize or had no codec). */
void video_es_complete(struct video_es *v, const struct video_es_out *o);
/* Packets were lost: the open unit is dropped (counted when it had data). */
void video_es_loss(struct video_es *v, const struct video_es_out *o);

#endif
