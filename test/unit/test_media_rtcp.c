/* RTCP: receiver reports checked byte by byte and round-tripped, report blocks computed from real reorder
 * statistics, the real Hikvision SR/RR/SDES packets of the 2013 capture, and malformed compounds. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtcp.h"
#include "testutil.h"

/* ---- the real packets: UDP payloads on ports 5515/5495 of the pcapng capture ---- */

#define MAX_RTCP 8
static uint8_t real_rtcp[MAX_RTCP][256];
static size_t real_len[MAX_RTCP];
static size_t real_count;

static uint32_t rd32le(const uint8_t *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Minimal pcapng walk (little-endian sections, Ethernet + IPv4 + UDP only): enough for this one file. */
static bool load_real_rtcp(void)
{
    if (real_count) return true;
    const char *path = test_shared_path("samples/hik2013_live_media_NOT_PS_private_payload.pcapng");
    if (!path) return false;
    size_t size;
    uint8_t *f = test_read_file(path, &size);
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(rd32le(f), 0x0a0d0d0a);
    ck_assert_uint_eq(rd32le(f + 8), 0x1a2b3c4d); /* little-endian section */
    for (size_t pos = 0; pos + 12 <= size;) {
        uint32_t type = rd32le(f + pos), len = rd32le(f + pos + 4);
        ck_assert_uint_ge(len, 12);
        ck_assert_uint_le(pos + len, size);
        if (type == 6) { /* Enhanced Packet Block */
            const uint8_t *eth = f + pos + 28;
            uint32_t caplen = rd32le(f + pos + 20);
            const uint8_t *ip = eth + 14;
            if (caplen > 42 && eth[12] == 0x08 && eth[13] == 0x00 && ip[9] == 17) {
                const uint8_t *udp = ip + (ip[0] & 0x0f) * 4;
                uint16_t sport = rtp_rd16(udp), dport = rtp_rd16(udp + 2);
                size_t ulen = rtp_rd16(udp + 4) - 8u;
                if ((sport == 5515 || sport == 5495 || dport == 5515 || dport == 5495) &&
                    real_count < MAX_RTCP) {
                    ck_assert_uint_le(ulen, sizeof real_rtcp[0]);
                    memcpy(real_rtcp[real_count], udp + 8, ulen);
                    real_len[real_count++] = ulen;
                }
            }
        }
        pos += len;
    }
    free(f);
    ck_assert_uint_eq(real_count, 4);
    return true;
}

START_TEST(parses_real_sender_report)
{
    if (!load_real_rtcp()) return;
    struct rtcp_compound c;
    ck_assert_uint_eq(real_len[0], 56);
    ck_assert_int_eq(rtcp_parse(real_rtcp[0], real_len[0], &c), 0);
    ck_assert_uint_eq(c.packets, 2);
    ck_assert(c.has_sr && !c.has_rr && !c.bye);
    ck_assert_uint_eq(c.sr.ssrc, 0x0396a9ca);
    ck_assert_uint_eq(c.sr.ntp, 0xd5d939ed045b6c37ull);
    ck_assert_uint_eq(c.sr.rtp_timestamp, 1281594669u);
    ck_assert_uint_eq(c.sr.packet_count, 445);
    ck_assert_uint_eq(c.sr.octet_count, 460860);
    ck_assert_uint_eq(c.block_count, 0);
    ck_assert(c.has_cname);
    ck_assert_uint_eq(c.cname_ssrc, 0x0396a9ca);
    ck_assert_str_eq(c.cname, "SYSTEM@PC-gaocong");

    struct rtcp_source src;
    rtcp_source_init(&src, c.sr.ssrc);
    rtcp_source_on_sr(&src, &c.sr, 5000);
    ck_assert_uint_eq(src.lsr, 0x39ed045b); /* the middle 32 bits of the NTP time */

    /* the second SR, 5.3 s later */
    ck_assert_int_eq(rtcp_parse(real_rtcp[2], real_len[2], &c), 0);
    ck_assert_uint_eq(c.sr.packet_count, 0x605);
    ck_assert_uint_eq(c.sr.ntp >> 32, 0xd5d939f2);
}
END_TEST

/* The platform's answer is an RR with no block + SDES; building the same report gives the same bytes. */
START_TEST(builds_real_receiver_report_byte_exact)
{
    if (!load_real_rtcp()) return;
    struct rtcp_compound c;
    ck_assert_int_eq(rtcp_parse(real_rtcp[1], real_len[1], &c), 0);
    ck_assert(c.has_rr && !c.has_sr);
    ck_assert_uint_eq(c.rr_reporter_ssrc, 0x0396a9b6);
    ck_assert_uint_eq(c.block_count, 0);
    ck_assert_str_eq(c.cname, "SYSTEM@PC-YANGCHENG");

    uint8_t out[128];
    size_t n = rtcp_build_receiver_report(out, sizeof out, 0x0396a9b6, "SYSTEM@PC-YANGCHENG", NULL);
    ck_assert_uint_eq(n, real_len[1]);
    ck_assert_mem_eq(out, real_rtcp[1], n);
}
END_TEST

START_TEST(rr_bytes_field_by_field)
{
    struct rtcp_report_block b = {
        .ssrc = 0x05f5ed76,
        .fraction_lost = 25,
        .cumulative_lost = 0x012345,
        .ext_highest_seq = 0x00010c17,
        .jitter = 1234,
        .lsr = 0x39ed045b,
        .dlsr = 98304,
    };
    uint8_t out[128];
    size_t n = rtcp_build_receiver_report(out, sizeof out, 0x11223344, "gbgate", &b);
    ck_assert_uint_eq(n, 32 + 20);
    static const uint8_t expect[] = {
        0x81, 201,  0x00, 0x07,                         /* V=2 RC=1, RR, 8 words - 1 */
        0x11, 0x22, 0x33, 0x44,                         /* reporter */
        0x05, 0xf5, 0xed, 0x76,                         /* source */
        25,   0x01, 0x23, 0x45,                         /* fraction, cumulative lost */
        0x00, 0x01, 0x0c, 0x17,                         /* extended highest seq */
        0x00, 0x00, 0x04, 0xd2,                         /* jitter */
        0x39, 0xed, 0x04, 0x5b,                         /* LSR */
        0x00, 0x01, 0x80, 0x00,                         /* DLSR = 1.5 s */
        0x81, 202,  0x00, 0x04,                         /* SDES, 1 chunk, 5 words - 1 */
        0x11, 0x22, 0x33, 0x44, 0x01, 0x06, 'g',  'b',  /* CNAME "gbgate" */
        'g',  'a',  't',  'e',  0x00, 0x00, 0x00, 0x00, /* end of items + padding */
    };
    ck_assert_mem_eq(out, expect, sizeof expect);

    struct rtcp_compound c;
    ck_assert_int_eq(rtcp_parse(out, n, &c), 0);
    ck_assert_uint_eq(c.packets, 2);
    ck_assert(c.has_rr);
    ck_assert_uint_eq(c.rr_reporter_ssrc, 0x11223344);
    ck_assert_uint_eq(c.block_count, 1);
    ck_assert_uint_eq(c.blocks[0].ssrc, b.ssrc);
    ck_assert_uint_eq(c.blocks[0].fraction_lost, b.fraction_lost);
    ck_assert_int_eq(c.blocks[0].cumulative_lost, b.cumulative_lost);
    ck_assert_uint_eq(c.blocks[0].ext_highest_seq, b.ext_highest_seq);
    ck_assert_uint_eq(c.blocks[0].jitter, b.jitter);
    ck_assert_uint_eq(c.blocks[0].lsr, b.lsr);
    ck_assert_uint_eq(c.blocks[0].dlsr, b.dlsr);
    ck_assert_str_eq(c.cname, "gbgate");
    ck_assert_uint_eq(c.cname_ssrc, 0x11223344);
}
END_TEST

START_TEST(cumulative_lost_sign_and_clamp)
{
    struct rtcp_report_block b = {.ssrc = 1, .cumulative_lost = -5};
    uint8_t out[64];
    ck_assert_uint_eq(rtcp_write_rr(out, sizeof out, 9, &b, 1), 32);
    ck_assert_uint_eq(out[13], 0xff);
    ck_assert_uint_eq(out[14], 0xff);
    ck_assert_uint_eq(out[15], 0xfb);
    struct rtcp_compound c;
    ck_assert_int_eq(rtcp_parse(out, 32, &c), 0);
    ck_assert_int_eq(c.blocks[0].cumulative_lost, -5);
    b.cumulative_lost = 0x7fffffff;
    rtcp_write_rr(out, sizeof out, 9, &b, 1);
    ck_assert_int_eq(rtcp_parse(out, 32, &c), 0);
    ck_assert_int_eq(c.blocks[0].cumulative_lost, 0x7fffff);
    b.cumulative_lost = -0x7fffffff;
    rtcp_write_rr(out, sizeof out, 9, &b, 1);
    ck_assert_int_eq(rtcp_parse(out, 32, &c), 0);
    ck_assert_int_eq(c.blocks[0].cumulative_lost, -0x800000);
}
END_TEST

static void ignore_packet(void *arg, const struct rtp_packet *pkt, uint32_t lost_before)
{
    (void)arg, (void)pkt, (void)lost_before;
}

static void feed_seq(struct rtp_reorder *r, uint16_t seq, uint64_t now)
{
    uint8_t p[20] = {0};
    rtp_write_header(p, 96, false, seq, (uint32_t)seq * 3600, 0x05f5ed76);
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(p, sizeof p, &pkt), 0);
    rtp_reorder_input(r, &pkt, now);
}

