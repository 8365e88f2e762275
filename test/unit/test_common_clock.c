/* common/clock: the absolute monotonic sleep the workers pace their loop rounds with (media.rx_coalesce_us),
 * and the time formats of the API and of GB28181 messages. */
#include <check.h>
#include <string.h>

#include "common/clock.h"
#include "testutil.h"

START_TEST(sleep_until_returns_no_earlier_than_the_deadline)
{
    for (int i = 0; i < 20; i++) {
        uint64_t deadline = clock_mono_us() + 300 + (uint64_t)i * 50;
        clock_sleep_until_mono_us(deadline);
        ck_assert_uint_ge(clock_mono_us(), deadline);
    }
}
END_TEST

START_TEST(sleep_until_a_past_deadline_returns_at_once)
{
    uint64_t t0 = clock_mono_us();
    for (int i = 0; i < 1000; i++)
        clock_sleep_until_mono_us(t0 - 1000); /* a round that ran past its period */
    clock_sleep_until_mono_us(0);
    /* 1001 sleeps that must not sleep: far below one scheduler tick each, even on a loaded machine */
    ck_assert_uint_lt(clock_mono_us() - t0, 1000000);
}
END_TEST

START_TEST(mono_clocks_agree)
{
    uint64_t ms = clock_mono_ms(), us = clock_mono_us();
    ck_assert_uint_le(ms * 1000, us);
    ck_assert_uint_lt(us - ms * 1000, 1000000);
}
END_TEST

START_TEST(utc_format)
{
    char buf[32];
    /* 2026-11-24T09:30:15Z: 20781 days after the epoch, plus 34215 s */
    uint64_t wall_ms = (20781ull * 86400 + 9 * 3600 + 30 * 60 + 15) * 1000 + 123;
    ck_assert_str_eq(clock_format_utc(wall_ms, buf, sizeof buf), "2026-11-24T09:30:15Z");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, sleep_until_returns_no_earlier_than_the_deadline);
    tcase_add_test(tc, sleep_until_a_past_deadline_returns_at_once);
    tcase_add_test(tc, mono_clocks_agree);
    tcase_add_test(tc, utc_format);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
