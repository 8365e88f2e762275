/*
 * media/ps_demux on synthetic streams, frame side: when frames complete (RTP marker trust: earned,
 * refused, and a stream without PTS), loss handling, codecs guessed without a PSM (H.264, H.265, AAC,
 * G.711), AAC with several ADTS frames per PES and frames straddling PES, PSM codec changes, SPS changes,
 * and a codec that is recognised but not remuxed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/aac.h"
#include "ps_test_util.h"
#include "testutil.h"

static const struct psb_psm_entry psm_h264[] = {{0x1b, 0xe0, NULL, 0}};

/* Feeds a stream given as pieces; piece i ends at ends[i] and carries the marker when marks[i]. */
static void feed_pieces(struct ps_demux *d, struct collector *c, const struct psb *ps, const size_t *ends,
                        const bool *marks, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        c->piece = (int)i;
        c->in_marker_call = marks[i];
        ps_demux_input(d, ps->d + at, ends[i] - at, marks[i]);
        c->in_marker_call = false;
        at = ends[i];
    }
}

/* n frames; each frame = pack + `pes_per_frame` PES (PTS in the first, `repeat_pts` in the others). Each
 * PES is one piece; `mark(frame, pes)` says which pieces carry a marker. */
struct frame_stream {
    struct psb ps, want[16];
    size_t ends[64];
    bool marks[64];
    size_t pieces;
};

static void build_frames(struct frame_stream *fs, int n, int pes_per_frame, bool with_pts, bool repeat_pts,
                         bool (*mark)(int frame, int pes))
{
    memset(fs, 0, sizeof *fs);
    unsigned seed = 77;
    for (int f = 0; f < n; f++) {
        struct psb es = {0};
        es_h264_au(&es, &fs->want[f], f == 0, false, 900, &seed);
        psb_pack(&fs->ps, 0, 0);
        if (f == 0) psb_psm(&fs->ps, psm_h264, 1, PSM_OK);
        size_t part = es.len / (size_t)pes_per_frame + 1;
        for (int k = 0; k < pes_per_frame; k++) {
            size_t from = (size_t)k * part, to = from + part < es.len ? from + part : es.len;
            uint64_t pts = with_pts && (k == 0 || repeat_pts) ? 3600u * (unsigned)f : PSB_NO_TS;
            psb_pes(&fs->ps, 0xe0, pts, PSB_NO_TS, es.d + from, to - from, false, 0);
            fs->ends[fs->pieces] = fs->ps.len;
            fs->marks[fs->pieces] = mark(f, k);
            fs->pieces++;
        }
        psb_free(&es);
    }
}

static void free_frames(struct frame_stream *fs, int n)
{
    psb_free(&fs->ps);
    for (int i = 0; i < n; i++) psb_free(&fs->want[i]);
}

static void check_content(const struct collector *c, const struct frame_stream *fs, int n)
{
    ck_assert_uint_eq(c->n, (size_t)n);
    for (int i = 0; i < n; i++) {
        ck_assert_uint_eq(c->frames[i].len, fs->want[i].len);
        ck_assert_mem_eq(c->frames[i].data, fs->want[i].d, fs->want[i].len);
    }
}

static bool mark_last_of_two(int frame, int pes)
{
    return pes == 1;
}
static bool mark_first_of_two(int frame, int pes)
{
    return pes == 0;
}

START_TEST(test_marker_trust_earned)
{
    struct frame_stream fs;
    build_frames(&fs, 8, 2, true, false, mark_last_of_two);
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    feed_pieces(d, &c, &fs.ps, fs.ends, fs.marks, fs.pieces);
    ck_assert_uint_eq(c.n, 8); /* the last one too: markers are trusted by then */
    ps_demux_flush(d);
    check_content(&c, &fs, 8);
    /* frames 0..2 confirm the markers (each followed by a new PTS), then every frame ends on its marker */
    for (int i = 0; i < 8; i++) ck_assert(c.frames[i].at_marker == (i >= 3));
    for (int i = 0; i < 8; i++) ck_assert_int_eq(c.frames[i].pts, 3600 * i);
    ps_demux_destroy(d);
    collector_free(&c);
    free_frames(&fs, 8);
}
END_TEST