/* A report block from real reorder statistics: 100 expected, every 10th lost. */
START_TEST(report_block_from_reorder_stats)
{
    struct rtp_reorder *r = rtp_reorder_create(NULL, ignore_packet, NULL);
    for (uint16_t s = 65500; s != 64; s++)
        if (s % 10 != 5) feed_seq(r, s, 40u * (uint16_t)(s - 65500));
    feed_seq(r, 64, 40u * 100);
    rtp_reorder_flush(r);
    struct rtp_reorder_stats st;
    rtp_reorder_get_stats(r, &st);
    ck_assert_uint_eq(st.expected, 101);
    ck_assert_uint_eq(st.lost, 10);
    ck_assert_uint_eq(st.ext_highest_seq, 0x10040);

    struct rtcp_source src;
    rtcp_source_init(&src, 0x05f5ed76);
    struct rtcp_sender_info sr = {.ssrc = 0x05f5ed76, .ntp = 0xd5d939ed045b6c37ull};
    rtcp_source_on_sr(&src, &sr, 1000);
    struct rtcp_report_block b;
    rtcp_source_report(&src, &st, 2500, &b);
    ck_assert_uint_eq(b.ssrc, 0x05f5ed76);
    ck_assert_uint_eq(b.fraction_lost, 10 * 256 / 101);
    ck_assert_int_eq(b.cumulative_lost, 10);
    ck_assert_uint_eq(b.ext_highest_seq, 0x10040);
    ck_assert_uint_eq(b.jitter, st.jitter);
    ck_assert_uint_eq(b.lsr, 0x39ed045b);
    ck_assert_uint_eq(b.dlsr, 1500 * 65536 / 1000);

    /* next interval: 20 more, none lost */
    for (uint16_t s = 65; s < 85; s++) feed_seq(r, s, 5000 + s);
    rtp_reorder_get_stats(r, &st);
    rtcp_source_report(&src, &st, 3000, &b);
    ck_assert_uint_eq(b.fraction_lost, 0);
    ck_assert_int_eq(b.cumulative_lost, 10);
    ck_assert_uint_eq(b.ext_highest_seq, 0x10054);
    rtp_reorder_destroy(r);

    /* no SR yet: LSR and DLSR are 0 */
    rtcp_source_init(&src, 7);
    rtcp_source_report(&src, &st, 3000, &b);
    ck_assert_uint_eq(b.lsr, 0);
    ck_assert_uint_eq(b.dlsr, 0);
}
END_TEST

