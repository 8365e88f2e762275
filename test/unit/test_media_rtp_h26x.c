/*
 * media/rtp_h26x: RFC 6184 (H.264) and RFC 7798 (H.265) depacketization on real encoder output.
 *  - x264/x265 clips (made at test time) packetized by our own small packetizer (single NAL units,
 *    STAP-A/AP aggregation, FU-A/FU fragmentation) and by ffmpeg's RTP muxer (an independent implementation,
 *    captured from a local UDP socket, with B-frames): frame and keyframe counts, size from on_track, every
 *    access unit equal NAL by NAL to the source, pts from the RTP timestamps, dts monotonic;
 *  - loss: a packet dropped in the middle of an FU, the first packet of a unit, the marker packet, with and
 *    without mark_loss (sequence gap);
 *  - sender quirks: no marker at all, a marker on every packet, timestamp wrap.
 * Hand-made packets (every packetization, DONL, malformed input) are in test_media_rtp_h26x_packets.c.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp_h26x.h"
#include "rtp_payload_test_util.h"

#define FRAMES 50
#define STEP   3600

/* ---- clips ---- */

struct clip {
    enum codec_id codec;
    uint8_t *es;
    size_t es_len;
    struct mt_nals nals;
    struct mt_au *aus;
    size_t nau;
};

/* Made once per run, in the parent process (the unchecked fixture), before the tests fork. */
static bool have_clips;

static void make_clips(void)
{
    if (!mt_have_ffmpeg()) return;
    /* 2 s at 25 fps, a keyframe every 25 frames, no B-frames (decoding order = presentation order) */
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx264 -g 25 "
           "-sc_threshold 0 -bf 0 -f h264 '%s'",
           mt_tmp("plain.264"));
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 "
           "-x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=0 -f hevc '%s'",
           mt_tmp("plain.265"));
    /* the same with B-frames, in MPEG-TS (which keeps the presentation times) for ffmpeg's RTP muxer */
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx264 -g 25 "
           "-sc_threshold 0 -bf 3 -f mpegts '%s'",
           mt_tmp("bframes264.ts"));
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 "
           "-x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=3 -f mpegts '%s'",
           mt_tmp("bframes265.ts"));
    have_clips = true;
}

static void load_clip(struct clip *c, enum codec_id codec, const char *path)
{
    memset(c, 0, sizeof *c);
    c->codec = codec;
    c->es = mt_read(path, &c->es_len);
    mt_split_annexb(c->es, c->es_len, &c->nals);
    c->nau = mt_group_aus(codec, &c->nals, &c->aus);
    ck_assert_uint_eq(c->nau, FRAMES);
}

static bool make_clip(struct clip *c, enum codec_id codec)
{
    if (!have_clips) {
        printf("SKIP: no clips (ffmpeg missing)\n");
        return false;
    }
    load_clip(c, codec, mt_tmp(codec == CODEC_H264 ? "plain.264" : "plain.265"));
    return true;
}

static void free_clip(struct clip *c)
{
    free(c->es);
    free(c->nals.v);
    free(c->aus);
}