/* Markers on PES boundaries inside frames (the next PES repeats the PTS): never trusted, frames intact. */
START_TEST(test_marker_refused_same_pts)
{
    struct frame_stream fs;
    build_frames(&fs, 8, 2, true, true, mark_first_of_two);
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    feed_pieces(d, &c, &fs.ps, fs.ends, fs.marks, fs.pieces);
    ck_assert_uint_eq(c.n, 7); /* the last frame waits for a PTS change or flush */
    c.piece = -1;
    ps_demux_flush(d);
    check_content(&c, &fs, 8);
    /* each frame came out when the next frame's first PES (piece 2 * (i + 1)) brought a new PTS */
    for (int i = 0; i < 7; i++) ck_assert_int_eq(c.frames[i].piece, 2 * (i + 1));
    ck_assert_int_eq(c.frames[7].piece, -1);
    ps_demux_destroy(d);
    collector_free(&c);
    free_frames(&fs, 8);
}
END_TEST

/* A marker in the middle of a PES (per-mux-buffer markers): distrusted at once, frames intact. */
START_TEST(test_marker_refused_mid_pes)
{
    struct frame_stream fs;
    build_frames(&fs, 6, 1, true, false, mark_first_of_two);
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    size_t at = 0;
    for (size_t i = 0; i < fs.pieces; i++) {
        size_t mid = (at + fs.ends[i]) / 2;
        c.piece = (int)(2 * i);
        ps_demux_input(d, fs.ps.d + at, mid - at, true); /* marker inside the PES */
        c.piece = (int)(2 * i + 1);
        ps_demux_input(d, fs.ps.d + mid, fs.ends[i] - mid, false);
        at = fs.ends[i];
    }
    ck_assert_uint_eq(c.n, 5);
    ps_demux_flush(d);
    check_content(&c, &fs, 6);
    /* frame i came out in the first half of frame i + 1 (its PES header, new PTS), not at a marker */
    for (int i = 0; i < 5; i++) ck_assert_int_eq(c.frames[i].piece, 2 * (i + 1));
    ps_demux_destroy(d);
    collector_free(&c);
    free_frames(&fs, 6);
}
END_TEST

/* No PTS anywhere: the marker is all there is, and frames are dated 3600 apart. */
START_TEST(test_no_pts_uses_markers)
{
    struct frame_stream fs;
    build_frames(&fs, 5, 2, false, false, mark_last_of_two);
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    feed_pieces(d, &c, &fs.ps, fs.ends, fs.marks, fs.pieces);
    check_content(&c, &fs, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert(c.frames[i].at_marker);
        ck_assert_int_eq(c.frames[i].pts, 3600 * i);
    }
    ps_demux_destroy(d);
    collector_free(&c);
    free_frames(&fs, 5);
}
END_TEST

/* A loss inside frame 2: frame 2 is dropped and counted, its PTS-less continuation PES are skipped (not
 * turned into a frame), frame 3 comes out whole. A loss in the middle of a PES resyncs on the next pack. */
START_TEST(test_mark_loss)
{
    struct frame_stream fs;
    build_frames(&fs, 5, 3, true, false, mark_last_of_two);
    for (int mid_pes = 0; mid_pes <= 1; mid_pes++) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        size_t loss_at = fs.ends[6]; /* after frame 2's first PES */
        if (mid_pes) loss_at -= 250; /* 50 bytes into frame 2's first PES payload */
        ps_demux_input(d, fs.ps.d, loss_at, false);
        ps_demux_mark_loss(d);
        ps_demux_input(d, fs.ps.d + fs.ends[6] + 50, fs.ps.len - fs.ends[6] - 50, false); /* 50 bytes lost */
        ps_demux_flush(d);
        ck_assert_uint_eq(c.n, 4);
        const int expect[4] = {0, 1, 3, 4};
        for (int i = 0; i < 4; i++) {
            ck_assert_uint_eq(c.frames[i].len, fs.want[expect[i]].len);
            ck_assert_mem_eq(c.frames[i].data, fs.want[expect[i]].d, fs.want[expect[i]].len);
            ck_assert_int_eq(c.frames[i].pts, 3600 * expect[i]);
        }
        const struct ps_demux_stats *s = ps_demux_get_stats(d);
        ck_assert_uint_eq(s->frames_dropped, 1);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    free_frames(&fs, 5);
}
END_TEST

/* Video without a PSM: the codec comes from the NAL headers; units before the first telling one (a P frame
 * without parameter sets) cannot be emitted. */
