/*
 * media/video_au: Annex-B -> length-prefixed access units. Checks exact output bytes under every split of
 * the input (start codes cut anywhere), AUD dropping, trailing-zero trimming, keyframe and parameter-set
 * detection for H.264 and H.265, parameter-set change reporting, codec guessing and correction, the size
 * limit, frame memory (frames carved from shared chunks, intact and disjoint; a keyframe moved once into
 * room for the last keyframe's size), and the whole reference
 * elementary stream of the Hikvision sample fed in random pieces.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "media/video_au.h"
#include "testutil.h"

/* AUD, SPS (Hikvision 704x576), PPS, SEI, IDR slice: mixed 3/4-byte start codes, trailing zeros after the
 * SEI, an emulation-prevention sequence inside the IDR, garbage before the first start code. */
static const uint8_t h264_au[] = {
    0xde, 0xad,                                                 /* no start code yet: discarded */
    0x00, 0x00, 0x00, 0x01, 0x09, 0xf0,                         /* AUD */
    0x00, 0x00, 0x00, 0x01, 0x67, 0x4d, 0x00, 0x1e, 0x9d, 0xa8, /* SPS */
    0x2c, 0x04, 0x9a, 0x6e, 0x02, 0x02, 0x02, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42,
    0x00, 0x00, 0x01, 0x68, 0xee, 0x3c, 0x80,                   /* PPS */
    0x00, 0x00, 0x01, 0x06, 0xe5, 0x01, 0x3c, 0x80, 0x00, 0x00, /* SEI + 2 trailing zeros */
    0x00, 0x00, 0x00, 0x01, 0x65, 0xb8, 0x00, 0x00, 0x03, 0x01, 0x20, 0xa4, 0x00, 0x00, 0x03, 0x00, 0x11,
};
static const uint8_t h264_au_expected[] = {
    0x00, 0x00, 0x00, 0x17, 0x67, 0x4d, 0x00, 0x1e, 0x9d, 0xa8, 0x2c, 0x04, 0x9a, 0x6e, 0x02, 0x02,
    0x02, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42, 0x00, 0x00, 0x00, 0x04, 0x68,
    0xee, 0x3c, 0x80, 0x00, 0x00, 0x00, 0x05, 0x06, 0xe5, 0x01, 0x3c, 0x80, 0x00, 0x00, 0x00, 0x0d,
    0x65, 0xb8, 0x00, 0x00, 0x03, 0x01, 0x20, 0xa4, 0x00, 0x00, 0x03, 0x00, 0x11,
};

struct track_holder {
    struct media_track track;
};

static const uint8_t *payload(const struct media_frame *f)
{
    return f->buf->data + f->off;
}

static void feed_split(struct video_au *au, const uint8_t *p, size_t len, const size_t *cuts, size_t ncuts)
{
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        video_au_feed(au, p + at, to - at);
        at = to;
    }
}

static void check_h264_frame(const struct media_frame *f)
{
    ck_assert_uint_ge(f->off, FRAME_HEADROOM);
    ck_assert_uint_eq(f->len, sizeof h264_au_expected);
    ck_assert_mem_eq(payload(f), h264_au_expected, sizeof h264_au_expected);
    ck_assert(f->buf->cap >= f->off + f->len + FRAME_TAILROOM);
    ck_assert_int_eq(f->codec, CODEC_H264);
    ck_assert(f->key);
    ck_assert(f->has_params);
}

/* Every way of cutting the unit in two and in three pieces, and byte by byte. */
START_TEST(test_h264_every_split)
{
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 1 << 20, &track);
    struct media_frame f;
    size_t n = sizeof h264_au;
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b += (a % 7 == 0 ? 1 : 5)) {
            size_t cuts[2] = {a, b};
            feed_split(&au, h264_au, n, cuts, 2);
            ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
            check_h264_frame(&f);
            media_frame_release(&f);
        }
    }
    for (size_t i = 0; i < n; i++) video_au_feed(&au, h264_au + i, 1);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    check_h264_frame(&f);
    media_frame_release(&f);
    video_au_destroy(&au);
}
END_TEST

