/*
 * media/rtp_h26x: RFC 6184 (H.264) and RFC 7798 (H.265) depacketization on real encoder output.
 *  - x264/x265 clips (made at test time) packetized by our own small packetizer (single NAL units,
 *    STAP-A/AP aggregation, FU-A/FU fragmentation) and by ffmpeg's RTP muxer (an independent implementation,
 *    captured from a local UDP socket, with B-frames): frame and keyframe counts, size from on_track, every
 *    access unit equal NAL by NAL to the source, pts from the RTP timestamps, dts monotonic;
 *  - loss: a packet dropped in the middle of an FU, the first packet of a unit, the marker packet, with and
 *    without mark_loss (sequence gap);
 *  - sender quirks: no marker at all, a marker on every packet, timestamp wrap, DONL;
 *  - malformed packets: truncated FU, start+end FU, bad STAP-A/AP sizes, interleaved-mode types, reserved
 *    types, forbidden bit, TemporalId 0, oversize units.
 */
#include <check.h>
#include <errno.h>
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
static void feed(struct rtp_h26x *d, const struct mt_pkts *ps, const size_t *skip, size_t nskip, bool loss_call)
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
    mt_packetize(codec, &c.nals, c.aus, c.nau, mtu, aggregate, codec == CODEC_H264 ? 98 : 99, 1000, STEP, 65000,
                 &ps);
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
    long keys = mt_run_number("ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 '%s' "
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

/* ---- hand-made packets ---- */

/* Appends one NAL unit, length-prefixed, to what a frame should hold. */
static void want_nal(struct psb *want, const uint8_t *nal, size_t n)
{
    psb_u16(want, (unsigned)(n >> 16));
    psb_u16(want, (unsigned)(n & 0xffff));
    psb_put(want, nal, n);
}

struct hand {
    struct rtp_h26x *d;
    struct collector col;
    uint16_t seq;
};

static int put(struct hand *h, uint32_t ts, bool marker, const void *payload, size_t n)
{
    uint8_t pkt[RTP_HEADER_SIZE + 2048];
    ck_assert_uint_le(n, 2048);
    rtp_write_header(pkt, 98, marker, h->seq++, ts, 1);
    memcpy(pkt + RTP_HEADER_SIZE, payload, n);
    struct rtp_packet p;
    ck_assert_int_eq(rtp_parse(pkt, RTP_HEADER_SIZE + n, &p), 0);
    return rtp_h26x_input(h->d, &p);
}

static void hand_open(struct hand *h, enum codec_id codec, size_t max_frame)
{
    memset(h, 0, sizeof *h);
    h->col.keep_data = true;
    h->d = collector_depacketizer(&h->col, codec, max_frame);
}

static void hand_close(struct hand *h)
{
    rtp_h26x_destroy(h->d);
    collector_free(&h->col);
}

static const uint8_t idr264[] = {0x65, 0x88, 0x84, 0x21, 0x10};   /* first_mb_in_slice 0 */
static const uint8_t p264[] = {0x41, 0x9a, 0x22, 0x33};            /* first_mb_in_slice 0 */
static const uint8_t p264_second[] = {0x41, 0x48, 0x22, 0x33};     /* first_mb_in_slice != 0 */
static const uint8_t trail265[] = {0x02, 0x01, 0xd0, 0x11, 0x22};  /* first_slice_segment_in_pic_flag */
static const uint8_t idr265[] = {0x26, 0x01, 0xaf, 0x05, 0x40, 0x7}; /* IDR_W_RADL */

START_TEST(h264_stap_a_and_fu_a_by_hand)
{
    struct hand h;
    hand_open(&h, CODEC_H264, 0);
    /* STAP-A: SPS, PPS; then the IDR in three FU-A fragments */
    uint8_t stap[64] = {0x78};
    size_t n = 1;
    stap[n++] = 0;
    stap[n++] = sizeof test_h264_sps;
    memcpy(stap + n, test_h264_sps, sizeof test_h264_sps);
    n += sizeof test_h264_sps;
    stap[n++] = 0;
    stap[n++] = sizeof test_h264_pps;
    memcpy(stap + n, test_h264_pps, sizeof test_h264_pps);
    n += sizeof test_h264_pps;
    ck_assert_int_eq(put(&h, 0, false, stap, n), 0);
    const uint8_t fu1[] = {0x7c, 0x85, 0x88, 0x84}, fu2[] = {0x7c, 0x05, 0x21}, fu3[] = {0x7c, 0x45, 0x10};
    ck_assert_int_eq(put(&h, 0, false, fu1, sizeof fu1), 0);
    ck_assert_int_eq(put(&h, 0, false, fu2, sizeof fu2), 0);
    ck_assert_int_eq(put(&h, 0, true, fu3, sizeof fu3), 0);
    ck_assert_uint_eq(h.col.n, 1);
    struct psb want = {0};
    want_nal(&want, test_h264_sps, sizeof test_h264_sps);
    want_nal(&want, test_h264_pps, sizeof test_h264_pps);
    want_nal(&want, idr264, sizeof idr264);
    ck_assert_uint_eq(h.col.frames[0].len, want.len);
    ck_assert_mem_eq(h.col.frames[0].data, want.d, want.len);
    ck_assert(h.col.frames[0].key && h.col.frames[0].has_params);
    ck_assert_uint_eq(h.col.ntracks, 1);
    ck_assert_uint_eq(h.col.tracks[0].sps_len, sizeof test_h264_sps);
    ck_assert_uint_eq(h.col.tracks[0].pps_len, sizeof test_h264_pps);
    psb_free(&want);
    hand_close(&h);
}
END_TEST

START_TEST(h264_malformed)
{
    struct hand h;
    hand_open(&h, CODEC_H264, 0);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(h.d);
    uint32_t ts = 0;

    /* each case: a good first packet of a unit, then the bad packet: the unit is dropped */
    const uint8_t stap_overrun[] = {0x78, 0x00, 0x04, 0x67, 0x4d, 0x00, 0x1e, 0x00, 0x09, 0x68, 0xee};
    const uint8_t stap_zero[] = {0x78, 0x00, 0x00, 0x00, 0x02, 0x68, 0xee};
    const uint8_t stap_cut_size[] = {0x78, 0x00, 0x02, 0x68, 0xee, 0x00};
    const uint8_t stap_bad_inner[] = {0x78, 0x00, 0x02, 0x9c, 0xee}; /* inner forbidden bit */
    const uint8_t stap_empty[] = {0x78};
    const uint8_t fu_short[] = {0x7c};
    const uint8_t fu_start_end[] = {0x7c, 0xc5, 0x11};
    const uint8_t fu_bad_type[] = {0x7c, 0x98, 0x11}; /* FU of an FU-A */
    const uint8_t forbidden[] = {0xe5, 0x88};
    const struct {
        const uint8_t *p;
        size_t n;
        int ret;
    } cases[] = {
        {stap_overrun, sizeof stap_overrun, -EINVAL}, {stap_zero, sizeof stap_zero, -EINVAL},
        {stap_cut_size, sizeof stap_cut_size, -EINVAL}, {stap_bad_inner, sizeof stap_bad_inner, -EINVAL},
        {stap_empty, sizeof stap_empty, -EINVAL}, {fu_short, sizeof fu_short, -EINVAL},
        {fu_start_end, sizeof fu_start_end, -EINVAL}, {fu_bad_type, sizeof fu_bad_type, -EINVAL},
        {forbidden, sizeof forbidden, -EINVAL}, {(const uint8_t *)"\x19\x00\x00", 3, -ENOTSUP},
        {(const uint8_t *)"\x1a\x00\x00", 3, -ENOTSUP}, {(const uint8_t *)"\x1b\x00\x00", 3, -ENOTSUP},
        {(const uint8_t *)"\x1d\x85\x00", 3, -ENOTSUP}, {(const uint8_t *)"", 0, -EINVAL},
    };
    size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++, ts += STEP) {
        ck_assert_int_eq(put(&h, ts, false, idr264, sizeof idr264), 0);
        ck_assert_int_eq(put(&h, ts, true, cases[i].p, cases[i].n), cases[i].ret);
        /* the rest of the damaged unit is skipped */
        ck_assert_int_eq(put(&h, ts, true, p264_second, sizeof p264_second), 0);
    }
    ck_assert_uint_eq(h.col.n, 0);
    ck_assert_uint_eq(st->frames_dropped, ncases);
    ck_assert_uint_eq(st->malformed, ncases - 4);
    ck_assert_uint_eq(st->unsupported, 4);
    ck_assert_uint_eq(st->skipped, ncases);

    /* undefined types are ignored, the unit survives */
    ck_assert_int_eq(put(&h, ts, false, idr264, sizeof idr264), 0);
    ck_assert_int_eq(put(&h, ts, false, "\x00\x11", 2), 0);
    ck_assert_int_eq(put(&h, ts, false, "\x1e\x11", 2), 0);
    ck_assert_int_eq(put(&h, ts, true, "\x1f\x11", 2), 0);
    ck_assert_uint_eq(h.col.n, 1);
    ck_assert_uint_eq(st->ignored, 3);
    ck_assert_uint_eq(h.col.frames[0].len, 4 + sizeof idr264);
    ts += STEP;

    /* FU continuity: a middle fragment without a start, a type change, a single NAL inside an FU */
    const uint8_t fu_mid[] = {0x7c, 0x05, 0x11}, fu_start[] = {0x7c, 0x85, 0x88, 0x84}, fu_mid1[] = {0x7c, 0x01, 1};
    ck_assert_int_eq(put(&h, ts, true, fu_mid, sizeof fu_mid), 0); /* unit starts mid-FU: broken */
    ts += STEP;
    ck_assert_int_eq(put(&h, ts, false, fu_start, sizeof fu_start), 0);
    ck_assert_int_eq(put(&h, ts, true, fu_mid1, sizeof fu_mid1), 0); /* type changed */
    ts += STEP;
    ck_assert_int_eq(put(&h, ts, false, fu_start, sizeof fu_start), 0);
    ck_assert_int_eq(put(&h, ts, true, p264, sizeof p264), 0); /* the FU never ended */
    ts += STEP;
    ck_assert_uint_eq(st->fu_broken, 3);
    ck_assert_uint_eq(h.col.n, 1);

    /* after all that, a clean unit still comes out */
    ck_assert_int_eq(put(&h, ts, true, idr264, sizeof idr264), 0);
    ck_assert_uint_eq(h.col.n, 2);
    hand_close(&h);
}
END_TEST

