/*
 * Range header parser (relay/http_range.h): the three forms of a byte range, clamping at the end of the file,
 * what makes a range unsatisfiable (416) and everything that must be ignored (200 with the whole file):
 * other units, several ranges, bad syntax, last < first, huge numbers.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "relay/http_range.h"
#include "testutil.h"

#define SIZE 10000u

static enum http_range_result parse(const char *v, uint64_t size, uint64_t *a, uint64_t *b)
{
    *a = *b = 777777; /* untouched unless HTTP_RANGE_OK */
    return http_range_parse(v, size, a, b);
}

static void expect_ok(const char *v, uint64_t size, uint64_t first, uint64_t last)
{
    uint64_t a, b;
    ck_assert_msg(parse(v, size, &a, &b) == HTTP_RANGE_OK, "'%s' should be satisfiable", v);
    ck_assert_msg(a == first && b == last, "'%s': got %llu-%llu, want %llu-%llu", v, (unsigned long long)a,
                  (unsigned long long)b, (unsigned long long)first, (unsigned long long)last);
}

static void expect(const char *v, uint64_t size, enum http_range_result want)
{
    uint64_t a, b;
    enum http_range_result got = parse(v, size, &a, &b);
    ck_assert_msg(got == want, "'%s' (size %llu): got %d, want %d", v ? v : "(null)",
                  (unsigned long long)size, got, want);
    if (got != HTTP_RANGE_OK) ck_assert(a == 777777 && b == 777777);
}

START_TEST(test_forms)
{
    expect_ok("bytes=0-0", SIZE, 0, 0);
    expect_ok("bytes=0-499", SIZE, 0, 499);
    expect_ok("bytes=100-1099", SIZE, 100, 1099);
    expect_ok("bytes=9999-9999", SIZE, 9999, 9999);
    expect_ok("bytes=500-", SIZE, 500, SIZE - 1);        /* open-ended */
    expect_ok("bytes=0-", SIZE, 0, SIZE - 1);            /* what browsers send first */
    expect_ok("bytes=-500", SIZE, SIZE - 500, SIZE - 1); /* suffix */
    expect_ok("bytes=-1", SIZE, SIZE - 1, SIZE - 1);
    expect_ok("bytes=0-0", 1, 0, 0);
}
END_TEST

START_TEST(test_clamping)
{
    expect_ok("bytes=9000-20000", SIZE, 9000, SIZE - 1);             /* last past the end */
    expect_ok("bytes=-20000", SIZE, 0, SIZE - 1);                    /* suffix longer than the file */
    expect_ok("bytes=0-99999999999999999999999", SIZE, 0, SIZE - 1); /* saturates instead of wrapping */
    expect_ok("bytes=-99999999999999999999999", SIZE, 0, SIZE - 1);
}
END_TEST

START_TEST(test_tolerated_spelling)
{
    expect_ok("BYTES=1-2", SIZE, 1, 2);
    expect_ok("Bytes = 1-2", SIZE, 1, 2);
    expect_ok("  bytes=\t1-2  ", SIZE, 1, 2);
}
END_TEST

START_TEST(test_unsatisfiable)
{
    expect("bytes=10000-", SIZE, HTTP_RANGE_UNSATISFIABLE); /* first == size */
    expect("bytes=10000-10005", SIZE, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=99999999999999999999999-", SIZE, HTTP_RANGE_UNSATISFIABLE);
    expect("bytes=-0", SIZE, HTTP_RANGE_UNSATISFIABLE); /* an empty suffix */
    expect("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE);    /* nothing to send from an empty file */
    expect("bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE);
}
END_TEST

START_TEST(test_ignored)
{
    static const char *const ignored[] = {
        "",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=5",
        "bytes=5-2",     /* last < first: invalid, not unsatisfiable */
        "bytes=0-1,5-9", /* several ranges: we serve single ones only */
        "bytes=0-1, 5-9",
        "bytes=0-1x",
        "bytes=1--2",
        "bytes=+1-2",
        "bytes=-1-2",
        "bytes=1-+2",
        "items=0-1",
        "bytesx=0-1",
        "0-1",
        "bytes:0-1",
        "bytes=0x10-20",
        "bytes=1 2-3",
        "bytes=000000000000000000000000000000000001-2", /* more digits than any position has */
    };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) expect(ignored[i], SIZE, HTTP_RANGE_NONE);
    expect(NULL, SIZE, HTTP_RANGE_NONE);
}
END_TEST

START_TEST(test_every_prefix_is_safe)
{
    /* every truncation of a valid header parses without reading past its end (ASan checks the reads) */
    const char *full = "bytes=123-4567";
    size_t n = strlen(full);
    for (size_t len = 0; len <= n; len++) {
        char *cut = malloc(len + 1);
        memcpy(cut, full, len);
        cut[len] = 0;
        uint64_t a, b;
        enum http_range_result r = parse(cut, SIZE, &a, &b);
        if (len == n) ck_assert_int_eq(r, HTTP_RANGE_OK);
        if (len >= strlen("bytes=123-") && r == HTTP_RANGE_OK) ck_assert(a == 123 && b < SIZE);
        free(cut);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_range");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_clamping);
    tcase_add_test(tc, test_tolerated_spelling);
    tcase_add_test(tc, test_unsatisfiable);
    tcase_add_test(tc, test_ignored);
    tcase_add_test(tc, test_every_prefix_is_safe);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
