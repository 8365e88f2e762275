/*
 * relay/transcode on a real camera's G.711: the exact frame count (encoder and resampler delay accounted
 * for), exact 1024-sample timestamps, duration, identical output for any split of the input, an ADTS dump
 * that ffprobe reads back; and every kind of bad input and timestamp jump.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/aac.h"
#include "relay/transcode.h"
#include "relay_transcode_util.h"
#include "testutil.h"

#define SAMPLE_FILE "samples/gb_device_audio_8k_mono.g711a"
#define PTS0        INT64_C(8589934000) /* near the 33-bit wrap: the transcoder must not care */
/* libswresample's default 32-tap filter keeps 16 input samples of look-ahead: 32 samples at 16 kHz. */
#define RESAMPLER_HOLD 32

static struct audio_transcoder *new_transcoder(enum codec_id codec, uint8_t channels)
{
    char err[128] = "";
    struct audio_transcoder *t = audio_transcoder_create(codec, 8000, channels, err, sizeof err);
    ck_assert_msg(t != NULL, "create: %s", err);
    return t;
}

/* Feeds the sample file cut into the given frame sizes (cycled), with exact timestamps. */
static void feed_file(struct audio_transcoder *t, const uint8_t *g711, size_t n, const size_t *sizes,
                      size_t nsizes, struct collected *c)
{
    size_t off = 0;
    for (size_t i = 0; off < n; i++) {
        size_t len = sizes[i % nsizes];
        if (len > n - off) len = n - off;
        ck_assert_int_eq(feed(t, CODEC_G711A, g711 + off, len, PTS0 + (int64_t)(off * 90000 / 8000), c), 0);
        off += len;
    }
}

/* Writes the frames as ADTS (object type 2 = LC, 16 kHz = index 8, mono). */
static void write_adts(const struct collected *c, const char *path)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < c->n; i++) {
        uint8_t hdr[ADTS_HEADER_LEN];
        ck_assert_int_eq(adts_write_header(hdr, 2, 8, 1, c->len[i]), ADTS_HEADER_LEN);
        ck_assert_uint_eq(fwrite(hdr, 1, sizeof hdr, f), sizeof hdr);
        ck_assert_uint_eq(fwrite(c->data + c->off[i], 1, c->len[i], f), c->len[i]);
    }
    ck_assert_int_eq(fclose(f), 0);
}

/* ffprobe's view of the ADTS file: codec, rate, channels and the number of frames it decoded. */
static void probe_adts(const char *path, size_t want_frames)
{
    if (system("command -v ffprobe >/dev/null 2>&1") != 0) {
        printf("SKIP: ffprobe not installed; ADTS dump not probed\n");
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ffprobe -v error -show_streams -count_frames -of json '%s'", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char out[65536];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    ck_assert_int_eq(pclose(p), 0);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr);
    ck_assert_msg(root != NULL, "ffprobe output is not JSON: %s", out);
    json_t *streams = json_object_get(root, "streams");
    ck_assert_int_eq(json_array_size(streams), 1);
    json_t *s = json_array_get(streams, 0);
    ck_assert_str_eq(json_string_value(json_object_get(s, "codec_name")), "aac");
    ck_assert_str_eq(json_string_value(json_object_get(s, "profile")), "LC");
    ck_assert_str_eq(json_string_value(json_object_get(s, "sample_rate")), "16000");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "channels")), 1);
    char frames[32];
    snprintf(frames, sizeof frames, "%zu", want_frames);
    ck_assert_str_eq(json_string_value(json_object_get(s, "nb_read_frames")), frames);
    json_decref(root);
}

