/* WebSocket codec: handshake key (RFC 6455 example), SHA-1/base64 test vectors, frame headers of every length
 * class, the RFC 6455 section 5.7 example frames in every split, fragmentation with interleaved control
 * frames, close frames, and every protocol error the parser must catch. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/ws.h"
#include "relay/ws_crypto.h"
#include "testutil.h"

/* ---- event recorder ---- */

#define MAX_EVENTS 16
struct recorded {
    enum ws_event_type type;
    uint8_t *data;
    size_t len;
    uint16_t close_code;
    char reason[128];
};
struct recorder {
    struct recorded ev[MAX_EVENTS];
    size_t count;
};

static void on_event(void *arg, const struct ws_event *ev)
{
    struct recorder *r = arg;
    ck_assert_uint_lt(r->count, MAX_EVENTS);
    struct recorded *e = &r->ev[r->count++];
    e->type = ev->type;
    e->len = ev->len;
    e->data = malloc(ev->len + 1);
    memcpy(e->data, ev->data, ev->len);
    e->close_code = ev->close_code;
    ck_assert_uint_lt(ev->reason_len, sizeof e->reason);
    if (ev->reason_len) memcpy(e->reason, ev->reason, ev->reason_len);
    e->reason[ev->reason_len] = '\0';
}

static void recorder_clear(struct recorder *r)
{
    for (size_t i = 0; i < r->count; i++) free(r->ev[i].data);
    memset(r, 0, sizeof *r);
}

static struct recorder rec;

/* Parses `data` in one go with a fresh parser; returns the result, events in `rec`. */
static enum ws_error parse_all(enum ws_role role, size_t max_message, const uint8_t *data, size_t len)
{
    recorder_clear(&rec);
    struct ws_parser *p = ws_parser_create(role, max_message, on_event, &rec);
    ck_assert_ptr_nonnull(p);
    enum ws_error err = ws_parser_input(p, data, len);
    ws_parser_destroy(p);
    return err;
}

/* ---- handshake and crypto ---- */

START_TEST(accept_key_rfc6455_example)
{
    char out[WS_ACCEPT_KEY_LEN + 1];
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    /* RFC 6455 section 1.3 (also what Python's hashlib + base64 give) */
    ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out), EINVAL);   /* 23 chars */
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ===", out), EINVAL); /* 25 chars */
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", out), EINVAL);  /* not base64 */
    ck_assert_int_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQAA", out), EINVAL);  /* not 16 bytes */
    ck_assert_int_eq(ws_accept_key(NULL, out), EINVAL);
}
END_TEST

static void sha1_hex(const void *data, size_t len, char hex[41])
{
    struct ws_sha1 ctx;
    uint8_t d[WS_SHA1_DIGEST_SIZE];
    ws_sha1_init(&ctx);
    ws_sha1_update(&ctx, data, len);
    ws_sha1_final(&ctx, d);
    for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

START_TEST(sha1_fips_vectors)
{
    char hex[41];
    sha1_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha1_hex("", 0, hex);
    ck_assert_str_eq(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    sha1_hex(two_blocks, strlen(two_blocks), hex);
    ck_assert_str_eq(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* one million 'a', fed in uneven pieces */
    struct ws_sha1 ctx;
    uint8_t d[WS_SHA1_DIGEST_SIZE], chunk[997];
    memset(chunk, 'a', sizeof chunk);
    ws_sha1_init(&ctx);
    for (size_t left = 1000000; left > 0;) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        ws_sha1_update(&ctx, chunk, n);
        left -= n;
    }
    ws_sha1_final(&ctx, d);
    for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    ck_assert_str_eq(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}
END_TEST

START_TEST(base64_rfc4648_vectors)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char buf[16];
    for (int i = 0; i < 7; i++) {
        ck_assert_uint_eq(ws_base64_encode((const uint8_t *)in[i], strlen(in[i]), buf, sizeof buf),
                          strlen(out[i]));
        ck_assert_str_eq(buf, out[i]);
    }
    ck_assert_uint_eq(ws_base64_encode((const uint8_t *)"foobar", 6, buf, 8), 0); /* needs 9 */
}
END_TEST

/* ---- frame headers ---- */

START_TEST(server_header_length_classes)
{
    uint8_t h[WS_SERVER_HEADER_MAX];
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_BINARY, 0, true), 2);
    ck_assert_uint_eq(h[0], 0x82);
    ck_assert_uint_eq(h[1], 0x00);
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_TEXT, 125, false), 2);
    ck_assert_uint_eq(h[0], 0x01);
    ck_assert_uint_eq(h[1], 125);
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_BINARY, 126, true), 4);
    static const uint8_t h126[] = {0x82, 126, 0x00, 126};
    ck_assert_mem_eq(h, h126, 4);
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_BINARY, 65535, true), 4);
    static const uint8_t h65535[] = {0x82, 126, 0xff, 0xff};
    ck_assert_mem_eq(h, h65535, 4);
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_BINARY, 65536, true), 10);
    static const uint8_t h65536[] = {0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0};
    ck_assert_mem_eq(h, h65536, 10);
    ck_assert_uint_eq(ws_frame_header(h, WS_OP_CONTINUATION, 0x123456789aull, true), 10);
    static const uint8_t hbig[] = {0x80, 127, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a};
    ck_assert_mem_eq(h, hbig, 10);
    /* masked client headers */
    uint8_t m[WS_CLIENT_HEADER_MAX];
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    ck_assert_uint_eq(ws_frame_header_masked(m, WS_OP_TEXT, 5, true, key), 6);
    static const uint8_t m5[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d};
    ck_assert_mem_eq(m, m5, 6);
    ck_assert_uint_eq(ws_frame_header_masked(m, WS_OP_BINARY, 300, true, key), 8);
    ck_assert_uint_eq(ws_frame_header_masked(m, WS_OP_BINARY, 70000, true, key), 14);
    ck_assert_uint_eq(m[1], 0xff);
}
END_TEST

