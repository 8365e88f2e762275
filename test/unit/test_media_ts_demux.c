/*
 * media/ts_demux on real and hand-made MPEG-TS.
 *  - ffmpeg's mpegts muxer (x264 with B-frames + AAC, x265 with B-frames): frame counts, keyframes and every
 *    packet's pts/dts against ffprobe, size from on_track, video NAL by NAL against ffmpeg's own extraction of
 *    the elementary stream, AAC frames byte for byte against ffmpeg's ADTS extraction; the same output for
 *    any split of the input; TS over RTP from ffmpeg's rtp_mpegts muxer;
 *  - loss: a TS packet missing (continuity counter), a lost RTP payload (mark_loss), a duplicate packet;
 *  - a hand-made TS (our own small writer) with G.711 A/mu-law in stream types 0x90/0x91;
 *  - malformed input: bad adaptation field lengths, reserved adaptation_field_control, TEI, PES lengths that
 *    lie, PES header lengths that lie, PAT/PMT garbage, sections spanning packets, garbage between packets,
 *    input that is no TS at all.
 */
#include <check.h>
#include <errno.h>
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
             "ffprobe -v error -select_streams %s -show_entries packet=pts,dts -of csv=p=0 '%s' | grep .", stream,
             ts);
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
    mt_run("ffmpeg -v error -y -i '%s' -an -c copy -f %s '%s'", ts, codec == CODEC_H264 ? "h264" : "hevc", es);
    o->es = mt_read(es, &o->es_len);
    mt_split_annexb(o->es, o->es_len, &o->nals);
    o->nau = mt_group_aus(codec, &o->nals, &o->aus);
    ck_assert_uint_eq(o->nau, FRAMES);
    o->keys = mt_run_number("ffprobe -v error -select_streams v -show_entries packet=flags -of csv=p=0 '%s' | "
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

/* ---- a small TS writer for hand-made streams ---- */

struct tsw {
    struct psb out;
    uint8_t cc[0x2000];
};

/* One packet on pid carrying up to 184 bytes of payload (stuffed with an adaptation field when shorter);
 * returns the bytes used. */
static size_t tsw_packet(struct tsw *w, uint16_t pid, bool pusi, const uint8_t *p, size_t n)
{
    uint8_t pkt[188];
    size_t take = n < 184 ? n : 184;
    pkt[0] = 0x47;
    pkt[1] = (uint8_t)((pusi ? 0x40 : 0) | (pid >> 8));
    pkt[2] = (uint8_t)pid;
    size_t pos = 4;
    if (take < 184) {
        size_t af = 183 - take; /* adaptation_field_length */
        pkt[3] = (uint8_t)(0x30 | (w->cc[pid] & 0x0f));
        pkt[4] = (uint8_t)af;
        if (af > 0) {
            pkt[5] = 0;
            memset(pkt + 6, 0xff, af - 1);
        }
        pos = 5 + af;
    } else {
        pkt[3] = (uint8_t)(0x10 | (w->cc[pid] & 0x0f));
    }
    w->cc[pid]++;
    memcpy(pkt + pos, p, take);
    psb_put(&w->out, pkt, 188);
    return take;
}

static void tsw_payload(struct tsw *w, uint16_t pid, const uint8_t *p, size_t n)
{
    bool first = true;
    while (n > 0 || first) {
        size_t used = tsw_packet(w, pid, first, p, n);
        p += used;
        n -= used;
        first = false;
    }
}

/* A PSI section (CRC appended) behind a pointer_field of 0. */
static void tsw_section(struct tsw *w, uint16_t pid, struct psb *sec)
{
    uint32_t crc = psb_crc32_mpeg2(sec->d, sec->len);
    psb_u16(sec, crc >> 16);
    psb_u16(sec, crc & 0xffff);
    struct psb all = {0};
    psb_u8(&all, 0);
    psb_put(&all, sec->d, sec->len);
    tsw_payload(w, pid, all.d, all.len);
    psb_free(&all);
}

static void tsw_pat(struct tsw *w, uint16_t pmt_pid)
{
    struct psb s = {0};
    psb_u8(&s, 0x00);
    psb_u16(&s, 0xb000 | 13);
    psb_u16(&s, 1);   /* transport_stream_id */
    psb_u8(&s, 0xc1); /* version 0, current */
    psb_u8(&s, 0);
    psb_u8(&s, 0);
    psb_u16(&s, 0); /* program 0: network PID, skipped */
    psb_u16(&s, 0xe010);
    psb_u16(&s, 1);
    psb_u16(&s, 0xe000 | pmt_pid);
    s.d[2] = (uint8_t)(s.len + 4 - 3); /* section_length */
    tsw_section(w, 0, &s);
    psb_free(&s);
}

struct es_entry {
    uint8_t type;
    uint16_t pid;
    size_t info_len; /* descriptor bytes (a dummy descriptor of that size) */
};

static void tsw_pmt(struct tsw *w, uint16_t pmt_pid, const struct es_entry *e, size_t n, size_t program_info)
{
    struct psb s = {0};
    psb_u8(&s, 0x02);
    psb_u16(&s, 0xb000);
    psb_u16(&s, 1); /* program_number */
    psb_u8(&s, 0xc1);
    psb_u8(&s, 0);
    psb_u8(&s, 0);
    psb_u16(&s, 0xe000 | e[0].pid); /* PCR PID */
    psb_u16(&s, 0xf000 | (unsigned)program_info);
    for (size_t i = 0; i < program_info; i++) psb_u8(&s, i == 0 ? 0x05 : 0xaa);
    for (size_t i = 0; i < n; i++) {
        psb_u8(&s, e[i].type);
        psb_u16(&s, 0xe000 | e[i].pid);
        psb_u16(&s, 0xf000 | (unsigned)e[i].info_len);
        for (size_t k = 0; k < e[i].info_len; k++) psb_u8(&s, 0x55);
    }
    size_t sl = s.len + 4 - 3;
    s.d[1] = (uint8_t)(0xb0 | (sl >> 8));
    s.d[2] = (uint8_t)sl;
    tsw_section(w, pmt_pid, &s);
    psb_free(&s);
}

static void tsw_pes(struct tsw *w, uint16_t pid, uint8_t sid, uint64_t pts, const uint8_t *p, size_t n,
                    bool bounded)
{
    struct psb pes = {0};
    psb_pes(&pes, sid, pts, PSB_NO_TS, p, n, !bounded, 0);
    tsw_payload(w, pid, pes.d, pes.len);
    psb_free(&pes);
}

#define VPID 0x100
#define APID 0x101
#define PMT  0x1000

static const struct es_entry h264_g711a[] = {{0x1b, VPID, 0}, {0x90, APID, 6}};

/* PAT, PMT, then n video units (PES each, unbounded) interleaved with 160-byte G.711 PES. */
static void build_av(struct tsw *w, struct psb *want_video, int n, uint8_t audio_type)
{
    memset(w, 0, sizeof *w);
    struct es_entry e[2] = {h264_g711a[0], h264_g711a[1]};
    e[1].type = audio_type;
    tsw_pat(w, PMT);
    tsw_pmt(w, PMT, e, 2, 3);
    unsigned seed = 5;
    for (int f = 0; f < n; f++) {
        struct psb es = {0};
        es_h264_au(&es, &want_video[f], f == 0, true, 700, &seed);
        tsw_pes(w, VPID, 0xe0, 90000 + 3600u * (unsigned)f, es.d, es.len, false);
        psb_free(&es);
        uint8_t g711[160];
        for (int i = 0; i < 160; i++) g711[i] = (uint8_t)(f * 3 + i);
        tsw_pes(w, APID, 0xc0, 90000 + 3600u * (unsigned)f, g711, sizeof g711, true);
    }
}

START_TEST(g711_in_ts_by_hand)
{
    const uint8_t types[2] = {0x90, 0x91};
    const enum codec_id codecs[2] = {CODEC_G711A, CODEC_G711U};
    for (int t = 0; t < 2; t++) {
        struct tsw *w = calloc(1, sizeof *w);
        struct psb want[6] = {{0}};
        build_av(w, want, 6, types[t]);
        struct collector col = {.keep_data = true};
        struct ts_demux *d = collector_ts(&col, 0);
        feed_split(d, w->out.d, w->out.len, 0, 1);
        ck_assert_uint_eq(col.video, 6);
        ck_assert_uint_eq(col.audio, 6);
        size_t v = 0, a = 0;
        for (size_t i = 0; i < col.n; i++) {
            const struct got_frame *f = &col.frames[i];
            if (f->codec == CODEC_H264) {
                ck_assert_uint_eq(f->len, want[v].len);
                ck_assert_mem_eq(f->data, want[v].d, want[v].len);
                ck_assert_int_eq(f->pts, 90000 + 3600 * (int64_t)v);
                v++;
            } else {
                ck_assert_uint_eq(f->codec, codecs[t]);
                ck_assert_uint_eq(f->len, 160);
                ck_assert_uint_eq(f->data[0], (uint8_t)(a * 3));
                ck_assert_uint_eq(f->data[159], (uint8_t)(a * 3 + 159));
                ck_assert_int_eq(f->pts, 90000 + 3600 * (int64_t)a);
                a++;
            }
        }
        bool audio_track = false;
        for (size_t i = 0; i < col.ntracks; i++)
            if (col.tracks[i].codec == codecs[t]) {
                audio_track = true;
                ck_assert_uint_eq(col.tracks[i].sample_rate, 8000);
                ck_assert_uint_eq(col.tracks[i].channels, 1);
            }
        ck_assert(audio_track);
        /* one byte at a time: the same frames */
        uint64_t hash = col.hash;
        ts_demux_destroy(d);
        collector_free(&col);
        d = collector_ts(&col, 0);
        feed_split(d, w->out.d, w->out.len, 1, 1);
        ck_assert_uint_eq(col.hash, hash);
        ts_demux_destroy(d);
        collector_free(&col);
        for (int i = 0; i < 6; i++) psb_free(&want[i]);
        psb_free(&w->out);
        free(w);
    }
}
END_TEST

/* ---- malformed ---- */

static const uint8_t *packet_of(const struct psb *ts, uint16_t pid, int nth)
{
    for (size_t i = 0; i < ts->len / 188; i++)
        if (pid_of(ts->d + i * 188) == pid && nth-- == 0) return ts->d + i * 188;
    ck_abort_msg("no such packet");
    return NULL;
}

static void run_stream(const struct psb *ts, struct collector *col, const struct ts_demux_stats **st,
                       struct ts_demux **d)
{
    memset(col, 0, sizeof *col);
    col->keep_data = true;
    *d = collector_ts(col, 0);
    ts_demux_input(*d, ts->d, ts->len);
    ts_demux_flush(*d);
    *st = ts_demux_get_stats(*d);
}

START_TEST(bad_packets)
{
    struct tsw *w = calloc(1, sizeof *w);
    struct psb want[6] = {{0}};
    build_av(w, want, 6, 0x90);
    struct collector col;
    const struct ts_demux_stats *st;
    struct ts_demux *d;

    /* adaptation field longer than the packet, on the 2nd video packet of unit 2 (7 packets per unit) */
    uint8_t *p = (uint8_t *)packet_of(&w->out, VPID, 2 * 5 + 1);
    uint8_t save[188];
    memcpy(save, p, 188);
    p[3] = (uint8_t)(0x30 | (p[3] & 0x0f));
    p[4] = 190;
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->bad_packets, 1);
    ck_assert_uint_eq(st->frames_dropped, 1);
    ck_assert_uint_eq(col.video, 5);
    ck_assert_uint_eq(col.audio, 6);
    ts_demux_destroy(d);
    collector_free(&col);
    /* adaptation_field_control 00 (reserved), then transport_error_indicator */
    p[3] = (uint8_t)(p[3] & 0x0f);
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->bad_packets, 1);
    ck_assert_uint_eq(col.video, 5);
    ts_demux_destroy(d);
    collector_free(&col);
    memcpy(p, save, 188);
    p[1] |= 0x80;
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->bad_packets, 1);
    ck_assert_uint_eq(col.video, 5);
    ts_demux_destroy(d);
    collector_free(&col);
    memcpy(p, save, 188);

    /* garbage between packets: found again, nothing lost */
    struct psb g = {0};
    size_t half = (w->out.len / 188 / 2) * 188;
    psb_put(&g, w->out.d, half);
    psb_put(&g, "\x00\x11\x22garbage\x47", 11);
    psb_put(&g, w->out.d + half, w->out.len - half);
    run_stream(&g, &col, &st, &d);
    ck_assert_uint_eq(st->resyncs, 1);
    ck_assert_uint_eq(st->bytes_skipped, 11);
    ck_assert_uint_eq(col.video, 6);
    ck_assert_uint_eq(col.audio, 6);
    ts_demux_destroy(d);
    collector_free(&col);
    psb_free(&g);

    /* no TS at all: -EINVAL after 64 KiB */
    uint8_t *junk = malloc(70000);
    for (size_t i = 0; i < 70000; i++) junk[i] = (uint8_t)(i * 7 + 1) == 0x47 ? 0x46 : (uint8_t)(i * 7 + 1);
    d = collector_ts(&col, 0);
    ck_assert_int_eq(ts_demux_input(d, junk, 1000), 0);
    ck_assert_int_eq(ts_demux_input(d, junk + 1000, 69000), -EINVAL);
    ck_assert_uint_eq(ts_demux_get_stats(d)->bytes_skipped, 70000);
    ts_demux_destroy(d);
    collector_free(&col);
    free(junk);
    for (int i = 0; i < 6; i++) psb_free(&want[i]);
    psb_free(&w->out);
    free(w);
}
END_TEST

