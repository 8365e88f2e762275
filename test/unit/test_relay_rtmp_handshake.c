/* RTMP handshake: plain and digest flavours (both digest schemes), checked the way FFmpeg's client checks a
 * server; any split of the input; bad versions; a tampered digest falls back to the plain answer. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "relay/rtmp_crypto.h"
#include "relay/rtmp_handshake.h"
#include "testutil.h"

#define HS RTMP_HANDSHAKE_SIZE

/* Runs a server handshake over c0c1 + C2 + `extra` bytes fed in pieces of `step`; returns the reply. */
static void run(const uint8_t *c0c1, size_t step, uint8_t reply[1 + 2 * HS], struct rtmp_handshake *h)
{
    static uint8_t input[1 + 2 * HS + 5];
    memcpy(input, c0c1, 1 + HS);
    memset(input + 1 + HS, 0x77, HS); /* C2: content ignored */
    memcpy(input + 1 + 2 * HS, "EXTRA", 5);
    rtmp_handshake_init(h, 42);
    size_t pos = 0, replies = 0;
    while (!rtmp_handshake_done(h)) {
        size_t n = step < sizeof input - pos ? step : sizeof input - pos;
        const uint8_t *r;
        size_t rlen;
        int used = rtmp_handshake_input(h, input + pos, n, &r, &rlen);
        ck_assert_int_ge(used, 0);
        ck_assert_uint_le((size_t)used, n);
        if (rlen) {
            ck_assert_uint_eq(rlen, 1 + 2 * HS);
            memcpy(reply, r, rlen);
            replies++;
        }
        pos += (size_t)used;
        if ((size_t)used < n) break;
    }
    ck_assert(rtmp_handshake_done(h));
    ck_assert_uint_eq(pos, 1 + 2 * HS); /* never reads past C2 */
    ck_assert_uint_eq(replies, 1);
}

START_TEST(test_plain_echoes_c1)
{
    uint8_t c0c1[1 + HS], reply[1 + 2 * HS];
    struct rtmp_handshake h;
    rtmp_handshake_client_c0c1(c0c1, false, 7);
    static const size_t steps[] = {1, 7, 1536, 1537, 5000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        run(c0c1, steps[i], reply, &h);
        ck_assert(!h.digest);
        ck_assert_int_eq(reply[0], 3);
        ck_assert_mem_eq(reply + 1 + HS, c0c1 + 1, HS); /* S2 = C1 */
        static const uint8_t zero[8];
        ck_assert_mem_eq(reply + 1, zero, 8); /* S1: time 0, zeros */
        ck_assert_int_eq(rtmp_handshake_client_check(c0c1, reply), 0);
    }
}
END_TEST

START_TEST(test_digest_scheme8_validates_like_ffmpeg)
{
    uint8_t c0c1[1 + HS], reply[1 + 2 * HS];
    struct rtmp_handshake h;
    rtmp_handshake_client_c0c1(c0c1, true, 9);
    run(c0c1, 100, reply, &h);
    ck_assert(h.digest);
    ck_assert_int_eq(h.scheme_offset, 8);
    ck_assert_int_ge(reply[1 + 4], 3); /* server version tells the client to check */
    ck_assert_int_eq(rtmp_handshake_client_check(c0c1, reply), 0);
    /* a flipped bit of S2's signature or of S1 is caught */
    reply[1 + 2 * HS - 1] ^= 1;
    ck_assert_int_eq(rtmp_handshake_client_check(c0c1, reply), -EPROTO);
    reply[1 + 2 * HS - 1] ^= 1;
    reply[1 + 100] ^= 0x10;
    ck_assert_int_eq(rtmp_handshake_client_check(c0c1, reply), -EPROTO);
}
END_TEST

/* Flash Player 10+ style: digest in scheme 772. Built here by hand from the published layout. */
START_TEST(test_digest_scheme772)
{
    static const uint8_t player_key30[] = "Genuine Adobe Flash Player 001";
    uint8_t c0c1[1 + HS], reply[1 + 2 * HS];
    rtmp_handshake_client_c0c1(c0c1, false, 11);
    uint8_t *c1 = c0c1 + 1;
    c1[4] = 10, c1[5] = 0, c1[6] = 32, c1[7] = 18;
    size_t pos = (size_t)((c1[772] + c1[773] + c1[774] + c1[775]) % 728 + 776);
    hmac_sha256_2(player_key30, 30, c1, pos, c1 + pos + 32, HS - pos - 32, c1 + pos);
    struct rtmp_handshake h;
    run(c0c1, 333, reply, &h);
    ck_assert(h.digest);
    ck_assert_int_eq(h.scheme_offset, 772);
    /* S1 carries a server digest in scheme 772 */
    static const uint8_t server_key36[] = "Genuine Adobe Flash Media Server 001";
    const uint8_t *s1 = reply + 1;
    size_t spos = (size_t)((s1[772] + s1[773] + s1[774] + s1[775]) % 728 + 776);
    uint8_t d[32];
    hmac_sha256_2(server_key36, 36, s1, spos, s1 + spos + 32, HS - spos - 32, d);
    ck_assert_mem_eq(d, s1 + spos, 32);
}
END_TEST

START_TEST(test_tampered_digest_gets_plain_answer)
{
    uint8_t c0c1[1 + HS], reply[1 + 2 * HS];
    rtmp_handshake_client_c0c1(c0c1, true, 13);
    c0c1[1 + 1000] ^= 0xff; /* versioned C1 whose digest no longer matches */
    struct rtmp_handshake h;
    run(c0c1, 1537, reply, &h);
    ck_assert(!h.digest);
    ck_assert_mem_eq(reply + 1 + HS, c0c1 + 1, HS);
}
END_TEST

START_TEST(test_bad_versions_refused)
{
    static const uint8_t bad[] = {0, 6, 8, 'G', 0xff};
    for (size_t i = 0; i < sizeof bad; i++) {
        struct rtmp_handshake h;
        const uint8_t *r;
        size_t rlen;
        rtmp_handshake_init(&h, 1);
        ck_assert_int_eq(rtmp_handshake_input(&h, &bad[i], 1, &r, &rlen), -EPROTO);
        ck_assert_uint_eq(rlen, 0);
    }
    /* an empty feed is not an error */
    struct rtmp_handshake h;
    const uint8_t *r;
    size_t rlen;
    rtmp_handshake_init(&h, 1);
    ck_assert_int_eq(rtmp_handshake_input(&h, NULL, 0, &r, &rlen), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_rtmp_handshake");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plain_echoes_c1);
    tcase_add_test(tc, test_digest_scheme8_validates_like_ffmpeg);
    tcase_add_test(tc, test_digest_scheme772);
    tcase_add_test(tc, test_tampered_digest_gets_plain_answer);
    tcase_add_test(tc, test_bad_versions_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
