/*
 * The prepared clip: every RTP packet of one pass over the input, built once and shared read-only by all
 * streams (see sim_send.h for why). Each packet is stored as a 12-byte RTP header template (payload type and
 * marker final; seq, timestamp and SSRC zero, patched per stream at send time) followed by its payload.
 *
 * Elementary-stream inputs are muxed here with media/ps_mux (which is where the sender shapes live: PES
 * split, PES length 0, PSM policy, sparse packs) and cut into RTP payloads of at most --payload bytes, or at
 * every PS unit with --one-pes-per-packet. Raw PS files are cut into payloads as they are. Captures (--rtp)
 * are kept packet by packet with their own headers (sim_clip_from_rtp_file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "sim_send.h"

#define RTP_PAYLOAD_TYPE_PS 96
#define PES_HEADER_MAX      19

void sim_clip_free(struct sim_clip *c)
{
    free(c->data);
    free(c->packets);
    free(c->frames);
    free(c->ts_fields);
    memset(c, 0, sizeof *c);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return -ENOMEM;
    *p = q, *cap = n;
    return 0;
}

/* Appends one packet: `head` (RTP header bytes) then `payload`. */
static int clip_add_packet(struct sim_clip *c, const uint8_t *head, size_t head_len, const uint8_t *payload,
                           size_t payload_len, size_t padding_len, uint16_t seq_offset)
{
    size_t total = head_len + payload_len + padding_len;
    if (total > UINT16_MAX || c->len + total > UINT32_MAX) return -E2BIG;
    if (grow((void **)&c->data, &c->cap, c->len + total, 1) ||
        grow((void **)&c->packets, &c->packet_cap, c->packet_count + 1, sizeof *c->packets))
        return -ENOMEM;
    memcpy(c->data + c->len, head, head_len);
    memcpy(c->data + c->len + head_len, payload, payload_len + padding_len);
    c->packets[c->packet_count++] = (struct sim_packet){.off = (uint32_t)c->len,
                                                        .len = (uint16_t)total,
                                                        .payload_off = (uint16_t)head_len,
                                                        .payload_len = (uint16_t)payload_len,
                                                        .seq_offset = seq_offset};
    c->len += total;
    return 0;
}

static int clip_add_frame(struct sim_clip *c, int64_t rtp_ts, int64_t send_ts, uint32_t first, bool video,
                          bool key)
{
    if (grow((void **)&c->frames, &c->frame_cap, c->frame_count + 1, sizeof *c->frames)) return -ENOMEM;
    uint32_t count = (uint32_t)(c->packet_count - first);
    c->frames[c->frame_count++] = (struct sim_frame){rtp_ts, send_ts, first, count, video, key};
    if (count > c->max_frame_packets) c->max_frame_packets = count;
    return 0;
}

static bool marker_for(const struct sim_options *o, bool last_of_frame)
{
    return o->marker == SIM_MARKER_EVERY_PACKET || (o->marker == SIM_MARKER_FRAME && last_of_frame);
}

/* Cuts one frame's PS bytes into RTP packets. `cuts` (sorted offsets) are extra packet starts: the PS unit
 * starts with --one-pes-per-packet. */
static int packetize(struct sim_clip *c, const struct sim_options *o, const uint8_t *ps, size_t len,
                     const size_t *cuts, size_t cut_count, int64_t ts, bool video, bool key)
{
    uint8_t pt = (uint8_t)(o->pt >= 0 ? o->pt : RTP_PAYLOAD_TYPE_PS);
    uint32_t first = (uint32_t)c->packet_count;
    size_t off = 0, next_cut = 0;
    while (off < len) {
        while (next_cut < cut_count && cuts[next_cut] <= off) next_cut++;
        size_t end = off + o->payload_max < len ? off + o->payload_max : len;
        if (next_cut < cut_count && cuts[next_cut] < end) end = cuts[next_cut];
        uint8_t head[RTP_HEADER_SIZE];
        rtp_write_header(head, pt, marker_for(o, end == len), 0, 0, 0);
        int err = clip_add_packet(c, head, sizeof head, ps + off, end - off, 0, (uint16_t)c->packet_count);
        if (err) return err;
        off = end;
    }
    return clip_add_frame(c, ts, ts, first, video, key);
}

/* ---- elementary streams through the PS muxer ---- */

struct mux_sink {
    uint8_t *buf;
    size_t len, cap;
    size_t *units; /* offsets of PS unit starts */
    size_t unit_count, unit_cap;
};