START_TEST(pes_lengths_that_lie)
{
    struct tsw *w = calloc(1, sizeof *w);
    tsw_pat(w, PMT);
    tsw_pmt(w, PMT, h264_g711a, 2, 0);
    uint8_t g711[300];
    memset(g711, 0x55, sizeof g711);
    /* good */
    tsw_pes(w, APID, 0xc0, 1000, g711, 160, true);
    /* PES_packet_length too short by 20: the frame is what it claimed, the rest counted */
    struct psb pes = {0};
    psb_pes(&pes, 0xc0, 2000, PSB_NO_TS, g711, 160, false, 0);
    pes.d[5] = (uint8_t)(pes.d[5] - 20);
    tsw_payload(w, APID, pes.d, pes.len);
    psb_free(&pes);
    /* too long by 50: ended by the next PES start, counted */
    psb_pes(&pes, 0xc0, 3000, PSB_NO_TS, g711, 160, false, 0);
    pes.d[5] = (uint8_t)(pes.d[5] + 50);
    tsw_payload(w, APID, pes.d, pes.len);
    psb_free(&pes);
    /* shorter than its own header: rejected */
    psb_pes(&pes, 0xc0, 4000, PSB_NO_TS, g711, 160, false, 0);
    pes.d[4] = 0;
    pes.d[5] = 4;
    tsw_payload(w, APID, pes.d, pes.len);
    psb_free(&pes);
    /* header_data_length too small for the PTS it flags: rejected */
    psb_pes(&pes, 0xc0, 5000, PSB_NO_TS, g711, 160, false, 0);
    pes.d[8] = 2;
    tsw_payload(w, APID, pes.d, pes.len);
    psb_free(&pes);
    /* no 00 00 01 at a payload unit start: rejected */
    tsw_payload(w, APID, g711, 100);
    /* a PES header spread over two TS packets (header_data_length 200 of stuffing) */
    psb_pes(&pes, 0xc0, 6000, PSB_NO_TS, g711, 160, false, 195);
    tsw_payload(w, APID, pes.d, pes.len);
    psb_free(&pes);
    tsw_pes(w, APID, 0xc0, 7000, g711, 160, true);

    struct collector col;
    const struct ts_demux_stats *st;
    struct ts_demux *d;
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->pes_errors, 5);
    ck_assert_uint_eq(col.audio, 5);
    const int64_t pts[5] = {1000, 2000, 3000, 6000, 7000};
    const uint32_t lens[5] = {160, 140, 160, 160, 160};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(col.frames[i].pts, pts[i]);
        ck_assert_uint_eq(col.frames[i].len, lens[i]);
    }
    ts_demux_destroy(d);
    collector_free(&col);
    psb_free(&w->out);
    free(w);
}
END_TEST

