/*
 * media/ps_demux on synthetic streams, structure side: PES_packet_length 0 with NAL start codes inside and
 * every split of the input, frames split over several PES, PES header stuffing, PSM flaws (wrong CRC,
 * wrong map length, overrunning es_info_length, no CRC), garbage before/between packs, every truncation of
 * a stream, MPEG-1 packs and PES, private data with a fake pack start code, a second video stream, PTS
 * wrap-around, oversize frames, and input that is no PS at all. Frame-completion logic (RTP markers, loss,
 * codec guessing, audio) is in test_media_ps_demux_frames.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ps_test_util.h"
#include "testutil.h"

static const struct psb_psm_entry psm_h264_g711a[] = {{0x1b, 0xe0, NULL, 0}, {0x90, 0xc0, NULL, 0}};

/* Three H.264 frames (key, P, P) each in one unbounded PES; their ES bytes contain start codes, and the
 * second ends with trailing zero bytes right before the next pack header. */
static void build_len0_stream(struct psb *ps, struct psb want[3])
{
    unsigned seed = 5;
    for (int i = 0; i < 3; i++) {
        struct psb es = {0};
        es_h264_au(&es, &want[i], i == 0, i == 1, 300 + 100 * (size_t)i, &seed);
        if (i == 1) psb_put(&es, "\x00\x00", 2);
        psb_pack(ps, 3600u * (unsigned)i, (unsigned)i);
        if (i == 0) {
            psb_system_header(ps);
            psb_psm(ps, psm_h264_g711a, 2, PSM_OK);
        }
        psb_pes(ps, 0xe0, 90000 + 3600u * (unsigned)i, PSB_NO_TS, es.d, es.len, true, (unsigned)i);
        psb_free(&es);
    }
    psb_put(ps, "\x00\x00\x01\xb9", 4); /* program end */
}

static void check_three_frames(struct collector *c, struct psb want[3], struct ps_demux *d)
{
    ck_assert_uint_eq(c->n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(c->frames[i].len, want[i].len);
        ck_assert_mem_eq(c->frames[i].data, want[i].d, want[i].len);
        ck_assert_int_eq(c->frames[i].pts, 90000 + 3600 * i);
        ck_assert(c->frames[i].key == (i == 0));
    }
    const struct ps_demux_stats *s = ps_demux_get_stats(d);
    ck_assert_uint_eq(s->resyncs, 0);
    ck_assert_uint_eq(s->frames_dropped, 0);
    ck_assert_uint_eq(s->bytes_skipped, 0);
}

START_TEST(test_pes_length_zero_every_split)
{
    struct psb ps = {0}, want[3] = {{0}};
    build_len0_stream(&ps, want);
    for (size_t a = 0; a <= ps.len; a++) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        ps_demux_input(d, ps.d, a, false);
        ps_demux_input(d, ps.d + a, ps.len - a, false);
        ps_demux_flush(d);
        check_three_frames(&c, want, d);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    /* byte by byte, and three pieces around the start codes that end each unbounded PES */
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    for (size_t i = 0; i < ps.len; i++) ps_demux_input(d, ps.d + i, 1, false);
    ps_demux_flush(d);
    check_three_frames(&c, want, d);
    ps_demux_destroy(d);
    collector_free(&c);
    for (int i = 0; i < 3; i++) psb_free(&want[i]);
    psb_free(&ps);
}
END_TEST

/* A frame in four PES: PTS in the first, none in the second, the same PTS repeated in the third, none in
 * the fourth; cut inside a NAL unit and inside a start code. Then a frame with a new PTS. */