/* ---- RFC 6455 section 5.7 examples ---- */

static const uint8_t masked_hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const uint8_t unmasked_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t fragmented_hello[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
static const uint8_t unmasked_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t masked_pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};

static void expect_one(enum ws_event_type type, const char *payload)
{
    ck_assert_uint_eq(rec.count, 1);
    ck_assert_int_eq(rec.ev[0].type, type);
    ck_assert_uint_eq(rec.ev[0].len, strlen(payload));
    ck_assert_mem_eq(rec.ev[0].data, payload, strlen(payload));
}

START_TEST(rfc_examples_every_split)
{
    /* every way of cutting the masked frame in three */
    for (size_t a = 0; a <= sizeof masked_hello; a++) {
        for (size_t b = a; b <= sizeof masked_hello; b++) {
            recorder_clear(&rec);
            struct ws_parser *p = ws_parser_create(WS_ROLE_SERVER, 1024, on_event, &rec);
            ck_assert_int_eq(ws_parser_input(p, masked_hello, a), WS_OK);
            ck_assert_int_eq(ws_parser_input(p, masked_hello + a, b - a), WS_OK);
            ck_assert_int_eq(ws_parser_input(p, masked_hello + b, sizeof masked_hello - b), WS_OK);
            expect_one(WS_EV_TEXT, "Hello");
            ws_parser_destroy(p);
        }
    }
    ck_assert_int_eq(parse_all(WS_ROLE_CLIENT, 1024, unmasked_hello, sizeof unmasked_hello), WS_OK);
    expect_one(WS_EV_TEXT, "Hello");
    ck_assert_int_eq(parse_all(WS_ROLE_CLIENT, 1024, fragmented_hello, sizeof fragmented_hello), WS_OK);
    expect_one(WS_EV_TEXT, "Hello");
    ck_assert_int_eq(parse_all(WS_ROLE_CLIENT, 1024, unmasked_ping, sizeof unmasked_ping), WS_OK);
    expect_one(WS_EV_PING, "Hello");
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 1024, masked_pong, sizeof masked_pong), WS_OK);
    expect_one(WS_EV_PONG, "Hello");
}
END_TEST

/* Builds a masked client frame into out; returns its size. */
static size_t client_frame(uint8_t *out, uint8_t opcode, bool fin, const uint8_t *payload, size_t len,
                           uint32_t mask_seed)
{
    uint8_t key[4] = {(uint8_t)mask_seed, (uint8_t)(mask_seed >> 8), (uint8_t)(mask_seed >> 16), 0xa5};
    size_t h = ws_frame_header_masked(out, opcode, len, fin, key);
    if (len) memcpy(out + h, payload, len);
    ws_mask(out + h, len, key, 0);
    return h + len;
}

