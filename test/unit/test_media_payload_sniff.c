/*
 * media/payload_sniff: what an RTP payload carries.
 *  - one packet of each kind (hand-made headers), the payload type as tie-breaker, ambiguous bytes;
 *  - uniformly random payloads: how often one packet passes for H.264/H.265 (the odds payload_sniff.h
 *    documents), and that a sniffer fed 100 000 of them in a row never decides;
 *  - real captures from ../shared: a Hikvision camera's PS over RTP, started at every 5th packet (mostly
 *    mid-PES bytes), is always decided PS and never anything else; a Hikvision private payload (not PS)
 *    is never decided at all, and the sniffer gives up;
 *  - real encoder output: x264/x265 streams packetized by our packetizer and by ffmpeg's RTP muxer (PT 96,
 *    its default, and 98/99), started at every packet, are decided right within 4 packets with the usual
 *    PT and 16 otherwise; ffmpeg's MPEG-TS over RTP is decided TS at its first packet.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/payload_sniff.h"
#include "rtp_payload_test_util.h"

static bool have_clips;

static void setup(void)
{
    if (!mt_have_ffmpeg()) return;
    mt_run(
        "ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx264 -g 25 -bf 0 -f h264 "
        "'%s'",
        mt_tmp("plain.264"));
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 "
           "-x265-params log-level=error:keyint=25:bframes=0 -f hevc '%s'",
           mt_tmp("plain.265"));
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine -t 1 -c:v libx264 "
           "-c:a aac -f mpegts '%s'",
           mt_tmp("av.ts"));
    have_clips = true;
}

static void teardown(void)
{
    mt_cleanup();
}

/* ---- one packet ---- */