START_TEST(test_h264_params_recorded)
{
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 1 << 20, &track);
    struct media_frame f;
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    media_frame_release(&f);
    ck_assert(au.params_changed);
    ck_assert_uint_eq(track.sps_len, 23);
    ck_assert_mem_eq(track.sps, h264_au_expected + 4, 23);
    ck_assert_uint_eq(track.pps_len, 4);
    ck_assert_mem_eq(track.pps, h264_au_expected + 31, 4);
    ck_assert_uint_eq(track.width, 704);
    ck_assert_uint_eq(track.height, 576);
    ck_assert_uint_eq(track.fps_num, 50);
    ck_assert_uint_eq(track.fps_den, 2);

    /* the same parameter sets again: no change reported */
    au.params_changed = false;
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    media_frame_release(&f);
    ck_assert(!au.params_changed);

    /* a P frame: no keyframe, no parameters */
    const uint8_t p_frame[] = {0x00, 0x00, 0x00, 0x01, 0x41, 0x9a, 0x02, 0x04};
    video_au_feed(&au, p_frame, sizeof p_frame);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    ck_assert(!f.key);
    ck_assert(!f.has_params);
    ck_assert_uint_eq(f.len, 8);
    ck_assert_mem_eq(payload(&f), "\x00\x00\x00\x04\x41\x9a\x02\x04", 8);
    media_frame_release(&f);

    /* a new PPS: reported */
    const uint8_t new_pps[] = {0x00, 0x00, 0x01, 0x68, 0xce, 0x3c, 0x80, 0x00, 0x00, 0x01, 0x65, 0x88};
    video_au_feed(&au, new_pps, sizeof new_pps);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    media_frame_release(&f);
    ck_assert(au.params_changed);
    ck_assert_uint_eq(track.pps_len, 4);
    ck_assert_mem_eq(track.pps, "\x68\xce\x3c\x80", 4);
    video_au_destroy(&au);
}
END_TEST

START_TEST(test_empty_and_aud_only)
{
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 1 << 20, &track);
    struct media_frame f;
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_EMPTY);
    const uint8_t aud_only[] = {0x00, 0x00, 0x00, 0x01, 0x09, 0x10, 0x00, 0x00, 0x00};
    video_au_feed(&au, aud_only, sizeof aud_only);
    ck_assert(video_au_pending(&au));
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_EMPTY);
    /* start codes with nothing between them, and zeros only */
    const uint8_t empties[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    video_au_feed(&au, empties, sizeof empties);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_EMPTY);
    /* no start code at all: everything discarded */
    const uint8_t junk[] = {0x12, 0x34, 0x00, 0x56};
    video_au_feed(&au, junk, sizeof junk);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_EMPTY);
    video_au_destroy(&au);
}
END_TEST

/* H.265: VPS/SPS/PPS recorded, AUD (35) dropped, IRAP types 16..23 are keyframes, TRAIL is not. */
START_TEST(test_h265_units)
{
    static const uint8_t vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60};
    static const uint8_t sps[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                                  0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01,
                                  0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20, 0x00,
                                  0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0x21};
    static const uint8_t pps[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};
    uint8_t es[256];
    size_t n = 0;
#define PUT_SC() (memcpy(es + n, "\x00\x00\x00\x01", 4), n += 4)
#define PUT(arr) (memcpy(es + n, arr, sizeof arr), n += sizeof arr)
    PUT_SC();
    memcpy(es + n, "\x46\x01\x10", 3); /* AUD */
    n += 3;
    PUT_SC();
    PUT(vps);
    PUT_SC();
    PUT(sps);
    PUT_SC();
    PUT(pps);
    PUT_SC();
    memcpy(es + n, "\x26\x01\xaf\x12", 4); /* IDR_W_RADL (19) */
    n += 4;
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H265, 1 << 20, &track);
    struct media_frame f;
    for (size_t cut = 0; cut <= n; cut++) {
        video_au_feed(&au, es, cut);
        video_au_feed(&au, es + cut, n - cut);
        ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
        ck_assert_int_eq(f.codec, CODEC_H265);
        ck_assert(f.key);
        ck_assert(f.has_params);
        ck_assert_uint_eq(f.len, 4 * 4 + sizeof vps + sizeof sps + sizeof pps + 4);
        ck_assert_mem_eq(payload(&f) + 4, vps, sizeof vps);
        media_frame_release(&f);
    }
    ck_assert_uint_eq(track.vps_len, sizeof vps);
    ck_assert_mem_eq(track.vps, vps, sizeof vps);
    ck_assert_uint_eq(track.sps_len, sizeof sps);
    ck_assert_uint_eq(track.pps_len, sizeof pps);
    ck_assert_uint_eq(track.width, 640);
    ck_assert_uint_eq(track.height, 360);
    ck_assert_uint_eq(track.fps_num, 25);
    ck_assert_uint_eq(track.fps_den, 1);

    const uint8_t types_key[] = {16, 17, 18, 19, 20, 21, 22, 23};
    for (size_t i = 0; i < sizeof types_key; i++) {
        uint8_t unit[] = {0x00, 0x00, 0x01, (uint8_t)(types_key[i] << 1), 0x01, 0xaa};
        video_au_feed(&au, unit, sizeof unit);
        ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
        ck_assert(f.key);
        media_frame_release(&f);
    }
    const uint8_t trail[] = {0x00, 0x00, 0x01, 0x02, 0x01, 0xd0, 0x00, 0x00, 0x01, 0x00, 0x01, 0xd1};
    video_au_feed(&au, trail, sizeof trail);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    ck_assert(!f.key);
    ck_assert_uint_eq(f.len, 14);
    media_frame_release(&f);
    video_au_destroy(&au);
