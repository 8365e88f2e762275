/* RTP header parser and writer: the real Hikvision capture, hand-built packets with every optional part, and
 * malformed/truncated input. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "testutil.h"

#define SAMPLE_RTP   "samples/hik_704x576_h264_rtp.zlmrtp"
#define SAMPLE_SSRC  0x05F5ED76u
#define SAMPLE_COUNT 3096

START_TEST(parses_first_sample_packet)
{
    const char *path = test_shared_path(SAMPLE_RTP);
    if (!path) return;
    size_t size;
    uint8_t *file = test_read_file(path, &size);
    ck_assert_ptr_nonnull(file);
    size_t len = rtp_rd16(file);
    ck_assert_uint_eq(len, 0x584);
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(file + 2, len, &pkt), 0);
    ck_assert_uint_eq(pkt.version, 2);
    ck_assert(!pkt.padding && !pkt.extension && !pkt.marker);
    ck_assert_uint_eq(pkt.csrc_count, 0);
    ck_assert_uint_eq(pkt.payload_type, 96);
    ck_assert_uint_eq(pkt.seq, 0);
    ck_assert_uint_eq(pkt.timestamp, 0);
    ck_assert_uint_eq(pkt.ssrc, SAMPLE_SSRC);
    ck_assert_ptr_eq(pkt.data, file + 2);
    ck_assert_uint_eq(pkt.size, len);
    ck_assert_ptr_eq(pkt.payload, file + 2 + 12);
    ck_assert_uint_eq(pkt.payload_len, len - 12);
    static const uint8_t pack_start[] = {0x00, 0x00, 0x01, 0xba};
    ck_assert_mem_eq(pkt.payload, pack_start, 4);
    free(file);
}
END_TEST

START_TEST(parses_whole_sample)
{
    const char *path = test_shared_path(SAMPLE_RTP);
    if (!path) return;
    size_t size;
    uint8_t *file = test_read_file(path, &size);
    ck_assert_ptr_nonnull(file);
    size_t pos = 0, count = 0, markers = 0, full_payloads = 0;
    uint32_t last_ts = 0;
    while (pos + 2 <= size) {
        size_t len = rtp_rd16(file + pos);
        ck_assert_uint_le(pos + 2 + len, size);
        struct rtp_packet pkt;
        ck_assert_int_eq(rtp_parse(file + pos + 2, len, &pkt), 0);
        ck_assert_uint_eq(pkt.seq, count);
        ck_assert_uint_eq(pkt.ssrc, SAMPLE_SSRC);
        ck_assert_uint_eq(pkt.payload_type, 96);
        ck_assert_uint_ge(pkt.timestamp, last_ts);
        ck_assert_uint_eq(pkt.payload_len, len - 12);
        last_ts = pkt.timestamp;
        markers += pkt.marker;
        full_payloads += pkt.payload_len == 1400;
        pos += 2 + len;
        count++;
    }
    ck_assert_uint_eq(pos, size);
    ck_assert_uint_eq(count, SAMPLE_COUNT);
    ck_assert_uint_eq(markers, 1400);
    ck_assert_uint_gt(full_payloads, 1600);
    /* 55.96 s at 90 kHz, 3600 per frame: the last frame starts at 1399 * 3600 */
    ck_assert_uint_eq(last_ts, 1399u * 3600u);
    free(file);
}
END_TEST

/* V=2 P=1 X=1 CC=2, M=1 PT=98, seq 0xBEEF, ts 0x01020304, ssrc 0xCAFEBABE, CSRCs 0x11111111 0x22222222,
 * extension profile 0xBEDE with 2 words, 5 payload bytes, 3 padding bytes (count 3). */
static const uint8_t full_packet[] = {
    0xb2, 0xe2, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xca, 0xfe, 0xba, 0xbe, /* fixed header */
    0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,                         /* CSRCs */
    0xbe, 0xde, 0x00, 0x02, 0xa1, 0xa2, 0xa3, 0xa4, 0xb1, 0xb2, 0xb3, 0xb4, /* extension */
    'h',  'e',  'l',  'l',  'o',                                            /* payload */
    0x00, 0x00, 0x03,                                                       /* padding */
};