START_TEST(recovery_needs_a_picture_start)
{
    struct hand h;
    hand_open(&h, CODEC_H264, 0);
    ck_assert_int_eq(put(&h, 0, true, idr264, sizeof idr264), 0);
    rtp_h26x_mark_loss(h.d);
    /* the next unit begins with a second slice: its first slice was lost, so it is dropped whole */
    ck_assert_int_eq(put(&h, STEP, false, p264_second, sizeof p264_second), 0);
    ck_assert_int_eq(put(&h, STEP, true, p264_second, sizeof p264_second), 0);
    /* an SEI or a first slice starts a picture */
    ck_assert_int_eq(put(&h, 2 * STEP, false, "\x06\x05\x01\x80", 4), 0);
    ck_assert_int_eq(put(&h, 2 * STEP, true, p264, sizeof p264), 0);
    ck_assert_uint_eq(h.col.n, 2);
    ck_assert_int_eq(h.col.frames[1].pts - h.col.frames[0].pts, 2 * STEP);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(h.d);
    ck_assert_uint_eq(st->frames_dropped, 1);
    ck_assert_uint_eq(st->skipped, 2);
    hand_close(&h);
}
END_TEST

START_TEST(h265_by_hand)
{
    struct hand h;
    hand_open(&h, CODEC_H265, 0);
    const struct rtp_h26x_stats *st = rtp_h26x_get_stats(h.d);
    /* AP with VPS, SPS, PPS; then the IDR in two FUs */
    uint8_t ap[256] = {0x60, 0x01};
    size_t n = 2;
    const uint8_t *ps[3] = {test_h265_vps, test_h265_sps, test_h265_pps};
    size_t pl[3] = {sizeof test_h265_vps, sizeof test_h265_sps, sizeof test_h265_pps};
    for (int i = 0; i < 3; i++) {
        ap[n++] = 0;
        ap[n++] = (uint8_t)pl[i];
        memcpy(ap + n, ps[i], pl[i]);
        n += pl[i];
    }
    ck_assert_int_eq(put(&h, 0, false, ap, n), 0);
    const uint8_t fu1[] = {0x62, 0x01, 0x93, 0xaf, 0x05}, fu2[] = {0x62, 0x01, 0x53, 0x40, 0x07};
    ck_assert_int_eq(put(&h, 0, false, fu1, sizeof fu1), 0);
    ck_assert_int_eq(put(&h, 0, true, fu2, sizeof fu2), 0);
    ck_assert_uint_eq(h.col.n, 1);
    struct psb want = {0};
    for (int i = 0; i < 3; i++) want_nal(&want, ps[i], pl[i]);
    want_nal(&want, idr265, sizeof idr265);
    ck_assert_uint_eq(h.col.frames[0].len, want.len);
    ck_assert_mem_eq(h.col.frames[0].data, want.d, want.len);
    ck_assert(h.col.frames[0].key);
    ck_assert_uint_eq(h.col.tracks[0].vps_len, sizeof test_h265_vps);
    psb_free(&want);

    /* malformed: AP size overrun, AP unit of 1 byte, FU too short, FU start+end, tid 0, forbidden bit,
     * an AP inside an AP; PACI is unsupported; 51-63 ignored */
    const struct {
        const char *p;
        size_t n;
        int ret;
    } cases[] = {
        {"\x60\x01\x00\x09\x02\x01\xd0", 7, -EINVAL}, {"\x60\x01\x00\x01\x02", 5, -EINVAL},
        {"\x62\x01", 2, -EINVAL},           {"\x62\x01\xc1\x11", 4, -EINVAL},
        {"\x02\x00\xd0", 3, -EINVAL},       {"\x82\x01\xd0", 3, -EINVAL},
        {"\x60\x01\x00\x03\x60\x01\x11", 7, -EINVAL}, {"\x64\x01\x00\x00", 4, -ENOTSUP},
        {"\x62\x01\xb0\x11", 4, -EINVAL},
    };
    uint32_t ts = STEP;
    size_t ncases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < ncases; i++, ts += STEP) {
        ck_assert_int_eq(put(&h, ts, false, trail265, sizeof trail265), 0);
        ck_assert_int_eq(put(&h, ts, true, cases[i].p, cases[i].n), cases[i].ret);
    }
    ck_assert_uint_eq(st->frames_dropped, ncases);
    ck_assert_uint_eq(st->malformed, ncases - 1);
    ck_assert_uint_eq(st->unsupported, 1);
    ck_assert_int_eq(put(&h, ts, false, trail265, sizeof trail265), 0);
    ck_assert_int_eq(put(&h, ts, false, "\x66\x01\x00", 3), 0); /* type 51 */
    ck_assert_int_eq(put(&h, ts, true, "\x7e\x01\x00", 3), 0);  /* type 63 */
    ck_assert_uint_eq(st->ignored, 2);
    ck_assert_uint_eq(h.col.n, 2);
    ck_assert_uint_eq(h.col.frames[1].len, 4 + sizeof trail265);
    hand_close(&h);
}
END_TEST

