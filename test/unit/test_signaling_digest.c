/* Unit tests for signaling/digest: parsing, RFC 2617 vectors, the real device REGISTERs of
 * ../shared/sip-samples, stateless nonces, and the client half used by the simulator. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/digest.h"
#include "testutil.h"

static struct digest_fields parse_ok(const char *hval)
{
    struct digest_fields f;
    ck_assert_int_eq(digest_parse(hval, strlen(hval), &f), 0);
    return f;
}

START_TEST(rfc2617_with_qop)
{
    /* RFC 2617 section 3.5 (method GET). */
    struct digest_fields f = parse_ok(
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
        "uri=\"/dir/index.html\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
        "response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
    ck_assert_str_eq(f.username, "Mufasa");
    ck_assert_str_eq(f.qop, "auth");
    ck_assert_str_eq(f.nc, "00000001");
    ck_assert_str_eq(f.opaque, "5ccc069c403ebaf9f0171e9517f40e41");
    ck_assert(digest_verify(&f, "GET", "Circle Of Life"));
    ck_assert(!digest_verify(&f, "GET", "Circle of Life"));
    ck_assert(!digest_verify(&f, "POST", "Circle Of Life"));
    /* upper-case hex is the same response */
    strcpy(f.response, "6629FAE49393A05397450978507C4EF1");
    ck_assert(digest_verify(&f, "GET", "Circle Of Life"));
}
END_TEST

/* Every Authorization header of a sample file verifies with the given user's password. */
static int verify_file(const char *relative, const char *user, const char *password)
{
    const char *path = test_shared_path(relative);
    if (!path) return -1;
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, len + 1);
    text[len] = 0;
    int verified = 0;
    for (char *p = text; (p = strstr(p, "\nAuthorization: ")); p++) {
        char *v = p + strlen("\nAuthorization: ");
        size_t vlen = strcspn(v, "\r\n");
        struct digest_fields f;
        ck_assert_int_eq(digest_parse(v, vlen, &f), 0);
        if (strcmp(f.username, user) != 0) continue;
        ck_assert_msg(digest_verify(&f, "REGISTER", password), "%s: %.*s", relative, (int)vlen, v);
        ck_assert(!digest_verify(&f, "REGISTER", "wrong"));
        verified++;
    }
    free(text);
    return verified;
}

START_TEST(real_device_registers)
{
    int n = verify_file("sip-samples/fri_honeywell_platform_register_digest.sip.txt", "34010000002000000001",
                        "12345678");
    if (n < 0) return;
    ck_assert_int_ge(n, 1);
    /* eXosip IPC: also re-REGISTERs (unregister) reusing an old nonce; both verify. */
    ck_assert_int_ge(verify_file("sip-samples/fri_exosip_device_register_digest.sip.txt",
                                 "34010000001310000001", "12345678"),
                     2);
    /* Hikvision IPC (realm "34020000", opaque) and a Hikvision platform (user admin, realm "hik"). */
    ck_assert_int_ge(
        verify_file("sip-samples/avstackdocs_pcaps_sip_messages.txt", "34020000001110000001", "12345678"), 3);
    ck_assert_int_ge(verify_file("sip-samples/avstackdocs_pcaps_sip_messages.txt", "admin", "12345"), 2);
}
END_TEST

START_TEST(parse_tolerance)
{
    struct digest_fields f =
        parse_ok("  digest   USERNAME = abc ,realm=\"r\\\"q\",nonce=\"n\", uri=\"sip:x\","
                 "response=\"0123\", foo=\"bar, baz\", algorithm=md5");
    ck_assert_str_eq(f.username, "abc");
    ck_assert_str_eq(f.realm, "r\"q");
    ck_assert_str_eq(f.algorithm, "md5");
    ck_assert_int_eq(digest_credentials_check(&f), 0);

    f = parse_ok("Digest realm=\"3402000000\", nonce=\"abc\", stale=TRUE, qop=\"auth,auth-int\"");
    ck_assert(f.stale);
    ck_assert_str_eq(f.qop, "auth,auth-int");
    ck_assert_int_eq(digest_credentials_check(&f), EBADMSG); /* a challenge is not credentials */
}
END_TEST

