/*
 * FLV -> MP4 (relay/recorder_mux.h): hand-built FLV streams (H.264 + AAC, H.265 in both FLV flavours, G.711,
 * late audio, recordings that start mid-GOP, clocks that jump back, size limits, malformed input) are written
 * to a temporary file and read back with libavformat's mov demuxer: tracks, codecs, sizes, packet counts,
 * keyframe flags and exact timestamps.
 */
#include <check.h>
#include <errno.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay/recorder_mux.h"
#include "relay_flv_fixtures.h"
#include "testutil.h"

/* ---- building FLV ---- */

struct flv {
    uint8_t *data;
    size_t len, cap;
};

static void put(struct flv *f, const void *p, size_t n)
{
    if (f->len + n > f->cap) {
        f->cap = (f->len + n) * 2 + 4096;
        f->data = realloc(f->data, f->cap);
        ck_assert_ptr_nonnull(f->data);
    }
    memcpy(f->data + f->len, p, n);
    f->len += n;
}

static void flv_begin(struct flv *f, bool video, bool audio)
{
    uint8_t h[13] = {'F', 'L', 'V', 1, (uint8_t)((audio ? 4 : 0) | (video ? 1 : 0)), 0, 0, 0, 9, 0, 0, 0, 0};
    f->len = 0;
    put(f, h, sizeof h);
}

static void tag(struct flv *f, uint8_t type, uint32_t ts, const uint8_t *body, size_t len)
{
    uint8_t h[11] = {type,
                     (uint8_t)(len >> 16),
                     (uint8_t)(len >> 8),
                     (uint8_t)len,
                     (uint8_t)(ts >> 16),
                     (uint8_t)(ts >> 8),
                     (uint8_t)ts,
                     (uint8_t)(ts >> 24),
                     0,
                     0,
                     0};
    put(f, h, 11);
    put(f, body, len);
    uint32_t prev = (uint32_t)len + 11;
    uint8_t p[4] = {(uint8_t)(prev >> 24), (uint8_t)(prev >> 16), (uint8_t)(prev >> 8), (uint8_t)prev};
    put(f, p, 4);
}

enum vflavour { AVC, HEVC12, HEVC_ENHANCED };

/* Sequence header (packet type 0) or a frame (1) with a 4-byte-length NAL of `size` bytes. */
static void video(struct flv *f, enum vflavour fl, uint32_t ts, int cts, bool key, bool seq, size_t size)
{
    uint8_t body[4096 + 16];
    size_t n = 0;
    const uint8_t *rec = fl == AVC ? fx_avcc_high_640x360 : fx_hvcc_main_320x240;
    size_t rec_len = fl == AVC ? sizeof fx_avcc_high_640x360 : sizeof fx_hvcc_main_320x240;
    uint8_t ft = key ? 1 : 2;
    if (fl == HEVC_ENHANCED) {
        body[n++] = (uint8_t)(0x80 | ft << 4 | (seq ? 0 : 1));
        memcpy(body + n, "hvc1", 4);
        n += 4;
        if (!seq) {
            body[n++] = (uint8_t)(cts >> 16), body[n++] = (uint8_t)(cts >> 8), body[n++] = (uint8_t)cts;
        }
    } else {
        body[n++] = (uint8_t)(ft << 4 | (fl == AVC ? 7 : 12));
        body[n++] = seq ? 0 : 1;
        body[n++] = (uint8_t)(cts >> 16), body[n++] = (uint8_t)(cts >> 8), body[n++] = (uint8_t)cts;
    }
    if (seq) {
        memcpy(body + n, rec, rec_len);
        n += rec_len;
    } else {
        ck_assert(size >= 2 && size <= 4096);
        body[n++] = (uint8_t)(size >> 24), body[n++] = (uint8_t)(size >> 16);
        body[n++] = (uint8_t)(size >> 8), body[n++] = (uint8_t)size;
        if (fl == AVC) {
            body[n] = key ? 0x65 : 0x41;
            body[n + 1] = 0x88;
        } else {
            body[n] = key ? 0x26 : 0x02; /* IDR_W_RADL / TRAIL_R */
            body[n + 1] = 0x01;
        }
        memset(body + n + 2, 0xab, size - 2);
        n += size;
    }
    tag(f, 9, ts, body, n);
}