START_TEST(h265_donl)
{
    struct hand h;
    hand_open(&h, CODEC_H265, 0);
    rtp_h26x_set_donl(h.d, true);
    /* AP: DONL, size, VPS, DOND, size, SPS, DOND, size, PPS */
    uint8_t ap[256] = {0x60, 0x01, 0x00, 0x05};
    size_t n = 4;
    const uint8_t *ps[3] = {test_h265_vps, test_h265_sps, test_h265_pps};
    size_t pl[3] = {sizeof test_h265_vps, sizeof test_h265_sps, sizeof test_h265_pps};
    for (int i = 0; i < 3; i++) {
        if (i) ap[n++] = 0; /* DOND */
        ap[n++] = 0;
        ap[n++] = (uint8_t)pl[i];
        memcpy(ap + n, ps[i], pl[i]);
        n += pl[i];
    }
    ck_assert_int_eq(put(&h, 0, false, ap, n), 0);
    /* FU with DONL in the first fragment only */
    const uint8_t fu1[] = {0x62, 0x01, 0x93, 0x00, 0x08, 0xaf, 0x05}, fu2[] = {0x62, 0x01, 0x53, 0x40, 0x07};
    ck_assert_int_eq(put(&h, 0, false, fu1, sizeof fu1), 0);
    ck_assert_int_eq(put(&h, 0, true, fu2, sizeof fu2), 0);
    /* single NAL unit with DONL */
    const uint8_t single[] = {0x02, 0x01, 0x00, 0x09, 0xd0, 0x11, 0x22};
    ck_assert_int_eq(put(&h, STEP, true, single, sizeof single), 0);
    ck_assert_uint_eq(h.col.n, 2);
    struct psb want = {0};
    for (int i = 0; i < 3; i++) want_nal(&want, ps[i], pl[i]);
    want_nal(&want, idr265, sizeof idr265);
    ck_assert_uint_eq(h.col.frames[0].len, want.len);
    ck_assert_mem_eq(h.col.frames[0].data, want.d, want.len);
    psb_free(&want);
    want_nal(&want, trail265, sizeof trail265);
    ck_assert_uint_eq(h.col.frames[1].len, want.len);
    ck_assert_mem_eq(h.col.frames[1].data, want.d, want.len);
    psb_free(&want);
    ck_assert_uint_eq(rtp_h26x_get_stats(h.d)->malformed, 0);
    hand_close(&h);
}
END_TEST