START_TEST(test_frame_split_over_pes)
{
    unsigned seed = 9;
    struct psb es = {0}, want = {0}, es2 = {0}, want2 = {0}, ps = {0};
    es_h264_au(&es, &want, true, false, 4000, &seed);
    es_h264_au(&es2, &want2, false, false, 500, &seed);
    size_t cut1 = 10, cut2 = 1500, cut3 = es.len - 2; /* cut3: inside the bytes of a NAL unit */
    /* place a cut inside the start code before the slice: find it */
    for (size_t i = 40; i + 4 < es.len; i++)
        if (memcmp(es.d + i, "\x00\x00\x00\x01\x65", 5) == 0) cut1 = i + 2;
    psb_pack(&ps, 0, 0);
    psb_psm(&ps, psm_h264_g711a, 2, PSM_OK);
    psb_pes(&ps, 0xe0, 1000, 1000 - 3600, es.d, cut1, false, 0);
    psb_pes(&ps, 0xe0, PSB_NO_TS, PSB_NO_TS, es.d + cut1, cut2 - cut1, false, 3);
    psb_pes(&ps, 0xe0, 1000, PSB_NO_TS, es.d + cut2, cut3 - cut2, false, 0);
    psb_pes(&ps, 0xe0, PSB_NO_TS, PSB_NO_TS, es.d + cut3, es.len - cut3, false, 0);
    psb_pack(&ps, 3600, 0);
    psb_pes(&ps, 0xe0, 4600, PSB_NO_TS, es2.d, es2.len, false, 0);
    for (size_t piece = 1; piece <= 1500; piece = piece * 3 + 1) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        for (size_t at = 0; at < ps.len; at += piece)
            ps_demux_input(d, ps.d + at, ps.len - at < piece ? ps.len - at : piece, false);
        ck_assert_uint_eq(c.n, 1); /* the second frame waits for its end */
        ps_demux_flush(d);
        ck_assert_uint_eq(c.n, 2);
        ck_assert_uint_eq(c.frames[0].len, want.len);
        ck_assert_mem_eq(c.frames[0].data, want.d, want.len);
        ck_assert_int_eq(c.frames[0].pts, 1000);
        ck_assert_int_eq(c.frames[0].dts, 1000 - 3600);
        ck_assert(c.frames[0].key && c.frames[0].has_params);
        ck_assert_uint_eq(c.frames[1].len, want2.len);
        ck_assert_mem_eq(c.frames[1].data, want2.d, want2.len);
        ck_assert_int_eq(c.frames[1].pts, 4600);
        ck_assert_int_eq(c.frames[1].dts, 4600);
        ck_assert_uint_eq(ps_demux_get_stats(d)->pes, 5);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    psb_free(&es);
    psb_free(&want);
    psb_free(&es2);
    psb_free(&want2);
    psb_free(&ps);
}
END_TEST

/* G.711 mu-law (0x91) can only come from the PSM: guessing would say A-law. */
static enum codec_id audio_codec_with_psm(unsigned flaws, uint64_t *psm_errors)
{
    static const uint8_t hk_descriptor[] = {0x0a, 0x04, 'e', 'n', 'g', 0x00};
    const struct psb_psm_entry entries[] = {{0x1b, 0xe0, hk_descriptor, sizeof hk_descriptor},
                                            {0x91, 0xc0, NULL, 0}};
    struct psb ps = {0};
    psb_pack(&ps, 0, 0);
    psb_psm(&ps, entries, 2, flaws);
    uint8_t pcm[160];
    memset(pcm, 0xff, sizeof pcm);
    psb_pes(&ps, 0xc0, 100, PSB_NO_TS, pcm, sizeof pcm, false, 0);
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ck_assert_uint_eq(c.n, 1);
    enum codec_id codec = c.frames[0].codec;
    *psm_errors = ps_demux_get_stats(d)->psm_errors;
    ck_assert_uint_eq(ps_demux_get_stats(d)->psm, 1);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
    return codec;
}

START_TEST(test_psm_flaws)
{
    uint64_t errors = 0;
    ck_assert_int_eq(audio_codec_with_psm(PSM_OK, &errors), CODEC_G711U);
    ck_assert_uint_eq(errors, 0);
    ck_assert_int_eq(audio_codec_with_psm(PSM_BAD_CRC, &errors), CODEC_G711U); /* CRC is never checked */
    ck_assert_uint_eq(errors, 0);
    ck_assert_int_eq(audio_codec_with_psm(PSM_NO_CRC, &errors), CODEC_G711U);
    ck_assert_uint_eq(errors, 0);
    ck_assert_int_eq(audio_codec_with_psm(PSM_SHORT_MAP_LENGTH, &errors), CODEC_G711U);
    ck_assert_uint_eq(errors, 1);
    /* the last entry's es_info_length runs past the map: the entry itself still counts */
    ck_assert_int_eq(audio_codec_with_psm(PSM_LONG_INFO_LENGTH, &errors), CODEC_G711U);
    ck_assert_uint_eq(errors, 1);
    ck_assert_int_eq(audio_codec_with_psm(PSM_SHORT_MAP_LENGTH | PSM_BAD_CRC, &errors), CODEC_G711U);
}
END_TEST

