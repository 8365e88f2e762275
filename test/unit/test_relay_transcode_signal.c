/*
 * relay/transcode, listening to the result: synthetic tones through A-law and mu-law come back from
 * libavcodec's aac decoder at the right frequency and level, exactly on time (decoded sample i is the input's
 * sample at pts + i / 16 kHz, which is what keeps audio in sync with video), stereo is downmixed to
 * (L + R) / 2, and the steady state allocates nothing outside libavcodec's encode API (counted with the
 * sanitizer's malloc hooks).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/transcode.h"
#include "relay_transcode_util.h"
#include "testutil.h"

#define TONE_HZ   440.0
#define AMPLITUDE 0.5 /* of full scale: -9 dBFS RMS */
#define SECONDS   3

/* decoded[] from frame 4 on (past the 64 ms fade-in after a start, see transcode.c): one second. */
#define WINDOW_START (4 * 1024)
#define WINDOW_LEN   16000

typedef double (*signal_fn)(double t);

static double tone(double t)
{
    return AMPLITUDE * sin(2 * M_PI * TONE_HZ * t);
}

/* 200 Hz -> 3200 Hz over 3 s: no two lags look alike, so cross-correlation finds the true delay. */
static double chirp(double t)
{
    return AMPLITUDE * sin(2 * M_PI * (200 * t + 500 * t * t));
}

/* Runs SECONDS of fn, G.711-encoded with libavcodec, through a transcoder in 20 ms frames, leaving out
 * frames [lost_from, lost_from + lost) as a lossy network would; returns the decoded AAC (16 kHz) and its
 * first pts. */
static float *transcode_lossy(enum codec_id codec, uint8_t channels, signal_fn left, signal_fn right,
                              size_t lost_from, size_t lost, size_t *n, int64_t *first_pts,
                              struct audio_transcoder_stats *st)
{
    const size_t samples = 8000 * SECONDS;
    int16_t *pcm = malloc(samples * channels * sizeof *pcm);
    uint8_t *g711 = malloc(samples * channels);
    for (size_t i = 0; i < samples; i++) {
        pcm[i * channels] = (int16_t)lrint(32767 * left(i / 8000.0));
        if (channels == 2) pcm[i * 2 + 1] = (int16_t)lrint(32767 * right(i / 8000.0));
    }
    g711_encode(codec, pcm, samples * channels, g711);