#undef PUT
#undef PUT_SC
}
END_TEST

START_TEST(test_guess_codec)
{
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x67\x4d", 2), CODEC_H264);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x27\x64", 2), CODEC_H264);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x09\xf0", 2), CODEC_H264);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x40\x01", 2), CODEC_H265);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x42\x01", 2), CODEC_H265);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x46\x01", 2), CODEC_H265);
    /* slices, SEI, and unknown profiles do not decide */
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x65\x88", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x41\x9a", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x26\x01", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x06\x05", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x67\x07", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x40\x09", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\xc0\x01", 2), CODEC_NONE);
    ck_assert_int_eq(video_au_guess_codec((const uint8_t *)"\x67", 1), CODEC_NONE);

    struct media_track track = {0};
    struct video_au au;
    struct media_frame f;
    /* unknown codec, slices only: dropped for want of a codec */
    video_au_init(&au, CODEC_NONE, 1 << 20, &track);
    const uint8_t slices[] = {0x00, 0x00, 0x01, 0x41, 0x9a, 0x00, 0x00, 0x01, 0x41, 0x9b};
    video_au_feed(&au, slices, sizeof slices);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_NO_CODEC);
    /* then an SPS decides H.264 */
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    check_h264_frame(&f);
    media_frame_release(&f);
    ck_assert_int_eq(track.codec, CODEC_H264);
    video_au_destroy(&au);

    /* a PSM that says H.265 for an H.264 stream is corrected by the first SPS */
    memset(&track, 0, sizeof track);
    video_au_init(&au, CODEC_H265, 1 << 20, &track);
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    check_h264_frame(&f); /* the AUD came before the SPS that told, and is still dropped: 09 is H.264 AUD */
    media_frame_release(&f);
    ck_assert_int_eq(au.codec, CODEC_H264);
    ck_assert_int_eq(track.codec, CODEC_H264);
    ck_assert_uint_eq(track.width, 704);
    video_au_destroy(&au);

    /* units read as the wrong codec before the switch are dropped: here an H.264 AUD (09 with an
     * inconclusive second byte) that H.265 rules had kept (found by fuzzing) */
    memset(&track, 0, sizeof track);
    video_au_init(&au, CODEC_H265, 1 << 20, &track);
    const uint8_t aud_then_sps[] = {0x00, 0x00, 0x01, 0x09, 0x00, 0x11, 0x00, 0x00, 0x01,
                                    0x67, 0x4d, 0x00, 0x1e, 0x00, 0x00, 0x01, 0x65, 0x88};
    video_au_feed(&au, aud_then_sps, sizeof aud_then_sps);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    ck_assert_int_eq(f.codec, CODEC_H264);
    ck_assert(f.key);
    ck_assert_uint_eq(f.len, 8 + 4 + 2);
    ck_assert_mem_eq(payload(&f), "\x00\x00\x00\x04\x67\x4d\x00\x1e\x00\x00\x00\x02\x65\x88", 14);
    media_frame_release(&f);
    video_au_destroy(&au);
}
END_TEST

START_TEST(test_max_frame)
{
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, sizeof h264_au_expected, &track);
    struct media_frame f;
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME); /* exactly the limit */
    media_frame_release(&f);
    video_au_feed(&au, h264_au, sizeof h264_au);
    video_au_feed(&au, (const uint8_t *)"\x22", 1); /* one byte more in the last NAL unit */
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_OVERSIZE);
    ck_assert(!au.open && au.len == 0); /* nothing of it is kept: its region is reused */
    /* the next unit is fine again */
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    check_h264_frame(&f);
    media_frame_release(&f);
    /* discard */
    video_au_feed(&au, h264_au, sizeof h264_au);
    ck_assert(video_au_discard(&au));
    ck_assert(!video_au_discard(&au));
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_EMPTY);
    video_au_destroy(&au);
}
END_TEST