START_TEST(parse_rejects)
{
    struct digest_fields f;
    const char *bad[] = {
        "Basic dXNlcjpwYXNz",
        "DigestX username=\"a\"",
        "Digest username=\"unterminated",
        "Digest username",
        "Digest =value",
        "Digest username=\"a\" realm=\"b\"", /* missing comma */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(digest_parse(bad[i], strlen(bad[i]), &f) != 0, "%s", bad[i]);
    ck_assert_int_eq(digest_parse("Basic x", 7, &f), EPROTONOSUPPORT);

    /* a field longer than its buffer is an error, not a truncation */
    char big[600];
    int n = snprintf(big, sizeof(big), "Digest username=\"");
    memset(big + n, 'a', DIGEST_FIELD_MAX);
    strcpy(big + n + DIGEST_FIELD_MAX, "\"");
    ck_assert_int_eq(digest_parse(big, strlen(big), &f), EBADMSG);

    /* truncated anywhere: never reads past len, never crashes */
    const char *full = "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a@b\", response=\"x\"";
    for (size_t len = 0; len < strlen(full); len++) {
        char *copy = malloc(len ? len : 1); /* exact size: ASan catches an over-read */
        memcpy(copy, full, len);
        (void)digest_parse(copy, len, &f);
        free(copy);
    }
}
END_TEST

START_TEST(credentials_check)
{
    struct digest_fields f =
        parse_ok("Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", response=\"x\"");
    ck_assert_int_eq(digest_credentials_check(&f), 0);
    strcpy(f.algorithm, "SHA-256");
    ck_assert_int_eq(digest_credentials_check(&f), EPROTONOSUPPORT);
    strcpy(f.algorithm, "MD5");
    strcpy(f.qop, "auth-int");
    ck_assert_int_eq(digest_credentials_check(&f), EPROTONOSUPPORT);
    strcpy(f.qop, "auth"); /* qop without nc/cnonce */
    ck_assert_int_eq(digest_credentials_check(&f), EBADMSG);
    f.qop[0] = 0;
    f.uri[0] = 0;
    ck_assert_int_eq(digest_credentials_check(&f), EBADMSG);
    ck_assert(!digest_verify(&f, "REGISTER", "pw"));
}
END_TEST

START_TEST(ha1_value)
{
    char ha1[DIGEST_HEX_LEN + 1];
    digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", ha1);
    ck_assert_str_eq(ha1, "939e7578ed9e3c518a452acee763bce9");
}
END_TEST

START_TEST(nonces)
{
    uint8_t secret[DIGEST_SECRET_LEN], other[DIGEST_SECRET_LEN];
    memset(secret, 7, sizeof(secret));
    memset(other, 8, sizeof(other));
    char nonce[DIGEST_NONCE_LEN + 1];
    digest_nonce_make(secret, 1000, nonce);
    ck_assert_uint_eq(strlen(nonce), DIGEST_NONCE_LEN);
    ck_assert(!strncmp(nonce, "000003e8", 8));
    ck_assert_int_eq(digest_nonce_check(secret, nonce, 1000, 600), DIGEST_NONCE_VALID);
    ck_assert_int_eq(digest_nonce_check(secret, nonce, 1600, 600), DIGEST_NONCE_VALID);
    ck_assert_int_eq(digest_nonce_check(secret, nonce, 1601, 600), DIGEST_NONCE_STALE);
    ck_assert_int_eq(digest_nonce_check(secret, nonce, 999, 600), DIGEST_NONCE_STALE); /* from the future */
    ck_assert_int_eq(digest_nonce_check(other, nonce, 1000, 600), DIGEST_NONCE_FOREIGN);
    ck_assert_int_eq(digest_nonce_check(secret, "f7318e7e6415a19a", 1000, 600), DIGEST_NONCE_FOREIGN);
    ck_assert_int_eq(digest_nonce_check(secret, "", 1000, 600), DIGEST_NONCE_FOREIGN);
    char forged[DIGEST_NONCE_LEN + 1];
    strcpy(forged, nonce);
    forged[0] = '1'; /* a changed timestamp breaks the MAC */
    ck_assert_int_eq(digest_nonce_check(secret, forged, 1000, 600), DIGEST_NONCE_FOREIGN);
    forged[0] = 'G';
    ck_assert_int_eq(digest_nonce_check(secret, forged, 1000, 600), DIGEST_NONCE_FOREIGN);
}
END_TEST

START_TEST(challenge_and_answer_roundtrip)
{
    char hdr[512];
    int n = digest_challenge_format(hdr, sizeof(hdr), "3402000000", "abcdef", true, true);
    ck_assert_str_eq(
        hdr, "Digest realm=\"3402000000\", nonce=\"abcdef\", algorithm=MD5, qop=\"auth\", stale=true");
    ck_assert_int_eq(n, (int)strlen(hdr));
    ck_assert_int_eq(digest_challenge_format(hdr, 20, "3402000000", "abcdef", true, true), -1);

    struct digest_fields chall = parse_ok(hdr), cred, back;
    ck_assert(chall.stale);
    /* with qop */
    ck_assert_int_eq(digest_answer(&chall, "REGISTER", "sip:34020000002000000001@3402000000",
                                   "34020000001320000001", "12345678", NULL, "c0ffee", 1, &cred),
                     0);
    ck_assert_str_eq(cred.qop, "auth");
    ck_assert_str_eq(cred.nc, "00000001");
    char line[1024];
    ck_assert_int_gt(digest_credentials_format(line, sizeof(line), &cred), 0);
    back = parse_ok(line);
    ck_assert(digest_verify(&back, "REGISTER", "12345678"));
    ck_assert(!digest_verify(&back, "REGISTER", "1234567"));

    /* without qop (RFC 2069 devices), and with a realm other than the challenge's (the realm quirk) */
    digest_challenge_format(hdr, sizeof(hdr), "3402000000", "abcdef", false, false);
    chall = parse_ok(hdr);
    ck_assert_int_eq(digest_answer(&chall, "REGISTER", "sip:x", "dev", "pw", "hik", "c", 1, &cred), 0);
    ck_assert_str_eq(cred.qop, "");
    ck_assert_str_eq(cred.realm, "hik");
    digest_credentials_format(line, sizeof(line), &cred);
    back = parse_ok(line);
    ck_assert(digest_verify(&back, "REGISTER", "pw"));

    /* MD5-sess from a client we did not write */
    struct digest_fields sess = back;
    strcpy(sess.algorithm, "MD5-sess");
    strcpy(sess.cnonce, "xyz");
    char expected[DIGEST_HEX_LEN + 1];
    ck_assert_int_eq(digest_expected_response(&sess, "REGISTER", "pw", expected), 0);
    ck_assert_str_ne(expected, back.response);
    strcpy(sess.response, expected);
    ck_assert(digest_verify(&sess, "REGISTER", "pw"));

    chall.algorithm[0] = 0;
    strcpy(chall.algorithm, "SHA-256");
    ck_assert_int_eq(digest_answer(&chall, "REGISTER", "sip:x", "dev", "pw", NULL, "c", 1, &cred),
                     EPROTONOSUPPORT);
}
END_TEST

static Suite *digest_suite(void)
{
    Suite *s = suite_create("signaling_digest");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, rfc2617_with_qop);
    tcase_add_test(tc, real_device_registers);
    tcase_add_test(tc, parse_tolerance);
    tcase_add_test(tc, parse_rejects);
    tcase_add_test(tc, credentials_check);
    tcase_add_test(tc, ha1_value);
    tcase_add_test(tc, nonces);
    tcase_add_test(tc, challenge_and_answer_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(digest_suite());
}