static void aac(struct flv *f, uint32_t ts, bool seq)
{
    uint8_t body[64] = {0xaf, seq ? 0 : 1};
    size_t n = 2;
    if (seq) {
        body[n++] = 0x12, body[n++] = 0x10; /* AAC LC, 44.1 kHz, stereo */
    } else {
        memset(body + n, 0x21, 40);
        n += 40;
    }
    tag(f, 8, ts, body, n);
}

static void g711(struct flv *f, uint32_t ts)
{
    uint8_t body[161] = {0x72}; /* A-law, 8 kHz mono */
    tag(f, 8, ts, body, sizeof body);
}

/* ---- writing and reading back ---- */

struct readback {
    int nstreams;
    enum AVCodecID vcodec, acodec;
    uint32_t vtag;
    int width, height, sample_rate;
    int nv, na;
    int64_t vdts[512], vpts[512];
    bool vkey[512];
    int64_t adts0, duration_ms;
};

static char path[64];

static void new_path(void)
{
    snprintf(path, sizeof path, "/tmp/test_rec_mux_XXXXXX.mp4");
    int fd = mkstemps(path, 4);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

/* Feeds the whole stream (in pieces of `step` bytes, 0 = at once) and finishes; returns finish's result. */
static bool faststart;

static int record(const struct flv *f, size_t step, uint64_t max_bytes, struct rec_mux_stats *stats,
                  int *input_rc)
{
    new_path();
    char err[160];
    struct rec_mux_options o = {
        .max_bytes = max_bytes, .log_name = "test", .title = "unit", .faststart = faststart};
    struct rec_mux *m = rec_mux_create(path, &o, err, sizeof err);
    ck_assert_ptr_nonnull(m);
    int rc = 0;
    for (size_t off = 0; off < f->len && !rc;) {
        size_t n = step ? step : f->len;
        if (n > f->len - off) n = f->len - off;
        rc = rec_mux_input(m, f->data + off, n, err, sizeof err);
        off += n;
    }
    if (input_rc) *input_rc = rc;
    int frc = rec_mux_finish(m, err, sizeof err);
    if (stats) *stats = *rec_mux_get_stats(m);
    rec_mux_destroy(m);
    return frc;
}

static void read_back(struct readback *rb)
{
    memset(rb, 0, sizeof *rb);
    AVFormatContext *ic = NULL;
    ck_assert_int_eq(avformat_open_input(&ic, path, NULL, NULL), 0);
    rb->nstreams = (int)ic->nb_streams;
    int vi = -1, ai = -1;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        AVCodecParameters *par = ic->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            vi = (int)i;
            rb->vcodec = par->codec_id;
            rb->vtag = par->codec_tag;
            rb->width = par->width;
            rb->height = par->height;
        } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
            ai = (int)i;
            rb->acodec = par->codec_id;
            rb->sample_rate = par->sample_rate;
        }
    }
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(ic, pkt) >= 0) {
        AVRational tb = ic->streams[pkt->stream_index]->time_base;
        int64_t dts = av_rescale_q(pkt->dts, tb, (AVRational){1, 1000});
        int64_t pts = av_rescale_q(pkt->pts, tb, (AVRational){1, 1000});
        if (pkt->stream_index == vi && rb->nv < 512) {
            rb->vdts[rb->nv] = dts;
            rb->vpts[rb->nv] = pts;
            rb->vkey[rb->nv] = pkt->flags & AV_PKT_FLAG_KEY;
            rb->nv++;
        } else if (pkt->stream_index == ai) {
            if (rb->na++ == 0) rb->adts0 = dts;
        }
        av_packet_unref(pkt);
    }
    rb->duration_ms = ic->duration * 1000 / AV_TIME_BASE;
    av_packet_free(&pkt);
    avformat_close_input(&ic);
    unlink(path);
}