/* Garbage before the first pack and between packs; zero stuffing between units is not garbage. */
START_TEST(test_garbage_and_stuffing)
{
    unsigned seed = 3;
    struct psb ps = {0}, want[4] = {{0}};
    static const uint8_t garbage[] = {0x12, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00,
                                      0x01, 0xba, 0x99, 0x00, 0x00, 0x01};
    psb_put(&ps, garbage, sizeof garbage); /* includes a fake 00 00 01 BA with a bad pack header */
    for (int i = 0; i < 4; i++) {
        struct psb es = {0};
        es_h264_au(&es, &want[i], i == 0, false, 700, &seed);
        psb_pack(&ps, 0, 0);
        if (i == 0) psb_psm(&ps, psm_h264_g711a, 2, PSM_OK);
        psb_pes(&ps, 0xe0, 3600u * (unsigned)i, PSB_NO_TS, es.d, es.len, false, 0);
        if (i == 1) psb_put(&ps, "\x00\x00\x00\x00\x00\x00", 6); /* zero stuffing: harmless */
        if (i == 2) psb_put(&ps, "\x47\x11\x00\x10", 4);         /* garbage: frame 2 cannot be trusted */
        psb_free(&es);
    }
    for (size_t piece = 1; piece <= ps.len; piece = piece * 4 + 1) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        for (size_t at = 0; at < ps.len; at += piece)
            ps_demux_input(d, ps.d + at, ps.len - at < piece ? ps.len - at : piece, false);
        ps_demux_flush(d);
        const struct ps_demux_stats *s = ps_demux_get_stats(d);
        ck_assert_uint_eq(c.n, 3);
        int expect[3] = {0, 1, 3};
        for (int i = 0; i < 3; i++) {
            ck_assert_uint_eq(c.frames[i].len, want[expect[i]].len);
            ck_assert_mem_eq(c.frames[i].data, want[expect[i]].d, want[expect[i]].len);
            ck_assert_int_eq(c.frames[i].pts, 3600 * expect[i]);
        }
        ck_assert_uint_eq(s->resyncs, 2);
        ck_assert_uint_eq(s->frames_dropped, 1);
        ck_assert_uint_eq(s->bytes_skipped, sizeof garbage + 6 + 4);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    for (int i = 0; i < 4; i++) psb_free(&want[i]);
    psb_free(&ps);
}
END_TEST

/* Every truncation of a stream with video and audio: the video frames and the audio frames that come out
 * are always a prefix of the full output's, exactly; a frame whose PES was cut is dropped, never emitted
 * half. */
static void check_prefix(const struct collector *c, const struct collector *full, bool video)
{
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (codec_is_video(c->frames[i].codec) != video) continue;
        while (j < full->n && codec_is_video(full->frames[j].codec) != video) j++;
        ck_assert_uint_lt(j, full->n);
        ck_assert_uint_eq(c->frames[i].len, full->frames[j].len);
        ck_assert_mem_eq(c->frames[i].data, full->frames[j].data, full->frames[j].len);
        ck_assert_int_eq(c->frames[i].pts, full->frames[j].pts);
        j++;
    }
}

