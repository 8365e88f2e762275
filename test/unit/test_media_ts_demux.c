/*
 * media/ts_demux on real and hand-made MPEG-TS.
 *  - ffmpeg's mpegts muxer (x264 with B-frames + AAC, x265 with B-frames): frame counts, keyframes and every
 *    packet's pts/dts against ffprobe, size from on_track, video NAL by NAL against ffmpeg's own extraction
 * of the elementary stream, AAC frames byte for byte against ffmpeg's ADTS extraction; the same output for
 *    any split of the input; TS over RTP from ffmpeg's rtp_mpegts muxer;
 *  - loss: a TS packet missing (continuity counter), a lost RTP payload (mark_loss), a duplicate packet.
 * Hand-made streams (G.711, malformed input) are in test_media_ts_demux_synthetic.c.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/aac.h"
#include "media/ts_demux.h"
#include "rtp_payload_test_util.h"

#define FRAMES 50

static struct ts_demux *collector_ts(struct collector *col, size_t max_frame)
{
    static const struct ps_demux_callbacks cb = {collector_on_frame, collector_on_track};
    struct ts_demux *d = ts_demux_create(&cb, col, max_frame);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* ---- clips, made once in the parent process before the tests fork ---- */

static bool have_clips;

static void setup(void)
{
    if (!mt_have_ffmpeg()) return;
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=r=48000 -t 2 "
           "-c:v libx264 -g 25 -sc_threshold 0 -bf 3 -c:a aac -ac 1 -f mpegts '%s'",
           mt_tmp("avc_aac.ts"));
    mt_run("ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 "
           "-x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=3 -f mpegts '%s'",
           mt_tmp("hevc.ts"));
    have_clips = true;
}

static void teardown(void)
{
    mt_cleanup();
}

/* What ffmpeg/ffprobe say about a TS file: the oracle. */
struct oracle {
    enum codec_id codec;
    uint8_t *es, *adts;
    size_t es_len, adts_len;
    struct mt_nals nals;
    struct mt_au *aus;
    size_t nau;
    long keys;
    int64_t vpts[FRAMES], vdts[FRAMES];
    size_t naudio;
    int64_t apts[256];
    const uint8_t *aframe[256]; /* raw AAC frames inside adts */
    size_t aframe_len[256];
};

static void read_times(const char *ts, const char *stream, int64_t *pts, int64_t *dts, size_t max, size_t *n)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams %s -show_entries packet=pts,dts -of csv=p=0 '%s' | grep .",
             stream, ts);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[128];
    *n = 0;
    while (fgets(line, sizeof line, p)) {
        ck_assert_uint_lt(*n, max);
        long long a = 0, b = 0;
        ck_assert_int_eq(sscanf(line, "%lld,%lld", &a, &b), 2);
        pts[*n] = a;
        if (dts) dts[*n] = b;
        (*n)++;
    }
    ck_assert_int_eq(pclose(p), 0);
}

static void load_oracle(struct oracle *o, const char *ts, enum codec_id codec, bool audio)
{
    memset(o, 0, sizeof *o);
    o->codec = codec;
    const char *es = mt_tmp(codec == CODEC_H264 ? "oracle.264" : "oracle.265");
    mt_run("ffmpeg -v error -y -i '%s' -an -c copy -f %s '%s'", ts, codec == CODEC_H264 ? "h264" : "hevc",
           es);
    o->es = mt_read(es, &o->es_len);
    mt_split_annexb(o->es, o->es_len, &o->nals);
    o->nau = mt_group_aus(codec, &o->nals, &o->aus);
    ck_assert_uint_eq(o->nau, FRAMES);
    o->keys =
        mt_run_number("ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 '%s' | "
                      "grep -c K",
                      ts);
    size_t n;
    read_times(ts, "v", o->vpts, o->vdts, FRAMES, &n);
    ck_assert_uint_eq(n, FRAMES);
    if (!audio) return;
    const char *aac = mt_tmp("oracle.aac");
    mt_run("ffmpeg -v error -y -i '%s' -vn -c copy -f adts '%s'", ts, aac);
    o->adts = mt_read(aac, &o->adts_len);
    for (size_t at = 0; at < o->adts_len;) {
        struct adts_header h;
        ck_assert_int_eq(adts_parse_header(o->adts + at, o->adts_len - at, &h), 0);
        ck_assert_uint_lt(o->naudio, 256);
        o->aframe[o->naudio] = o->adts + at + h.header_len;
        o->aframe_len[o->naudio] = h.frame_len - h.header_len;
        o->naudio++;
        at += h.frame_len;
    }
    read_times(ts, "a", o->apts, NULL, 256, &n);
    ck_assert_uint_eq(n, o->naudio);
}