START_TEST(test_no_psm_h264_and_h265)
{
    for (int hevc = 0; hevc <= 1; hevc++) {
        unsigned seed = 8;
        struct psb ps = {0}, want[3] = {{0}};
        for (int i = 0; i < 3; i++) {
            struct psb es = {0};
            bool key = i == 1;
            if (hevc)
                es_h265_au(&es, &want[i], key, i > 0, 400, &seed);
            else
                es_h264_au(&es, &want[i], key, i > 0, 400, &seed); /* an AUD would tell the codec */
            psb_pack(&ps, 0, 0);
            psb_pes(&ps, 0xe0, 3600u * (unsigned)i, PSB_NO_TS, es.d, es.len, false, 0);
            psb_free(&es);
        }
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        ps_demux_input(d, ps.d, ps.len, false);
        ps_demux_flush(d);
        ck_assert_uint_eq(c.n, 2);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(c.frames[i].codec, hevc ? CODEC_H265 : CODEC_H264);
            ck_assert_uint_eq(c.frames[i].len, want[i + 1].len); /* AUD dropped */
            ck_assert_mem_eq(c.frames[i].data, want[i + 1].d, want[i + 1].len);
        }
        ck_assert(c.frames[0].key);
        ck_assert_uint_eq(ps_demux_get_stats(d)->frames_dropped, 1);
        ck_assert_uint_eq(c.ntracks, 1);
        ck_assert_int_eq(c.tracks[0].codec, hevc ? CODEC_H265 : CODEC_H264);
        ck_assert_uint_eq(c.tracks[0].width, hevc ? 640 : 704);
        ck_assert_uint_eq(c.tracks[0].height, hevc ? 360 : 576);
        ck_assert_uint_eq(c.tracks[0].vps_len, hevc ? sizeof test_h265_vps : 0);
        ps_demux_destroy(d);
        collector_free(&c);
        for (int i = 0; i < 3; i++) psb_free(&want[i]);
        psb_free(&ps);
    }
}
END_TEST

/* Writes an ADTS frame (44.1 kHz stereo LC) with `raw` bytes of deterministic content. */
static void adts_frame(struct psb *b, size_t raw, uint8_t fill)
{
    uint8_t h[ADTS_HEADER_LEN];
    ck_assert_int_eq(adts_write_header(h, 2, 4, 2, raw), ADTS_HEADER_LEN);
    psb_put(b, h, sizeof h);
    for (size_t i = 0; i < raw; i++) psb_u8(b, (uint8_t)(fill + i));
}

/* AAC: three ADTS frames in one PES, then a frame straddling two PES; with a PSM and without one. */
START_TEST(test_aac_adts_frames)
{
    const struct psb_psm_entry psm_aac[] = {{0x0f, 0xc0, NULL, 0}};
    for (int with_psm = 0; with_psm <= 1; with_psm++) {
        struct psb ps = {0}, pes1 = {0}, pes2 = {0};
        adts_frame(&pes1, 100, 1);
        adts_frame(&pes1, 120, 2);
        adts_frame(&pes1, 90, 3);
        adts_frame(&pes2, 200, 4);
        adts_frame(&pes2, 50, 5);
        size_t split = 7 + 100; /* the 200-byte frame straddles the two PES */
        psb_pack(&ps, 0, 0);
        if (with_psm) psb_psm(&ps, psm_aac, 1, PSM_OK);
        psb_pes(&ps, 0xc0, 9000, PSB_NO_TS, pes1.d, pes1.len, false, 0);
        psb_pes(&ps, 0xc0, PSB_NO_TS, PSB_NO_TS, pes2.d, 0, false, 0); /* an empty PES on the way */
        psb_pes(&ps, 0xc0, 9000 + 3 * 2090, PSB_NO_TS, pes2.d, split, false, 0);
        psb_pes(&ps, 0xc0, PSB_NO_TS, PSB_NO_TS, pes2.d + split, pes2.len - split, false, 0);
        for (size_t piece = 1; piece <= ps.len; piece += piece < 20 ? 1 : 97) {
            struct collector c = {.keep_data = true};
            struct ps_demux *d = collector_demux(&c, 0);
            for (size_t at = 0; at < ps.len; at += piece)
                ps_demux_input(d, ps.d + at, ps.len - at < piece ? ps.len - at : piece, false);
            ps_demux_flush(d);
            ck_assert_uint_eq(c.audio, 5);
            const size_t sizes[5] = {100, 120, 90, 200, 50};
            const uint8_t fills[5] = {1, 2, 3, 4, 5};
            /* 1024 samples at 44.1 kHz = 2089.8 ticks; the PES PTS dates the first frame starting in it */
            const int64_t pts[5] = {9000, 9000 + 2089, 9000 + 2 * 2089, 9000 + 3 * 2090,
                                    9000 + 3 * 2090 + 2089};
            for (int i = 0; i < 5; i++) {
                ck_assert_int_eq(c.frames[i].codec, CODEC_AAC);
                ck_assert_uint_eq(c.frames[i].len, sizes[i]);
                ck_assert_uint_eq(c.frames[i].data[0], fills[i]);
                ck_assert_uint_eq(c.frames[i].data[sizes[i] - 1], (uint8_t)(fills[i] + sizes[i] - 1));
                ck_assert_int_eq(c.frames[i].pts, pts[i]);
            }
            ck_assert_uint_eq(c.ntracks, 1);
            ck_assert_int_eq(c.tracks[0].codec, CODEC_AAC);
            ck_assert_uint_eq(c.tracks[0].sample_rate, 44100);
            ck_assert_uint_eq(c.tracks[0].channels, 2);
            ck_assert_uint_eq(c.tracks[0].asc_len, 2);
            ck_assert_mem_eq(c.tracks[0].asc, "\x12\x10", 2);
            ck_assert_uint_eq(ps_demux_get_stats(d)->frames_dropped, 0);
            ps_demux_destroy(d);
            collector_free(&c);
        }
        psb_free(&ps);
        psb_free(&pes1);
        psb_free(&pes2);
    }
}
END_TEST