START_TEST(test_truncated_everywhere)
{
    unsigned seed = 21;
    struct psb ps = {0};
    uint8_t pcm[80];
    memset(pcm, 0xd5, sizeof pcm);
    for (int i = 0; i < 3; i++) {
        struct psb es = {0};
        es_h264_au(&es, NULL, i == 0, true, 150, &seed);
        psb_pack(&ps, 0, 0);
        if (i == 0) psb_psm(&ps, psm_h264_g711a, 2, PSM_OK);
        psb_pes(&ps, 0xe0, 3600u * (unsigned)i, PSB_NO_TS, es.d, es.len, false, 0);
        psb_pes(&ps, 0xc0, 3600u * (unsigned)i, PSB_NO_TS, pcm, sizeof pcm, false, 0);
        psb_free(&es);
    }
    struct collector full = {.keep_data = true};
    struct ps_demux *d = collector_demux(&full, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    ck_assert_uint_eq(full.video, 3);
    ck_assert_uint_eq(full.audio, 3);
    ps_demux_destroy(d);
    for (size_t len = 0; len < ps.len; len++) {
        uint8_t *cut = malloc(len ? len : 1);
        memcpy(cut, ps.d, len);
        struct collector c = {.keep_data = true};
        d = collector_demux(&c, 0);
        ps_demux_input(d, cut, len, false);
        ps_demux_flush(d);
        check_prefix(&c, &full, true);
        check_prefix(&c, &full, false);
        ps_demux_destroy(d);
        collector_free(&c);
        free(cut);
    }
    collector_free(&full);
    psb_free(&ps);
}
END_TEST

/* MPEG-1 pack header (12 bytes) and MPEG-1 PES headers (stuffing, STD buffer, PTS / PTS+DTS / none). */
START_TEST(test_mpeg1_pack_and_pes)
{
    static const uint8_t mpeg1[] = {
        0x00, 0x00, 0x01, 0xba, 0x21, 0x00, 0x01, 0x00, 0x01, 0x80, 0x00, 0x01, /* pack, SCR 0 */
        0x00, 0x00, 0x01, 0xc0, 0x00, 0x0c, 0xff, 0xff, 0x40, 0x20, 0x21, 0x00, 0x01, 0x00, 0x21, /* PTS 16 */
        0xd5, 0xd5, 0xd5, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x0e, 0x31, 0x00, 0x01, 0x00, 0x41, 0x11,
        0x00, 0x01, 0x00, 0x01,                                                       /* +DTS */
        0x55, 0x55, 0x55, 0x55, 0x00, 0x00, 0x01, 0xc0, 0x00, 0x03, 0x0f, 0x54, 0x54, /* no timestamp */
    };
    for (size_t piece = 1; piece <= sizeof mpeg1; piece++) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        for (size_t at = 0; at < sizeof mpeg1; at += piece)
            ps_demux_input(d, mpeg1 + at, sizeof mpeg1 - at < piece ? sizeof mpeg1 - at : piece, false);
        ps_demux_flush(d);
        ck_assert_uint_eq(ps_demux_get_stats(d)->packs, 1);
        ck_assert_uint_eq(c.audio, 3);
        ck_assert_uint_eq(c.frames[0].len, 3);
        ck_assert_int_eq(c.frames[0].pts, 16);
        ck_assert_uint_eq(c.frames[1].len, 4);
        ck_assert_int_eq(c.frames[1].pts, 32);
        ck_assert_mem_eq(c.frames[1].data, "\x55\x55\x55\x55", 4);
        ck_assert_uint_eq(c.frames[2].len, 2);
        ck_assert_int_eq(c.frames[2].pts, 32 + 4 * 90000 / 8000); /* extrapolated: 4 samples later */
        ck_assert_int_eq(c.frames[0].codec, CODEC_G711A);
        ps_demux_destroy(d);
        collector_free(&c);
    }
}
END_TEST

/* Private stream 1 (Hikvision) holding a fake pack start code, padding, and a second video stream. */
START_TEST(test_skipped_streams)
{
    unsigned seed = 1;
    struct psb ps = {0}, es = {0}, want = {0};
    es_h264_au(&es, &want, true, false, 200, &seed);
    psb_pack(&ps, 0, 0);
    psb_psm(&ps, psm_h264_g711a, 2, PSM_OK);
    static const uint8_t private_data[] = {0x00, 0x00, 0x01, 0xba, 0x44, 0x00, 0x00, 0x01, 0xe0, 0x00, 0x00};
    psb_pes(&ps, 0xbd, PSB_NO_TS, PSB_NO_TS, private_data, sizeof private_data, false, 0);
    psb_pes(&ps, 0xe0, 7200, PSB_NO_TS, es.d, es.len, false, 0);
    psb_pes(&ps, 0xe1, 7200, PSB_NO_TS, es.d, es.len, false, 0); /* a second video stream: ignored */
    psb_put(&ps, "\x00\x00\x01\xbe\x00\x05\xff\xff\xff\xff\xff", 11);
    psb_pes(&ps, 0xe0, 10800, PSB_NO_TS, es.d, es.len, false, 0);
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    const struct ps_demux_stats *s = ps_demux_get_stats(d);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_mem_eq(c.frames[0].data, want.d, want.len);
    ck_assert_mem_eq(c.frames[1].data, want.d, want.len);
    ck_assert_uint_eq(s->resyncs, 0);
    ck_assert_uint_eq(s->packs, 1);
    /* the private PES after its 6-byte start code and length, and the second stream's payload */
    ck_assert_uint_eq(s->bytes_skipped, 3 + sizeof private_data + es.len);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
    psb_free(&es);
    psb_free(&want);
}
END_TEST