static int mux_sink_write(void *arg, const uint8_t *data, size_t len, bool unit_start)
{
    struct mux_sink *s = arg;
    if (grow((void **)&s->buf, &s->cap, s->len + len, 1)) return -ENOMEM;
    if (unit_start) {
        if (grow((void **)&s->units, &s->unit_cap, s->unit_count + 1, sizeof *s->units)) return -ENOMEM;
        s->units[s->unit_count++] = s->len;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    return 0;
}

static struct ps_mux *mux_for(const struct sim_options *o)
{
    struct ps_mux_config cfg = {.video = o->vcodec,
                                .audio = o->acodec,
                                .psm = o->psm,
                                .max_pes_payload = o->pes_split,
                                .video_pes_len_zero = o->pes_len_zero,
                                .sparse_packs = o->sparse_packs};
    if (o->one_pes_per_packet) { /* a whole PES (header included) must fit one RTP payload */
        uint32_t fit = o->payload_max - PES_HEADER_MAX;
        if (!cfg.max_pes_payload || cfg.max_pes_payload > fit) cfg.max_pes_payload = fit;
    }
    return ps_mux_create(&cfg);
}

static int clip_from_es(const struct sim_options *o, struct sim_clip *c, const struct sim_input *v,
                        const struct sim_input *a)
{
    struct ps_mux *mux = mux_for(o);
    if (!mux) {
        fprintf(stderr, "gbsim send: cannot mux %s + %s into PS\n", codec_name(o->vcodec),
                codec_name(o->acodec));
        return -EINVAL;
    }
    /* one pass lasts as long as the video (audio cut to it), or the audio when there is no video */
    if (v->count) {
        c->period = (int64_t)((double)v->count * SIM_CLOCK_HZ / o->fps + 0.5);
        c->frame_duration = v->frame_duration;
    } else {
        c->period = a->frames[a->count - 1].ts + a->frame_duration;
        c->frame_duration = a->frame_duration;
    }
    struct mux_sink sink = {0};
    int err = 0;
    size_t vi = 0, ai = 0;
    while (!err && (vi < v->count || ai < a->count)) {
        bool take_video = vi < v->count && (ai >= a->count || v->frames[vi].ts <= a->frames[ai].ts);
        const struct sim_input *in = take_video ? v : a;
        const struct sim_input_frame *f = &in->frames[take_video ? vi++ : ai++];
        if (f->ts >= c->period) continue;
        struct ps_mux_frame mf = {.codec = in->codec,
                                  .data = in->data + f->off,
                                  .len = f->len,
                                  .pts = f->ts,
                                  .dts = f->ts,
                                  .key = f->key};
        sink.len = sink.unit_count = 0;
        err = ps_mux_write(mux, &mf, mux_sink_write, &sink);
        if (!err)
            err = packetize(c, o, sink.buf, sink.len, sink.units, o->one_pes_per_packet ? sink.unit_count : 0,
                            f->ts, take_video, f->key);
    }
    c->seq_span = (uint32_t)c->packet_count;
    free(sink.buf);
    free(sink.units);
    ps_mux_destroy(mux);
    return err;
}

static int clip_from_ps(const struct sim_options *o, struct sim_clip *c, const struct sim_input *ps)
{
    int err = 0;
    for (size_t i = 0; i < ps->count && !err; i++) {
        const struct sim_input_frame *f = &ps->frames[i];
        err = packetize(c, o, ps->data + f->off, f->len, NULL, 0, f->ts, f->video, f->key);
    }
    c->period = ps->frames[ps->count - 1].ts + ps->frame_duration;
    c->frame_duration = ps->frame_duration;
    c->seq_span = (uint32_t)c->packet_count;
    return err;
}

int sim_clip_build(const struct sim_options *o, struct sim_clip *c)
{
    memset(c, 0, sizeof *c);
    struct sim_input v = {0}, a = {0};
    int err = 0;
    if (o->rtp_path) {
        err = sim_clip_from_rtp_file(o, c);
    } else if (o->ps_path) {
        err = sim_input_ps(o->ps_path, &v);
        if (!err) err = clip_from_ps(o, c, &v);
    } else {
        if (o->video_path) err = sim_input_annexb(o->video_path, o->vcodec, o->fps, &v);
        if (!err && o->audio_path) err = sim_input_audio(o->audio_path, o->acodec, &a);
        if (!err) err = clip_from_es(o, c, &v, &a);
    }
    sim_input_free(&v);
    sim_input_free(&a);
    if (!err && !c->packet_count) {
        fputs("gbsim send: nothing to send from these inputs\n", stderr);
        err = -EINVAL;
    }
    if (!err) err = sim_clip_index_timestamps(c);
    if (err == -E2BIG) fputs("gbsim send: a packet would exceed 65535 bytes\n", stderr);
    if (err) sim_clip_free(c);
    return err;
}