START_TEST(parses_csrc_extension_padding)
{
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(full_packet, sizeof full_packet, &pkt), 0);
    ck_assert(pkt.padding && pkt.extension && pkt.marker);
    ck_assert_uint_eq(pkt.csrc_count, 2);
    ck_assert_uint_eq(pkt.payload_type, 98);
    ck_assert_uint_eq(pkt.seq, 0xbeef);
    ck_assert_uint_eq(pkt.timestamp, 0x01020304);
    ck_assert_uint_eq(pkt.ssrc, 0xcafebabe);
    ck_assert_uint_eq(rtp_packet_csrc(&pkt, 0), 0x11111111);
    ck_assert_uint_eq(rtp_packet_csrc(&pkt, 1), 0x22222222);
    ck_assert_uint_eq(rtp_packet_csrc(&pkt, 2), 0);
    ck_assert_uint_eq(pkt.ext_profile, 0xbede);
    ck_assert_ptr_eq(pkt.ext_data, full_packet + 24);
    ck_assert_uint_eq(pkt.ext_len, 8);
    ck_assert_uint_eq(pkt.padding_len, 3);
    ck_assert_ptr_eq(pkt.payload, full_packet + 32);
    ck_assert_uint_eq(pkt.payload_len, 5);
    ck_assert_mem_eq(pkt.payload, "hello", 5);
}
END_TEST

START_TEST(padding_may_take_whole_payload)
{
    uint8_t p[16];
    rtp_write_header(p, 96, false, 1, 2, 3);
    p[0] |= 0x20;
    memset(p + 12, 0, 4);
    p[15] = 4;
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(p, sizeof p, &pkt), 0);
    ck_assert_uint_eq(pkt.payload_len, 0);
    ck_assert_ptr_eq(pkt.payload, p + 12);
    p[15] = 5; /* one byte into the header */
    ck_assert_int_eq(rtp_parse(p, sizeof p, &pkt), EBADMSG);
    p[15] = 0; /* a count must include itself */
    ck_assert_int_eq(rtp_parse(p, sizeof p, &pkt), EBADMSG);
}
END_TEST

START_TEST(rejects_malformed)
{
    struct rtp_packet pkt;
    uint8_t p[64];
    memcpy(p, full_packet, sizeof full_packet);
    ck_assert_int_eq(rtp_parse(NULL, 12, &pkt), EINVAL);
    ck_assert_int_eq(rtp_parse(p, 12, NULL), EINVAL);
    ck_assert_int_eq(rtp_parse(p, 11, &pkt), EBADMSG);
    ck_assert_int_eq(rtp_parse(p, 0, &pkt), EBADMSG);
    for (uint8_t v = 0; v < 4; v++) {
        if (v == 2) continue;
        p[0] = (uint8_t)((full_packet[0] & 0x3f) | (v << 6));
        ck_assert_int_eq(rtp_parse(p, sizeof full_packet, &pkt), EPROTO);
    }
    p[0] = full_packet[0];
    /* CC=15 needs 60 bytes of CSRC */
    p[0] = 0x8f;
    ck_assert_int_eq(rtp_parse(p, sizeof full_packet, &pkt), EBADMSG);
    /* extension length 0xffff words */
    memcpy(p, full_packet, sizeof full_packet);
    p[22] = 0xff;
    p[23] = 0xff;
    ck_assert_int_eq(rtp_parse(p, sizeof full_packet, &pkt), EBADMSG);
    /* extension header cut: X set, no CSRC, 14 bytes */
    uint8_t q[14];
    rtp_write_header(q, 96, false, 0, 0, 0);
    q[0] |= 0x10;
    ck_assert_int_eq(rtp_parse(q, sizeof q, &pkt), EBADMSG);
    /* padding count bigger than the payload + padding */
    memcpy(p, full_packet, sizeof full_packet);
    p[sizeof full_packet - 1] = 9;
    ck_assert_int_eq(rtp_parse(p, sizeof full_packet, &pkt), EBADMSG);
    p[sizeof full_packet - 1] = 8; /* exactly payload + padding: fine, empty payload */
    ck_assert_int_eq(rtp_parse(p, sizeof full_packet, &pkt), 0);
    ck_assert_uint_eq(pkt.payload_len, 0);
}
END_TEST

