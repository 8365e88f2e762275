/*
 * RTP H.264/H.265 depacketizer, packet level (see rtp_h26x.h for the contract, rtp_h26x_internal.h for the
 * split): sequence gaps, access-unit boundaries, damage and recovery after loss, timing, emitting frames.
 *
 * NAL units reach the access-unit builder (video_au) as Annex-B: a 4-byte start code, then the NAL bytes.
 * The builder turns the start code back into the NAL unit's length prefix, so each byte is still copied
 * once; reusing it keeps one implementation of AUD dropping, parameter-set tracking and keyframe flags for
 * PS and RTP alike. A start code cannot appear inside a NAL unit (emulation prevention), so a fragment
 * boundary can never be taken for one.
 */
#include "media/rtp_h26x_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RTP_H26X_DEFAULT_MAX_FRAME (4u << 20)
/* A pts this far from the last dts is a discontinuity (a sender restart, a long gap), not B-frame
 * reordering: backwards, reordering never reaches 1 s (8 frames even at 8 fps). */
#define DTS_JUMP_BACK    90000
#define DTS_JUMP_FORWARD (10 * 90000)

static const uint8_t start_code[4] = {0, 0, 0, 1};

struct rtp_h26x *rtp_h26x_create(enum codec_id codec, const struct ps_demux_callbacks *cb, void *arg,
                                 size_t max_frame)
{
    if (codec != CODEC_H264 && codec != CODEC_H265) return NULL;
    struct rtp_h26x *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->codec = codec;
    if (cb) d->cb = *cb;
    d->arg = arg;
    d->track.codec = codec;
    video_au_init(&d->au, codec, max_frame ? max_frame : RTP_H26X_DEFAULT_MAX_FRAME, &d->track);
    return d;
}

void rtp_h26x_destroy(struct rtp_h26x *d)
{
    if (!d) return;
    video_au_destroy(&d->au);
    free(d);
}

void rtp_h26x_set_donl(struct rtp_h26x *d, bool present)
{
    d->donl = d->codec == CODEC_H265 && present;
}

const struct rtp_h26x_stats *rtp_h26x_get_stats(const struct rtp_h26x *d)
{
    return &d->stats;
}

void rtp_h26x_nal_begin(struct rtp_h26x *d, const uint8_t *hdr, size_t hdr_len, const uint8_t *body, size_t n)
{
    d->stats.nal_units++;
    video_au_feed(&d->au, start_code, sizeof start_code);
    video_au_feed(&d->au, hdr, hdr_len);
    if (n) video_au_feed(&d->au, body, n);
}

void rtp_h26x_nal_more(struct rtp_h26x *d, const uint8_t *body, size_t n)
{
    if (n) video_au_feed(&d->au, body, n);
}

/* ---- timing ---- */

static int64_t unwrap_ts(struct rtp_h26x *d, uint32_t raw)
{
    if (!d->ts_started) {
        d->ts_started = true;
        d->ts_last = raw;
    } else {
        d->ts_last += (int32_t)(raw - d->ts_last_raw); /* the shorter way round the 32-bit circle */
    }
    d->ts_last_raw = raw;
    return d->ts_last;
}

static void dts_reset(struct rtp_h26x_dts *g)
{
    g->npending = 0;
    g->nhistory = g->history_at = 0;
    g->delay = 0;
}

/* The decoding time of the next unit in decoding order, presented at pts. */
static int64_t dts_next(struct rtp_h26x_dts *g, int64_t pts)
{
    if (g->started && (pts > g->last_dts + DTS_JUMP_FORWARD || pts < g->last_dts - DTS_JUMP_BACK)) {
        dts_reset(g);
        g->started = false; /* a new timeline: dts may step back with it */
    }
    /* Frames decoded earlier but presented later than this one: that many frames of reordering. */
    uint8_t later = 0;
    for (uint8_t i = 0; i < g->nhistory; i++) later += g->history[i] > pts;
    if (later > g->delay) g->delay = later > RTP_H26X_MAX_REORDER ? RTP_H26X_MAX_REORDER : later;
    g->history[g->history_at] = pts;
    g->history_at = (uint8_t)((g->history_at + 1) % RTP_H26X_PTS_HISTORY);
    if (g->nhistory < RTP_H26X_PTS_HISTORY) g->nhistory++;

    uint8_t i = g->npending;
    while (i > 0 && g->pending[i - 1] > pts) {
        g->pending[i] = g->pending[i - 1];
        i--;
    }
    g->pending[i] = pts;
    g->npending++;

    int64_t dts = g->started ? g->last_dts : pts;
    if (g->npending > g->delay) {
        dts = g->pending[0];
        memmove(g->pending, g->pending + 1, (size_t)(g->npending - 1) * sizeof g->pending[0]);
        g->npending--;
    }
    if (g->started && dts < g->last_dts) dts = g->last_dts;
    g->started = true;
    g->last_dts = dts;
    return dts;
}