START_TEST(oversize_and_create_errors)
{
    ck_assert_ptr_null(rtp_h26x_create(CODEC_AAC, NULL, NULL, 0));
    ck_assert_ptr_null(rtp_h26x_create(CODEC_NONE, NULL, NULL, 0));
    struct hand h;
    hand_open(&h, CODEC_H264, 100);
    uint8_t big[300] = {0x65, 0x88};
    memset(big + 2, 0x5a, sizeof big - 2);
    ck_assert_int_eq(put(&h, 0, true, big, sizeof big), 0);
    ck_assert_int_eq(put(&h, STEP, true, idr264, sizeof idr264), 0);
    ck_assert_uint_eq(h.col.n, 1);
    ck_assert_uint_eq(rtp_h26x_get_stats(h.d)->frames_dropped, 1);
    hand_close(&h);
    /* no callbacks at all: frames are released */
    struct rtp_h26x *d = rtp_h26x_create(CODEC_H264, NULL, NULL, 0);
    uint8_t pkt[64];
    rtp_write_header(pkt, 98, true, 1, 0, 1);
    memcpy(pkt + RTP_HEADER_SIZE, idr264, sizeof idr264);
    struct rtp_packet p;
    ck_assert_int_eq(rtp_parse(pkt, RTP_HEADER_SIZE + sizeof idr264, &p), 0);
    ck_assert_int_eq(rtp_h26x_input(d, &p), 0);
    ck_assert_int_eq(rtp_h26x_input(d, NULL), -EINVAL);
    ck_assert_uint_eq(rtp_h26x_get_stats(d)->video_frames, 1);
    rtp_h26x_destroy(d);
    rtp_h26x_destroy(NULL);
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
    tcase_add_test(tc, h264_stap_a_and_fu_a_by_hand);
    tcase_add_test(tc, h264_malformed);
    tcase_add_test(tc, recovery_needs_a_picture_start);
    tcase_add_test(tc, h265_by_hand);
    tcase_add_test(tc, h265_donl);
    tcase_add_test(tc, oversize_and_create_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