START_TEST(test_camera_file_40ms_frames)
{
    const char *path = test_shared_path(SAMPLE_FILE);
    if (!path) return;
    size_t n;
    uint8_t *g711 = test_read_file(path, &n);
    ck_assert_ptr_nonnull(g711);
    ck_assert_uint_eq(n, 586320);
    struct audio_transcoder *t = new_transcoder(CODEC_G711A, 1);
    struct collected *c = collected_new();
    const size_t sizes[] = {320}; /* 40 ms */
    feed_file(t, g711, n, sizes, 1, c);

    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.frames_in, (n + 319) / 320);
    ck_assert_uint_eq(st.samples_in, n);
    ck_assert_uint_eq(st.bad_frames, 0);
    ck_assert_uint_eq(st.resyncs, 0);
    /* 586320 samples -> 1172640 at 16 kHz, 32 still in the resampler: 1145 whole frames, 2 in the encoder. */
    ck_assert_uint_eq(st.frames_out, expected_frames(2 * n - RESAMPLER_HOLD));
    ck_assert_uint_eq(st.frames_out, 1143);
    ck_assert_uint_eq(c->n, st.frames_out);
    ck_assert_int_eq(c->bad_shape, 0);
    assert_pts_exact(c, 0, c->n, PTS0);

    /* Duration: input 73.290 s; output covers 73.152 s; the rest is in the pipeline: the encoder's two
     * frames (128 ms), the 1024-sample FIFO remainder and the resampler's look-ahead (10 ms here). */
    double in_s = (double)n / 8000, out_s = (double)c->n * 1024 / OUT_RATE;
    double in_pipeline_s = in_s - out_s - 2048.0 / OUT_RATE;
    ck_assert_msg(in_pipeline_s >= 0 && in_pipeline_s < (1024.0 + RESAMPLER_HOLD) / OUT_RATE, "%f",
                  in_pipeline_s);
    ck_assert_msg(in_pipeline_s < 0.050, "output + encoder delay %.3f s, input %.3f s", out_s, in_s);

    /* Every frame decodes to 1024 samples; the camera's audio is not silence. */
    size_t npcm;
    float *pcm = aac_decode_all(audio_transcoder_track(t), c, &npcm);
    double energy = 0;
    for (size_t i = 0; i < npcm; i++) energy += (double)pcm[i] * pcm[i];
    ck_assert_msg(energy / (double)npcm > 1e-6, "decoded RMS %g", sqrt(energy / (double)npcm));
    free(pcm);

    char adts[] = "/tmp/gbgate_transcode_XXXXXX";
    int fd = mkstemp(adts);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_adts(c, adts); /* ~0.5 MB: bounded by the input file */
    probe_adts(adts, c->n);
    unlink(adts);

    free(c);
    free(g711);
    audio_transcoder_destroy(t);
}
END_TEST

/* The same audio cut into odd sizes (1 byte to 64 KiB, crossing every internal chunk boundary) gives the
 * same AAC bytes and timestamps as 40 ms frames: the output depends on the samples, not on the framing. */
START_TEST(test_camera_file_any_split_same_output)
{
    const char *path = test_shared_path(SAMPLE_FILE);
    if (!path) return;
    size_t n;
    uint8_t *g711 = test_read_file(path, &n);
    ck_assert_ptr_nonnull(g711);
    size_t limit = n < 8000 * 20 ? n : 8000 * 20; /* 20 s keeps the suite quick */
    struct collected *a = collected_new(), *b = collected_new();
    struct audio_transcoder *ta = new_transcoder(CODEC_G711A, 1), *tb = new_transcoder(CODEC_G711A, 1);
    const size_t even[] = {320};
    const size_t odd[] = {1, 77, 333, 1023, 1024, 1025, 2, 4097, 65536, 999, 3, 160};
    feed_file(ta, g711, limit, even, 1, a);
    feed_file(tb, g711, limit, odd, sizeof odd / sizeof odd[0], b);
    struct audio_transcoder_stats sa, sb;
    audio_transcoder_stats(ta, &sa);
    audio_transcoder_stats(tb, &sb);
    ck_assert_uint_eq(sb.samples_in, limit);
    ck_assert_uint_eq(sb.resyncs, 0);
    ck_assert_uint_eq(a->n, expected_frames(2 * limit - RESAMPLER_HOLD));
    ck_assert_uint_eq(b->n, a->n);
    ck_assert_uint_eq(b->data_len, a->data_len);
    ck_assert_mem_eq(b->data, a->data, a->data_len);
    ck_assert_mem_eq(b->pts, a->pts, a->n * sizeof a->pts[0]);
    ck_assert_mem_eq(b->len, a->len, a->n * sizeof a->len[0]);
    audio_transcoder_destroy(ta);
    audio_transcoder_destroy(tb);
    free(a);
    free(b);
    free(g711);
}
END_TEST

static uint8_t noise[100000]; /* random bytes: G.711 noise, and the payload of oversized frames */

static void noise_fill(void)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
}

