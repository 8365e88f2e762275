/*
 * libFuzzer target for media/ps_demux: the input is fed in pieces whose sizes, RTP markers and transport
 * losses are driven by the first two bytes, so splits, marker trust and loss handling are fuzzed along
 * with the bytes. Every frame that comes out is checked against frame.h's layout (headroom, tailroom,
 * length-prefixed NAL units covering the payload exactly, no AUD, no trailing zero).
 */
#include <stdio.h>
#include <stdlib.h>

#include "media/h26x.h"
#include "media/ps_demux.h"

struct fuzz_state {
    size_t max_frame;
    unsigned long frames, tracks;
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
    FUZZ_CHECK(f->buf && f->off >= FRAME_HEADROOM && f->len > 0 && f->len <= s->max_frame);
    FUZZ_CHECK((size_t)f->off + f->len + FRAME_TAILROOM <= f->buf->cap);
    if (f->codec == CODEC_H264 || f->codec == CODEC_H265) {
        const uint8_t *p = f->buf->data + f->off;
        uint32_t pos = 0;
        while (pos < f->len) {
            FUZZ_CHECK(f->len - pos >= 4);
            uint32_t n = ((uint32_t)p[pos] << 24) | ((uint32_t)p[pos + 1] << 16) |
                         ((uint32_t)p[pos + 2] << 8) | p[pos + 3];
            FUZZ_CHECK(n > 0 && n <= f->len - pos - 4);
            uint8_t type = f->codec == CODEC_H264 ? h264_nal_type(p[pos + 4]) : h265_nal_type(p[pos + 4]);
            FUZZ_CHECK(type != (f->codec == CODEC_H264 ? H264_NAL_AUD : H265_NAL_AUD));
            FUZZ_CHECK(p[pos + 4 + n - 1] != 0);
            pos += 4 + n;
        }
    } else {
        FUZZ_CHECK(codec_is_audio(f->codec) && f->key);
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
    if (size < 2) return 0;
    uint8_t mode = data[0];
    uint32_t rng = data[1] * 2654435761u + 1;
    data += 2;
    size -= 2;
    static const struct ps_demux_callbacks cb = {on_frame, on_track};
    struct fuzz_state s = {.max_frame = (mode & 1) ? 3000 : 4u << 20};
    struct ps_demux *d = ps_demux_create(&cb, &s, s.max_frame);
    size_t max_piece = (mode & 2) ? 8 : (mode & 4) ? 1400 : size + 1;
    for (size_t at = 0; at < size;) {
        rng = rng * 1103515245u + 12345u;
        size_t n = 1 + (rng >> 8) % max_piece;
        if (n > size - at) n = size - at;
        bool marker = (mode & 8) && ((rng >> 4) & 3) == 0;
        ps_demux_input(d, data + at, n, marker);
        if ((mode & 16) && ((rng >> 20) & 31) == 0) ps_demux_mark_loss(d);
        at += n;
    }
    ps_demux_flush(d);
    const struct ps_demux_stats *st = ps_demux_get_stats(d);
    FUZZ_CHECK(st->video_frames + st->audio_frames == s.frames);
    FUZZ_CHECK(st->bytes_in == size);
    FUZZ_CHECK(st->bytes_skipped <= size);
    ps_demux_destroy(d);
    return 0;
}