START_TEST(every_length_class_in_random_chunks)
{
    static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 100000};
    size_t max = 100000;
    uint8_t *payload = malloc(max), *frame = malloc(max + 14);
    uint32_t x = 12345;
    for (size_t i = 0; i < max; i++) payload[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = client_frame(frame, WS_OP_BINARY, true, payload, sizes[s], (uint32_t)s * 0x9e3779b9u);
        ck_assert_uint_eq(n - sizes[s], sizes[s] < 126 ? 6 : sizes[s] <= 65535 ? 8 : 14);
        recorder_clear(&rec);
        struct ws_parser *p = ws_parser_create(WS_ROLE_SERVER, max, on_event, &rec);
        for (size_t pos = 0; pos < n;) {
            x = x * 1103515245u + 12345u;
            size_t k = 1 + (x >> 8) % 5000;
            if (k > n - pos) k = n - pos;
            ck_assert_int_eq(ws_parser_input(p, frame + pos, k), WS_OK);
            pos += k;
        }
        ck_assert_uint_eq(rec.count, 1);
        ck_assert_int_eq(rec.ev[0].type, WS_EV_BINARY);
        ck_assert_uint_eq(rec.ev[0].len, sizes[s]);
        if (sizes[s]) ck_assert_mem_eq(rec.ev[0].data, payload, sizes[s]);
        ws_parser_destroy(p);
    }
    free(payload);
    free(frame);
}
END_TEST

START_TEST(fragments_with_interleaved_control)
{
    uint8_t buf[256];
    size_t n = 0;
    n += client_frame(buf + n, WS_OP_BINARY, false, (const uint8_t *)"abc", 3, 1);
    n += client_frame(buf + n, WS_OP_PING, true, (const uint8_t *)"p1", 2, 2);
    n += client_frame(buf + n, WS_OP_CONTINUATION, false, NULL, 0, 3);
    n += client_frame(buf + n, WS_OP_CONTINUATION, false, (const uint8_t *)"def", 3, 4);
    n += client_frame(buf + n, WS_OP_PONG, true, NULL, 0, 5);
    n += client_frame(buf + n, WS_OP_CONTINUATION, true, (const uint8_t *)"gh", 2, 6);
    n += client_frame(buf + n, WS_OP_TEXT, true, (const uint8_t *)"", 0, 7);
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 64, buf, n), WS_OK);
    ck_assert_uint_eq(rec.count, 4);
    ck_assert_int_eq(rec.ev[0].type, WS_EV_PING);
    ck_assert_mem_eq(rec.ev[0].data, "p1", 2);
    ck_assert_int_eq(rec.ev[1].type, WS_EV_PONG);
    ck_assert_uint_eq(rec.ev[1].len, 0);
    ck_assert_int_eq(rec.ev[2].type, WS_EV_BINARY);
    ck_assert_uint_eq(rec.ev[2].len, 8);
    ck_assert_mem_eq(rec.ev[2].data, "abcdefgh", 8);
    ck_assert_int_eq(rec.ev[3].type, WS_EV_TEXT);
    ck_assert_uint_eq(rec.ev[3].len, 0);
}
END_TEST

START_TEST(close_frames)
{
    uint8_t payload[WS_MAX_CONTROL_PAYLOAD], buf[256];
    size_t pl = ws_close_payload(payload, WS_CLOSE_GOING_AWAY, "bye");
    ck_assert_uint_eq(pl, 5);
    static const uint8_t expect_pl[] = {0x03, 0xe9, 'b', 'y', 'e'};
    ck_assert_mem_eq(payload, expect_pl, 5);
    size_t n = client_frame(buf, WS_OP_CLOSE, true, payload, pl, 9);
    n += client_frame(buf + n, WS_OP_TEXT, true, (const uint8_t *)"after", 5, 10); /* ignored */

    recorder_clear(&rec);
    struct ws_parser *p = ws_parser_create(WS_ROLE_SERVER, 64, on_event, &rec);
    ck_assert_int_eq(ws_parser_input(p, buf, n), WS_OK);
    ck_assert(ws_parser_closed(p));
    ck_assert_uint_eq(rec.count, 1);
    ck_assert_int_eq(rec.ev[0].type, WS_EV_CLOSE);
    ck_assert_uint_eq(rec.ev[0].close_code, 1001);
    ck_assert_str_eq(rec.ev[0].reason, "bye");
    ck_assert_int_eq(ws_parser_input(p, buf, n), WS_OK);
    ck_assert_uint_eq(rec.count, 1);
    ws_parser_destroy(p);

    /* empty close: "no status" */
    n = client_frame(buf, WS_OP_CLOSE, true, NULL, 0, 11);
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 64, buf, n), WS_OK);
    ck_assert_uint_eq(rec.ev[0].close_code, WS_CLOSE_NO_STATUS);

    /* a long reason is cut to 123 bytes without splitting the 3-byte character that straddles the cut */
    char reason[200];
    memset(reason, 'r', 122);
    strcpy(reason + 122, "\xe2\x82\xac tail");
    ck_assert_uint_eq(ws_close_payload(payload, 1000, reason), 2 + 122);
    uint16_t code;
    const uint8_t *why;
    size_t why_len;
    ck_assert_int_eq(ws_close_parse(payload, 124, &code, &why, &why_len), WS_OK);
    ck_assert_uint_eq(code, 1000);
    ck_assert_uint_eq(why_len, 122);
    ck_assert_int_eq(ws_close_parse(payload, 1, &code, &why, &why_len), WS_ERR_CLOSE_PAYLOAD);
}
END_TEST