/* Feeds `frames` frames of 40 ms starting at pts; returns the pts after them. */
static int64_t feed_40ms(struct audio_transcoder *t, int frames, int64_t pts, struct collected *c)
{
    for (int i = 0; i < frames; i++, pts += 3600)
        ck_assert_int_eq(feed(t, CODEC_G711A, noise + (i % 64) * 320, 320, pts, c), 0);
    return pts;
}

START_TEST(test_malformed_frames_rejected_and_counted)
{
    noise_fill();
    struct audio_transcoder *t = new_transcoder(CODEC_G711A, 1);
    struct collected *c = collected_new();
    int64_t pts = feed_40ms(t, 25, 0, c); /* 1 s: 250 frames' worth of samples, 13 frames out */
    size_t before = c->n;
    ck_assert_uint_eq(before, expected_frames(2 * 8000 - RESAMPLER_HOLD));

    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 0, pts, c), -EINVAL);         /* empty */
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 100000, pts, c), -EMSGSIZE);  /* absurdly large */
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 65537, pts, c), -EMSGSIZE);   /* one over the limit */
    ck_assert_int_eq(feed(t, CODEC_G711U, noise, 320, pts, c), -EINVAL);       /* not this stream's codec */
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, INT64_MAX, c), -EINVAL); /* absurd timestamps */
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, INT64_MIN, c), -EINVAL);
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, INT64_C(1) << 60, c), -EINVAL);
    /* payload outside its buffer */
    struct media_frame f = {.buf = gbuf_alloc(512), .off = 0, .len = 320, .codec = CODEC_G711A, .pts = pts};
    f.off = (uint32_t)f.buf->cap - 319;
    ck_assert_int_eq(audio_transcoder_input(t, &f, collect_cb, c), -EINVAL);
    f.off = UINT32_MAX; /* off + len overflows 32 bits */
    ck_assert_int_eq(audio_transcoder_input(t, &f, collect_cb, c), -EINVAL);
    media_frame_release(&f);
    f.buf = NULL;
    ck_assert_int_eq(audio_transcoder_input(t, &f, collect_cb, c), -EINVAL);
    ck_assert_int_eq(audio_transcoder_input(t, NULL, collect_cb, c), -EINVAL);

    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.bad_frames, 11);
    ck_assert_uint_eq(st.frames_in, 25);
    ck_assert_uint_eq(st.samples_in, 8000);
    ck_assert_uint_eq(st.resyncs, 0);
    ck_assert_uint_eq(c->n, before);

    /* ...and the stream goes on as if they had never been sent. */
    feed_40ms(t, 25, pts, c);
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.resyncs, 0);
    ck_assert_uint_eq(c->n, expected_frames(4 * 8000 - RESAMPLER_HOLD));
    assert_pts_exact(c, 0, c->n, 0);
    ck_assert_int_eq(c->bad_shape, 0);
    free(c);
    audio_transcoder_destroy(t);
}
END_TEST

START_TEST(test_stereo_odd_length_rejected)
{
    noise_fill();
    struct audio_transcoder *t = new_transcoder(CODEC_G711U, 2);
    struct collected *c = collected_new();
    ck_assert_int_eq(feed(t, CODEC_G711U, noise, 321, 0, c), -EINVAL);
    ck_assert_int_eq(feed(t, CODEC_G711U, noise, 1, 0, c), -EINVAL);
    for (int i = 0; i < 25; i++) ck_assert_int_eq(feed(t, CODEC_G711U, noise, 640, i * 3600, c), 0);
    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.bad_frames, 2);
    ck_assert_uint_eq(st.samples_in, 8000); /* per channel */
    ck_assert_uint_eq(c->n, expected_frames(2 * 8000 - RESAMPLER_HOLD));
    assert_pts_exact(c, 0, c->n, 0);
    free(c);
    audio_transcoder_destroy(t);
}
END_TEST