static void free_oracle(struct oracle *o)
{
    free(o->es);
    free(o->adts);
    free(o->nals.v);
    free(o->aus);
}

/* Checks the collected frames against the oracle; video unit `skip_au` (if < FRAMES) must be missing.
 * remuxed: times may all be shifted by one constant, and the stream may end early (ffmpeg's rtp_mpegts
 * muxer does not send the last few TS packets its inner mpegts muxer writes at the end): the last video
 * unit's content is then not compared and audio frames may be missing at the end. */
static void check_against_shifted(const struct collector *col, const struct oracle *o, size_t skip_au,
                                  bool remuxed)
{
    bool relative = remuxed;
    size_t v = 0, a = 0;
    int64_t shift = 0;
    for (size_t i = 0; relative && i < col->n; i++)
        if (codec_is_video(col->frames[i].codec)) {
            shift = col->frames[i].dts - o->vdts[skip_au == 0 ? 1 : 0];
            break;
        }
    for (size_t i = 0; i < col->n; i++) {
        const struct got_frame *f = &col->frames[i];
        if (codec_is_video(f->codec)) {
            if (v == skip_au) v++;
            ck_assert_uint_lt(v, FRAMES);
            struct psb exp = {0};
            mt_au_expected(o->codec, &o->nals, &o->aus[v], &exp);
            ck_assert_uint_eq(f->codec, o->codec);
            if (!remuxed || v < FRAMES - 1) {
                ck_assert_msg(f->len == exp.len, "video unit %zu: %u bytes, want %zu", v, f->len, exp.len);
                ck_assert_mem_eq(f->data, exp.d, exp.len);
            }
            ck_assert(f->key == o->aus[v].key);
            ck_assert_int_eq(f->pts, o->vpts[v] + shift);
            ck_assert_int_eq(f->dts, o->vdts[v] + shift);
            psb_free(&exp);
            v++;
        } else {
            ck_assert_uint_eq(f->codec, CODEC_AAC);
            ck_assert_uint_lt(a, o->naudio);
            ck_assert_uint_eq(f->len, o->aframe_len[a]);
            ck_assert_mem_eq(f->data, o->aframe[a], f->len);
            ck_assert_int_eq(f->pts, o->apts[a] + shift);
            a++;
        }
    }
    ck_assert_uint_eq(v + (skip_au < FRAMES && v == skip_au), FRAMES);
    if (remuxed)
        ck_assert_uint_ge(a + 10, o->naudio);
    else
        ck_assert_uint_eq(a, o->naudio);
}

static void check_against(const struct collector *col, const struct oracle *o, size_t skip_au)
{
    check_against_shifted(col, o, skip_au, false);
}

static void check_video_track(const struct collector *col, enum codec_id codec)
{
    bool found = false;
    for (size_t i = 0; i < col->ntracks; i++) {
        const struct media_track *t = &col->tracks[i];
        if (t->codec != codec) continue;
        found = true;
        ck_assert_uint_eq(t->width, 640);
        ck_assert_uint_eq(t->height, 360);
        ck_assert_uint_eq(t->fps_num / (t->fps_den ? t->fps_den : 1), 25);
    }
    ck_assert(found);
}

/* Feeds `len` bytes in pieces of 1..max_piece bytes (0: all at once). */
static void feed_split(struct ts_demux *d, const uint8_t *p, size_t len, size_t max_piece, unsigned seed)
{
    for (size_t at = 0; at < len;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = max_piece ? 1 + (seed >> 8) % max_piece : len;
        if (n > len - at) n = len - at;
        ck_assert_int_eq(ts_demux_input(d, p + at, n), 0);
        at += n;
    }
    ts_demux_flush(d);
}