/* 2 s of H.264 at 25 fps (keyframe every 25, composition offset 80 ms on inter frames) + AAC. */
static void avc_aac_stream(struct flv *f, uint32_t t0)
{
    flv_begin(f, true, true);
    video(f, AVC, t0, 0, true, true, 0);
    aac(f, t0, true);
    for (int i = 0; i < 50; i++) {
        video(f, AVC, t0 + (uint32_t)i * 40, i % 25 ? 80 : 0, i % 25 == 0, false, 300);
        if (i % 2 == 0) aac(f, t0 + (uint32_t)i * 40 + 3, false);
    }
}

START_TEST(test_h264_aac)
{
    struct flv f = {0};
    avc_aac_stream(&f, 5000); /* a stream already 5 s old: the file starts at 0 */
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    ck_assert_uint_eq(st.video_frames, 50);
    ck_assert_uint_eq(st.audio_frames, 25);
    ck_assert_str_eq(st.vcodec, "h264");
    ck_assert_str_eq(st.acodec, "aac");
    ck_assert_uint_eq(st.duration_ms, 2000); /* 50 frames x 40 ms, the last lasting as long as the others */
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nstreams, 2);
    ck_assert_int_eq(rb.vcodec, AV_CODEC_ID_H264);
    ck_assert_int_eq(rb.acodec, AV_CODEC_ID_AAC);
    ck_assert_int_eq(rb.width, 640);
    ck_assert_int_eq(rb.height, 360);
    ck_assert_int_eq(rb.sample_rate, 44100);
    ck_assert_int_eq(rb.nv, 50);
    ck_assert_int_eq(rb.na, 25);
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(rb.vdts[i] - rb.vdts[0], i * 40);
        ck_assert_int_eq(rb.vpts[i] - rb.vdts[i] - (rb.vpts[0] - rb.vdts[0]), i % 25 ? 80 : 0);
        ck_assert(rb.vkey[i] == (i % 25 == 0));
    }
    ck_assert_int_eq(rb.vdts[0], 0);
    ck_assert_int_le(llabs(rb.adts0 - 3), 1); /* 3 ms in a 1/44100 time base and back */
    free(f.data);
}
END_TEST

START_TEST(test_any_split_same_file)
{
    struct flv f = {0};
    avc_aac_stream(&f, 0);
    struct rec_mux_stats whole, bytewise;
    ck_assert_int_eq(record(&f, 0, 0, &whole, NULL), 0);
    unlink(path);
    ck_assert_int_eq(record(&f, 7, 0, &bytewise, NULL), 0);
    ck_assert_uint_eq(bytewise.video_frames, whole.video_frames);
    ck_assert_uint_eq(bytewise.audio_frames, whole.audio_frames);
    ck_assert_uint_eq(bytewise.bytes, whole.bytes);
    unlink(path);
    free(f.data);
}
END_TEST

START_TEST(test_starts_at_first_keyframe)
{
    struct flv f = {0};
    flv_begin(&f, true, false);
    video(&f, AVC, 0, 0, false, true, 0);
    for (int i = 0; i < 3; i++) video(&f, AVC, 1000 + (uint32_t)i * 40, 0, false, false, 100); /* mid-GOP */
    for (int i = 3; i < 10; i++) video(&f, AVC, 1000 + (uint32_t)i * 40, 0, i == 3, false, 100);
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    ck_assert_uint_eq(st.video_frames, 7);
    ck_assert_uint_eq(st.skipped, 3);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nstreams, 1);
    ck_assert_int_eq(rb.nv, 7);
    ck_assert(rb.vkey[0]);
    ck_assert_int_eq(rb.vdts[0], 0);
    free(f.data);
}
END_TEST

START_TEST(test_late_audio_config)
{
    /* a young stream: the AAC config arrives 200 ms after the first keyframe (within REC_MUX_HOLD_MS) */
    struct flv f = {0};
    flv_begin(&f, true, false);
    video(&f, AVC, 0, 0, true, true, 0);
    for (int i = 0; i < 60; i++) {
        video(&f, AVC, (uint32_t)i * 40, 0, i % 25 == 0, false, 100);
        if (i == 5) aac(&f, 200, true);
        if (i >= 5) aac(&f, (uint32_t)i * 40, false);
    }
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nstreams, 2);
    ck_assert_int_eq(rb.nv, 60);
    ck_assert_int_eq(rb.na, 55);
    ck_assert_int_eq(rb.adts0, 200);
    free(f.data);
}
END_TEST