/* One Annex-B access unit: optionally an SPS, then one slice NAL unit (IDR or not) of `body` bytes filled
 * with `fill` (never zero, so nothing is trimmed). Returns its length in out (at least body + 32 bytes). */
static size_t make_au(uint8_t *out, bool key, size_t body, uint8_t fill)
{
    static const uint8_t sps[] = {0x00, 0x00, 0x00, 0x01, 0x67, 0x4d, 0x00, 0x1e, 0x9d,
                                  0xa8, 0x2c, 0x04, 0x9a, 0x6e, 0x02, 0x02, 0x02, 0x80,
                                  0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42};
    size_t n = 0;
    if (key) {
        memcpy(out, sps, sizeof sps);
        n = sizeof sps;
    }
    memcpy(out + n, key ? "\x00\x00\x00\x01\x65" : "\x00\x00\x00\x01\x41", 5);
    memset(out + n + 5, fill, body);
    return n + 5 + body;
}

static void feed_packets(struct video_au *au, const uint8_t *p, size_t len)
{
    for (size_t at = 0; at < len; at += 1400) video_au_feed(au, p + at, len - at < 1400 ? len - at : 1400);
}

/* Frames are carved out of shared chunks: many frames per allocation, each frame's region disjoint from the
 * others', and every frame's bytes intact while later frames are written into the same chunk. */
START_TEST(test_frames_share_chunks)
{
    enum { FRAMES = 200 };
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 4 << 20, &track);
    uint8_t *es = malloc(64 * 1024);
    static struct media_frame f[FRAMES];
    struct gbuf_pool_stats before, after;
    gbuf_pool_stats(&before);
    for (int i = 0; i < FRAMES; i++) {
        size_t body = 1000 + (size_t)(i * 7919) % 9000; /* 1-10 KB, irregular */
        size_t n = make_au(es, i % 50 == 0, i % 50 == 0 ? 40000 : body, (uint8_t)(i % 250 + 1));
        feed_packets(&au, es, n);
        ck_assert_int_eq(video_au_finish(&au, &f[i]), VIDEO_AU_FRAME);
        ck_assert_int_eq(f[i].key, i % 50 == 0);
    }
    gbuf_pool_stats(&after);
    /* about 1.2 MB of frames: a few dozen chunks (and a few moves), not one buffer per frame */
    ck_assert_uint_lt(after.allocs - before.allocs, FRAMES / 3);
    size_t shared = 0;
    for (int i = 0; i < FRAMES; i++) {
        const uint8_t *p = f[i].buf->data + f[i].off;
        size_t body = f[i].len - (f[i].key ? 23 + 4 : 0) - 4 - 1;
        for (size_t j = 0; j < body; j++) ck_assert_uint_eq(p[f[i].len - 1 - j], (uint8_t)(i % 250 + 1));
        ck_assert(f[i].off + f[i].len + FRAME_TAILROOM <= f[i].buf->cap);
        if (i > 0 && f[i].buf == f[i - 1].buf) {
            shared++;
            ck_assert_uint_ge(f[i].off - FRAME_HEADROOM, f[i - 1].off + f[i - 1].len + FRAME_TAILROOM);
        }
    }
    ck_assert_uint_gt(shared, FRAMES / 2);
    video_au_destroy(&au); /* the frames keep their chunks alive */
    for (int i = 0; i < FRAMES; i++) media_frame_release(&f[i]);
    free(es);
}
END_TEST

/* A 300 KB keyframe grows through a few chunks the first time; the next keyframe moves once, right after its
 * SPS, into a chunk with room for the last keyframe's size, and is not copied again. */
