/* Unit tests for app/playback_time.c: the local and zoned times of the playback/download API. */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "app/playback_priv.h"
#include "testutil.h"

START_TEST(local_time_uses_tz)
{
    int64_t t;
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    ck_assert(playback_parse_time("2026-01-01T10:00:00", &t));
    ck_assert_int_eq(t, 1767232800); /* 02:00:00 UTC */
    ck_assert(playback_parse_time("2026-01-01 10:00:00", &t));
    ck_assert_int_eq(t, 1767232800);
    char buf[32];
    playback_format_time(1767232800, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-01-01T10:00:00");
    setenv("TZ", "UTC", 1);
    tzset();
    ck_assert(playback_parse_time("2026-01-01T10:00:00", &t));
    ck_assert_int_eq(t, 1767261600);
}
END_TEST

START_TEST(explicit_zones)
{
    int64_t t;
    setenv("TZ", "America/New_York", 1);
    tzset();
    ck_assert(playback_parse_time("2026-01-01T02:00:00Z", &t));
    ck_assert_int_eq(t, 1767232800);
    ck_assert(playback_parse_time("2026-01-01T10:00:00+08:00", &t));
    ck_assert_int_eq(t, 1767232800);
    ck_assert(playback_parse_time("2026-01-01T10:00:00+0800", &t));
    ck_assert_int_eq(t, 1767232800);
    ck_assert(playback_parse_time("2025-12-31T21:00:00-05", &t));
    ck_assert_int_eq(t, 1767232800);
}
END_TEST

START_TEST(malformed)
{
    int64_t t = 42;
    static const char *const bad[] = {NULL,
                                      "",
                                      "2026-01-01",
                                      "2026-01-01T10:00",
                                      "2026/01/01T10:00:00",
                                      "2026-13-01T10:00:00",
                                      "2026-02-31T10:00:00",
                                      "2026-01-01T24:00:00",
                                      "2026-01-01T10:60:00",
                                      "2026-01-01T10:00:00+",
                                      "2026-01-01T10:00:00+25:00",
                                      "2026-01-01T10:00:00 ",
                                      "2026-01-01T10:00:00.5",
                                      "1969-12-31T23:59:59Z",
                                      "２026-01-01T10:00:00",
                                      "20a6-01-01T10:00:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!playback_parse_time(bad[i], &t), "%zu", i);
    ck_assert_int_eq(t, 42);
}
END_TEST

START_TEST(position_clock)
{
    struct pb_clock c = {.speed = 4, .duration_s = 600};
    ck_assert(pb_clock_position(&c, 5000) == 0); /* not playing yet */
    pb_clock_mark(&c, 1000, 0);
    ck_assert(pb_clock_position(&c, 3000) == 8); /* 2 s at 4x */
    double at_pause = pb_clock_position(&c, 3000);
    c.paused = true;
    pb_clock_mark(&c, 3000, at_pause);
    ck_assert(pb_clock_position(&c, 60000) == 8); /* frozen while paused */
    c.paused = false;
    pb_clock_mark(&c, 60000, 590);
    ck_assert(pb_clock_position(&c, 70000) == 600); /* never past the end */
}
END_TEST

static Suite *playback_time_suite(void)
{
    Suite *s = suite_create("app_playback_time");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, local_time_uses_tz);
    tcase_add_test(tc, explicit_zones);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, position_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(playback_time_suite());
}
