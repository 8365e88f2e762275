/* RTMP chunk parser: every header format, 1/2/3-byte basic headers, timestamp deltas, extended timestamps
 * (also on type-3 continuations), Set Chunk Size, Abort, any split of the input, the callback stopping the
 * parser, and malformed input (compressed header without history, new header mid-message, bad chunk sizes,
 * oversize messages, too many chunk streams). Writers: exact header bytes and a parse round trip. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "relay/rtmp_chunk.h"
#include "testutil.h"

#define MAXMSG 64
struct got {
    uint32_t csid, ts, msid, len;
    uint8_t type;
    uint8_t data[600];
};
static struct got msgs[MAXMSG];
static int nmsgs, stop_after = -1;

static int collect(void *arg, const struct rtmp_message *m)
{
    ck_assert_int_lt(nmsgs, MAXMSG);
    struct got *g = &msgs[nmsgs++];
    g->csid = m->csid;
    g->ts = m->timestamp;
    g->msid = m->stream_id;
    g->len = m->len;
    g->type = m->type;
    ck_assert_uint_le(m->len, sizeof g->data);
    if (m->len) memcpy(g->data, m->data, m->len);
    return nmsgs == stop_after;
}

static struct rtmp_chunk_parser P;

static void reset(uint32_t max_msg)
{
    rtmp_chunk_parser_free(&P);
    rtmp_chunk_parser_init(&P, 65536, max_msg, collect, NULL);
    nmsgs = 0;
    stop_after = -1;
}

/* ---- a little byte builder ---- */
static uint8_t buf[8192];
static size_t blen;
static void b_bytes(const void *p, size_t n)
{
    memcpy(buf + blen, p, n);
    blen += n;
}
static void b_u8(uint8_t v)
{
    buf[blen++] = v;
}
static void b_be24(uint32_t v)
{
    b_u8((uint8_t)(v >> 16));
    b_u8((uint8_t)(v >> 8));
    b_u8((uint8_t)v);
}
static void b_be32(uint32_t v)
{
    b_u8((uint8_t)(v >> 24));
    b_be24(v);
}
static void b_fmt0(uint8_t csid, uint32_t ts, uint32_t len, uint8_t type, uint32_t msid)
{
    b_u8(csid);
    b_be24(ts);
    b_be24(len);
    b_u8(type);
    for (int i = 0; i < 4; i++) b_u8((uint8_t)(msid >> (8 * i)));
}
static void b_fill(size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) b_u8((uint8_t)(seed + i * 7));
}
static void check_fill(const uint8_t *d, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(d[i], (uint8_t)(seed + i * 7));
}

static int feed_all(void)
{
    size_t used;
    return rtmp_chunk_input(&P, buf, blen, &used);
}

START_TEST(test_fmt0_single_chunk)
{
    reset(65536);
    blen = 0;
    b_fmt0(3, 0x10, 5, 20, 1);
    b_bytes("hello", 5);
    ck_assert_int_eq(feed_all(), 0);
    ck_assert_int_eq(nmsgs, 1);
    ck_assert_uint_eq(msgs[0].csid, 3);
    ck_assert_uint_eq(msgs[0].ts, 16);
    ck_assert_uint_eq(msgs[0].len, 5);
    ck_assert_uint_eq(msgs[0].type, 20);
    ck_assert_uint_eq(msgs[0].msid, 1);
    ck_assert_mem_eq(msgs[0].data, "hello", 5);
}
END_TEST

START_TEST(test_multi_chunk_message)
{
    reset(65536);
    blen = 0;
    b_fmt0(4, 0, 300, 9, 1);
    b_fill(128, 1);
    b_u8(0xc4);
    for (int i = 0; i < 128; i++) b_u8((uint8_t)(1 + (128 + i) * 7));
    b_u8(0xc4);
    for (int i = 0; i < 44; i++) b_u8((uint8_t)(1 + (256 + i) * 7));
    ck_assert_int_eq(feed_all(), 0);
    ck_assert_int_eq(nmsgs, 1);
    ck_assert_uint_eq(msgs[0].len, 300);
    check_fill(msgs[0].data, 300, 1);
}
END_TEST