START_TEST(ffmpeg_h264_aac)
{
    if (!have_clips) return;
    const char *path = mt_tmp("avc_aac.ts");
    struct oracle o;
    load_oracle(&o, path, CODEC_H264, true);
    size_t len;
    uint8_t *ts = mt_read(path, &len);
    const size_t pieces[] = {0, 1316, 1, 7, 400};
    uint64_t hash = 0;
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        struct collector col = {.keep_data = true};
        struct ts_demux *d = collector_ts(&col, 0);
        feed_split(d, ts, len, pieces[k], 42 + (unsigned)k);
        check_against(&col, &o, FRAMES);
        ck_assert_uint_eq(col.keys, (size_t)o.keys);
        check_video_track(&col, CODEC_H264);
        const struct ts_demux_stats *st = ts_demux_get_stats(d);
        ck_assert_uint_eq(st->bytes_in, len);
        ck_assert_uint_eq(st->packets, len / 188);
        ck_assert_uint_eq(st->video_frames, FRAMES);
        ck_assert_uint_eq(st->audio_frames, o.naudio);
        ck_assert_uint_eq(st->cc_errors + st->bad_packets + st->psi_errors + st->pes_errors, 0);
        ck_assert_uint_eq(st->frames_dropped + st->resyncs + st->bytes_skipped, 0);
        ck_assert_uint_gt(st->pat, 0);
        ck_assert_uint_gt(st->pmt, 0);
        /* the AAC track */
        bool aac = false;
        for (size_t i = 0; i < col.ntracks; i++)
            if (col.tracks[i].codec == CODEC_AAC) {
                aac = true;
                ck_assert_uint_eq(col.tracks[i].sample_rate, 48000);
                ck_assert_uint_eq(col.tracks[i].channels, 1);
                ck_assert_uint_eq(col.tracks[i].asc_len, 2);
            }
        ck_assert(aac);
        if (k == 0) hash = col.hash;
        ck_assert_uint_eq(col.hash, hash);
        ts_demux_destroy(d);
        collector_free(&col);
    }
    free(ts);
    free_oracle(&o);
}
END_TEST

START_TEST(ffmpeg_h265)
{
    if (!have_clips) return;
    const char *path = mt_tmp("hevc.ts");
    struct oracle o;
    load_oracle(&o, path, CODEC_H265, false);
    size_t len;
    uint8_t *ts = mt_read(path, &len);
    struct collector col = {.keep_data = true};
    struct ts_demux *d = collector_ts(&col, 0);
    feed_split(d, ts, len, 300, 7);
    check_against(&col, &o, FRAMES);
    ck_assert_uint_eq(col.keys, (size_t)o.keys);
    ck_assert_uint_ge(col.keys, 2);
    check_video_track(&col, CODEC_H265);
    ck_assert_uint_gt(col.tracks[0].vps_len, 0);
    ts_demux_destroy(d);
    collector_free(&col);
    free(ts);
    free_oracle(&o);
}
END_TEST

START_TEST(ffmpeg_rtp_mpegts)
{
    if (!have_clips) return;
    const char *path = mt_tmp("avc_aac.ts");
    struct oracle o;
    load_oracle(&o, path, CODEC_H264, true);
    struct mt_pkts ps = {0};
    char input[256];
    snprintf(input, sizeof input, "-i '%s' -map 0 -c copy", path);
    mt_ffmpeg_rtp(input, "rtp_mpegts", &ps);
    struct collector col = {.keep_data = true};
    struct ts_demux *d = collector_ts(&col, 0);
    for (size_t i = 0; i < ps.n; i++) {
        struct rtp_packet pkt;
        mt_parse(&ps, i, &pkt);
        ck_assert_uint_eq(pkt.payload_type, 33);
        ck_assert_uint_eq(pkt.payload_len % 188, 0);
        ck_assert_int_eq(ts_demux_input(d, pkt.payload, pkt.payload_len), 0);
    }
    ts_demux_flush(d);
    /* ffmpeg remuxes: PES packing and the time origin may differ from the file; content and time steps not */
    check_against_shifted(&col, &o, FRAMES, true);
    ck_assert_uint_eq(ts_demux_get_stats(d)->cc_errors, 0);
    ts_demux_destroy(d);
    collector_free(&col);
    mt_pkts_free(&ps);
    free_oracle(&o);
}
END_TEST

/* ---- loss ---- */

