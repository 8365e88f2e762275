/*
 * ps_mux -> ps_demux round trip: every shape the simulator can send (default, small PES, PES length 0, sparse
 * packs, PSM only first or never, media_frame layout input) must come back out of our own demuxer as the same
 * frames: same count, codec, PTS/DTS, key flag and payload (Annex-B in, 4-byte NAL lengths out, frame.h),
 * whether the PS is fed whole, one byte at a time, or in RTP-sized chunks with the frame end marked.
 * Kept apart from test_media_ps_mux.c so the muxer's own tests never depend on the demuxer being finished.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/ps_demux.h"
#include "media/ps_mux.h"
#include "testutil.h"

/* Real parameter sets (a Hikvision 704x576 H.264 SPS; x265 320x240 VPS/SPS/PPS) so on_track can parse them.
 */
static const uint8_t h264_sps[] = {0x67, 0x4d, 0x00, 0x1e, 0x9d, 0xa8, 0x2c, 0x04, 0x9a, 0x6e, 0x02, 0x02,
                                   0x02, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42};
static const uint8_t h264_pps[] = {0x68, 0xee, 0x3c, 0x80};
static const uint8_t h265_vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00,
                                   0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09};
static const uint8_t h265_sps[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                                   0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f,
                                   0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a, 0x02, 0x00, 0x00,
                                   0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10};
static const uint8_t h265_pps[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};

#define MAX_FRAMES 64
struct clip_frame {
    enum codec_id codec;
    int64_t pts, dts;
    bool key;
    uint8_t *annexb; /* what goes into the muxer */
    size_t annexb_len;
    uint8_t *lp; /* the same NAL units with 4-byte lengths: what the demuxer must give back */
    size_t lp_len;
};
static struct clip_frame clip[MAX_FRAMES];
static size_t clip_n;
static unsigned rng = 12345;

static uint8_t rnd_nonzero(void)
{
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(1 + (rng >> 16) % 255); /* never 0: no accidental start codes inside NAL units */
}

static void add_nal(struct clip_frame *f, const uint8_t *nal, size_t len)
{
    f->annexb = realloc(f->annexb, f->annexb_len + 4 + len);
    f->lp = realloc(f->lp, f->lp_len + 4 + len);
    memcpy(f->annexb + f->annexb_len, "\0\0\0\1", 4);
    memcpy(f->annexb + f->annexb_len + 4, nal, len);
    f->annexb_len += 4 + len;
    f->lp[f->lp_len] = (uint8_t)(len >> 24), f->lp[f->lp_len + 1] = (uint8_t)(len >> 16);
    f->lp[f->lp_len + 2] = (uint8_t)(len >> 8), f->lp[f->lp_len + 3] = (uint8_t)len;
    memcpy(f->lp + f->lp_len + 4, nal, len);
    f->lp_len += 4 + len;
}

static void add_slice(struct clip_frame *f, const uint8_t *hdr, size_t hdr_len, size_t len)
{
    uint8_t *nal = malloc(len);
    memcpy(nal, hdr, hdr_len);
    for (size_t i = hdr_len; i < len; i++) nal[i] = rnd_nonzero();
    add_nal(f, nal, len);
    free(nal);
}

static void clip_free(void)
{
    for (size_t i = 0; i < clip_n; i++) free(clip[i].annexb), free(clip[i].lp);
    memset(clip, 0, sizeof clip);
    clip_n = 0;
}

/* 20 video frames (keyframes at 0 and 10, sizes up to 150 KB so PES splitting happens), and with an audio
 * codec one 40 ms G.711 frame (320 bytes) or AAC frame after each video frame. A small clip (keyframes just
 * over one PES, other frames ~1 KB) keeps the byte-by-byte feeds fast. */