/* Builds the composite stream used by the split tests and checks what it must give. */
static void build_composite(void)
{
    blen = 0;
    /* timestamps: fmt0 1000, fmt1 +20 (new length/type), fmt2 +30, fmt3 new message +30 */
    b_fmt0(5, 1000, 2, 8, 1);
    b_bytes("ab", 2);
    b_u8(0x45);
    b_be24(20);
    b_be24(3);
    b_u8(9);
    b_bytes("abc", 3);
    b_u8(0x85);
    b_be24(30);
    b_bytes("xyz", 3);
    b_u8(0xc5);
    b_bytes("123", 3);
    /* 2-byte (csid 74) and 3-byte (csid 336) basic headers */
    b_u8(0x00);
    b_u8(10);
    b_be24(7);
    b_be24(1);
    b_u8(18);
    b_be32(0);
    b_u8('Q');
    b_u8(0x01);
    b_u8(0x10);
    b_u8(0x01);
    b_be24(8);
    b_be24(2);
    b_u8(18);
    b_be32(0);
    b_bytes("RS", 2);
    /* extended timestamp 0x01000000 on a 200-byte message: repeated on the type-3 continuation */
    b_fmt0(6, RTMP_EXT_TS, 200, 9, 1);
    b_be32(0x01000000);
    b_fill(128, 50);
    b_u8(0xc6);
    b_be32(0x01000000);
    for (int i = 0; i < 72; i++) b_u8((uint8_t)(50 + (128 + i) * 7));
    /* Set Chunk Size 256 (top bit set: must be ignored), then a 300-byte message in two chunks */
    b_fmt0(2, 0, 4, 1, 0);
    b_be32(0x80000100);
    b_fmt0(3, 0, 300, 20, 0);
    b_fill(256, 9);
    b_u8(0xc3);
    for (int i = 0; i < 44; i++) b_u8((uint8_t)(9 + (256 + i) * 7));
    /* an empty message */
    b_fmt0(3, 5, 0, 20, 0);
}

static void check_composite(void)
{
    ck_assert_int_eq(nmsgs, 9);
    ck_assert_uint_eq(msgs[0].ts, 1000);
    ck_assert_uint_eq(msgs[0].type, 8);
    ck_assert_uint_eq(msgs[1].ts, 1020);
    ck_assert_uint_eq(msgs[1].len, 3);
    ck_assert_uint_eq(msgs[1].type, 9);
    ck_assert_uint_eq(msgs[1].msid, 1);
    ck_assert_mem_eq(msgs[1].data, "abc", 3);
    ck_assert_uint_eq(msgs[2].ts, 1050);
    ck_assert_mem_eq(msgs[2].data, "xyz", 3);
    ck_assert_uint_eq(msgs[3].ts, 1080);
    ck_assert_mem_eq(msgs[3].data, "123", 3);
    ck_assert_uint_eq(msgs[4].csid, 74);
    ck_assert_uint_eq(msgs[4].ts, 7);
    ck_assert_uint_eq(msgs[4].data[0], 'Q');
    ck_assert_uint_eq(msgs[5].csid, 336);
    ck_assert_mem_eq(msgs[5].data, "RS", 2);
    ck_assert_uint_eq(msgs[6].ts, 0x01000000);
    ck_assert_uint_eq(msgs[6].len, 200);
    check_fill(msgs[6].data, 200, 50);
    ck_assert_uint_eq(msgs[7].type, 1);
    ck_assert_uint_eq(msgs[8].len, 300);
    check_fill(msgs[8].data, 300, 9);
    ck_assert_uint_eq(P.chunk_size, 256);
}

START_TEST(test_composite_whole)
{
    reset(65536);
    build_composite();
    ck_assert_int_eq(feed_all(), 0);
    /* the empty message at the end counts too */
    ck_assert_int_eq(nmsgs, 10);
    ck_assert_uint_eq(msgs[9].len, 0);
    ck_assert_uint_eq(msgs[9].ts, 5);
    nmsgs = 9;
    check_composite();
}
END_TEST