/* One frame of raw bytes that must be refused with `err` (after 0 events), whatever the split. */
static void expect_error(enum ws_role role, const uint8_t *bytes, size_t len, enum ws_error err)
{
    ck_assert_int_eq(parse_all(role, 1000, bytes, len), err);
    for (size_t cut = 1; cut < len; cut++) {
        recorder_clear(&rec);
        struct ws_parser *p = ws_parser_create(role, 1000, on_event, &rec);
        enum ws_error first = ws_parser_input(p, bytes, cut);
        enum ws_error second = ws_parser_input(p, bytes + cut, len - cut);
        ck_assert_int_eq(first == WS_OK ? second : first, err);
        ck_assert_int_eq(ws_parser_input(p, masked_hello, sizeof masked_hello), err); /* sticky */
        ws_parser_destroy(p);
    }
}

START_TEST(protocol_errors)
{
    /* unmasked client frame; masked server frame */
    expect_error(WS_ROLE_SERVER, unmasked_hello, sizeof unmasked_hello, WS_ERR_MASKING);
    expect_error(WS_ROLE_CLIENT, masked_hello, sizeof masked_hello, WS_ERR_MASKING);
    /* RSV1 (permessage-deflate was not negotiated) */
    static const uint8_t rsv[] = {0xc1, 0x80, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, rsv, sizeof rsv, WS_ERR_RESERVED_BITS);
    /* opcodes 3 and 0xb */
    static const uint8_t op3[] = {0x83, 0x80, 0, 0, 0, 0}, opb[] = {0x8b, 0x80, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, op3, sizeof op3, WS_ERR_OPCODE);
    expect_error(WS_ROLE_SERVER, opb, sizeof opb, WS_ERR_OPCODE);
    /* ping of 126 bytes; fragmented ping */
    static const uint8_t big_ping[] = {0x89, 0xfe, 0x00, 0x7e, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, big_ping, sizeof big_ping, WS_ERR_CONTROL_TOO_BIG);
    static const uint8_t frag_ping[] = {0x09, 0x80, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, frag_ping, sizeof frag_ping, WS_ERR_CONTROL_FRAGMENTED);
    /* continuation with nothing to continue */
    static const uint8_t cont[] = {0x80, 0x80, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, cont, sizeof cont, WS_ERR_CONTINUATION);
    /* a new message while one is unfinished */
    static const uint8_t two_starts[] = {0x01, 0x80, 0, 0, 0, 0, 0x82, 0x80, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, two_starts, sizeof two_starts, WS_ERR_CONTINUATION);
    /* 100 in the 16-bit form; 1000 in the 64-bit form; the 64-bit top bit */
    static const uint8_t long16[] = {0x82, 0xfe, 0x00, 100, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, long16, sizeof long16, WS_ERR_LENGTH);
    static const uint8_t long64[] = {0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, long64, sizeof long64, WS_ERR_LENGTH);
    static const uint8_t top_bit[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, top_bit, sizeof top_bit, WS_ERR_LENGTH);
    /* over max_message (1000): one frame of 1001; 600 + 600 in two fragments */
    static const uint8_t too_big[] = {0x82, 0xfe, 0x03, 0xe9, 0, 0, 0, 0};
    expect_error(WS_ROLE_SERVER, too_big, sizeof too_big, WS_ERR_MESSAGE_TOO_BIG);
    uint8_t zeros[600] = {0}, frames[1300];
    size_t n = client_frame(frames, WS_OP_BINARY, false, zeros, 600, 0);
    n += client_frame(frames + n, WS_OP_CONTINUATION, true, zeros, 600, 0);
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 1000, frames, n), WS_ERR_MESSAGE_TOO_BIG);
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 1200, frames, n), WS_OK);
    ck_assert_uint_eq(rec.ev[0].len, 1200);
    /* invalid UTF-8 text, split across fragments or not */
    static const uint8_t bad_text[] = {0x81, 0x82, 0, 0, 0, 0, 0xc0, 0x80};
    expect_error(WS_ROLE_SERVER, bad_text, sizeof bad_text, WS_ERR_UTF8);
    /* close: 1 byte; code 1005; code 999; reason not UTF-8 */
    static const uint8_t close1[] = {0x88, 0x81, 0, 0, 0, 0, 0x03};
    expect_error(WS_ROLE_SERVER, close1, sizeof close1, WS_ERR_CLOSE_PAYLOAD);
    static const uint8_t close1005[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed};
    expect_error(WS_ROLE_SERVER, close1005, sizeof close1005, WS_ERR_CLOSE_PAYLOAD);
    static const uint8_t close999[] = {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe7};
    expect_error(WS_ROLE_SERVER, close999, sizeof close999, WS_ERR_CLOSE_PAYLOAD);
    static const uint8_t close_bad_reason[] = {0x88, 0x83, 0, 0, 0, 0, 0x03, 0xe8, 0xff};
    expect_error(WS_ROLE_SERVER, close_bad_reason, sizeof close_bad_reason, WS_ERR_UTF8);
    static const uint8_t close4000[] = {0x88, 0x82, 0, 0, 0, 0, 0x0f, 0xa0};
    ck_assert_int_eq(parse_all(WS_ROLE_SERVER, 10, close4000, sizeof close4000), WS_OK);
    ck_assert_uint_eq(rec.ev[0].close_code, 4000);
}
END_TEST