static void hevc_case(enum vflavour fl)
{
    struct flv f = {0};
    flv_begin(&f, true, false);
    video(&f, fl, 0, 0, true, true, 0);
    for (int i = 0; i < 20; i++) video(&f, fl, (uint32_t)i * 40, i ? 40 : 0, i % 10 == 0, false, 200);
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    ck_assert_str_eq(st.vcodec, "hevc");
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.vcodec, AV_CODEC_ID_HEVC);
    ck_assert_uint_eq(rb.vtag, MKTAG('h', 'v', 'c', '1'));
    ck_assert_int_eq(rb.width, 320);
    ck_assert_int_eq(rb.height, 240);
    ck_assert_int_eq(rb.nv, 20);
    ck_assert_int_eq(rb.vpts[1] - rb.vdts[1] - (rb.vpts[0] - rb.vdts[0]), 40);
    free(f.data);
}

START_TEST(test_hevc_legacy12)
{
    hevc_case(HEVC12);
}
END_TEST

START_TEST(test_hevc_enhanced)
{
    hevc_case(HEVC_ENHANCED);
}
END_TEST

START_TEST(test_g711_left_out)
{
    struct flv f = {0};
    flv_begin(&f, true, true);
    video(&f, AVC, 0, 0, true, true, 0);
    for (int i = 0; i < 50; i++) {
        video(&f, AVC, (uint32_t)i * 40, 0, i % 25 == 0, false, 100);
        g711(&f, (uint32_t)i * 40);
    }
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    ck_assert_uint_eq(st.skipped, 50);
    ck_assert_ptr_null(st.acodec);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nstreams, 1);
    ck_assert_int_eq(rb.nv, 50);
    free(f.data);
}
END_TEST

START_TEST(test_audio_only)
{
    struct flv f = {0};
    flv_begin(&f, false, true);
    aac(&f, 0, true);
    for (int i = 0; i < 100; i++) aac(&f, 700 + (uint32_t)i * 23, false);
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nstreams, 1);
    ck_assert_int_eq(rb.acodec, AV_CODEC_ID_AAC);
    ck_assert_int_eq(rb.na, 100);
    ck_assert_int_eq(rb.adts0, 0);
    free(f.data);
}
END_TEST

START_TEST(test_nothing_recordable)
{
    struct flv f = {0};
    flv_begin(&f, true, true);
    video(&f, AVC, 0, 0, true, true, 0);
    for (int i = 0; i < 10; i++) {
        video(&f, AVC, (uint32_t)i * 40, 0, false, false, 100); /* never a keyframe */
        g711(&f, (uint32_t)i * 40);
    }
    ck_assert_int_eq(record(&f, 0, 0, NULL, NULL), -ENODATA);
    unlink(path);
    flv_begin(&f, true, true); /* just the header */
    ck_assert_int_eq(record(&f, 0, 0, NULL, NULL), -ENODATA);
    unlink(path);
    free(f.data);
}
END_TEST

START_TEST(test_clock_jumps_back)
{
    struct flv f = {0};
    flv_begin(&f, true, false);
    video(&f, AVC, 0, 0, true, true, 0);
    for (int i = 0; i < 20; i++) video(&f, AVC, 60000 + (uint32_t)i * 40, 0, i % 10 == 0, false, 100);
    for (int i = 0; i < 20; i++) video(&f, AVC, (uint32_t)i * 40, 0, i % 10 == 0, false, 100); /* restart */
    video(&f, AVC, 39 * 40 - 20, 0, false, false, 100); /* a small step back: nudged forward */
    struct rec_mux_stats st;
    ck_assert_int_eq(record(&f, 0, 0, &st, NULL), 0);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nv, 41);
    for (int i = 1; i < rb.nv; i++) ck_assert_int_gt(rb.vdts[i], rb.vdts[i - 1]);
    ck_assert_int_eq(rb.vdts[20], 20 * 40); /* continues one frame after the first part */
    ck_assert_int_eq(rb.vdts[39], 39 * 40);
    free(f.data);
}
END_TEST