START_TEST(test_composite_every_split)
{
    build_composite();
    for (size_t cut = 0; cut <= blen; cut++) {
        reset(65536);
        size_t used;
        ck_assert_int_eq(rtmp_chunk_input(&P, buf, cut, &used), 0);
        ck_assert_uint_eq(used, cut);
        ck_assert_int_eq(rtmp_chunk_input(&P, buf + cut, blen - cut, &used), 0);
        ck_assert_int_eq(nmsgs, 10);
        nmsgs = 9;
        check_composite();
    }
    reset(65536); /* and one byte at a time */
    for (size_t i = 0; i < blen; i++) {
        size_t used;
        ck_assert_int_eq(rtmp_chunk_input(&P, buf + i, 1, &used), 0);
    }
    ck_assert_int_eq(nmsgs, 10);
    nmsgs = 9;
    check_composite();
}
END_TEST

START_TEST(test_abort_drops_partial_message)
{
    reset(65536);
    blen = 0;
    b_fmt0(4, 0, 300, 9, 1);
    b_fill(128, 3);
    b_fmt0(2, 0, 4, 2, 0); /* Abort chunk stream 4 */
    b_be32(4);
    b_fmt0(4, 0, 3, 9, 1); /* a fresh message on 4 is fine after the abort */
    b_bytes("new", 3);
    ck_assert_int_eq(feed_all(), 0);
    ck_assert_int_eq(nmsgs, 2);
    ck_assert_uint_eq(msgs[0].type, 2);
    ck_assert_uint_eq(msgs[1].len, 3);
    ck_assert_mem_eq(msgs[1].data, "new", 3);
}
END_TEST

START_TEST(test_callback_stops_parser)
{
    reset(65536);
    build_composite();
    stop_after = 2;
    size_t used;
    ck_assert_int_eq(rtmp_chunk_input(&P, buf, blen, &used), RTMP_CHUNK_STOPPED);
    ck_assert_int_eq(nmsgs, 2);
    ck_assert_uint_eq(used, 12 + 2 + 8 + 3); /* right after the second message */
    stop_after = -1;
    ck_assert_int_eq(rtmp_chunk_input(&P, buf + used, blen - used, &used), 0);
    ck_assert_int_eq(nmsgs, 10);
}
END_TEST

START_TEST(test_truncated_waits)
{
    reset(65536);
    blen = 0;
    b_fmt0(3, 0, 10, 20, 0);
    b_fill(9, 0);
    ck_assert_int_eq(feed_all(), 0);
    ck_assert_int_eq(nmsgs, 0); /* one byte short: nothing yet, no error */
    size_t used;
    uint8_t last = (uint8_t)(9 * 7);
    ck_assert_int_eq(rtmp_chunk_input(&P, &last, 1, &used), 0);
    ck_assert_int_eq(nmsgs, 1);
}
END_TEST

START_TEST(test_malformed)
{
    size_t used;
    /* type-1 header on a chunk stream never seen */
    reset(65536);
    blen = 0;
    b_u8(0x43);
    b_be24(0);
    b_be24(1);
    b_u8(20);
    b_u8(0);
    ck_assert_int_eq(feed_all(), -EBADMSG);
    ck_assert_int_eq(rtmp_chunk_input(&P, buf, 1, &used), -EBADMSG); /* sticky */
    /* type-3 on a fresh stream */
    reset(65536);
    uint8_t t3 = 0xc7;
    ck_assert_int_eq(rtmp_chunk_input(&P, &t3, 1, &used), -EBADMSG);
    /* a new type-0 header in the middle of a message on the same chunk stream */
    reset(65536);
    blen = 0;
    b_fmt0(4, 0, 300, 9, 1);
    b_fill(128, 0);
    b_fmt0(4, 0, 3, 9, 1);
    ck_assert_int_eq(feed_all(), -EBADMSG);
    /* Set Chunk Size 0, over the limit, and too short */
    static const uint32_t bad_sizes[] = {0, 65537, 0x7fffffff};
    for (int i = 0; i < 3; i++) {
        reset(65536);
        blen = 0;
        b_fmt0(2, 0, 4, 1, 0);
        b_be32(bad_sizes[i]);
        ck_assert_int_eq(feed_all(), -ERANGE);
    }
    reset(65536);
    blen = 0;
    b_fmt0(2, 0, 2, 1, 0);
    b_u8(1);
    b_u8(0);
    ck_assert_int_eq(feed_all(), -EBADMSG);
    /* message over the limit: refused at its header, before any body arrives */
    reset(1000);
    blen = 0;
    b_fmt0(3, 0, 1001, 20, 0);
    ck_assert_int_eq(feed_all(), -EMSGSIZE);
    /* more chunk streams than slots */
    reset(65536);
    blen = 0;
    for (int i = 0; i <= RTMP_CHUNK_MAX_STREAMS; i++) {
        b_fmt0((uint8_t)(3 + i), 0, 0x100, 20, 0); /* half-received messages keep every stream busy */
        b_fill(128, 0);
    }
    ck_assert_int_eq(feed_all(), -ENOSPC);
}
END_TEST