static uint16_t pid_of(const uint8_t *p)
{
    return (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
}

/* A video unit in [5, 45) whose PES covers a whole 7-packet RTP-sized chunk (and 3 packets before it):
 * *chunk is that chunk's index, *inside a video packet of the unit that is not its first. */
static void big_video_unit(const uint8_t *ts, size_t len, size_t *chunk, size_t *inside)
{
    const uint16_t vpid = 0x100; /* ffmpeg's mpegts muxer: video on 0x100, audio on 0x101 */
    size_t starts[FRAMES + 1], n = 0, npk = len / 188;
    for (size_t i = 0; i < npk && n < FRAMES; i++)
        if (pid_of(ts + i * 188) == vpid && (ts[i * 188 + 1] & 0x40)) starts[n++] = i;
    ck_assert_uint_eq(n, FRAMES);
    starts[FRAMES] = npk;
    for (size_t u = 5; u < 45; u++) {
        size_t c = (starts[u] + 3) / 7 + 1;
        if ((c + 1) * 7 > starts[u + 1]) continue;
        *chunk = c;
        for (size_t i = starts[u] + 3; i < starts[u + 1]; i++)
            if (pid_of(ts + i * 188) == vpid) {
                *inside = i;
                return;
            }
    }
    ck_abort_msg("no big unit");
}

START_TEST(loss_and_duplicates)
{
    if (!have_clips) return;
    const char *path = mt_tmp("avc_aac.ts");
    struct oracle o;
    load_oracle(&o, path, CODEC_H264, true);
    size_t len;
    uint8_t *ts = mt_read(path, &len);
    size_t lost_chunk, drop;
    big_video_unit(ts, len, &lost_chunk, &drop);
    uint8_t *cut = malloc(len);
    memcpy(cut, ts, drop * 188);
    memcpy(cut + drop * 188, ts + (drop + 1) * 188, len - (drop + 1) * 188);
    struct collector col = {.keep_data = true};
    struct ts_demux *d = collector_ts(&col, 0);
    feed_split(d, cut, len - 188, 1316, 1);
    size_t damaged = 0; /* which unit the dropped packet belonged to */
    for (size_t i = 0; i < drop; i++)
        if (pid_of(ts + i * 188) == 0x100 && (ts[i * 188 + 1] & 0x40)) damaged++;
    check_against(&col, &o, damaged - 1);
    const struct ts_demux_stats *st = ts_demux_get_stats(d);
    ck_assert_uint_eq(st->cc_errors, 1);
    ck_assert_uint_eq(st->frames_dropped, 1);
    ck_assert_uint_eq(st->video_frames, FRAMES - 1);
    ts_demux_destroy(d);
    collector_free(&col);

    /* the same packet twice: a permitted duplicate, nothing lost */
    uint8_t *dup = malloc(len + 188);
    memcpy(dup, ts, (drop + 1) * 188);
    memcpy(dup + (drop + 1) * 188, ts + drop * 188, len - drop * 188);
    col.keep_data = true;
    d = collector_ts(&col, 0);
    feed_split(d, dup, len + 188, 0, 1);
    check_against(&col, &o, FRAMES);
    ck_assert_uint_eq(ts_demux_get_stats(d)->duplicates, 1);
    ck_assert_uint_eq(ts_demux_get_stats(d)->cc_errors, 0);
    ts_demux_destroy(d);
    collector_free(&col);

    /* an RTP payload (7 packets) lost and announced: what it cut is dropped, nothing else */
    col.keep_data = true;
    d = collector_ts(&col, 0);
    size_t chunk = 1316;
    for (size_t c = 0; c * chunk < len; c++) {
        size_t n = len - c * chunk < chunk ? len - c * chunk : chunk;
        if (c == lost_chunk) {
            ts_demux_mark_loss(d);
            continue;
        }
        ck_assert_int_eq(ts_demux_input(d, ts + c * chunk, n), 0);
    }
    ts_demux_flush(d);
    st = ts_demux_get_stats(d);
    ck_assert_uint_eq(st->cc_errors, 0); /* mark_loss forgot the counters: not counted twice */
    ck_assert_uint_ge(st->frames_dropped, 1);
    ck_assert_uint_eq(st->video_frames, FRAMES - 1);
    ts_demux_destroy(d);
    collector_free(&col);
    free(cut);
    free(dup);
    free(ts);
    free_oracle(&o);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("media_ts_demux");
    TCase *tc = tcase_create("ts_demux");
    tcase_set_timeout(tc, 110);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ffmpeg_h264_aac);
    tcase_add_test(tc, ffmpeg_h265);
    tcase_add_test(tc, ffmpeg_rtp_mpegts);
    tcase_add_test(tc, loss_and_duplicates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