static void clip_build_sized(enum codec_id video, enum codec_id audio, bool small)
{
    clip_free();
    for (int i = 0; i < 20; i++) {
        struct clip_frame *f = &clip[clip_n++];
        f->codec = video;
        f->pts = f->dts = 3600 * i;
        f->key = i % 10 == 0;
        size_t size = f->key  ? (small || i ? 70000 : 150000)
                      : small ? 200 + 50 * (size_t)i
                              : 500 + 1000 * (size_t)i;
        if (video == CODEC_H264) {
            if (f->key) add_nal(f, h264_sps, sizeof h264_sps), add_nal(f, h264_pps, sizeof h264_pps);
            const uint8_t idr[] = {0x65, 0x88}, p[] = {0x41, 0x9a};
            add_slice(f, f->key ? idr : p, 2, size);
        } else {
            if (f->key) {
                add_nal(f, h265_vps, sizeof h265_vps);
                add_nal(f, h265_sps, sizeof h265_sps);
                add_nal(f, h265_pps, sizeof h265_pps);
            }
            const uint8_t idr[] = {0x26, 0x01, 0xaf}, trail[] = {0x02, 0x01, 0xd0};
            add_slice(f, f->key ? idr : trail, 3, size);
        }
        if (audio == CODEC_NONE) continue;
        struct clip_frame *a = &clip[clip_n++];
        a->codec = audio;
        a->pts = a->dts = 3600 * i + 100;
        a->key = true;
        size_t alen = audio == CODEC_AAC ? 200 + (size_t)i : 320;
        a->annexb = malloc(alen);
        for (size_t k = 0; k < alen; k++) a->annexb[k] = rnd_nonzero();
        if (audio == CODEC_AAC) { /* ADTS: LC, 48 kHz (index 3), mono; the demuxer strips the header */
            const uint8_t adts[] = {
                0xFF, 0xF1, 0x4C, 0x40, (uint8_t)(alen >> 3), (uint8_t)((alen << 5) | 0x1F), 0xFC};
            memcpy(a->annexb, adts, 7);
            a->lp_len = alen - 7;
            a->lp = malloc(a->lp_len);
            memcpy(a->lp, a->annexb + 7, a->lp_len);
        } else {
            a->lp = malloc(alen);
            memcpy(a->lp, a->annexb, alen);
            a->lp_len = alen;
        }
        a->annexb_len = alen;
    }
}

static void clip_build(enum codec_id video, enum codec_id audio)
{
    clip_build_sized(video, audio, false);
}

/* what came out of the demuxer */
struct got_frame {
    enum codec_id codec;
    int64_t pts, dts;
    bool key;
    uint8_t *data;
    size_t len;
};
static struct got_frame got[MAX_FRAMES * 2];
static size_t got_n;
static int tracks_seen;
static struct media_track last_video_track;

static void on_frame(void *arg, struct media_frame *f)
{
    if (got_n < MAX_FRAMES * 2) {
        struct got_frame *g = &got[got_n++];
        g->codec = f->codec, g->pts = f->pts, g->dts = f->dts, g->key = f->key, g->len = f->len;
        g->data = malloc(f->len ? f->len : 1);
        memcpy(g->data, f->buf->data + f->off, f->len);
    }
    media_frame_release(f);
}

static void on_track(void *arg, const struct media_track *t)
{
    tracks_seen++;
    if (codec_is_video(t->codec)) last_video_track = *t;
}

static void got_free(void)
{
    for (size_t i = 0; i < got_n; i++) free(got[i].data);
    got_n = 0;
    tracks_seen = 0;
    memset(&last_video_track, 0, sizeof last_video_track);
}

enum feed { FEED_WHOLE, FEED_BYTES, FEED_RTP };

/* Muxes the clip with cfg, demuxes it fed as `how`, and checks every frame came back. */
static void roundtrip(const char *label, const struct ps_mux_config *cfg, enum feed how, bool frame_layout)
{
    struct ps_mux *m = ps_mux_create(cfg);
    ck_assert_ptr_nonnull(m);
    const struct ps_demux_callbacks cb = {on_frame, on_track};
    struct ps_demux *d = ps_demux_create(&cb, NULL, 4 << 20);
    ck_assert_ptr_nonnull(d);
    got_free();
    size_t cap = 400000;
    uint8_t *ps = malloc(cap);
    for (size_t i = 0; i < clip_n; i++) {
        struct clip_frame *c = &clip[i];
        bool lp = frame_layout && codec_is_video(c->codec);
        struct ps_mux_frame f = {.codec = c->codec,
                                 .data = lp ? c->lp : c->annexb,
                                 .len = lp ? c->lp_len : c->annexb_len,
                                 .pts = c->pts,
                                 .dts = c->dts,
                                 .key = c->key,
                                 .frame_layout = lp};
        size_t len;
        ck_assert_int_eq(ps_mux_write_buffer(m, &f, ps, cap, &len), 0);
        if (how == FEED_WHOLE) {
            ck_assert_int_eq(ps_demux_input(d, ps, len, false), 0);
        } else {
            size_t step = how == FEED_BYTES ? 1 : 1400;
            for (size_t o = 0; o < len; o += step) {
                size_t n = len - o < step ? len - o : step;
                ck_assert_int_eq(ps_demux_input(d, ps + o, n, how == FEED_RTP && o + n == len), 0);
            }
        }
    }
    ps_demux_flush(d);
    ck_assert_msg(got_n == clip_n, "%s, feed %d: %zu frames out of %zu", label, how, got_n, clip_n);
    for (size_t i = 0; i < clip_n; i++) {
        /* audio and video may come out in a different order than they went in: match by codec and PTS */
        size_t j = 0;
        while (j < got_n && !(got[j].codec == clip[i].codec && got[j].pts == clip[i].pts)) j++;
        ck_assert_msg(j < got_n, "frame %zu (codec %d pts %lld) missing", i, clip[i].codec,
                      (long long)clip[i].pts);
        ck_assert_int_eq(got[j].dts, clip[i].dts);
        ck_assert_int_eq(got[j].key, clip[i].key);
        ck_assert_uint_eq(got[j].len, clip[i].lp_len);
        ck_assert_mem_eq(got[j].data, clip[i].lp, clip[i].lp_len);
    }
    ck_assert_int_ge(tracks_seen, 1);
    if (clip[0].codec == CODEC_H264) {
        ck_assert_uint_eq(last_video_track.width, 704);
        ck_assert_uint_eq(last_video_track.height, 576);
    } else {
        ck_assert_uint_eq(last_video_track.width, 320);
        ck_assert_uint_eq(last_video_track.height, 240);
    }
    const struct ps_demux_stats *st = ps_demux_get_stats(d);
    ck_assert_uint_eq(st->frames_dropped, 0);
    free(ps);
    ps_demux_destroy(d);
    ps_mux_destroy(m);
    got_free();
}