static struct rtp_h26x *collector_depacketizer(struct collector *col, enum codec_id codec, size_t max_frame)
{
    static const struct ps_demux_callbacks cb = {collector_on_frame, collector_on_track};
    struct rtp_h26x *d = rtp_h26x_create(codec, &cb, col, max_frame);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* Feeds packets [0, n) except those in skip[] (sorted); loss_call: call mark_loss before the packet after
 * a skipped one (what the stream does), else the depacketizer sees the sequence gap itself. */
static void feed(struct rtp_h26x *d, const struct mt_pkts *ps, const size_t *skip, size_t nskip,
                 bool loss_call)
{
    size_t k = 0;
    bool lost = false;
    for (size_t i = 0; i < ps->n; i++) {
        if (k < nskip && skip[k] == i) {
            k++;
            lost = true;
            continue;
        }
        if (lost && loss_call) rtp_h26x_mark_loss(d);
        lost = false;
        struct rtp_packet pkt;
        mt_parse(ps, i, &pkt);
        ck_assert_int_eq(rtp_h26x_input(d, &pkt), 0);
    }
    rtp_h26x_flush(d);
}

/* Every frame i equals source unit want[i]. */
static void check_frames(const struct collector *col, const struct clip *c, const size_t *want, size_t n)
{
    ck_assert_uint_eq(col->n, n);
    for (size_t i = 0; i < n; i++) {
        struct psb exp = {0};
        mt_au_expected(c->codec, &c->nals, &c->aus[want[i]], &exp);
        ck_assert_uint_eq(col->frames[i].codec, c->codec);
        ck_assert_uint_eq(col->frames[i].len, exp.len);
        ck_assert_mem_eq(col->frames[i].data, exp.d, exp.len);
        ck_assert(col->frames[i].key == c->aus[want[i]].key);
        psb_free(&exp);
    }
}

static void check_track(const struct collector *col, enum codec_id codec)
{
    ck_assert_uint_ge(col->ntracks, 1);
    const struct media_track *t = &col->tracks[0];
    ck_assert_uint_eq(t->codec, codec);
    ck_assert_uint_eq(t->width, 640);
    ck_assert_uint_eq(t->height, 360);
    ck_assert_uint_gt(t->sps_len, 0);
    ck_assert_uint_gt(t->pps_len, 0);
    if (codec == CODEC_H265) ck_assert_uint_gt(t->vps_len, 0);
}

static void own_packetizer(enum codec_id codec, bool aggregate, size_t mtu)
{
    struct clip c;
    if (!make_clip(&c, codec)) return;
    struct mt_pkts ps = {0};
    mt_packetize(codec, &c.nals, c.aus, c.nau, mtu, aggregate, codec == CODEC_H264 ? 98 : 99, 1000, STEP,
                 65000, &ps);
    struct collector col = {.keep_data = true};
    struct rtp_h26x *d = collector_depacketizer(&col, codec, 0);
    feed(d, &ps, NULL, 0, true);

    size_t want[FRAMES];
    for (size_t i = 0; i < FRAMES; i++) want[i] = i;
    check_frames(&col, &c, want, FRAMES);
    ck_assert_uint_eq(col.keys, 2);
    ck_assert(col.frames[0].key && col.frames[25].key && col.frames[0].has_params);
    check_track(&col, codec);
    for (size_t i = 0; i < FRAMES; i++) {
        ck_assert_int_eq(col.frames[i].pts, 1000 + (int64_t)i * STEP);
        ck_assert_int_eq(col.frames[i].dts, col.frames[i].pts);
        ck_assert_int_eq(col.frames[i].at_marker, false);
    }
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(d);
    ck_assert_uint_eq(st->packets, ps.n);
    ck_assert_uint_eq(st->video_frames, FRAMES);
    ck_assert_uint_eq(st->keyframes, 2);
    ck_assert_uint_eq(st->frames_dropped + st->malformed + st->fu_broken + st->seq_gaps + st->skipped, 0);
    ck_assert_uint_eq(st->nal_units, c.nals.n);
    rtp_h26x_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_clip(&c);
}

START_TEST(h264_own_packetizer)
{
    own_packetizer(CODEC_H264, true, 1200);
    own_packetizer(CODEC_H264, false, 500); /* packetization-mode 1 without aggregation, many FUs */
}
END_TEST

START_TEST(h265_own_packetizer)
{
    own_packetizer(CODEC_H265, true, 1200);
    own_packetizer(CODEC_H265, false, 300);
}
END_TEST

/* ---- ffmpeg's RTP muxer, B-frames ---- */

static void ffmpeg_rtp(enum codec_id codec)
{
    if (!have_clips) return;
    const char *ts = mt_tmp(codec == CODEC_H264 ? "bframes264.ts" : "bframes265.ts");
    const char *es = mt_tmp(codec == CODEC_H264 ? "bframes.264" : "bframes.265");
    mt_run("ffmpeg -v error -y -i '%s' -c copy -f %s '%s'", ts, codec == CODEC_H264 ? "h264" : "hevc", es);
    long keys =
        mt_run_number("ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 '%s' "
                      "| grep -c K",
                      ts);
    struct clip c;
    load_clip(&c, codec, es);

    struct mt_pkts ps = {0};
    char input[256];
    snprintf(input, sizeof input, "-i '%s' -an -c copy", ts);
    mt_ffmpeg_rtp(input, "rtp", &ps);
    ck_assert_uint_gt(ps.n, FRAMES);
    struct collector col = {.keep_data = true};
    struct rtp_h26x *d = collector_depacketizer(&col, codec, 0);
    feed(d, &ps, NULL, 0, true);
    size_t want[FRAMES];
    for (size_t i = 0; i < FRAMES; i++) want[i] = i;
    check_frames(&col, &c, want, FRAMES);
    ck_assert_uint_eq(col.keys, (size_t)keys);
    check_track(&col, codec);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(d);
    ck_assert_uint_eq(st->frames_dropped + st->malformed + st->fu_broken + st->unsupported, 0);
    ck_assert_uint_eq(st->marker_errors, 0);

    /* pts: the presentation times are 3600 apart once sorted; dts never goes back, and once the reorder
     * depth is known (after the first group of B-frames) it is never after pts. */
    int64_t *sorted = malloc(FRAMES * sizeof *sorted);
    for (size_t i = 0; i < FRAMES; i++) sorted[i] = col.frames[i].pts;
    for (size_t i = 1; i < FRAMES; i++)
        for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            int64_t t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (size_t i = 1; i < FRAMES; i++) ck_assert_int_eq(sorted[i] - sorted[i - 1], STEP);
    free(sorted);
    /* x265 deepens its reordering adaptively (1, then 2 frames): each deeper step is learned one frame
     * late, so a few early frames have dts > pts; none once the depth the encoder uses has shown */
    bool reordered = false;
    size_t late = 0;
    for (size_t i = 1; i < FRAMES; i++) {
        ck_assert_int_ge(col.frames[i].dts, col.frames[i - 1].dts);
        if (col.frames[i].pts < col.frames[i - 1].pts) reordered = true;
        if (col.frames[i].dts > col.frames[i].pts) {
            late++;
            ck_assert_uint_lt(i, FRAMES / 2);
        }
    }
    ck_assert_uint_le(late, 4);
    ck_assert(reordered); /* the clip really has B-frames */
    rtp_h26x_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_clip(&c);
}

START_TEST(h264_ffmpeg_rtp_bframes)
{
    ffmpeg_rtp(CODEC_H264);
}
END_TEST

START_TEST(h265_ffmpeg_rtp_bframes)
{
    ffmpeg_rtp(CODEC_H265);
}
END_TEST

/* ---- loss ---- */

/* Index of the packets of unit `au` in a stream made by mt_packetize with ts0 = 0. */
static void unit_packets(const struct mt_pkts *ps, size_t au, size_t *first, size_t *count)
{
    *first = *count = 0;
    bool found = false;
    for (size_t i = 0; i < ps->n; i++) {
        struct rtp_packet pkt;
        mt_parse(ps, i, &pkt);
        if (pkt.timestamp != (uint32_t)(au * STEP)) continue;
        if (!found) *first = i;
        found = true;
        (*count)++;
    }
    ck_assert(found);
}

/* The non-key unit in [5, 45) made of the most packets (0 = keyframe 25). */
static size_t big_unit(const struct clip *c, const struct mt_pkts *ps, bool key)
{
    if (key) return 25;
    size_t best = 0, best_count = 0;
    for (size_t au = 5; au < 45; au++) {
        size_t first, count;
        unit_packets(ps, au, &first, &count);
        if (!c->aus[au].key && count > best_count) {
            best = au;
            best_count = count;
        }
    }
    return best;
}

static void loss_case(enum codec_id codec, bool key, int which, bool loss_call)
{
    struct clip c;
    if (!make_clip(&c, codec)) return;
    struct mt_pkts ps = {0};
    mt_packetize(codec, &c.nals, c.aus, c.nau, 400, true, 98, 0, STEP, 100, &ps);
    size_t au = big_unit(&c, &ps, key);
    size_t first, count;
    unit_packets(&ps, au, &first, &count);
    ck_assert_uint_ge(count, 3); /* fragmented: a middle packet exists */
    size_t skip = which == 0 ? first : which == 1 ? first + count / 2 : first + count - 1;
    struct collector col = {.keep_data = true};
    struct rtp_h26x *d = collector_depacketizer(&col, codec, 0);
    feed(d, &ps, &skip, 1, loss_call);
    size_t want[FRAMES], n = 0;
    for (size_t i = 0; i < FRAMES; i++)
        if (i != au) want[n++] = i;
    check_frames(&col, &c, want, n);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(d);
    ck_assert_uint_eq(st->video_frames, FRAMES - 1);
    ck_assert_uint_eq(st->frames_dropped, 1);
    ck_assert_uint_eq(st->seq_gaps, loss_call ? 0 : 1);
    rtp_h26x_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_clip(&c);
}

START_TEST(loss_drops_exactly_the_damaged_unit)
{
    for (int which = 0; which < 3; which++) { /* first packet, a middle FU, the marker packet */
        loss_case(CODEC_H264, false, which, true);
        loss_case(CODEC_H264, false, which, false);
        loss_case(CODEC_H265, false, which, true);
        loss_case(CODEC_H265, false, which, false);
    }
    loss_case(CODEC_H264, true, 1, true); /* a keyframe: the P-frames after it still come out (the stream's
                                           drop-until-keyframe policy is not this module's business) */
}
END_TEST

/* ---- sender quirks ---- */

START_TEST(markers_missing_or_wrong)
{
    struct clip c;
    if (!make_clip(&c, CODEC_H264)) return;
    struct mt_pkts ps = {0};
    mt_packetize(CODEC_H264, &c.nals, c.aus, c.nau, 1200, true, 98, 0, STEP, 0, &ps);
    size_t want[FRAMES];
    for (size_t i = 0; i < FRAMES; i++) want[i] = i;

    /* no marker at all: units end at the timestamp change (and flush) */
    for (size_t i = 0; i < ps.n; i++) ps.data[i][1] &= 0x7f;
    struct collector col = {.keep_data = true};
    struct rtp_h26x *d = collector_depacketizer(&col, CODEC_H264, 0);
    feed(d, &ps, NULL, 0, true);
    check_frames(&col, &c, want, FRAMES);
    rtp_h26x_destroy(d);
    collector_free(&col);

    /* a marker on every packet: the first unit of several packets shows it; that unit is lost, the rest come
     * out whole, ended by timestamp changes */
    for (size_t i = 0; i < ps.n; i++) ps.data[i][1] |= 0x80;
    col.keep_data = true;
    d = collector_depacketizer(&col, CODEC_H264, 0);
    feed(d, &ps, NULL, 0, true);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(d);
    ck_assert_uint_eq(st->marker_errors, 1);
    /* unit 0 (several packets) came out as its first packet only, then the rest was skipped */
    ck_assert_uint_eq(col.n, FRAMES);
    check_frames(&(struct collector){.frames = col.frames + 1, .n = FRAMES - 1}, &c, want + 1, FRAMES - 1);
    ck_assert_uint_lt(col.frames[0].len, 1000);
    rtp_h26x_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_clip(&c);
}
END_TEST

START_TEST(timestamp_wrap)
{
    struct clip c;
    if (!make_clip(&c, CODEC_H265)) return;
    struct mt_pkts ps = {0};
    uint32_t ts0 = UINT32_MAX - 10 * STEP;
    mt_packetize(CODEC_H265, &c.nals, c.aus, c.nau, 1200, true, 99, ts0, STEP, 65530, &ps);
    struct collector col = {0};
    struct rtp_h26x *d = collector_depacketizer(&col, CODEC_H265, 0);
    feed(d, &ps, NULL, 0, true);
    ck_assert_uint_eq(col.n, FRAMES);
    for (size_t i = 0; i < FRAMES; i++) {
        ck_assert_int_eq(col.frames[i].pts, (int64_t)ts0 + (int64_t)i * STEP);
        ck_assert_int_eq(col.frames[i].dts, col.frames[i].pts);
    }
    rtp_h26x_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_clip(&c);
}
END_TEST

static void setup(void)
{
    make_clips();
}

static void teardown(void)
{
    mt_cleanup();
}

static Suite *suite(void)
{
    Suite *s = suite_create("media_rtp_h26x");
    TCase *tc = tcase_create("rtp_h26x");
    tcase_set_timeout(tc, 110);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, h264_own_packetizer);
    tcase_add_test(tc, h265_own_packetizer);
    tcase_add_test(tc, h264_ffmpeg_rtp_bframes);
    tcase_add_test(tc, h265_ffmpeg_rtp_bframes);
    tcase_add_test(tc, loss_drops_exactly_the_damaged_unit);
    tcase_add_test(tc, markers_missing_or_wrong);
    tcase_add_test(tc, timestamp_wrap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
