/* SHA-256 against FIPS 180-4 / NIST example vectors and HMAC-SHA256 against RFC 4231 test cases 1-7,
 * including inputs fed in odd pieces (block boundaries) and keys longer than a block. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "relay/rtmp_crypto.h"
#include "testutil.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_sha(const void *data, size_t len, const char *want)
{
    uint8_t d[32];
    char h[65];
    sha256(data, len, d);
    hex(d, 32, h);
    ck_assert_str_eq(h, want);
}

START_TEST(test_sha256_vectors)
{
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(m2, strlen(m2), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m3 =
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
        "mnopqrstnopqrstu";
    check_sha(m3, strlen(m3), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}
END_TEST

START_TEST(test_sha256_million_a_in_pieces)
{
    /* one million 'a', fed in pieces of 1..97 bytes so every block boundary case is crossed */
    static uint8_t a[1000];
    memset(a, 'a', sizeof a);
    struct sha256_ctx c;
    sha256_init(&c);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t n = step < left ? step : left;
        if (n > sizeof a) n = sizeof a;
        sha256_update(&c, a, n);
        left -= n;
        step = step % 97 + 1;
    }
    uint8_t d[32];
    char h[65];
    sha256_final(&c, d);
    hex(d, 32, h);
    ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

static void check_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len, const char *want,
                       size_t want_bytes)
{
    uint8_t d[32];
    char h[65];
    hmac_sha256(key, keylen, data, len, d);
    hex(d, want_bytes, h);
    ck_assert_str_eq(h, want);
    /* the two-part form over a split of the same data gives the same digest */
    uint8_t d2[32];
    hmac_sha256_2(key, keylen, data, len / 3, data + len / 3, len - len / 3, d2);
    ck_assert_mem_eq(d, d2, 32);
}

START_TEST(test_hmac_rfc4231)
{
    uint8_t key[131], data[152];
    /* case 1 */
    memset(key, 0x0b, 20);
    check_hmac(key, 20, (const uint8_t *)"Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);
    /* case 2 */
    check_hmac((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?", 28,
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
    /* case 3 */
    memset(key, 0xaa, 20);
    memset(data, 0xdd, 50);
    check_hmac(key, 20, data, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32);
    /* case 4 */
    for (int i = 0; i < 25; i++) key[i] = (uint8_t)(i + 1);
    memset(data, 0xcd, 50);
    check_hmac(key, 25, data, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32);
    /* case 5: truncated to 128 bits */
    memset(key, 0x0c, 20);
    check_hmac(key, 20, (const uint8_t *)"Test With Truncation", 20, "a3b6167473100ee06e0c796c2955552b", 16);
    /* case 6: key longer than a block */
    memset(key, 0xaa, 131);
    const char *m6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(key, 131, (const uint8_t *)m6, strlen(m6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
    /* case 7 */
    const char *m7 =
        "This is a test using a larger than block-size key and a larger than block-size data. The key "
        "needs to be hashed before being used by the HMAC algorithm.";
    check_hmac(key, 131, (const uint8_t *)m7, strlen(m7),
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_rtmp_crypto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sha256_vectors);
    tcase_add_test(tc, test_sha256_million_a_in_pieces);
    tcase_add_test(tc, test_hmac_rfc4231);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
