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

static struct video_es_out out(struct ts_demux *d)
{
    return (struct video_es_out){&d->cb, d->arg, &d->stats.video_frames, &d->stats.frames_dropped};
}

void ts_video_init(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    memset(v, 0, sizeof *v);
    ts_pes_reset(&v->pes, TS_PID_NONE, 0);
    video_es_init(&v->es, d->max_frame);
}

void ts_video_destroy(struct ts_demux *d)
{
    video_es_destroy(&d->video.es);
}

void ts_video_complete(struct ts_demux *d)
{
    struct video_es_out o = out(d);
    video_es_complete(&d->video.es, &o);
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
    if (v->es.track.codec == codec && v->es.unsupported == !video_es_remuxes(codec) && v->es.announced)
        return; /* a new PID only */
    struct video_es_out o = out(d);
    video_es_set_codec(&v->es, codec, &o);
}

bool ts_video_pes_start(struct ts_demux *d, bool has_pts, int64_t pts, int64_t dts)
{
    struct ts_video *v = &d->video;
    if (v->es.unsupported) return false;
    if (has_pts) {
        v->wait_pts = false;
        if (v->es.au_open && (!v->es.au_has_pts || pts != v->es.au_pts)) ts_video_complete(d);
    } else if (v->wait_pts) {
        return false; /* the rest of a unit whose start was lost */
    }
    video_es_open(&v->es, has_pts, pts, dts);
    return true;
}

void ts_video_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    video_au_feed(&d->video.es.au, p, n);
}

void ts_video_loss(struct ts_demux *d)
{
    struct ts_video *v = &d->video;
    struct video_es_out o = out(d);
    video_es_loss(&v->es, &o);
    v->wait_pts = true;
}
