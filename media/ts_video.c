/*
 * Video side of the MPEG-TS demuxer: where an access unit ends, and its timestamps.
 *
 * A TS muxer puts an access unit (or several, or part of one) in a PES; a PES with a PTS different from the
 * unit being built starts the next unit, a PES without PTS continues it, and flush ends the last one. There
 * is no RTP marker to consult here: RFC 2250 does not define one for TS. After a loss the unit being built
 * is dropped and PES without PTS (the rest of a damaged unit) are skipped until one with a PTS starts a unit.
 * Units without any PTS are dated from the previous unit and the stream's frame duration.
 */
#include "media/ts_internal.h"

#include <string.h>

#define DEFAULT_FRAME_DURATION 3600  /* 25 fps at 90 kHz, until the stream shows its own */
#define MAX_FRAME_DURATION     90000 /* a longer gap is a discontinuity, not a frame rate */

void ts_video_init(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    memset(v, 0, sizeof *v);
    ts_pes_reset(&v->pes, TS_PID_NONE, 0);
    video_au_init(&v->au, CODEC_NONE, d->max_frame, &v->track);
    v->last_pts = v->last_dts = TS_TIME_UNKNOWN;
    v->frame_duration = DEFAULT_FRAME_DURATION;
}

void ts_video_destroy(struct ts_demux *d)
{
    video_au_destroy(&d->video.au);
}

static void announce(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    v->announced = true;
    v->au.params_changed = false;
    if (d->cb.on_track) d->cb.on_track(d->arg, &v->track);
}

void ts_video_complete(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    if (!v->au_open) return;
    v->au_open = false;
    struct media_frame f;
    enum video_au_result r = video_au_finish(&v->au, &f);
    if (r == VIDEO_AU_OVERSIZE || r == VIDEO_AU_NO_CODEC) d->stats.frames_dropped++;
    if (r != VIDEO_AU_FRAME) return;
    f.pts = v->au_pts;
    f.dts = v->au_dts;
    if (v->last_dts != TS_TIME_UNKNOWN && f.dts > v->last_dts && f.dts - v->last_dts <= MAX_FRAME_DURATION)
        v->frame_duration = f.dts - v->last_dts;
    v->last_pts = f.pts;
    v->last_dts = f.dts;
    v->track.codec = f.codec;
    if (!v->announced || v->au.params_changed) announce(d);
    d->stats.video_frames++;
    if (d->cb.on_frame)
        d->cb.on_frame(d->arg, &f);
    else
        media_frame_release(&f);
}

void ts_video_set_stream(struct ts_demux *d, uint16_t pid, uint8_t stream_type)
{
    struct ts_video *v = &d->video;
    if (v->pes.pid == pid && v->pes.stream_type == stream_type) return;
    ts_video_complete(d); /* the unit in progress belongs to the old stream */
    ts_pes_reset(&v->pes, pid, stream_type);
    v->wait_pts = false;
    if (pid == TS_PID_NONE) return;
    enum codec_id codec = codec_from_ps_stream_type(stream_type);
    bool supported = codec == CODEC_H264 || codec == CODEC_H265;
    if (v->track.codec == codec && v->unsupported == !supported && v->announced) return; /* a new PID only */
    v->unsupported = !supported;
    v->track.codec = codec;
    v->track.vps_len = v->track.sps_len = v->track.pps_len = 0;
    v->track.width = v->track.height = v->track.fps_num = v->track.fps_den = 0;
    v->au.codec = supported ? codec : CODEC_NONE;
    v->au.params_changed = true;
    /* Recognised but not remuxed: report the track once so the API can show what the device sends. */
    if (!supported) announce(d);
}

bool ts_video_pes_start(struct ts_demux *d, bool has_pts, int64_t pts, int64_t dts)
{
    struct ts_video *v = &d->video;
    if (v->unsupported) return false;
    if (has_pts) {
        v->wait_pts = false;
        if (v->au_open && (!v->au_has_pts || pts != v->au_pts)) ts_video_complete(d);
    } else if (v->wait_pts) {
        return false; /* the rest of a unit whose start was lost */
    }
    if (!v->au_open) {
        v->au_open = true;
        v->au_has_pts = has_pts;
        if (has_pts) {
            v->au_pts = pts;
            v->au_dts = dts;
        } else if (v->last_pts != TS_TIME_UNKNOWN) {
            v->au_pts = v->last_pts + v->frame_duration;
            v->au_dts = v->last_dts + v->frame_duration;
        } else {
            v->au_pts = v->au_dts = 0;
        }
    }
    return true;
}

void ts_video_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    video_au_feed(&d->video.au, p, n);
}

void ts_video_loss(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    if (v->au_open && video_au_discard(&v->au)) d->stats.frames_dropped++;
    v->au_open = false;
    v->wait_pts = true;
}