START_TEST(test_writer_exact_headers)
{
    uint8_t h[RTMP_CHUNK_HEADER_MAX];
    static const uint8_t want0[] = {0x03, 0, 0, 0x10, 0, 0, 5, 20, 1, 0, 0, 0};
    ck_assert_uint_eq(rtmp_chunk_header0(h, 3, 0x10, 5, 20, 1), sizeof want0);
    ck_assert_mem_eq(h, want0, sizeof want0);
    static const uint8_t want_ext[] = {0x06, 0xff, 0xff, 0xff, 0,    1,    0,    9,
                                       1,    0,    0,    0,    0x01, 0x02, 0x03, 0x04};
    ck_assert_uint_eq(rtmp_chunk_header0(h, 6, 0x01020304, 256, 9, 1), sizeof want_ext);
    ck_assert_mem_eq(h, want_ext, sizeof want_ext);
    ck_assert_uint_eq(rtmp_chunk_header0(h, 100, 0, 0, 8, 0), 13);
    ck_assert_uint_eq(h[0], 0x00);
    ck_assert_uint_eq(h[1], 36);
    ck_assert_uint_eq(rtmp_chunk_header0(h, 400, 0, 0, 8, 0), 14);
    ck_assert_uint_eq(h[0], 0x01);
    ck_assert_uint_eq(h[1], (400 - 64) & 0xff);
    ck_assert_uint_eq(h[2], (400 - 64) >> 8);
    uint8_t h3[7];
    ck_assert_uint_eq(rtmp_chunk_header3(h3, 4, 1000), 1);
    ck_assert_uint_eq(h3[0], 0xc4);
    ck_assert_uint_eq(rtmp_chunk_header3(h3, 4, 0xffffff), 5);
    static const uint8_t want3[] = {0xc4, 0, 0xff, 0xff, 0xff};
    ck_assert_mem_eq(h3, want3, 5);
}
END_TEST

START_TEST(test_writer_round_trip)
{
    static const uint32_t sizes[] = {1, 7, 128, 4096};
    static const uint32_t stamps[] = {0, 40, 0xfffffe, 0xffffff, 0x12345678};
    static uint8_t payload[500], wire[8192];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 13 + 1);
    for (size_t s = 0; s < 4; s++) {
        for (size_t t = 0; t < 5; t++) {
            reset(65536);
            P.chunk_size = sizes[s];
            int n = rtmp_chunk_write_message(wire, sizeof wire, sizes[s], 7, stamps[t], 9, 1, payload, 500);
            ck_assert_int_gt(n, 0);
            ck_assert_uint_eq((size_t)n, rtmp_chunk_wire_size(sizes[s], 7, stamps[t], 500));
            size_t used;
            ck_assert_int_eq(rtmp_chunk_input(&P, wire, (size_t)n, &used), 0);
            ck_assert_int_eq(nmsgs, 1);
            ck_assert_uint_eq(msgs[0].ts, stamps[t]);
            ck_assert_uint_eq(msgs[0].len, 500);
            ck_assert_mem_eq(msgs[0].data, payload, 500);
        }
    }
    ck_assert_int_eq(rtmp_chunk_write_message(wire, 100, 128, 7, 0, 9, 1, payload, 500), -ENOSPC);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_rtmp_chunk");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fmt0_single_chunk);
    tcase_add_test(tc, test_multi_chunk_message);
    tcase_add_test(tc, test_composite_whole);
    tcase_add_test(tc, test_composite_every_split);
    tcase_add_test(tc, test_abort_drops_partial_message);
    tcase_add_test(tc, test_callback_stops_parser);
    tcase_add_test(tc, test_truncated_waits);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_writer_exact_headers);
    tcase_add_test(tc, test_writer_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = test_run_suite(suite());
    rtmp_chunk_parser_free(&P);
    return rc;
}