/* ---- access units ---- */

static void complete_au(struct rtp_h26x *d)
{
    if (!d->au_open) return;
    d->au_open = false;
    struct media_frame f;
    enum video_au_result r = video_au_finish(&d->au, &f);
    if (r == VIDEO_AU_OVERSIZE || r == VIDEO_AU_NO_CODEC) d->stats.frames_dropped++;
    if (r != VIDEO_AU_FRAME) return;
    f.pts = unwrap_ts(d, d->au_ts);
    f.dts = dts_next(&d->dts, f.pts);
    d->track.codec = f.codec;
    if (!d->announced || d->au.params_changed) {
        d->announced = true;
        d->au.params_changed = false;
        if (d->cb.on_track) d->cb.on_track(d->arg, &d->track);
    }
    d->stats.video_frames++;
    if (f.key) d->stats.keyframes++;
    if (d->cb.on_frame)
        d->cb.on_frame(d->arg, &f);
    else
        media_frame_release(&f);
}

void rtp_h26x_damage(struct rtp_h26x *d)
{
    if (d->au_open) {
        if (video_au_discard(&d->au)) d->stats.frames_dropped++;
        d->au_open = false;
        d->skipping = true;
        d->skip_ts = d->au_ts;
    }
    d->fu_open = false;
    d->need_clean_start = true;
}

void rtp_h26x_mark_loss(struct rtp_h26x *d)
{
    rtp_h26x_damage(d);
    d->have_seq = false; /* the caller saw the gap: do not count it again */
}

void rtp_h26x_flush(struct rtp_h26x *d)
{
    if (d->fu_open) { /* the stream ended inside a fragmented NAL unit: its unit is incomplete */
        d->stats.fu_broken++;
        rtp_h26x_damage(d);
    }
    complete_au(d);
}

/* A packet with a new timestamp while recovering: it may start the next unit only if it starts a
 * picture; otherwise its whole unit is skipped too. */
static bool may_open_au(struct rtp_h26x *d, const struct rtp_packet *pkt)
{
    if (!d->need_clean_start) return true;
    if (!rtp_h26x_starts_picture(d->codec, d->donl, pkt->payload, pkt->payload_len)) {
        d->stats.frames_dropped++;
        return false;
    }
    d->need_clean_start = false;
    return true;
}

int rtp_h26x_input(struct rtp_h26x *d, const struct rtp_packet *pkt)
{
    if (!d || !pkt || (!pkt->payload && pkt->payload_len)) return -EINVAL;
    d->stats.packets++;
    d->stats.bytes_in += pkt->payload_len;

    if (d->have_seq && pkt->seq != d->next_seq) {
        d->stats.seq_gaps++;
        rtp_h26x_damage(d);
    }
    d->have_seq = true;
    d->next_seq = (uint16_t)(pkt->seq + 1);

    uint32_t ts = pkt->timestamp;
    if (d->marker_ended && !d->markers_ignored && ts == d->marker_ts) {
        /* The marker did not end the unit: what was emitted was only its head, skip its tail. */
        d->stats.marker_errors++;
        d->markers_ignored = true;
        d->stats.frames_dropped++;
        d->skipping = true;
        d->skip_ts = ts;
    }
    d->marker_ended = false;
    if (d->au_open && ts != d->au_ts) complete_au(d);
    if (d->skipping) {
        if (ts == d->skip_ts) {
            d->stats.skipped++;
            return 0;
        }
        d->skipping = false;
    }
    if (!d->au_open) {
        if (!may_open_au(d, pkt)) {
            d->skipping = true;
            d->skip_ts = ts;
            d->stats.skipped++;
            return 0;
        }
        d->au_open = true;
        d->au_ts = ts;
    }

    int r = d->codec == CODEC_H264 ? rtp_h264_depacketize(d, pkt->payload, pkt->payload_len)
                                   : rtp_h265_depacketize(d, pkt->payload, pkt->payload_len);
    if (pkt->marker && !d->markers_ignored && d->au_open) {
        complete_au(d);
        d->marker_ended = true;
        d->marker_ts = ts;
    }
    return r < 0 ? r : 0;
}
