/*
 * media/rtp_h26x on hand-made packets: STAP-A + FU-A and AP + FU reassembled byte for byte (parameter sets
 * reaching the track), DONL/DOND, recovery after loss only at a picture start, and every kind of malformed
 * packet: truncated FU, start+end FU, FU of a reserved type, STAP-A/AP sizes that overrun or are zero,
 * forbidden bit, TemporalId 0, interleaved-mode types (refused), undefined types (ignored), fragments that
 * do not continue, a stream ending inside a fragment, oversize units. Real encoder output is in
 * test_media_rtp_h26x.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp_h26x.h"
#include "rtp_payload_test_util.h"

#define STEP 3600

static struct rtp_h26x *collector_depacketizer(struct collector *col, enum codec_id codec, size_t max_frame)
{
    static const struct ps_demux_callbacks cb = {collector_on_frame, collector_on_track};
    struct rtp_h26x *d = rtp_h26x_create(codec, &cb, col, max_frame);
    ck_assert_ptr_nonnull(d);
    return d;
}

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

static const uint8_t idr264[] = {0x65, 0x88, 0x84, 0x21, 0x10};      /* first_mb_in_slice 0 */
static const uint8_t p264[] = {0x41, 0x9a, 0x22, 0x33};              /* first_mb_in_slice 0 */
static const uint8_t p264_second[] = {0x41, 0x48, 0x22, 0x33};       /* first_mb_in_slice != 0 */
static const uint8_t trail265[] = {0x02, 0x01, 0xd0, 0x11, 0x22};    /* first_slice_segment_in_pic_flag */
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
        {stap_overrun, sizeof stap_overrun, -EINVAL},   {stap_zero, sizeof stap_zero, -EINVAL},
        {stap_cut_size, sizeof stap_cut_size, -EINVAL}, {stap_bad_inner, sizeof stap_bad_inner, -EINVAL},
        {stap_empty, sizeof stap_empty, -EINVAL},       {fu_short, sizeof fu_short, -EINVAL},
        {fu_start_end, sizeof fu_start_end, -EINVAL},   {fu_bad_type, sizeof fu_bad_type, -EINVAL},
        {forbidden, sizeof forbidden, -EINVAL},         {(const uint8_t *)"\x19\x00\x00", 3, -ENOTSUP},
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
    const uint8_t fu_mid[] = {0x7c, 0x05, 0x11}, fu_start[] = {0x7c, 0x85, 0x88, 0x84},
                  fu_mid1[] = {0x7c, 0x01, 1};
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
    /* the stream ends inside a fragmented unit: that unit is not emitted */
    ts += STEP;
    ck_assert_int_eq(put(&h, ts, false, fu_start, sizeof fu_start), 0);
    rtp_h26x_flush(h.d);
    ck_assert_uint_eq(h.col.n, 2);
    ck_assert_uint_eq(st->fu_broken, 4);
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
        {"\x60\x01\x00\x09\x02\x01\xd0", 7, -EINVAL},
        {"\x60\x01\x00\x01\x02", 5, -EINVAL},
        {"\x62\x01", 2, -EINVAL},
        {"\x62\x01\xc1\x11", 4, -EINVAL},
        {"\x02\x00\xd0", 3, -EINVAL},
        {"\x82\x01\xd0", 3, -EINVAL},
        {"\x60\x01\x00\x03\x60\x01\x11", 7, -EINVAL},
        {"\x64\x01\x00\x00", 4, -ENOTSUP},
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

static Suite *suite(void)
{
    Suite *s = suite_create("media_rtp_h26x_packets");
    TCase *tc = tcase_create("rtp_h26x_packets");
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
