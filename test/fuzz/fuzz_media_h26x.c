/*
 * libFuzzer target for media/h26x and media/video_au: SPS parsers (both codecs), emulation-prevention
 * removal, the start-code search (compared with a naive search), and the access-unit builder fed in pieces
 * (its output must be a well-formed chain of length-prefixed NAL units whatever the input). Frames share the
 * builder's chunks, so the last KEEP frames are held and checked, when released, to be byte for byte what
 * they were when they came out and to own disjoint regions of a shared chunk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "media/video_au.h"

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

static const uint8_t *naive_start_code(const uint8_t *p, const uint8_t *end, int *sc_len)
{
    for (const uint8_t *q = p; end - q >= 3; q++) {
        if (q[0] == 0 && q[1] == 0 && q[2] == 1) {
            *sc_len = q > p && q[-1] == 0 ? 4 : 3;
            return *sc_len == 4 ? q - 1 : q;
        }
    }
    return NULL;
}

static void check_au_frame(const struct media_frame *f, size_t max_frame)
{
    FUZZ_CHECK(f->off >= FRAME_HEADROOM && f->len > 0 && f->len <= max_frame);
    FUZZ_CHECK((size_t)f->off + f->len + FRAME_TAILROOM <= f->buf->cap);
    const uint8_t *p = f->buf->data + f->off;
    uint32_t pos = 0;
    while (pos < f->len) {
        FUZZ_CHECK(f->len - pos >= 4);
        uint32_t n = ((uint32_t)p[pos] << 24) | ((uint32_t)p[pos + 1] << 16) | ((uint32_t)p[pos + 2] << 8) |
                     p[pos + 3];
        FUZZ_CHECK(n > 0 && n <= f->len - pos - 4);
        FUZZ_CHECK(p[pos + 4 + n - 1] != 0);
        /* no start code survives inside a NAL unit */
        int sc = 0;
        FUZZ_CHECK(annexb_find_start_code(p + pos + 4, p + pos + 4 + n, &sc) == NULL);
        pos += 4 + n;
    }
}

#define KEEP 8
struct kept {
    struct media_frame f;
    uint64_t hash;
};

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void release_kept(struct kept *k)
{
    if (!k->f.buf) return;
    FUZZ_CHECK(fnv1a(k->f.buf->data + k->f.off, k->f.len) == k->hash);
    media_frame_release(&k->f);
}

/* Holds f in the ring (releasing the oldest): its region must not overlap a held frame's in the same chunk.
 */
static void keep_frame(struct kept *ring, size_t *n, struct media_frame *f)
{
    size_t lo = f->off - FRAME_HEADROOM, hi = (size_t)f->off + f->len + FRAME_TAILROOM;
    for (size_t i = 0; i < KEEP; i++) {
        const struct media_frame *o = &ring[i].f;
        if (!o->buf || o->buf != f->buf) continue;
        FUZZ_CHECK(hi <= o->off - FRAME_HEADROOM || lo >= (size_t)o->off + o->len + FRAME_TAILROOM);
    }
    struct kept *slot = &ring[*n % KEEP];
    release_kept(slot);
    slot->f = *f;
    slot->hash = fnv1a(f->buf->data + f->off, f->len);
    (*n)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++;
    size--;

    struct h264_sps_info a;
    if (h264_parse_sps(data, size, &a) == 0) FUZZ_CHECK(a.width > 0 && a.height > 0 && a.width <= 16384);
    struct h265_sps_info b;
    if (h265_parse_sps(data, size, &b) == 0) FUZZ_CHECK(b.width > 0 && b.height > 0 && b.width <= 16888);

    uint8_t *out = malloc(size ? size : 1);
    size_t n = h26x_unescape(data, size, out);
    FUZZ_CHECK(n <= size);
    free(out);

    int sc = 0, naive_sc = 0;
    const uint8_t *got = annexb_find_start_code(data, data + size, &sc);
    const uint8_t *want = naive_start_code(data, data + size, &naive_sc);
    FUZZ_CHECK(got == want && (!got || sc == naive_sc));

    /* the builder: pieces from the mode byte, finish at a few points */
    struct media_track track;
    memset(&track, 0, sizeof track);
    struct video_au au;
    size_t max_frame = (mode & 1) ? 512 : 1 << 20;
    enum codec_id codec = (mode & 6) == 2 ? CODEC_H264 : (mode & 6) == 4 ? CODEC_H265 : CODEC_NONE;
    video_au_init(&au, codec, max_frame, &track);
    size_t piece = 1 + (mode >> 3);
    struct kept ring[KEEP];
    memset(ring, 0, sizeof ring);
    size_t kept = 0;
    for (size_t at = 0; at < size; at += piece) {
        video_au_feed(&au, data + at, size - at < piece ? size - at : piece);
        if (((at / piece) & 15) == 15 || at + piece >= size) {
            struct media_frame f;
            if (video_au_finish(&au, &f) == VIDEO_AU_FRAME) {
                check_au_frame(&f, max_frame);
                keep_frame(ring, &kept, &f);
            }
        }
    }
    FUZZ_CHECK(track.sps_len <= TRACK_PARAM_MAX && track.pps_len <= TRACK_PARAM_MAX);
    video_au_destroy(&au); /* the held frames outlive the builder's own reference to their chunk */
    for (size_t i = 0; i < KEEP; i++) release_kept(&ring[i]);
    return 0;
}