START_TEST(h264_g711_default_all_feeds)
{
    clip_build(CODEC_H264, CODEC_G711A);
    struct ps_mux_config cfg = {.video = CODEC_H264, .audio = CODEC_G711A};
    roundtrip("h264+g711a", &cfg, FEED_WHOLE, false);
    roundtrip("h264+g711a", &cfg, FEED_RTP, false);
    clip_build_sized(CODEC_H264, CODEC_G711A, true);
    roundtrip("h264+g711a", &cfg, FEED_BYTES, false);
    clip_free();
}
END_TEST

START_TEST(h265_aac_default)
{
    clip_build(CODEC_H265, CODEC_AAC);
    struct ps_mux_config cfg = {.video = CODEC_H265, .audio = CODEC_AAC};
    roundtrip("h265+aac", &cfg, FEED_WHOLE, false);
    roundtrip("h265+aac", &cfg, FEED_RTP, false);
    clip_free();
}
END_TEST

START_TEST(sender_shapes)
{
    clip_build(CODEC_H264, CODEC_G711U);
    struct ps_mux_config small_pes = {.video = CODEC_H264, .audio = CODEC_G711U, .max_pes_payload = 1000};
    roundtrip("small_pes", &small_pes, FEED_RTP, false);
    struct ps_mux_config len_zero = {.video = CODEC_H264, .audio = CODEC_G711U, .video_pes_len_zero = true};
    roundtrip("len_zero", &len_zero, FEED_RTP, false);
    clip_build_sized(CODEC_H264, CODEC_G711U, true);
    roundtrip("len_zero", &len_zero, FEED_BYTES, false);
    clip_build(CODEC_H264, CODEC_G711U);
    struct ps_mux_config sparse = {.video = CODEC_H264, .audio = CODEC_G711U, .sparse_packs = true};
    roundtrip("sparse", &sparse, FEED_RTP, false);
    struct ps_mux_config first = {.video = CODEC_H264, .audio = CODEC_G711U, .psm = PS_MUX_PSM_FIRST};
    roundtrip("first", &first, FEED_WHOLE, false);
    clip_free();
}
END_TEST

START_TEST(no_psm_video_only)
{
    /* without a PSM the demuxer must guess H.264/H.265 from the NAL types */
    clip_build(CODEC_H265, CODEC_NONE);
    struct ps_mux_config cfg = {.video = CODEC_H265, .psm = PS_MUX_PSM_NONE};
    roundtrip("h265 no psm", &cfg, FEED_RTP, false);
    clip_build(CODEC_H264, CODEC_NONE);
    cfg.video = CODEC_H264;
    roundtrip("h264 no psm", &cfg, FEED_WHOLE, false);
    clip_free();
}
END_TEST

START_TEST(frame_layout_input)
{
    /* the cascade path: frames exactly as the demuxer produced them go back in and come out unchanged */
    clip_build(CODEC_H264, CODEC_G711A);
    struct ps_mux_config cfg = {.video = CODEC_H264, .audio = CODEC_G711A, .max_pes_payload = 777};
    roundtrip("frame layout", &cfg, FEED_RTP, true);
    clip_free();
}
END_TEST

static Suite *roundtrip_suite(void)
{
    Suite *s = suite_create("ps_mux_roundtrip");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, h264_g711_default_all_feeds);
    tcase_add_test(tc, h265_aac_default);
    tcase_add_test(tc, sender_shapes);
    tcase_add_test(tc, no_psm_video_only);
    tcase_add_test(tc, frame_layout_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(roundtrip_suite());
}
