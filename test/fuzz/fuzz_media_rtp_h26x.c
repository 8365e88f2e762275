/*
 * libFuzzer target for media/rtp_h26x: the input is a sequence of RTP packets for one depacketizer. The
 * first byte picks the codec, DONL, a small max_frame and whether losses are announced; then each packet is
 * [length (1 byte)][flags (1 byte): marker, timestamp step, sequence gap, mark_loss][payload], so packet
 * boundaries, markers, timestamps and losses are fuzzed along with the payload bytes. Every frame that
 * comes out is checked against frame.h's layout (headroom, tailroom, length-prefixed NAL units covering the
 * payload exactly, no AUD, no trailing zero) and the statistics are checked for consistency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "media/rtp_h26x.h"

struct fuzz_state {
    size_t max_frame;
    enum codec_id codec;
    unsigned long frames, keys, tracks;
    int64_t last_dts;
    bool have_dts;
};

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

static void on_frame(void *arg, struct media_frame *f)
{
    struct fuzz_state *s = arg;
    s->frames++;
    s->keys += f->key;
    FUZZ_CHECK(f->buf && f->off >= FRAME_HEADROOM && f->len > 0 && f->len <= s->max_frame);
    FUZZ_CHECK((size_t)f->off + f->len + FRAME_TAILROOM <= f->buf->cap);
    FUZZ_CHECK(f->codec == CODEC_H264 || f->codec == CODEC_H265);
    /* dts never goes back, except across a timeline reset (pts more than 1 s before the last dts) */
    if (s->have_dts && f->dts < s->last_dts) FUZZ_CHECK(s->last_dts - f->dts > 90000);
    s->last_dts = f->dts;
    s->have_dts = true;
    const uint8_t *p = f->buf->data + f->off;
    uint32_t pos = 0;
    while (pos < f->len) {
        FUZZ_CHECK(f->len - pos >= 4);
        uint32_t n = ((uint32_t)p[pos] << 24) | ((uint32_t)p[pos + 1] << 16) | ((uint32_t)p[pos + 2] << 8) |
                     p[pos + 3];
        FUZZ_CHECK(n > 0 && n <= f->len - pos - 4);
        uint8_t type = f->codec == CODEC_H264 ? h264_nal_type(p[pos + 4]) : h265_nal_type(p[pos + 4]);
        FUZZ_CHECK(type != (f->codec == CODEC_H264 ? H264_NAL_AUD : H265_NAL_AUD));
        FUZZ_CHECK(p[pos + 4 + n - 1] != 0);
        pos += 4 + n;
    }
    media_frame_release(f);
}

static void on_track(void *arg, const struct media_track *t)
{
    struct fuzz_state *s = arg;
    s->tracks++;
    FUZZ_CHECK(t->sps_len <= TRACK_PARAM_MAX && t->pps_len <= TRACK_PARAM_MAX &&
               t->vps_len <= TRACK_PARAM_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    static const struct ps_demux_callbacks cb = {on_frame, on_track};
    struct fuzz_state s = {.max_frame = (mode & 4) ? 2000 : 4u << 20};
    s.codec = (mode & 1) ? CODEC_H265 : CODEC_H264;
    struct rtp_h26x *d = rtp_h26x_create(s.codec, &cb, &s, s.max_frame);
    FUZZ_CHECK(d != NULL);
    if (mode & 2) rtp_h26x_set_donl(d, true);
    uint16_t seq = 1000;
    uint32_t ts = (mode & 8) ? 0xfffff000u : 0;
    size_t packets = 0;
    while (size >= 2) {
        size_t n = data[0];
        uint8_t flags = data[1];
        data += 2;
        size -= 2;
        if (n > size) n = size;
        struct rtp_packet pkt;
        memset(&pkt, 0, sizeof pkt);
        pkt.version = 2;
        pkt.marker = flags & 1;
        pkt.payload_type = (mode & 1) ? 99 : 98;
        if (flags & 2) ts += (flags & 4) ? 3600 : (uint32_t)-3600; /* B-frame order too */
        if (flags & 8) ts += 0x40000000u;                          /* a jump */
        if ((flags & 0x30) == 0x30) seq++;                         /* a gap */
        if ((flags & 0xc0) == 0xc0 && (mode & 16)) rtp_h26x_mark_loss(d);
        pkt.seq = seq++;
        pkt.timestamp = ts;
        pkt.payload = data;
        pkt.payload_len = n;
        pkt.data = data;
        pkt.size = n;
        rtp_h26x_input(d, &pkt);
        packets++;
        data += n;
        size -= n;
    }
    rtp_h26x_flush(d);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(d);
    FUZZ_CHECK(st->packets == packets);
    FUZZ_CHECK(st->video_frames == s.frames && st->keyframes == s.keys);
    rtp_h26x_destroy(d);
    return 0;
}