    char err[128] = "";
    struct audio_transcoder *t = audio_transcoder_create(codec, 8000, channels, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    struct collected *c = collected_new();
    const int64_t pts0 = 3003;
    for (size_t off = 0; off < samples; off += 160) {
        if (off / 160 >= lost_from && off / 160 < lost_from + lost) continue;
        ck_assert_int_eq(
            feed(t, codec, g711 + off * channels, 160 * channels, pts0 + (int64_t)off * 90000 / 8000, c), 0);
    }
    audio_transcoder_stats(t, st);
    ck_assert_uint_eq(st->samples_filled, lost * 160);
    ck_assert_uint_eq(c->n, expected_frames(2 * samples - 32));
    ck_assert_int_eq(c->bad_shape, 0);
    assert_pts_exact(c, 0, c->n, pts0);
    *first_pts = c->pts[0];
    float *decoded = aac_decode_all(audio_transcoder_track(t), c, n);
    ck_assert_uint_ge(*n, WINDOW_START + WINDOW_LEN + 2048);
    free(c);
    audio_transcoder_destroy(t);
    free(g711);
    free(pcm);
    return decoded;
}

static float *transcode_signal(enum codec_id codec, uint8_t channels, signal_fn left, signal_fn right,
                               size_t *n, int64_t *first_pts)
{
    struct audio_transcoder_stats st;
    return transcode_lossy(codec, channels, left, right, 0, 0, n, first_pts, &st);
}

static double rms(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* |DFT| of x at frequency f (Goertzel). */
static double magnitude_at(const float *x, size_t n, double f)
{
    double w = 2 * M_PI * f / OUT_RATE, k = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return sqrt(s1 * s1 + s2 * s2 - k * s1 * s2);
}

/* The lag (decoded index - source index) in [-max_lag, max_lag] that best matches fn. */
static int best_lag(const float *decoded, size_t n, signal_fn fn, int max_lag)
{
    int best = 0;
    double best_score = -1e300;
    for (int lag = -max_lag; lag <= max_lag; lag++) {
        double score = 0;
        for (size_t i = WINDOW_START; i < WINDOW_START + 4096; i++) {
            long j = (long)i + lag;
            if (j >= 0 && (size_t)j < n) score += decoded[j] * fn(i / (double)OUT_RATE);
        }
        if (score > best_score) best_score = score, best = lag;
    }
    return best;
}

/* Normalised correlation of decoded[from, from + len) with fn at lag 0. */
static double correlation(const float *decoded, size_t from, size_t len, signal_fn fn)
{
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = from; i < from + len; i++) {
        double ref = fn(i / (double)OUT_RATE);
        xy += decoded[i] * ref, xx += (double)decoded[i] * decoded[i], yy += ref * ref;
    }
    return xy / sqrt(xx * yy);
}

START_TEST(test_tone_frequency_level_and_timing)
{
    enum codec_id codec = _i == 0 ? CODEC_G711A : CODEC_G711U;
    size_t n;
    int64_t first_pts;
    float *decoded = transcode_signal(codec, 1, tone, NULL, &n, &first_pts);
    const float *w = decoded + WINDOW_START;

    /* Frequency by zero crossings: 880 sign changes per second for 440 Hz. */
    int crossings = 0;
    for (size_t i = 1; i < WINDOW_LEN; i++) crossings += (w[i - 1] < 0) != (w[i] < 0);
    ck_assert_msg(abs(crossings - 880) <= 2, "%d zero crossings in 1 s", crossings);
    /* ...and by spectrum: of every 10 Hz step from 100 Hz to 3.9 kHz, 440 Hz is the strongest by far. */
    double peak = magnitude_at(w, WINDOW_LEN, TONE_HZ), runner_up = 0;
    for (double f = 100; f < 3900; f += 10)
        if (fabs(f - TONE_HZ) > 15) runner_up = fmax(runner_up, magnitude_at(w, WINDOW_LEN, f));
    ck_assert_msg(peak > 100 * runner_up, "440 Hz %g, strongest other %g", peak, runner_up);

    /* Level within 3 dB of the input's (-9.03 dBFS RMS). */
    double level_db = 20 * log10(rms(w, WINDOW_LEN) / (AMPLITUDE / sqrt(2)));
    printf("%s 440 Hz: decoded level %+.2f dB vs input, %d crossings/s, peak/other %.0f\n",
           codec == CODEC_G711A ? "A-law" : "mu-law", level_db, crossings, peak / runner_up);
    ck_assert_msg(fabs(level_db) < 3, "level %+.2f dB", level_db);

    /* On time: decoded[i] is the input at first_pts + i / 16 kHz (a 64 ms offset would shift the phase by
     * 5.8 samples of a 36.4-sample period: a correlation near 0.5, not 1). */
    double r = correlation(decoded, WINDOW_START, WINDOW_LEN, tone);
    ck_assert_msg(r > 0.98, "correlation with the input at lag 0: %f", r);
    free(decoded);
}
END_TEST

/* A chirp has one unambiguous alignment: the decoded audio sits exactly at its timestamps (lag 0), i.e. the
 * encoder's priming is not stamped as audio and the resampler adds no delay. */
START_TEST(test_chirp_on_time)
{
    size_t n;
    int64_t first_pts;
    float *decoded = transcode_signal(CODEC_G711A, 1, chirp, NULL, &n, &first_pts);
    int lag = best_lag(decoded, n, chirp, 2048);
    ck_assert_msg(lag == 0, "decoded audio is %d samples (%.1f ms) off its timestamps", lag, lag / 16.0);
    free(decoded);
}
END_TEST

/* 120 ms of lost frames at 1 s: the hole is filled with silence, so the tone after it is still on time
 * (left unfilled, it would come 1920 samples early: 29 samples out of phase, a correlation near 0.3). */
START_TEST(test_lost_audio_keeps_sync)
{
    size_t n;
    int64_t first_pts;
    struct audio_transcoder_stats st;
    float *decoded = transcode_lossy(CODEC_G711A, 1, tone, NULL, 50, 6, &n, &first_pts, &st);
    ck_assert_uint_eq(st.resyncs, 0);
    ck_assert_uint_eq(st.frames_in, 150 - 6);
    double after = correlation(decoded, 16000 + 1920 + 2048, WINDOW_LEN, tone);
    ck_assert_msg(after > 0.98, "correlation after the hole: %f", after);
    /* the middle of the hole is (nearly) silent */
    double hole = rms(decoded + 16000 + 800, 320), around = rms(decoded + 8000, 4000);
    printf("lost 120 ms: hole RMS %.4f vs tone %.4f, correlation after %.3f\n", hole, around, after);
    ck_assert_msg(hole < 0.1 * around, "hole RMS %f, tone %f", hole, around);
    free(decoded);
}
END_TEST

static double silence(double t)
{
    (void)t;
    return 0;
}

START_TEST(test_stereo_downmixed)
{
    size_t n;
    int64_t first_pts;
    /* the tone on both channels, and on the left only */
    for (int only_left = 0; only_left < 2; only_left++) {
        float *decoded = transcode_signal(CODEC_G711U, 2, tone, only_left ? silence : tone, &n, &first_pts);
        const float *w = decoded + WINDOW_START;
        double level_db = 20 * log10(rms(w, WINDOW_LEN) / (AMPLITUDE / sqrt(2)));
        int crossings = 0;
        for (size_t i = 1; i < WINDOW_LEN; i++) crossings += (w[i - 1] < 0) != (w[i] < 0);
        printf("stereo (%s): mono level %+.2f dB vs one channel\n", only_left ? "left only" : "both",
               level_db);
        ck_assert_msg(abs(crossings - 880) <= 2, "%d zero crossings", crossings);
        /* mono = (L + R) / 2: 0 dB when both carry the tone, -6 dB when one does; never clipping */
        double want_db = only_left ? -6.02 : 0;
        ck_assert_msg(fabs(level_db - want_db) < 0.5, "level %+.2f dB, want %+.2f", level_db, want_db);
        free(decoded);
    }
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_MALLOC_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_MALLOC_HOOKS 1
#endif
#endif

#ifdef HAVE_MALLOC_HOOKS
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static volatile unsigned long mallocs, frees;
static void on_malloc(const volatile void *p, size_t size)
{
    (void)p, (void)size;
    mallocs++;
}
static void on_free(const volatile void *p)
{
    if (p) frees++;
}
#endif

/* Steady state: an input frame that completes no AAC frame allocates nothing at all; one that completes an
 * AAC frame allocates only inside libavcodec's encode API (a fixed, small number of blocks, all freed before
 * input() returns). */
START_TEST(test_steady_state_allocations)
{
#ifndef HAVE_MALLOC_HOOKS
    printf("SKIP: allocation counting needs AddressSanitizer's malloc hooks (-DGBGATE_SANITIZE=ON)\n");
#else
    static uint8_t g711[320 * 200];
    for (size_t i = 0; i < sizeof g711; i++) g711[i] = (uint8_t)(i * 37 + (i >> 7));
    char err[128] = "";
    struct audio_transcoder *t = audio_transcoder_create(CODEC_G711A, 8000, 1, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    struct collected *c = collected_new();
    for (int i = 0; i < 50; i++) feed(t, CODEC_G711A, g711 + i * 320, 320, i * 3600, c); /* warm-up: 2 s */

    static int installed;
    if (!installed) installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    ck_assert_int_gt(installed, 0);
    unsigned long per_frame = 0, quiet_calls = 0, busy_calls = 0;
    for (int i = 50; i < 200; i++) {
        size_t out_before = c->n;
        unsigned long m0 = mallocs, f0 = frees;
        int rc = feed(t, CODEC_G711A, g711 + i * 320, 320, i * 3600, c);
        unsigned long m = mallocs - m0, f = frees - f0; /* read before any ck_assert: Check allocates */
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(m, f); /* nothing kept */
        if (c->n == out_before) {
            quiet_calls++;
            ck_assert_msg(m == 0, "input frame %d completed no AAC frame but allocated %lu blocks", i, m);
        } else {
            ck_assert_uint_eq(c->n, out_before + 1);
            if (busy_calls++ == 0) per_frame = m;
            ck_assert_msg(m == per_frame, "frame %d: %lu allocations, earlier %lu", i, m, per_frame);
        }
    }
    printf("steady state: %lu input frames with no output allocated nothing; %lu with one AAC frame each "
           "allocated %lu blocks (libavcodec encode API)\n",
           quiet_calls, busy_calls, per_frame);
    ck_assert_uint_gt(quiet_calls, 0);
    ck_assert_uint_gt(busy_calls, 0);
    ck_assert_uint_le(per_frame, 4);
    free(c);
    audio_transcoder_destroy(t);
#endif
}
END_TEST

int main(void)
{
    Suite *s = suite_create("relay_transcode_signal");
    TCase *tc = tcase_create("signal");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_tone_frequency_level_and_timing, 0, 2);
    tcase_add_test(tc, test_chirp_on_time);
    tcase_add_test(tc, test_lost_audio_keeps_sync);
    tcase_add_test(tc, test_stereo_downmixed);
    tcase_add_test(tc, test_steady_state_allocations);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
