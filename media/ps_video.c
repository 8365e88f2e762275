/*
 * Video side of the PS demuxer: deciding where an access unit ends, and dating it.
 *
 * The PES layer does not say where a frame ends: cameras split a frame over several PES (the PTS only in
 * the first, or repeated), and some send PES_packet_length 0. What does say it:
 *   - a PES with a different PTS: the previous frame is complete (always reliable, but one packet late);
 *   - the RTP marker (frame_end): usually on the last packet of a frame, but some senders set it per mux
 *     buffer or never. It is believed only after the stream has shown, PS_MARKER_TRUST_AFTER times, that
 *     the PES following a marker carries a new PTS; a marker followed by a PES with the same PTS or none, or
 *     one that arrives in the middle of a PES, means markers are not frame ends and they are ignored from
 *     then on. A stream that never carries a PTS has nothing better than markers: they are used;
 *   - flush (end of stream).
 * After a loss the frame being built is dropped, and PES without a PTS (the rest of a frame whose start was
 * lost) are skipped until a PES with a PTS starts a frame.
 */
#include "media/ps_internal.h"

#include <string.h>

static struct video_es_out out(struct ps_demux *d)
{
    return (struct video_es_out){&d->cb, d->arg, &d->stats.video_frames, &d->stats.frames_dropped};
}

void ps_video_init(struct ps_demux *d)
{
    struct ps_video *v = &d->video;
    memset(v, 0, sizeof *v);
    video_es_init(&v->es, d->max_frame);
    v->marker_trust = PS_MARKER_UNKNOWN;
}

void ps_video_destroy(struct ps_demux *d)
{
    video_es_destroy(&d->video.es);
}

void ps_video_complete(struct ps_demux *d)
{
    struct video_es_out o = out(d);
    video_es_complete(&d->video.es, &o);
}

void ps_video_set_codec(struct ps_demux *d, enum codec_id codec)
{
    struct ps_video *v = &d->video;
    if (v->es.track.codec == codec && v->es.unsupported == !video_es_remuxes(codec)) return;
    ps_video_complete(d); /* the frame in progress belongs to the old codec */
    struct video_es_out o = out(d);
    video_es_set_codec(&v->es, codec, &o);
}

static bool markers_end_frames(const struct ps_video *v)
{
    if (v->marker_trust == PS_MARKER_DISTRUSTED) return false;
    return v->marker_trust == PS_MARKER_TRUSTED || !v->pts_seen;
}

/* The PES after a marker tells whether that marker was a frame end. */
static void judge_marker(struct ps_video *v, bool has_pts, int64_t pts)
{
    v->marker_pending = false;
    if (!has_pts && !v->pts_seen) return; /* no PTS anywhere: nothing to judge by */
    if (has_pts && pts != v->marker_pts) {
        if (v->marker_trust == PS_MARKER_UNKNOWN && ++v->marker_confirmations >= PS_MARKER_TRUST_AFTER)
            v->marker_trust = PS_MARKER_TRUSTED;
    } else {
        v->marker_trust = PS_MARKER_DISTRUSTED;
    }
}

bool ps_video_pes_start(struct ps_demux *d, bool has_pts, int64_t pts, int64_t dts)
{
    struct ps_video *v = &d->video;
    if (v->es.unsupported) return false;
    if (v->marker_pending) judge_marker(v, has_pts, pts);
    if (has_pts) {
        v->pts_seen = true;
        v->wait_pts = false;
        if (v->es.au_open && (!v->es.au_has_pts || pts != v->es.au_pts)) ps_video_complete(d);
    } else if (v->wait_pts && v->pts_seen) {
        return false; /* the rest of a frame whose start was lost */
    }
    video_es_open(&v->es, has_pts, pts, dts);
    return true;
}

void ps_video_payload(struct ps_demux *d, const uint8_t *p, size_t n)
{
    video_au_feed(&d->video.es.au, p, n);
}

void ps_video_frame_end(struct ps_demux *d, bool mid_pes)
{
    struct ps_video *v = &d->video;
    if (!v->stream_id || v->es.unsupported) return;
    if (mid_pes) { /* the "frame" ends inside a PES: markers are not frame ends here */
        v->marker_trust = PS_MARKER_DISTRUSTED;
        return;
    }
    if (!v->es.au_open) return;
    v->marker_pending = true;
    v->marker_pts = v->es.au_pts;
    if (markers_end_frames(v)) ps_video_complete(d);
}

void ps_video_loss(struct ps_demux *d)
{
    struct ps_video *v = &d->video;
    struct video_es_out o = out(d);
    video_es_loss(&v->es, &o);
    v->wait_pts = true;
    v->marker_pending = false;
}