START_TEST(test_keyframe_room_reserved)
{
    size_t big = 300 * 1024;
    uint8_t *es = malloc(big + 64);
    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 4 << 20, &track);
    struct media_frame f;
    struct gbuf_pool_stats before, after;
    size_t n = make_au(es, true, big, 0x5a);
    gbuf_pool_stats(&before);
    feed_packets(&au, es, n);
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    gbuf_pool_stats(&after);
    ck_assert_uint_gt(after.allocs - before.allocs, 2); /* grew from a 16 KiB first chunk */
    ck_assert_uint_eq(f.len, n);                        /* two start codes became two 4-byte lengths */
    media_frame_release(&f);
    for (int i = 0; i < 5; i++) {
        size_t pn = make_au(es, false, 5000, 0x33); /* a P-frame between keyframes */
        feed_packets(&au, es, pn);
        ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
        media_frame_release(&f);
        n = make_au(es, true, big, 0x5a);
        gbuf_pool_stats(&before);
        feed_packets(&au, es, n);
        ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
        gbuf_pool_stats(&after);
        ck_assert_uint_eq(after.allocs - before.allocs, 1);
        ck_assert(f.key && f.has_params);
        ck_assert_uint_eq(f.buf->data[f.off + f.len - 1], 0x5a);
        media_frame_release(&f);
    }
    video_au_destroy(&au);
    free(es);
}
END_TEST

/* Splits an Annex-B stream into NAL units (trailing zeros trimmed, AUD kept out like the builder does). */
static size_t annexb_nals(const uint8_t *p, size_t len, const uint8_t **nals, size_t *lens, size_t max)
{
    size_t count = 0;
    const uint8_t *end = p + len;
    int sc = 0;
    const uint8_t *s = annexb_find_start_code(p, end, &sc);
    while (s && count < max) {
        const uint8_t *nal = s + sc;
        int next_sc = 0;
        const uint8_t *next = annexb_find_start_code(nal, end, &next_sc);
        size_t n = (size_t)((next ? next : end) - nal);
        while (n > 0 && nal[n - 1] == 0) n--;
        if (n > 0 && h264_nal_type(nal[0]) != H264_NAL_AUD) {
            nals[count] = nal;
            lens[count] = n;
            count++;
        }
        s = next;
        sc = next_sc;
    }
    return count;
}

START_TEST(test_reference_stream_random_pieces)
{
    const char *path = test_shared_path("samples/hik_704x576_h264_reference.264");
    if (!path) return;
    size_t len = 0;
    uint8_t *es = test_read_file(path, &len);
    ck_assert_ptr_nonnull(es);
    size_t max = 20000;
    const uint8_t **nals = malloc(max * sizeof *nals);
    size_t *lens = malloc(max * sizeof *lens);
    size_t count = annexb_nals(es, len, nals, lens, max);
    ck_assert_uint_eq(count, 1540); /* 55 x (SPS, PPS, SEI, IDR) + 1320 P slices = 1375 frames */

    struct media_track track = {0};
    struct video_au au;
    video_au_init(&au, CODEC_H264, 8 << 20, &track);
    srand(3);
    for (size_t at = 0; at < len;) {
        size_t n = 1 + (size_t)(rand() % (rand() % 4 == 0 ? 8 : 2000));
        if (n > len - at) n = len - at;
        video_au_feed(&au, es + at, n);
        at += n;
    }
    struct media_frame f;
    ck_assert_int_eq(video_au_finish(&au, &f), VIDEO_AU_FRAME);
    const uint8_t *p = payload(&f);
    size_t i = 0, pos = 0;
    while (pos + 4 <= f.len) {
        size_t n =
            ((size_t)p[pos] << 24) | ((size_t)p[pos + 1] << 16) | ((size_t)p[pos + 2] << 8) | p[pos + 3];
        pos += 4;
        ck_assert_uint_lt(i, count);
        ck_assert_uint_eq(n, lens[i]);
        ck_assert_mem_eq(p + pos, nals[i], n);
        pos += n;
        i++;
    }
    ck_assert_uint_eq(pos, f.len);
    ck_assert_uint_eq(i, count);
    media_frame_release(&f);
    ck_assert_uint_eq(track.width, 704);
    ck_assert_uint_eq(track.height, 576);
    video_au_destroy(&au);
    free(nals);
    free(lens);
    free(es);
}
END_TEST

static Suite *video_au_suite(void)
{
    Suite *s = suite_create("media_video_au");
    TCase *tc = tcase_create("video_au");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_h264_every_split);
    tcase_add_test(tc, test_h264_params_recorded);
    tcase_add_test(tc, test_empty_and_aud_only);
    tcase_add_test(tc, test_h265_units);
    tcase_add_test(tc, test_guess_codec);
    tcase_add_test(tc, test_max_frame);
    tcase_add_test(tc, test_frames_share_chunks);
    tcase_add_test(tc, test_keyframe_room_reserved);
    tcase_add_test(tc, test_reference_stream_random_pieces);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(video_au_suite());
}