START_TEST(sr_and_bye_round_trip)
{
    struct rtcp_report_block blocks[10];
    for (unsigned i = 0; i < 10; i++) blocks[i] = (struct rtcp_report_block){.ssrc = 100 + i, .jitter = i};
    struct rtcp_sender_info si = {0xabcdef01, 0x0102030405060708ull, 0x11111111, 77, 88888};
    uint8_t out[512];
    size_t n = rtcp_write_sr(out, sizeof out, &si, blocks, 10);
    ck_assert_uint_eq(n, 28 + 240);
    size_t m = rtcp_write_bye(out + n, sizeof out - n, 0xabcdef01);
    ck_assert_uint_eq(m, 8);
    struct rtcp_compound c;
    ck_assert_int_eq(rtcp_parse(out, n + m, &c), 0);
    ck_assert(c.has_sr && c.bye);
    ck_assert_uint_eq(c.sr.ssrc, si.ssrc);
    ck_assert_uint_eq(c.sr.ntp, si.ntp);
    ck_assert_uint_eq(c.sr.rtp_timestamp, si.rtp_timestamp);
    ck_assert_uint_eq(c.sr.packet_count, si.packet_count);
    ck_assert_uint_eq(c.sr.octet_count, si.octet_count);
    ck_assert_uint_eq(c.block_count, RTCP_MAX_REPORT_BLOCKS);
    ck_assert_uint_eq(c.blocks_dropped, 2);
    ck_assert_uint_eq(c.blocks[7].ssrc, 107);
    ck_assert_uint_eq(c.bye_ssrc, 0xabcdef01);
}
END_TEST