START_TEST(error_close_codes_and_names)
{
    ck_assert_uint_eq(ws_error_close_code(WS_ERR_MASKING), 1002);
    ck_assert_uint_eq(ws_error_close_code(WS_ERR_LENGTH), 1002);
    ck_assert_uint_eq(ws_error_close_code(WS_ERR_MESSAGE_TOO_BIG), 1009);
    ck_assert_uint_eq(ws_error_close_code(WS_ERR_UTF8), 1007);
    ck_assert_uint_eq(ws_error_close_code(WS_ERR_NO_MEMORY), 1011);
    for (int e = WS_OK; e <= WS_ERR_NO_MEMORY; e++)
        ck_assert_str_ne(ws_error_str((enum ws_error)e), "unknown error");
}
END_TEST

START_TEST(utf8_validation)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"plain ascii", true},
        {"\xe2\x82\xac", true},          /* U+20AC */
        {"\xf0\x9f\x98\x80", true},      /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", true},      /* U+10FFFF */
        {"\xc0\x80", false},             /* overlong NUL */
        {"\xe0\x80\xaf", false},         /* overlong '/' */
        {"\xed\xa0\x80", false},         /* surrogate */
        {"\xf4\x90\x80\x80", false},     /* above U+10FFFF */
        {"\xe2\x82", false},             /* cut short */
        {"\x80", false},                 /* lone continuation */
        {"\xf8\x88\x80\x80\x80", false}, /* 5-byte form */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(ws_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s)) == cases[i].ok,
                      "case %zu", i);
}
END_TEST

struct self_destroy {
    struct ws_parser *p;
    size_t events;
};

static void destroy_on_close(void *arg, const struct ws_event *ev)
{
    struct self_destroy *sd = arg;
    sd->events++;
    if (ev->type == WS_EV_PING) ws_parser_destroy(sd->p); /* like a viewer closing from the callback */
}

/* Destroying the parser from its own callback stops parsing; the free happens on the way out (ASan checks).
 */
START_TEST(destroy_from_callback)
{
    uint8_t buf[64];
    size_t n = client_frame(buf, WS_OP_PING, true, (const uint8_t *)"x", 1, 1);
    n += client_frame(buf + n, WS_OP_PONG, true, (const uint8_t *)"y", 1, 2);
    struct self_destroy sd = {0};
    sd.p = ws_parser_create(WS_ROLE_SERVER, 64, destroy_on_close, &sd);
    ck_assert_int_eq(ws_parser_input(sd.p, buf, n), WS_OK);
    ck_assert_uint_eq(sd.events, 1);
}
END_TEST

static Suite *ws_suite(void)
{
    Suite *s = suite_create("relay_ws");
    TCase *tc = tcase_create("ws");
    tcase_add_test(tc, accept_key_rfc6455_example);
    tcase_add_test(tc, sha1_fips_vectors);
    tcase_add_test(tc, base64_rfc4648_vectors);
    tcase_add_test(tc, server_header_length_classes);
    tcase_add_test(tc, rfc_examples_every_split);
    tcase_add_test(tc, every_length_class_in_random_chunks);
    tcase_add_test(tc, fragments_with_interleaved_control);
    tcase_add_test(tc, close_frames);
    tcase_add_test(tc, protocol_errors);
    tcase_add_test(tc, error_close_codes_and_names);
    tcase_add_test(tc, utf8_validation);
    tcase_add_test(tc, destroy_from_callback);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(ws_suite());
}