START_TEST(single_packets)
{
    struct psb b = {0};
    psb_pack(&b, 12345, 0);
    ck_assert_int_eq(payload_sniff(96, b.d, b.len), PAYLOAD_PS);
    ck_assert_int_eq(payload_sniff(98, b.d, b.len), PAYLOAD_PS); /* the bytes win over the PT */
    b.d[4] &= 0x3f;                                              /* neither MPEG-2 nor MPEG-1 */
    ck_assert_int_eq(payload_sniff(96, b.d, b.len), PAYLOAD_UNKNOWN);
    psb_free(&b);
    psb_pes(&b, 0xe0, 3600, PSB_NO_TS, "\x00\x00\x00\x01\x67", 5, false, 0);
    ck_assert_int_eq(payload_sniff(0, b.d, b.len), PAYLOAD_PS);
    b.d[6] = 0x0f; /* not the MPEG-2 '10' */
    ck_assert_int_eq(payload_sniff(0, b.d, b.len), PAYLOAD_UNKNOWN);
    psb_free(&b);
    ck_assert_int_eq(payload_sniff(96, (const uint8_t *)"\x00\x00\x00\x00\x01\xbc\x00\x10", 8), PAYLOAD_PS);
    /* Annex-B video in RTP is none of the four */
    ck_assert_int_eq(payload_sniff(98, (const uint8_t *)"\x00\x00\x00\x01\x67\x4d\x00\x1e", 8),
                     PAYLOAD_UNKNOWN);

    uint8_t ts[188 * 7];
    memset(ts, 0xff, sizeof ts);
    for (int i = 0; i < 7; i++) memcpy(ts + 188 * i, "\x47\x41\x00\x10", 4);
    ck_assert_int_eq(payload_sniff(33, ts, sizeof ts), PAYLOAD_TS);
    ck_assert_int_eq(payload_sniff(96, ts, sizeof ts), PAYLOAD_TS);
    ck_assert_int_eq(payload_sniff(33, ts, 188 * 6 + 100), PAYLOAD_UNKNOWN); /* not a multiple of 188 */
    ts[188 * 3] = 0x48;
    ck_assert_int_eq(payload_sniff(33, ts, sizeof ts), PAYLOAD_UNKNOWN);
    ts[188 * 3] = 0x47;
    ts[188 * 5 + 3] = 0x00; /* reserved adaptation_field_control */
    ck_assert_int_eq(payload_sniff(33, ts, sizeof ts), PAYLOAD_UNKNOWN);

    ck_assert_int_eq(payload_sniff(96, test_h264_sps, sizeof test_h264_sps), PAYLOAD_H264);
    ck_assert_int_eq(payload_sniff(96, test_h265_vps, sizeof test_h265_vps), PAYLOAD_H265);
    ck_assert_int_eq(payload_sniff(96, test_h265_sps, sizeof test_h265_sps), PAYLOAD_H265);
    ck_assert_int_eq(payload_sniff(0, (const uint8_t *)"\x09\xf0", 2), PAYLOAD_H264);            /* AUD */
    ck_assert_int_eq(payload_sniff(0, (const uint8_t *)"\x46\x01\x50", 3), PAYLOAD_H265);        /* AUD */
    ck_assert_int_eq(payload_sniff(0, (const uint8_t *)"\x7c\x85\x88\x84", 4), PAYLOAD_H264);    /* FU-A */
    ck_assert_int_eq(payload_sniff(0, (const uint8_t *)"\x62\x01\x93\xaf", 4), PAYLOAD_H265);    /* FU */
    ck_assert_int_eq(payload_sniff(0, (const uint8_t *)"\x7c\xc5\x88\x84", 4), PAYLOAD_UNKNOWN); /* S+E */
    /* STAP-A of SPS + PPS: sizes must cover the payload exactly */
    uint8_t stap[64] = {0x78, 0x00, sizeof test_h264_sps};
    memcpy(stap + 3, test_h264_sps, sizeof test_h264_sps);
    size_t n = 3 + sizeof test_h264_sps;
    stap[n++] = 0;
    stap[n++] = sizeof test_h264_pps;
    memcpy(stap + n, test_h264_pps, sizeof test_h264_pps);
    n += sizeof test_h264_pps;
    ck_assert_int_eq(payload_sniff(96, stap, n), PAYLOAD_H264);
    ck_assert_int_eq(payload_sniff(96, stap, n + 1), PAYLOAD_UNKNOWN);
    ck_assert_int_eq(payload_sniff(96, stap, n - 1), PAYLOAD_UNKNOWN);
    /* bytes both codecs could have written (an H.264 SEI / an H.265 TSA_R slice): the PT decides */
    const uint8_t both[] = {0x06, 0x05, 0xff, 0x80, 0x11};
    ck_assert_int_eq(payload_sniff(96, both, sizeof both), PAYLOAD_UNKNOWN);
    ck_assert_int_eq(payload_sniff(98, both, sizeof both), PAYLOAD_H264);
    ck_assert_int_eq(payload_sniff(99, both, sizeof both), PAYLOAD_H265);
    /* headers cut short (a fuzzer found the 3-byte SPS read past the end) */
    ck_assert_int_eq(payload_sniff(96, test_h265_sps, 3), PAYLOAD_UNKNOWN);
    ck_assert_int_eq(payload_sniff(96, test_h265_vps, 5), PAYLOAD_UNKNOWN);
    ck_assert_int_eq(payload_sniff(96, test_h264_sps, 3), PAYLOAD_UNKNOWN);
    /* nothing */
    ck_assert_int_eq(payload_sniff(96, NULL, 0), PAYLOAD_UNKNOWN);
    ck_assert_int_eq(payload_sniff(96, (const uint8_t *)"\x80\x00\x00", 3), PAYLOAD_UNKNOWN);

    ck_assert_str_eq(payload_kind_name(PAYLOAD_H265), "h265");
    ck_assert_str_eq(payload_kind_name(PAYLOAD_UNKNOWN), "unknown");
    ck_assert_int_eq(payload_kind_from_pt(33), PAYLOAD_TS);
    ck_assert_int_eq(payload_kind_from_pt(97), PAYLOAD_UNKNOWN);
}
END_TEST

/* ---- random bytes ---- */

START_TEST(random_payloads)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    size_t counts[5] = {0}, total = 100000;
    struct payload_sniffer s;
    payload_sniffer_init(&s);
    uint8_t buf[1400];
    for (size_t i = 0; i < total; i++) {
        size_t len = 0;
        for (size_t k = 0; k < sizeof buf; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[k] = (uint8_t)(x >> 24);
            if (k == 0) len = 20 + (size_t)(x % (sizeof buf - 20));
        }
        counts[payload_sniff(96, buf, len)]++;
        ck_assert_int_eq(payload_sniffer_add(&s, 96, buf, len), PAYLOAD_UNKNOWN);
    }
    ck_assert(payload_sniffer_exhausted(&s));
    printf("random payloads, one packet (PT 96): h264 %.4f h265 %.4f ps %zu ts %zu\n",
           (double)counts[PAYLOAD_H264] / (double)total, (double)counts[PAYLOAD_H265] / (double)total,
           counts[PAYLOAD_PS], counts[PAYLOAD_TS]);
    ck_assert_uint_lt(counts[PAYLOAD_H264], total * 8 / 100);
    ck_assert_uint_lt(counts[PAYLOAD_H265], total / 100);
    ck_assert_uint_eq(counts[PAYLOAD_PS] + counts[PAYLOAD_TS], 0);
}
END_TEST

