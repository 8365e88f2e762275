/*
 * media/ts_demux on hand-made MPEG-TS (a small TS writer of our own: PAT, PMT with descriptors, PES in
 * TS packets stuffed through the adaptation field):
 *  - G.711 A/mu-law in stream types 0x90/0x91 next to H.264: exact frames and times, any split of the input;
 *  - PTS crossing the 33-bit wrap;
 *  - malformed input: adaptation field longer than the packet, reserved adaptation_field_control, TEI, PES
 *    lengths that lie (short, long, shorter than the header), header_data_length too small for its PTS, no
 *    start code at a unit start, a PES header spread over two TS packets, PAT/PMT garbage (section_length
 *    too big, pointer_field past the packet, program_info_length and es_info_length overruns), a PMT over
 *    three packets, garbage between packets, input that is no TS at all.
 * Real encoder output is in test_media_ts_demux.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/ts_demux.h"
#include "rtp_payload_test_util.h"

static struct ts_demux *collector_ts(struct collector *col, size_t max_frame)
{
    static const struct ps_demux_callbacks cb = {collector_on_frame, collector_on_track};
    struct ts_demux *d = ts_demux_create(&cb, col, max_frame);
    ck_assert_ptr_nonnull(d);
    return d;
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

static uint16_t pid_of(const uint8_t *p)
{
    return (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
}

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

START_TEST(pts_wrap)
{
    /* video and audio PTS crossing the 33-bit wrap: unwrapped to one monotonic timeline */
    struct tsw *w = calloc(1, sizeof *w);
    tsw_pat(w, PMT);
    tsw_pmt(w, PMT, h264_g711a, 2, 0);
    const uint64_t base = (1ull << 33) - 2 * 3600;
    struct psb want[5] = {{0}};
    unsigned seed = 9;
    uint8_t g711[80];
    memset(g711, 0xd5, sizeof g711);
    for (int f = 0; f < 5; f++) {
        struct psb es = {0};
        es_h264_au(&es, &want[f], f == 0, false, 300, &seed);
        uint64_t pts = (base + 3600u * (unsigned)f) & ((1ull << 33) - 1);
        tsw_pes(w, VPID, 0xe0, pts, es.d, es.len, false);
        tsw_pes(w, APID, 0xc0, pts, g711, sizeof g711, true);
        psb_free(&es);
    }
    struct collector col = {.keep_data = true};
    struct ts_demux *d = collector_ts(&col, 0);
    feed_split(d, w->out.d, w->out.len, 0, 1);
    ck_assert_uint_eq(col.video, 5);
    ck_assert_uint_eq(col.audio, 5);
    size_t v = 0, a = 0;
    for (size_t i = 0; i < col.n; i++) {
        int64_t want_pts = (int64_t)base + 3600 * (int64_t)(codec_is_video(col.frames[i].codec) ? v++ : a++);
        ck_assert_int_eq(col.frames[i].pts, want_pts);
        ck_assert_int_eq(col.frames[i].dts, want_pts);
    }
    ts_demux_destroy(d);
    collector_free(&col);
    for (int i = 0; i < 5; i++) psb_free(&want[i]);
    psb_free(&w->out);
    free(w);
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
    Suite *s = suite_create("media_ts_demux_synthetic");
    TCase *tc = tcase_create("ts_demux_synthetic");
    tcase_add_test(tc, g711_in_ts_by_hand);
    tcase_add_test(tc, pts_wrap);
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