START_TEST(test_create_rejects_what_it_cannot_do)
{
    char err[128];
    err[0] = 0;
    ck_assert_ptr_null(audio_transcoder_create(CODEC_AAC, 8000, 1, err, sizeof err));
    ck_assert_msg(strstr(err, "aac") != NULL, "%s", err);
    ck_assert_ptr_null(audio_transcoder_create(CODEC_G711A, 4000, 1, err, sizeof err));
    ck_assert_msg(strstr(err, "4000 Hz") != NULL, "%s", err);
    ck_assert_ptr_null(audio_transcoder_create(CODEC_G711A, 96000, 1, err, sizeof err));
    ck_assert_ptr_null(audio_transcoder_create(CODEC_G711U, 8000, 0, err, sizeof err));
    ck_assert_ptr_null(audio_transcoder_create(CODEC_G711U, 8000, 3, err, sizeof err));
    audio_transcoder_destroy(NULL);

    struct audio_transcoder *t = new_transcoder(CODEC_G711U, 1);
    const struct media_track *tr = audio_transcoder_track(t);
    ck_assert_int_eq(tr->codec, CODEC_AAC);
    ck_assert_uint_eq(tr->sample_rate, 16000);
    ck_assert_uint_eq(tr->channels, 1);
    ck_assert_uint_ge(tr->asc_len, 2);
    struct aac_config cfg;
    ck_assert_int_eq(aac_parse_asc(tr->asc, tr->asc_len, &cfg), 0);
    ck_assert_uint_eq(cfg.object_type, 2); /* AAC-LC */
    ck_assert_uint_eq(cfg.sample_rate, 16000);
    ck_assert_uint_eq(cfg.channel_config, 1);
    audio_transcoder_destroy(t);
}
END_TEST

/* Camera timestamps that jitter, repeat or are rounded do not disturb the sample-counted timeline. */
START_TEST(test_jittery_timestamps_keep_exact_timeline)
{
    noise_fill();
    struct audio_transcoder *t = new_transcoder(CODEC_G711A, 1);
    struct collected *c = collected_new();
    const int64_t start = 900000;
    const int jitter[] = {0, 900, -700, 1700, -1700, 0, 300, -1000}; /* up to +-19 ms on 40 ms frames */
    int64_t prev = 0;
    for (int i = 0; i < 100; i++) {
        int64_t pts = start + i * 3600 + jitter[i % 8];
        if (i == 50) pts = prev; /* a repeated timestamp */
        ck_assert_int_eq(feed(t, CODEC_G711A, noise + (i % 64) * 320, 320, pts, c), 0);
        prev = pts;
    }
    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.resyncs, 0);
    ck_assert_uint_eq(st.samples_filled, 0);
    ck_assert_uint_eq(c->n, expected_frames(2 * 32000 - RESAMPLER_HOLD));
    assert_pts_exact(c, 0, c->n, start);

    /* A frame 60 ms ahead of the sample count is jitter; one tick more is lost audio, filled with silence. */
    int64_t next = start + 100 * 3600;
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, next + TRANSCODE_FILL_TICKS, c), 0);
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.samples_filled, 0);
    next += 3600;
    ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, next + TRANSCODE_FILL_TICKS + 1, c), 0);
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.samples_filled, (TRANSCODE_FILL_TICKS + 1) * 8000 / 90000); /* 480 */
    ck_assert_uint_eq(st.resyncs, 0);
    assert_pts_exact(c, 0, c->n, start);
    free(c);
    audio_transcoder_destroy(t);
}
END_TEST

/* The largest timestamps accepted, in both directions: resyncs, exact arithmetic (UBSan checks overflow). */
START_TEST(test_extreme_timestamps)
{
    noise_fill();
    struct audio_transcoder *t = new_transcoder(CODEC_G711A, 1);
    struct collected *c = collected_new();
    const int64_t top = (INT64_C(1) << 60) - 1;
    feed_40ms(t, 50, top - 50 * 3600, c);
    feed_40ms(t, 50, -top, c);
    feed_40ms(t, 50, top - 50 * 3600, c);
    struct audio_transcoder_stats st;
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.resyncs, 2);
    ck_assert_uint_eq(st.bad_frames, 0);
    size_t seg = expected_frames(2 * 16000 - RESAMPLER_HOLD);
    ck_assert_uint_eq(c->n, 3 * seg);
    assert_pts_exact(c, 0, seg, top - 50 * 3600);
    assert_pts_exact(c, seg, 2 * seg, -top);
    assert_pts_exact(c, 2 * seg, 3 * seg, top - 50 * 3600);
    free(c);
    audio_transcoder_destroy(t);
}
END_TEST

/* Segments separated by jumps: each restarts exactly at its first input pts; nothing from before a jump is
 * emitted after it (the frame count of each segment is that of a fresh transcoder). */