/* ---- real captures ---- */

/* The zlmrtp file: 2-byte big-endian length + RTP packet, repeated. */
static void load_zlmrtp(const char *path, struct mt_pkts *out)
{
    size_t len;
    uint8_t *d = mt_read(path, &len);
    for (size_t at = 0; at + 2 <= len;) {
        size_t n = rtp_rd16(d + at);
        ck_assert_uint_le(at + 2 + n, len);
        mt_pkts_add(out, d + at + 2, n);
        at += 2 + n;
    }
    free(d);
}

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* UDP payloads to `port` from a little-endian pcapng of Ethernet/IPv4 frames. */
static void load_pcapng_udp(const char *path, uint16_t port, struct mt_pkts *out)
{
    size_t len;
    uint8_t *d = mt_read(path, &len);
    for (size_t at = 0; at + 12 <= len;) {
        uint32_t type = rd32le(d + at), blen = rd32le(d + at + 4);
        ck_assert_uint_ge(blen, 12);
        ck_assert_uint_le(at + blen, len);
        if (type == 6 && blen >= 28) { /* enhanced packet block */
            uint32_t cap = rd32le(d + at + 20);
            const uint8_t *f = d + at + 28;
            if (cap >= 14 + 20 + 8 && rtp_rd16(f + 12) == 0x0800 && f[14 + 9] == 17) {
                const uint8_t *udp = f + 14 + (f[14] & 0x0f) * 4;
                size_t ulen = rtp_rd16(udp + 4);
                if (rtp_rd16(udp + 2) == port && ulen >= 8 && udp + ulen <= f + cap)
                    mt_pkts_add(out, udp + 8, ulen - 8);
            }
        }
        at += blen;
    }
    free(d);
}

/* A sniffer started at packet `from`: what it decided, and after how many packets (0 = undecided). */
static enum payload_kind sniff_from(const struct mt_pkts *ps, size_t from, int pt, size_t *after)
{
    struct payload_sniffer s;
    payload_sniffer_init(&s);
    *after = 0;
    for (size_t i = from; i < ps->n; i++) {
        struct rtp_packet pkt;
        mt_parse(ps, i, &pkt);
        enum payload_kind k =
            payload_sniffer_add(&s, pt < 0 ? pkt.payload_type : (uint8_t)pt, pkt.payload, pkt.payload_len);
        if (k != PAYLOAD_UNKNOWN) {
            *after = i - from + 1;
            return k;
        }
    }
    ck_assert(ps->n - from < PAYLOAD_SNIFF_MAX_PACKETS || payload_sniffer_exhausted(&s));
    return PAYLOAD_UNKNOWN;
}

START_TEST(real_ps_camera)
{
    const char *path = test_shared_path("samples/hik_704x576_h264_rtp.zlmrtp");
    if (!path) return;
    struct mt_pkts ps = {0};
    load_zlmrtp(path, &ps);
    ck_assert_uint_eq(ps.n, 3096);
    size_t per_packet[5] = {0}, worst = 0;
    for (size_t i = 0; i < ps.n; i++) {
        struct rtp_packet pkt;
        mt_parse(&ps, i, &pkt);
        per_packet[payload_sniff(pkt.payload_type, pkt.payload, pkt.payload_len)]++;
    }
    printf("hik PS packets one by one: ps %zu unknown %zu h264 %zu h265 %zu\n", per_packet[PAYLOAD_PS],
           per_packet[PAYLOAD_UNKNOWN], per_packet[PAYLOAD_H264], per_packet[PAYLOAD_H265]);
    ck_assert_uint_eq(per_packet[PAYLOAD_TS], 0);
    for (size_t from = 0; from + 200 < ps.n; from += 5) {
        size_t after;
        ck_assert_int_eq(sniff_from(&ps, from, -1, &after), PAYLOAD_PS);
        if (after > worst) worst = after;
        /* the same with a payload type that says H.264: the pack headers still win, never H.264 */
        ck_assert_int_eq(sniff_from(&ps, from, 98, &after), PAYLOAD_PS);
    }
    printf("hik PS: decided within %zu packets from any start\n", worst);
    ck_assert_uint_le(worst, 100);
    mt_pkts_free(&ps);
}
END_TEST