/* Every prefix of a valid packet either fails or yields a view that stays inside the prefix. */
START_TEST(every_truncation_stays_in_bounds)
{
    for (size_t n = 0; n <= sizeof full_packet; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size so ASan catches any overread */
        memcpy(copy, full_packet, n);
        struct rtp_packet pkt;
        int err = rtp_parse(copy, n, &pkt);
        if (err == 0) {
            ck_assert_uint_ge(n, 12);
            ck_assert(pkt.payload >= copy && pkt.payload + pkt.payload_len <= copy + n);
            ck_assert(pkt.ext_len == 0 || pkt.ext_data + pkt.ext_len <= pkt.payload);
        } else {
            ck_assert_int_eq(err, EBADMSG);
        }
        free(copy);
    }
    /* Only the complete packet parses: shorter ones lose their padding count or overrun the extension. */
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(full_packet, sizeof full_packet - 1, &pkt), EBADMSG);
    ck_assert_int_eq(rtp_parse(full_packet, 31, &pkt), EBADMSG);
}
END_TEST

START_TEST(writes_header)
{
    uint8_t h[RTP_HEADER_SIZE];
    ck_assert_uint_eq(rtp_write_header(h, 0xe0 /* masked to 0x60 */, true, 0x1234, 0xdeadbeef, SAMPLE_SSRC),
                      12);
    static const uint8_t expect[] = {0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x05, 0xf5, 0xed, 0x76};
    ck_assert_mem_eq(h, expect, sizeof expect);
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(h, sizeof h, &pkt), 0);
    ck_assert(pkt.marker);
    ck_assert_uint_eq(pkt.payload_type, 0x60);
    ck_assert_uint_eq(pkt.seq, 0x1234);
    ck_assert_uint_eq(pkt.timestamp, 0xdeadbeef);
    ck_assert_uint_eq(pkt.payload_len, 0);
}
END_TEST

START_TEST(tells_rtcp_apart)
{
    static const uint8_t sr[] = {0x80, 200, 0, 6};
    static const uint8_t rr[] = {0x81, 201, 0, 7};
    static const uint8_t rtp_m96[] = {0x80, 0xe0};    /* marker + PT 96 = 224: RTP */
    static const uint8_t rtp_pt72_m[] = {0x80, 0xc8}; /* looks like SR: that is the RFC 5761 rule */
    static const uint8_t v1[] = {0x40, 200};
    ck_assert(rtp_is_rtcp(sr, sizeof sr));
    ck_assert(rtp_is_rtcp(rr, sizeof rr));
    ck_assert(!rtp_is_rtcp(rtp_m96, sizeof rtp_m96));
    ck_assert(rtp_is_rtcp(rtp_pt72_m, sizeof rtp_pt72_m));
    ck_assert(!rtp_is_rtcp(v1, sizeof v1));
    ck_assert(!rtp_is_rtcp(sr, 1));
}
END_TEST

static Suite *rtp_suite(void)
{
    Suite *s = suite_create("media_rtp");
    TCase *tc = tcase_create("rtp");
    tcase_add_test(tc, parses_first_sample_packet);
    tcase_add_test(tc, parses_whole_sample);
    tcase_add_test(tc, parses_csrc_extension_padding);
    tcase_add_test(tc, padding_may_take_whole_payload);
    tcase_add_test(tc, rejects_malformed);
    tcase_add_test(tc, every_truncation_stays_in_bounds);
    tcase_add_test(tc, writes_header);
    tcase_add_test(tc, tells_rtcp_apart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(rtp_suite());
}