START_TEST(test_jumps_resync_and_drop_stale_audio)
{
    noise_fill();
    struct audio_transcoder *t = new_transcoder(CODEC_G711A, 1);
    struct collected *c = collected_new();
    const size_t seg_frames = expected_frames(2 * 16000 - RESAMPLER_HOLD); /* 2 s of input: 29 */
    ck_assert_uint_eq(seg_frames, 29);

    int64_t pts = feed_40ms(t, 50, 1000, c); /* segment 1: 2 s from 1000 */
    ck_assert_uint_eq(c->n, seg_frames);
    int64_t gap = pts + 45001;        /* 500 ms + 1 tick of silence: a gap */
    pts = feed_40ms(t, 50, gap, c);   /* segment 2 */
    int64_t small = pts + 45000;      /* exactly 500 ms late: same segment, hole filled */
    feed_40ms(t, 50, small, c);       /* (continues segment 2) */
    int64_t back = 5000;              /* backwards, by a lot */
    pts = feed_40ms(t, 50, back, c);  /* segment 3 */
    int64_t back1 = pts - 3601;       /* one tick earlier than the previous frame */
    pts = feed_40ms(t, 50, back1, c); /* segment 4 */
    /* A clock running at half speed: 40 ms of audio every 20 ms of pts. It continues segment 4 (stamped by
     * sample count) until the drift passes 500 ms: frame k is k * 1800 ticks behind, so at k = 26. */
    int64_t slow = pts;
    int slow_frames = 0;
    struct audio_transcoder_stats st;
    do {
        ck_assert_int_eq(feed(t, CODEC_G711A, noise, 320, slow + slow_frames * 1800, c), 0);
        slow_frames++;
        audio_transcoder_stats(t, &st);
    } while (st.resyncs < 4 && slow_frames < 100);
    ck_assert_uint_eq(st.resyncs, 4);
    ck_assert_int_eq(slow_frames, 27);
    int64_t seg5_start = slow + 26 * 1800;
    feed_40ms(t, 25, seg5_start + 3600, c); /* segment 5 goes on at normal speed */
    audio_transcoder_stats(t, &st);
    ck_assert_uint_eq(st.resyncs, 4);
    ck_assert_uint_eq(st.frames_in, 250 + 27 + 25);

    size_t i = 0;
    assert_pts_exact(c, i, i + seg_frames, 1000);
    i += seg_frames;
    /* segment 2: 4 s of input; the part exactly 500 ms late joined it after 500 ms of silence */
    ck_assert_uint_eq(st.samples_filled, 4000);
    size_t seg2 = expected_frames(2 * (32000 + 4000) - RESAMPLER_HOLD);
    assert_pts_exact(c, i, i + seg2, gap);
    i += seg2;
    assert_pts_exact(c, i, i + seg_frames, back);
    i += seg_frames;
    size_t seg4 = expected_frames(2 * (16000 + 26 * 320) - RESAMPLER_HOLD);
    assert_pts_exact(c, i, i + seg4, back1);
    i += seg4;
    size_t seg5 = expected_frames(2 * 26 * 320 - RESAMPLER_HOLD);
    assert_pts_exact(c, i, i + seg5, seg5_start);
    i += seg5;
    ck_assert_uint_eq(c->n, i);
    ck_assert_uint_eq(st.frames_out, c->n);
    ck_assert_int_eq(c->bad_shape, 0);
    free(c);
    audio_transcoder_destroy(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("relay_transcode");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 100);
    tcase_add_test(tc, test_camera_file_40ms_frames);
    tcase_add_test(tc, test_camera_file_any_split_same_output);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("bad input");
    tcase_add_test(bad, test_malformed_frames_rejected_and_counted);
    tcase_add_test(bad, test_stereo_odd_length_rejected);
    tcase_add_test(bad, test_create_rejects_what_it_cannot_do);
    suite_add_tcase(s, bad);
    TCase *ts = tcase_create("timestamps");
    tcase_add_test(ts, test_jittery_timestamps_keep_exact_timeline);
    tcase_add_test(ts, test_jumps_resync_and_drop_stale_audio);
    tcase_add_test(ts, test_extreme_timestamps);
    suite_add_tcase(s, ts);
    return test_run_suite(s);
}