START_TEST(writers_respect_cap)
{
    uint8_t out[64];
    struct rtcp_report_block b = {0};
    ck_assert_uint_eq(rtcp_write_rr(out, 31, 1, &b, 1), 0);
    ck_assert_uint_eq(rtcp_write_rr(out, 32, 1, &b, 1), 32);
    ck_assert_uint_eq(rtcp_write_rr(out, sizeof out, 1, NULL, 1), 0);
    ck_assert_uint_eq(rtcp_write_rr(out, sizeof out, 1, NULL, 0), 8);
    ck_assert_uint_eq(rtcp_write_sdes_cname(out, 15, 1, "abcde"), 0); /* needs 16 */
    ck_assert_uint_eq(rtcp_write_sdes_cname(out, 16, 1, "abcde"), 16);
    ck_assert_uint_eq(rtcp_write_sdes_cname(out, sizeof out, 1, ""), 0);
    ck_assert_uint_eq(rtcp_write_bye(out, 7, 1), 0);
    ck_assert_uint_eq(rtcp_build_receiver_report(out, 40, 1, "abcde", &b), 0); /* RR fits, SDES does not */
    char long_name[300];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    uint8_t big[400];
    ck_assert_uint_eq(rtcp_write_sdes_cname(big, sizeof big, 1, long_name), 0);
    long_name[255] = '\0';
    ck_assert_uint_eq(rtcp_write_sdes_cname(big, sizeof big, 1, long_name), 4 + 4 + 2 + 255 + 3);
    struct rtcp_compound c;
    ck_assert_int_eq(rtcp_parse(big, 268, &c), 0);
    ck_assert_uint_eq(strlen(c.cname), 255);
}
END_TEST

START_TEST(rejects_malformed)
{
    struct rtcp_compound c;
    uint8_t good[128];
    struct rtcp_report_block b = {.ssrc = 5};
    size_t n = rtcp_build_receiver_report(good, sizeof good, 1, "cname", &b);
    ck_assert_uint_eq(n, 48);
    ck_assert_int_eq(rtcp_parse(NULL, 4, &c), EINVAL);
    ck_assert_int_eq(rtcp_parse(good, 1, &c), EPROTO);
    /* every truncation: whole packets parse, anything else is refused */
    for (size_t len = 2; len < n; len++) {
        uint8_t *cut = malloc(len);
        memcpy(cut, good, len);
        ck_assert_int_eq(rtcp_parse(cut, len, &c), len == 32 ? 0 : EBADMSG);
        free(cut);
    }
    uint8_t bad[128];
    /* not RTCP at all */
    memcpy(bad, good, n);
    bad[0] = 0x41;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EPROTO);
    bad[0] = 0x80;
    bad[1] = 96;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EPROTO);
    /* second packet with version 1: the RR before it is kept */
    memcpy(bad, good, n);
    bad[32] = 0x41;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    ck_assert(c.has_rr);
    ck_assert_uint_eq(c.blocks[0].ssrc, 5);
    /* RC says 2 blocks, length has room for 1 */
    memcpy(bad, good, n);
    bad[0] = 0x82;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    /* length field beyond the data */
    memcpy(bad, good, n);
    bad[3] = 0x0f;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    /* padding: count 0, and count bigger than the body */
    memcpy(bad, good, n);
    bad[32] |= 0x20;
    bad[47] = 0;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    bad[47] = 13;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    bad[47] = 4; /* a legal padding count, but then the CNAME item runs past the body */
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    /* SDES item length past the packet */
    memcpy(bad, good, n);
    bad[41] = 40;
    ck_assert_int_eq(rtcp_parse(bad, n, &c), EBADMSG);
    /* SR shorter than its sender info */
    static const uint8_t short_sr[] = {0x80, 200, 0x00, 0x01, 1, 2, 3, 4};
    ck_assert_int_eq(rtcp_parse(short_sr, sizeof short_sr, &c), EBADMSG);
    /* BYE naming 3 SSRCs with room for 1 */
    static const uint8_t short_bye[] = {0x83, 203, 0x00, 0x01, 1, 2, 3, 4};
    ck_assert_int_eq(rtcp_parse(short_bye, sizeof short_bye, &c), EBADMSG);
    /* unknown types are skipped, not refused */
    static const uint8_t app_then_bye[] = {0x80, 204, 0x00, 0x02, 1,    2,    3, 4, 'n', 'a',
                                           'm',  'e', 0x81, 203,  0x00, 0x01, 9, 9, 9,   9};
    ck_assert_int_eq(rtcp_parse(app_then_bye, sizeof app_then_bye, &c), 0);
    ck_assert_uint_eq(c.packets, 2);
    ck_assert(c.bye);
    ck_assert_uint_eq(c.bye_ssrc, 0x09090909);
}
END_TEST

static Suite *rtcp_suite(void)
{
    Suite *s = suite_create("media_rtcp");
    TCase *tc = tcase_create("rtcp");
    tcase_add_test(tc, parses_real_sender_report);
    tcase_add_test(tc, builds_real_receiver_report_byte_exact);
    tcase_add_test(tc, rr_bytes_field_by_field);
    tcase_add_test(tc, cumulative_lost_sign_and_clamp);
    tcase_add_test(tc, report_block_from_reorder_stats);
    tcase_add_test(tc, sr_and_bye_round_trip);
    tcase_add_test(tc, writers_respect_cap);
    tcase_add_test(tc, rejects_malformed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(rtcp_suite());
}