/* Garbage inside an AAC stream, including a false sync whose header is invalid and hides a real one. */
START_TEST(test_aac_resync)
{
    const struct psb_psm_entry psm_aac[] = {{0x0f, 0xc0, NULL, 0}};
    struct psb ps = {0}, pes = {0};
    psb_put(&pes, "\x12\xff\xf1\x3c\x00", 5); /* 0x3c: sampling index 15, no header */
    adts_frame(&pes, 30, 7);
    psb_put(&pes, "\xff\x00\xff", 3);
    adts_frame(&pes, 40, 9);
    psb_pack(&ps, 0, 0);
    psb_psm(&ps, psm_aac, 1, PSM_OK);
    psb_pes(&ps, 0xc0, 100, PSB_NO_TS, pes.d, pes.len, false, 0);
    for (size_t piece = 1; piece <= ps.len; piece = piece * 2 + 1) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        for (size_t at = 0; at < ps.len; at += piece)
            ps_demux_input(d, ps.d + at, ps.len - at < piece ? ps.len - at : piece, false);
        ck_assert_uint_eq(c.audio, 2);
        ck_assert_uint_eq(c.frames[0].len, 30);
        ck_assert_uint_eq(c.frames[0].data[0], 7);
        ck_assert_uint_eq(c.frames[1].len, 40);
        ck_assert_uint_eq(c.frames[1].data[0], 9);
        ck_assert_uint_eq(ps_demux_get_stats(d)->bytes_skipped, 5 + 3);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    psb_free(&ps);
    psb_free(&pes);
}
END_TEST

/* Audio without a PSM that is not ADTS: G.711 A-law, one frame per PES, 8 kHz mono; PES without a PTS
 * are dated by their sample count. */