START_TEST(real_private_payload_is_nothing)
{
    const char *path = test_shared_path("samples/hik2013_live_media_NOT_PS_private_payload.pcapng");
    if (!path) return;
    struct mt_pkts ps = {0};
    load_pcapng_udp(path, 5494, &ps);
    ck_assert_uint_eq(ps.n, 1561);
    for (size_t from = 0; from < ps.n; from += 50) {
        size_t after;
        ck_assert_int_eq(sniff_from(&ps, from, -1, &after), PAYLOAD_UNKNOWN);
    }
    mt_pkts_free(&ps);
}
END_TEST

/* ---- real encoder output ---- */

/* Every start position is decided `want` within `limit` packets. */
static void check_all_starts(const struct mt_pkts *ps, int pt, enum payload_kind want, size_t limit)
{
    size_t worst = 0;
    for (size_t from = 0; from + limit < ps->n; from++) {
        size_t after;
        ck_assert_int_eq(sniff_from(ps, from, pt, &after), want);
        if (after > worst) worst = after;
    }
    ck_assert_uint_le(worst, limit);
}

static void own_stream(enum codec_id codec)
{
    if (!have_clips) return;
    size_t len;
    uint8_t *es = mt_read(mt_tmp(codec == CODEC_H264 ? "plain.264" : "plain.265"), &len);
    struct mt_nals nals;
    mt_split_annexb(es, len, &nals);
    struct mt_au *aus;
    size_t nau = mt_group_aus(codec, &nals, &aus);
    enum payload_kind want = codec == CODEC_H264 ? PAYLOAD_H264 : PAYLOAD_H265;
    uint8_t usual = codec == CODEC_H264 ? 98 : 99;
    for (int agg = 0; agg < 2; agg++) {
        struct mt_pkts ps = {0};
        mt_packetize(codec, &nals, aus, nau, agg ? 1200 : 500, agg, usual, 0, 3600, 0, &ps);
        check_all_starts(&ps, usual, want, 4);
        check_all_starts(&ps, 96, want, 16);
        check_all_starts(&ps, 0, want, 16);
        mt_pkts_free(&ps);
    }
    free(aus);
    free(nals.v);
    free(es);
}

START_TEST(own_packetizer_h264)
{
    own_stream(CODEC_H264);
}
END_TEST

START_TEST(own_packetizer_h265)
{
    own_stream(CODEC_H265);
}
END_TEST

START_TEST(ffmpeg_rtp_streams)
{
    if (!have_clips) return;
    const char *inputs[2] = {"plain.264", "plain.265"};
    const enum payload_kind want[2] = {PAYLOAD_H264, PAYLOAD_H265};
    for (int i = 0; i < 2; i++) {
        struct mt_pkts ps = {0};
        char input[256];
        snprintf(input, sizeof input, "-i '%s' -c copy", mt_tmp(inputs[i]));
        mt_ffmpeg_rtp(input, "rtp", &ps);
        struct rtp_packet pkt;
        mt_parse(&ps, 0, &pkt);
        ck_assert_uint_eq(pkt.payload_type, 96); /* ffmpeg's default dynamic type: the bytes must decide */
        check_all_starts(&ps, -1, want[i], 16);
        check_all_starts(&ps, i == 0 ? 98 : 99, want[i], 4);
        mt_pkts_free(&ps);
    }
    struct mt_pkts ps = {0};
    char input[256];
    snprintf(input, sizeof input, "-i '%s' -map 0 -c copy", mt_tmp("av.ts"));
    mt_ffmpeg_rtp(input, "rtp_mpegts", &ps);
    check_all_starts(&ps, -1, PAYLOAD_TS, 1);
    check_all_starts(&ps, 96, PAYLOAD_TS, 1);
    mt_pkts_free(&ps);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("media_payload_sniff");
    TCase *tc = tcase_create("payload_sniff");
    tcase_set_timeout(tc, 110);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, single_packets);
    tcase_add_test(tc, random_payloads);
    tcase_add_test(tc, real_ps_camera);
    tcase_add_test(tc, real_private_payload_is_nothing);
    tcase_add_test(tc, own_packetizer_h264);
    tcase_add_test(tc, own_packetizer_h265);
    tcase_add_test(tc, ffmpeg_rtp_streams);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
