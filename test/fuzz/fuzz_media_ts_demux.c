/*
 * libFuzzer target for media/ts_demux. Two ways to read the input, chosen by the first byte:
 *  - raw: the bytes as they are, fed in pieces whose sizes come from the second byte's generator, with
 *    transport losses sprinkled in (splits, sync search and every parser path on arbitrary bytes);
 *  - structured: each 186 input bytes become one TS packet whose sync byte is forced and whose PID is
 *    mapped onto a few values (PAT, PMT 0x1000, 0x100, 0x101, null), so that the fuzzer spends its time in
 *    the PSI, PES and elementary-stream code instead of finding 0x47 every 188 bytes.
 * Every frame that comes out is checked against frame.h's layout, and the statistics for consistency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "media/ts_demux.h"

struct fuzz_state {
    size_t max_frame;
    unsigned long frames;
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
    (void)arg;
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
    struct ts_demux *d = ts_demux_create(&cb, &s, s.max_frame);
    FUZZ_CHECK(d != NULL);
    size_t fed = 0;
    if (mode & 2) { /* structured */
        static const uint16_t pids[8] = {0x0000, 0x1000, 0x0100, 0x0101, 0x1fff, 0x0100, 0x0101, 0x0100};
        uint8_t pkt[188];
        for (; size >= 186; data += 186, size -= 186) {
            uint16_t pid = pids[data[0] & 7];
            pkt[0] = 0x47;
            pkt[1] = (uint8_t)((data[0] & 0xe0) | (pid >> 8)); /* TEI, PUSI, priority from the input */
            pkt[2] = (uint8_t)pid;
            memcpy(pkt + 3, data + 1, 185); /* adaptation_field_control, counter, and the rest */
            ts_demux_input(d, pkt, sizeof pkt);
            fed += sizeof pkt;
            if ((mode & 16) && (data[0] & 0x18) == 0x18) ts_demux_mark_loss(d);
        }
    } else {
        size_t max_piece = (mode & 4) ? 8 : (mode & 8) ? 1316 : size + 1;
        for (size_t at = 0; at < size;) {
            rng = rng * 1103515245u + 12345u;
            size_t n = 1 + (rng >> 8) % max_piece;
            if (n > size - at) n = size - at;
            ts_demux_input(d, data + at, n);
            if ((mode & 16) && ((rng >> 20) & 31) == 0) ts_demux_mark_loss(d);
            at += n;
        }
        fed = size;
    }
    ts_demux_flush(d);
    const struct ts_demux_stats *st = ts_demux_get_stats(d);
    FUZZ_CHECK(st->video_frames + st->audio_frames == s.frames);
    FUZZ_CHECK(st->bytes_in == fed);
    FUZZ_CHECK(st->bytes_skipped <= fed);
    FUZZ_CHECK(st->packets <= fed / 188 + 1);
    ts_demux_destroy(d);
    return 0;
}