START_TEST(test_no_psm_g711)
{
    struct psb ps = {0};
    uint8_t pcm[160];
    for (size_t i = 0; i < sizeof pcm; i++) pcm[i] = (uint8_t)(0xd5 ^ (i & 3));
    pcm[0] = 0xff; /* a loud first sample looks like an ADTS sync byte; the rest does not */
    psb_pack(&ps, 0, 0);
    psb_pes(&ps, 0xc0, 1000, PSB_NO_TS, pcm, sizeof pcm, false, 0);
    psb_pes(&ps, 0xc0, PSB_NO_TS, PSB_NO_TS, pcm + 1, 80, false, 0);
    psb_pes(&ps, 0xc0, 5000, PSB_NO_TS, pcm + 1, 3, false, 0);
    for (size_t piece = 1; piece <= 8; piece++) {
        struct collector c = {.keep_data = true};
        struct ps_demux *d = collector_demux(&c, 0);
        for (size_t at = 0; at < ps.len; at += piece)
            ps_demux_input(d, ps.d + at, ps.len - at < piece ? ps.len - at : piece, false);
        ck_assert_uint_eq(c.audio, 3);
        ck_assert_int_eq(c.frames[0].codec, CODEC_G711A);
        ck_assert_uint_eq(c.frames[0].len, 160);
        ck_assert_mem_eq(c.frames[0].data, pcm, 160);
        ck_assert_int_eq(c.frames[0].pts, 1000);
        ck_assert_int_eq(c.frames[1].pts, 1000 + 160 * 90000 / 8000);
        ck_assert_uint_eq(c.frames[2].len, 3);
        ck_assert_int_eq(c.frames[2].pts, 5000);
        ck_assert_uint_eq(c.ntracks, 1);
        ck_assert_uint_eq(c.tracks[0].sample_rate, 8000);
        ck_assert_uint_eq(c.tracks[0].channels, 1);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    psb_free(&ps);
}
END_TEST

/* The PSM switches the video codec (the camera was reconfigured), then the SPS changes resolution. */
START_TEST(test_codec_and_sps_changes)
{
    static const uint8_t sps_720p[] = {0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                                       0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00,
                                       0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60};
    const struct psb_psm_entry psm_h265[] = {{0x24, 0xe0, NULL, 0}};
    unsigned seed = 31;
    struct psb ps = {0};
    for (int i = 0; i < 6; i++) {
        struct psb es = {0};
        psb_pack(&ps, 0, 0);
        if (i == 0) psb_psm(&ps, psm_h264, 1, PSM_OK);
        if (i == 2) psb_psm(&ps, psm_h265, 1, PSM_OK);
        if (i == 4) psb_psm(&ps, psm_h264, 1, PSM_OK);
        if (i < 2) es_h264_au(&es, NULL, i == 0, false, 100, &seed);
        if (i == 2 || i == 3) es_h265_au(&es, NULL, i == 2, false, 100, &seed);
        if (i >= 4) {
            es_nal(&es, NULL, sps_720p, sizeof sps_720p);
            es_nal(&es, NULL, test_h264_pps, sizeof test_h264_pps);
            es_slice(&es, NULL, (const uint8_t *)"\x65\x88", 2, 100, &seed);
        }
        psb_pes(&ps, 0xe0, 3600u * (unsigned)i, PSB_NO_TS, es.d, es.len, false, 0);
        psb_free(&es);
    }
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    ck_assert_uint_eq(c.n, 6);
    const enum codec_id codecs[6] = {CODEC_H264, CODEC_H264, CODEC_H265, CODEC_H265, CODEC_H264, CODEC_H264};
    for (int i = 0; i < 6; i++) ck_assert_int_eq(c.frames[i].codec, codecs[i]);
    ck_assert_uint_eq(c.ntracks, 3); /* H.264 704x576, H.265 640x360, H.264 1280x720: once each */
    ck_assert_int_eq(c.tracks[0].codec, CODEC_H264);
    ck_assert_uint_eq(c.tracks[0].width, 704);
    ck_assert_int_eq(c.tracks[1].codec, CODEC_H265);
    ck_assert_uint_eq(c.tracks[1].width, 640);
    ck_assert_uint_eq(c.tracks[1].vps_len, sizeof test_h265_vps);
    ck_assert_int_eq(c.tracks[2].codec, CODEC_H264);
    ck_assert_uint_eq(c.tracks[2].width, 1280);
    ck_assert_uint_eq(c.tracks[2].height, 720);
    ck_assert_uint_eq(c.tracks[2].vps_len, 0);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
}
END_TEST

/* MPEG-4 video is recognised (reported once) but not remuxed: no frames, payload skipped. */
START_TEST(test_unsupported_video_codec)
{
    const struct psb_psm_entry psm_mpeg4[] = {{0x10, 0xe0, NULL, 0}};
    struct psb ps = {0};
    static const uint8_t vop[] = {0x00, 0x00, 0x01, 0xb6, 0x10, 0x20, 0x30};
    for (int i = 0; i < 3; i++) {
        psb_pack(&ps, 0, 0);
        if (i == 0) psb_psm(&ps, psm_mpeg4, 1, PSM_OK);
        psb_pes(&ps, 0xe0, 3600u * (unsigned)i, PSB_NO_TS, vop, sizeof vop, false, 0);
    }
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    ps_demux_input(d, ps.d, ps.len, false);
    ps_demux_flush(d);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_uint_eq(c.ntracks, 1);
    ck_assert_int_eq(c.tracks[0].codec, CODEC_MPEG4V);
    ck_assert_uint_eq(ps_demux_get_stats(d)->bytes_skipped, 3 * sizeof vop);
    ps_demux_destroy(d);
    collector_free(&c);
    psb_free(&ps);
}
END_TEST

static Suite *frames_suite(void)
{
    Suite *s = suite_create("media_ps_demux_frames");
    TCase *tc = tcase_create("frames");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_marker_trust_earned);
    tcase_add_test(tc, test_marker_refused_same_pts);
    tcase_add_test(tc, test_marker_refused_mid_pes);
    tcase_add_test(tc, test_no_pts_uses_markers);
    tcase_add_test(tc, test_mark_loss);
    tcase_add_test(tc, test_no_psm_h264_and_h265);
    tcase_add_test(tc, test_aac_adts_frames);
    tcase_add_test(tc, test_aac_resync);
    tcase_add_test(tc, test_no_psm_g711);
    tcase_add_test(tc, test_codec_and_sps_changes);
    tcase_add_test(tc, test_unsupported_video_codec);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(frames_suite());
}
