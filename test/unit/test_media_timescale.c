/* Unit tests for media/timescale: output timestamps of playback at a speed, across speed changes, pauses,
 * seeks backward and forward, the 33-bit PES clock wrap and timestamps that jump by themselves. */
#include <check.h>

#include "media/timescale.h"
#include "testutil.h"

#define FRAME 3600 /* 25 fps at 90 kHz */

/* Feeds n frames of 40 ms starting at input `in`; returns the last output; checks each step is `want_gap`. */
static int64_t feed(struct timescale *t, int64_t in, int n, int64_t want_gap)
{
    int64_t prev = -1, out = 0;
    for (int i = 0; i < n; i++) {
        out = timescale_map(t, in + (int64_t)i * FRAME);
        if (i > 0) ck_assert_int_eq(out - prev, want_gap);
        prev = out;
    }
    return out;
}

START_TEST(speed_one_is_identity)
{
    struct timescale t;
    timescale_init(&t);
    for (int64_t in = 1000; in < 1000 + 250 * FRAME; in += FRAME) ck_assert_int_eq(timescale_map(&t, in), in);
    ck_assert_int_eq(timescale_duration(&t, 7200), 7200);
}
END_TEST

START_TEST(speed_four_quarters_the_gaps)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 4000);
    int64_t last = feed(&t, 90000, 101, FRAME / 4);
    /* 100 frames = 4 s of recording -> 1 s of output */
    ck_assert_int_eq(last - 90000, 90000);
    ck_assert_int_eq(timescale_duration(&t, 7200), 1800);
}
END_TEST

START_TEST(speed_quarter_quadruples_the_gaps)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 100); /* clamped to 0.25 */
    ck_assert_uint_eq(t.speed_milli, 250);
    int64_t last = feed(&t, 0, 26, FRAME * 4);
    ck_assert_int_eq(last, 25 * FRAME * 4);
    timescale_set_speed(&t, 99999); /* clamped to 8 */
    ck_assert_uint_eq(t.speed_milli, 8000);
}
END_TEST

START_TEST(speed_change_mid_stream_is_continuous)
{
    struct timescale t;
    timescale_init(&t);
    int64_t out = feed(&t, 0, 50, FRAME); /* 1x: frames 0..49 */
    ck_assert_int_eq(out, 49 * FRAME);
    timescale_set_speed(&t, 2000);
    /* the first frame at 2x follows the last 1x frame by half its input gap */
    ck_assert_int_eq(timescale_map(&t, 50 * FRAME), 49 * FRAME + FRAME / 2);
    out = feed(&t, 51 * FRAME, 10, FRAME / 2);
    ck_assert_int_eq(out, 49 * FRAME + 11 * (FRAME / 2));
    timescale_set_speed(&t, 1000); /* back to 1x */
    ck_assert_int_eq(timescale_map(&t, 61 * FRAME), out + FRAME);
    /* same speed again: no rebase, no change */
    timescale_set_speed(&t, 1000);
    ck_assert(!t.rebase_speed);
}
END_TEST

START_TEST(seek_backward_stays_monotonic)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 4000);
    int64_t out = feed(&t, 900000, 40, FRAME / 4);
    /* seek to the start of the recording: input goes back 10 s */
    timescale_discontinuity(&t);
    int64_t first = timescale_map(&t, 0);
    ck_assert_int_eq(first, out + FRAME / 4); /* one ordinary gap after the last output */
    ck_assert_int_eq(timescale_map(&t, FRAME), first + FRAME / 4);
}
END_TEST

START_TEST(seek_forward_without_notice_is_detected)
{
    struct timescale t;
    timescale_init(&t);
    int64_t out = feed(&t, 0, 25, FRAME);
    /* the device jumps 60 s ahead and nobody told us: a discontinuity all the same */
    int64_t next = timescale_map(&t, 25 * FRAME + 60 * 90000);
    ck_assert_int_eq(next, out + FRAME);
    /* a small gap (a lost frame) is kept as it is */
    ck_assert_int_eq(timescale_map(&t, 27 * FRAME + 60 * 90000), next + 2 * FRAME);
}
END_TEST

START_TEST(resume_after_pause_continues)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 2000);
    int64_t out = feed(&t, 0, 20, FRAME / 2);
    /* paused: nothing arrives; on resume the device may continue or restart its clock: either way */
    timescale_discontinuity(&t);
    ck_assert_int_eq(timescale_map(&t, 20 * FRAME), out + FRAME / 2);
    timescale_discontinuity(&t);
    int64_t o2 = timescale_map(&t, 5); /* restarted clock */
    ck_assert_int_eq(o2, out + 2 * (FRAME / 2));
}
END_TEST

START_TEST(wrap_of_the_33_bit_clock)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 4000);
    int64_t wrap = INT64_C(1) << 33;
    int64_t in = wrap - 10 * FRAME, first = timescale_map(&t, in);
    for (int i = 1; i <= 20; i++) {
        int64_t raw = (in + (int64_t)i * FRAME) % wrap; /* raw PES values wrap to 0 */
        ck_assert_int_eq(timescale_map(&t, raw), first + (int64_t)i * FRAME / 4);
    }
}
END_TEST

START_TEST(late_frames_and_interleaved_audio)
{
    struct timescale t;
    timescale_init(&t);
    timescale_set_speed(&t, 2000);
    ck_assert_int_eq(timescale_map(&t, 90000), 90000);
    ck_assert_int_eq(timescale_map(&t, 90000 + FRAME), 90000 + FRAME / 2);
    /* audio 20 ms behind the video: scaled as well, slightly behind, not a discontinuity */
    ck_assert_int_eq(timescale_map(&t, 90000 + FRAME - 1800), 90000 + (FRAME - 1800) / 2);
    ck_assert_int_eq(timescale_map(&t, 90000 + 2 * FRAME), 90000 + FRAME);
    /* right after a seek, a late frame of the old position never goes below the new segment's start */
    timescale_discontinuity(&t);
    int64_t s = timescale_map(&t, 50 * 90000);
    ck_assert_int_ge(timescale_map(&t, 50 * 90000 - 1800), s);
}
END_TEST

static Suite *timescale_suite(void)
{
    Suite *s = suite_create("media_timescale");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, speed_one_is_identity);
    tcase_add_test(tc, speed_four_quarters_the_gaps);
    tcase_add_test(tc, speed_quarter_quadruples_the_gaps);
    tcase_add_test(tc, speed_change_mid_stream_is_continuous);
    tcase_add_test(tc, seek_backward_stays_monotonic);
    tcase_add_test(tc, seek_forward_without_notice_is_detected);
    tcase_add_test(tc, resume_after_pause_continues);
    tcase_add_test(tc, wrap_of_the_33_bit_clock);
    tcase_add_test(tc, late_frames_and_interleaved_audio);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(timescale_suite());
}