START_TEST(psi_garbage)
{
    uint8_t g711[160];
    memset(g711, 0x2a, sizeof g711);
    struct collector col;
    const struct ts_demux_stats *st;
    struct ts_demux *d;

    /* PAT with section_length 0xfff, pointer_field past the packet, then a good PAT */
    struct tsw *w = calloc(1, sizeof *w);
    uint8_t pkt[184];
    memset(pkt, 0xff, sizeof pkt);
    memcpy(pkt, "\x00\x00\xbf\xff\x00\x01", 6);
    tsw_packet(w, 0, true, pkt, sizeof pkt);
    pkt[0] = 200;
    tsw_packet(w, 0, true, pkt, sizeof pkt);
    /* a PMT whose program_info_length overruns the section */
    tsw_pat(w, PMT);
    struct psb s = {0};
    psb_put(&s, "\x02\xb0\x00\x00\x01\xc1\x00\x00\xe1\x00\xf3\xff", 12);
    s.d[2] = (uint8_t)(s.len + 4 - 3);
    tsw_section(w, PMT, &s);
    psb_free(&s);
    tsw_pes(w, APID, 0xc0, 1000, g711, 160, true); /* no stream known yet: ignored */
    /* a PMT whose second entry's es_info_length overruns: the first entry (audio) is kept */
    psb_put(&s, "\x02\xb0\x00\x00\x01\xc1\x00\x00\xe1\x01\xf0\x00", 12);
    psb_put(&s, "\x90\xe1\x01\xf0\x00", 5);
    psb_put(&s, "\x1b\xe1\x00\xf0\x40", 5);
    s.d[2] = (uint8_t)(s.len + 4 - 3);
    tsw_section(w, PMT, &s);
    psb_free(&s);
    tsw_pes(w, APID, 0xc0, 2000, g711, 160, true);
    tsw_pes(w, VPID, 0xe0, 2000, (const uint8_t *)"\x00\x00\x00\x01\x09\xf0", 6, true);
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->psi_errors, 4);
    ck_assert_uint_eq(st->pat, 1);
    ck_assert_uint_eq(st->pmt, 1);
    ck_assert_uint_eq(col.audio, 1);
    ck_assert_int_eq(col.frames[0].pts, 2000);
    ck_assert_uint_eq(col.video, 0);
    ts_demux_destroy(d);
    collector_free(&col);
    psb_free(&w->out);

    /* a PMT long enough to span three TS packets, with two programs in the PAT and an unknown stream type */
    memset(w, 0, sizeof *w);
    tsw_pat(w, PMT);
    const struct es_entry e[3] = {{0x06, 0x300, 100}, {0x0f, 0x301, 150}, {0x91, APID, 120}};
    tsw_pmt(w, PMT, e, 3, 80);
    tsw_pes(w, APID, 0xc0, 3000, g711, 160, true);
    run_stream(&w->out, &col, &st, &d);
    ck_assert_uint_eq(st->psi_errors, 0);
    ck_assert_uint_eq(st->pmt, 1);
    /* the first audio entry is AAC on 0x301: the G.711 PES on APID is not followed */
    ck_assert_uint_eq(col.audio, 0);
    ts_demux_destroy(d);
    collector_free(&col);
    psb_free(&w->out);
    free(w);
}
END_TEST

START_TEST(create_and_null)
{
    struct ts_demux *d = ts_demux_create(NULL, NULL, 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(ts_demux_input(d, NULL, 0), 0);
    ck_assert_int_eq(ts_demux_input(d, NULL, 5), -EINVAL);
    ts_demux_mark_loss(d);
    ts_demux_flush(d);
    ts_demux_destroy(d);
    ts_demux_destroy(NULL);
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
    tcase_add_test(tc, g711_in_ts_by_hand);
    tcase_add_test(tc, bad_packets);
    tcase_add_test(tc, pes_lengths_that_lie);
    tcase_add_test(tc, psi_garbage);
    tcase_add_test(tc, create_and_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