/* 33-bit PTS wrap: unwrapped times keep increasing. */
START_TEST(test_pts_wrap)
{
    unsigned seed = 2;
    struct psb ps = {0};
    const uint64_t wrap = 1ull << 33;
    const uint64_t raw[4] = {wrap - 7200, wrap - 3600, 0, 3600};
    for (int i = 0; i < 4; i++) {
        struct psb es = {0};
        es_h264_au(&es, NULL, i == 0, false, 50, &seed);
        psb_pack(&ps, raw[i], 0);
        psb_pes(&ps, 0xe0, raw[i], raw[i] == 0 ? wrap - 1800 : PSB_NO_TS, es.d, es.len, false, 0);
        psb_free(&es);
    }
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    ck_assert_uint_eq(c.n, 4);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(c.frames[i].pts, (int64_t)wrap - 7200 + 3600 * i);
    ck_assert_int_eq(c.frames[2].dts, (int64_t)wrap - 1800); /* DTS before the wrap, PTS after */
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
}
END_TEST

START_TEST(test_oversize_frame)
{
    unsigned seed = 4;
    struct psb ps = {0}, want_small = {0};
    for (int i = 0; i < 3; i++) {
        struct psb es = {0};
        es_h264_au(&es, i == 2 ? &want_small : NULL, true, false, i == 1 ? 9000 : 500, &seed);
        psb_pack(&ps, 0, 0);
        for (size_t at = 0; at < es.len; at += 4000) /* in several PES */
            psb_pes(&ps, 0xe0, at ? PSB_NO_TS : 3600u * (unsigned)i, PSB_NO_TS, es.d + at,
                    es.len - at < 4000 ? es.len - at : 4000, false, 0);
        psb_free(&es);
    }
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 4096);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_int_eq(c.frames[0].pts, 0);
    ck_assert_int_eq(c.frames[1].pts, 7200);
    ck_assert_mem_eq(c.frames[1].data, want_small.d, want_small.len);
    ck_assert_uint_eq(ps_demux_get_stats(d)->frames_dropped, 1);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
    psb_free(&want_small);
}
END_TEST

START_TEST(test_not_ps)
{
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    uint8_t junk[1000];
    srand(5);
    int r = 0;
    for (int i = 0; i < 70; i++) {
        for (size_t k = 0; k < sizeof junk; k++) junk[k] = (uint8_t)(rand() | 0x80);
        r = ps_demux_input(d, junk, sizeof junk, false);
        if (i < 64) ck_assert_int_eq(r, 0);
    }
    ck_assert_int_eq(r, -EINVAL);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_uint_eq(ps_demux_get_stats(d)->bytes_skipped, 70000);
    /* a real pack later: the stream is accepted after all */
    struct psb ps = {0};
    psb_pack(&ps, 0, 0);
    ck_assert_int_eq(ps_demux_input(d, ps.d, ps.len, false), 0);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
}
END_TEST

static Suite *synthetic_suite(void)
{
    Suite *s = suite_create("media_ps_demux_synthetic");
    TCase *tc = tcase_create("structure");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pes_length_zero_every_split);
    tcase_add_test(tc, test_frame_split_over_pes);
    tcase_add_test(tc, test_psm_flaws);
    tcase_add_test(tc, test_garbage_and_stuffing);
    tcase_add_test(tc, test_truncated_everywhere);
    tcase_add_test(tc, test_mpeg1_pack_and_pes);
    tcase_add_test(tc, test_skipped_streams);
    tcase_add_test(tc, test_pts_wrap);
    tcase_add_test(tc, test_oversize_frame);
    tcase_add_test(tc, test_not_ps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(synthetic_suite());
}
