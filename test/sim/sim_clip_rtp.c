/*
 * `--rtp FILE`: replay of a ZLMediaKit test_rtp capture (2-byte big-endian length + RTP packet, repeated),
 * e.g.
 * ../shared/samples/hik_704x576_h264_rtp.zlmrtp. Packets are kept whole, with their own headers (CSRCs,
 * extensions, padding, marker, payload type), and on the first pass of stream 0 go out exactly as captured:
 * seq and timestamp offsets from the first packet are kept, so gaps and jumps in the capture survive, and the
 * SSRC stays the capture's unless --ssrc is given. Consecutive packets with one timestamp form a frame, paced
 * by that timestamp (never backward: captures with B-frames still play in order).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "sim_send.h"

#define MAX_TS_JUMP  (10ll * SIM_CLOCK_HZ)
#define DEFAULT_STEP 3600

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Packets are appended to the clip the same way sim_clip.c does it, but whole. */
static int add_packet(struct sim_clip *c, const uint8_t *pkt, size_t len, const struct rtp_packet *rp,
                      uint16_t seq_offset)
{
    if (c->len + len > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 20;
        while (cap < c->len + len) cap *= 2;
        uint8_t *d = realloc(c->data, cap);
        if (!d) return -ENOMEM;
        c->data = d, c->cap = cap;
    }
    if (c->packet_count == c->packet_cap) {
        size_t cap = c->packet_cap ? c->packet_cap * 2 : 4096;
        struct sim_packet *p = realloc(c->packets, cap * sizeof *p);
        if (!p) return -ENOMEM;
        c->packets = p, c->packet_cap = cap;
    }
    memcpy(c->data + c->len, pkt, len);
    c->packets[c->packet_count++] = (struct sim_packet){.off = (uint32_t)c->len,
                                                        .len = (uint16_t)len,
                                                        .payload_off = (uint16_t)(rp->payload - pkt),
                                                        .payload_len = (uint16_t)rp->payload_len,
                                                        .seq_offset = seq_offset};
    c->len += len;
    return 0;
}

static int add_frame(struct sim_clip *c, int64_t rtp_ts, uint32_t first)
{
    if (c->frame_count == c->frame_cap) {
        size_t cap = c->frame_cap ? c->frame_cap * 2 : 1024;
        struct sim_frame *f = realloc(c->frames, cap * sizeof *f);
        if (!f) return -ENOMEM;
        c->frames = f, c->frame_cap = cap;
    }
    c->frames[c->frame_count++] = (struct sim_frame){.rtp_ts = rtp_ts, .first = first, .video = true};
    return 0;
}

/* Marker and payload type rewrites asked for on the command line ("frame" keeps the capture's markers). */
static void rewrite_header(uint8_t *h, const struct sim_options *o)
{
    if (o->marker == SIM_MARKER_NEVER) h[1] &= 0x7F;
    if (o->marker == SIM_MARKER_EVERY_PACKET) h[1] |= 0x80;
    if (o->pt >= 0) h[1] = (uint8_t)((h[1] & 0x80) | o->pt);
}

/* Frame sizes, pacing times, loop period and the spacing used to spread stream starts. */
static void finish_timing(struct sim_clip *c)
{
    int64_t *steps = malloc(c->frame_count * sizeof *steps);
    size_t n = 0;
    for (size_t i = 0; i < c->frame_count; i++) {
        struct sim_frame *f = &c->frames[i];
        uint32_t end = i + 1 < c->frame_count ? c->frames[i + 1].first : (uint32_t)c->packet_count;
        f->count = end - f->first;
        if (f->count > c->max_frame_packets) c->max_frame_packets = f->count;
        int64_t step = i ? f->rtp_ts - c->frames[i - 1].rtp_ts : 0;
        if (steps && step > 0 && step <= MAX_TS_JUMP) steps[n++] = step;
    }
    if (n) qsort(steps, n, sizeof *steps, cmp_i64);
    c->frame_duration = n ? steps[n / 2] : DEFAULT_STEP;
    free(steps);
    for (size_t i = 0; i < c->frame_count; i++) {
        struct sim_frame *f = &c->frames[i];
        if (i == 0) {
            f->send_ts = 0;
            continue;
        }
        int64_t prev = c->frames[i - 1].send_ts;
        int64_t step = f->rtp_ts - c->frames[i - 1].rtp_ts;
        f->send_ts = step < 0 ? prev : step > MAX_TS_JUMP ? prev + c->frame_duration : prev + step;
        if (f->send_ts < prev) f->send_ts = prev;
    }
    c->period = c->frames[c->frame_count - 1].rtp_ts + c->frame_duration;
}

int sim_clip_from_rtp_file(const struct sim_options *o, struct sim_clip *c)
{
    struct sim_input file = {0};
    int err = sim_input_read_file(o->rtp_path, &file);
    if (err) return err;
    size_t pos = 0, bad = 0;
    int64_t rel_ts = 0;
    uint32_t prev_ts = 0;
    uint16_t last_seq_offset = 0;
    while (!err && pos + 2 <= file.len) {
        size_t len = ((size_t)file.data[pos] << 8) | file.data[pos + 1];
        if (len == 0 || len > file.len - pos - 2) {
            fprintf(stderr, "gbsim send: %s: truncated or corrupt record at byte %zu: stopping there\n",
                    o->rtp_path, pos);
            break;
        }
        uint8_t *pkt = file.data + pos + 2;
        pos += 2 + len;
        struct rtp_packet rp;
        if (rtp_parse(pkt, len, &rp) != 0) {
            bad++;
            continue;
        }
        if (!c->packet_count) {
            c->first_ssrc = rp.ssrc, c->first_seq = rp.seq, c->first_ts = rp.timestamp;
            prev_ts = rp.timestamp;
        }
        rel_ts += (int32_t)(rp.timestamp - prev_ts); /* unwraps the 32-bit timestamp */
        bool new_frame = !c->frame_count || rp.timestamp != prev_ts;
        prev_ts = rp.timestamp;
        uint16_t seq_offset = (uint16_t)(rp.seq - c->first_seq);
        last_seq_offset = seq_offset;
        rewrite_header(pkt, o);
        if (new_frame) err = add_frame(c, rel_ts, (uint32_t)c->packet_count);
        if (!err) err = add_packet(c, pkt, len, &rp, seq_offset);
    }
    if (bad) fprintf(stderr, "gbsim send: %s: skipped %zu records that are not RTP\n", o->rtp_path, bad);
    sim_input_free(&file);
    if (!err && !c->packet_count) {
        fprintf(stderr, "gbsim send: %s: no RTP packet found\n", o->rtp_path);
        err = -EINVAL;
    }
    if (err) {
        sim_clip_free(c);
        return err;
    }
    c->replay = true;
    /* seq arithmetic is modulo 2^16, so the span only needs to be right modulo 2^16 (long captures wrap) */
    c->seq_span = (uint32_t)last_seq_offset + 1;
    finish_timing(c);
    return 0;
}