START_TEST(test_size_limit)
{
    struct flv f = {0};
    flv_begin(&f, true, false);
    video(&f, AVC, 0, 0, true, true, 0);
    for (int i = 0; i < 200; i++) video(&f, AVC, (uint32_t)i * 40, 0, i % 25 == 0, false, 4000);
    struct rec_mux_stats st;
    int in_rc;
    ck_assert_int_eq(record(&f, 0, 100000, &st, &in_rc), 0);
    ck_assert_int_eq(in_rc, -EFBIG);
    ck_assert_uint_lt(st.video_frames, 200);
    struct readback rb;
    read_back(&rb); /* finalized: readable */
    ck_assert_int_gt(rb.nv, 10);
    ck_assert_int_lt(rb.nv, 40);
    free(f.data);
}
END_TEST

START_TEST(test_malformed_input)
{
    struct flv f = {0};
    put(&f, "NOT AN FLV FILE AT ALL", 22);
    int in_rc;
    int rc = record(&f, 0, 0, NULL, &in_rc);
    ck_assert_int_lt(in_rc, 0);
    ck_assert_int_lt(rc, 0);
    unlink(path);
    /* a tag larger than the limit: an error, not a huge allocation */
    avc_aac_stream(&f, 0);
    uint8_t big[11] = {9, 0x7f, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0};
    put(&f, big, sizeof big);
    new_path();
    char err[160];
    struct rec_mux_options o = {.max_tag = 1 << 20};
    struct rec_mux *m = rec_mux_create(path, &o, err, sizeof err);
    ck_assert_int_lt(rec_mux_input(m, f.data, f.len, err, sizeof err), 0);
    ck_assert_int_lt(rec_mux_input(m, f.data, 1, err, sizeof err), 0); /* sticky */
    ck_assert_int_ne(rec_mux_finish(m, err, sizeof err), -ENODATA);
    rec_mux_destroy(m);
    unlink(path);
    free(f.data);
}
END_TEST

/* Offset of a top-level box in the file at path, or -1. */
static long box_offset(const char *type)
{
    size_t len;
    uint8_t *d = test_read_file(path, &len);
    long at = -1;
    for (size_t off = 0; d && off + 8 <= len;) {
        uint32_t size = (uint32_t)d[off] << 24 | d[off + 1] << 16 | d[off + 2] << 8 | d[off + 3];
        if (!memcmp(d + off + 4, type, 4)) {
            at = (long)off;
            break;
        }
        if (size < 8) break;
        off += size;
    }
    free(d);
    return at;
}

START_TEST(test_moov_position)
{
    struct flv f = {0};
    avc_aac_stream(&f, 0);
    ck_assert_int_eq(record(&f, 0, 0, NULL, NULL), 0);
    ck_assert_int_gt(box_offset("moov"), box_offset("mdat")); /* default: the index at the end */
    unlink(path);
    faststart = true;
    ck_assert_int_eq(record(&f, 0, 0, NULL, NULL), 0);
    faststart = false;
    ck_assert_int_gt(box_offset("mdat"), box_offset("moov"));
    ck_assert_int_ge(box_offset("moov"), 0);
    struct readback rb;
    read_back(&rb);
    ck_assert_int_eq(rb.nv, 50);
    free(f.data);
}
END_TEST

START_TEST(test_cannot_create)
{
    char err[160] = "";
    struct rec_mux_options o = {0};
    ck_assert_ptr_null(rec_mux_create("/nonexistent-dir/x.mp4", &o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.mp4"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_recorder_mux");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_h264_aac);
    tcase_add_test(tc, test_any_split_same_file);
    tcase_add_test(tc, test_starts_at_first_keyframe);
    tcase_add_test(tc, test_late_audio_config);
    tcase_add_test(tc, test_hevc_legacy12);
    tcase_add_test(tc, test_hevc_enhanced);
    tcase_add_test(tc, test_g711_left_out);
    tcase_add_test(tc, test_audio_only);
    tcase_add_test(tc, test_nothing_recordable);
    tcase_add_test(tc, test_clock_jumps_back);
    tcase_add_test(tc, test_size_limit);
    tcase_add_test(tc, test_malformed_input);
    tcase_add_test(tc, test_moov_position);
    tcase_add_test(tc, test_cannot_create);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    return test_run_suite(suite());
}
