/*
 * ps_mux: exact bytes of the pack header, system header, PSM (CRC) and PES headers, PES splitting, the
 * sender shapes (PSM policy, sparse packs, PES length 0), the media_frame layout conversions (NAL lengths ->
 * start codes, raw AAC -> ADTS), unit boundaries reported to the writer, and errors. The units are checked
 * with an independent little PS walker and bit decoder written here, not with ps_mux's own code.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/ps_mux.h"
#include "testutil.h"

/* ---- an independent reader of what the muxer wrote ---- */

struct unit {
    uint8_t id;      /* 0xBA, 0xBB, 0xBC, 0xE0, 0xC0 */
    size_t off, len; /* whole unit */
    /* PES only */
    bool has_pts, has_dts;
    int64_t pts, dts;
    size_t payload_off, payload_len;
    unsigned pes_length_field;
};

static int64_t read_ts(const uint8_t *p)
{
    return ((int64_t)(p[0] & 0x0E) << 29) | ((int64_t)p[1] << 22) | ((int64_t)(p[2] >> 1) << 15) |
           ((int64_t)p[3] << 7) | (p[4] >> 1);
}

/* Splits a PS byte stream into units; fails the test on anything malformed. Returns the unit count. */
static size_t walk(const uint8_t *b, size_t len, struct unit *u, size_t max)
{
    size_t n = 0, off = 0;
    while (off < len) {
        ck_assert_uint_ge(len - off, 6);
        ck_assert_msg(b[off] == 0 && b[off + 1] == 0 && b[off + 2] == 1, "no start code at %zu", off);
        ck_assert_uint_lt(n, max);
        struct unit *x = &u[n++];
        memset(x, 0, sizeof *x);
        x->id = b[off + 3];
        x->off = off;
        if (x->id == 0xBA) {
            ck_assert_uint_eq(b[off + 4] >> 6, 1); /* MPEG-2 */
            x->len = 14 + (b[off + 13] & 7);
        } else {
            unsigned l = ((unsigned)b[off + 4] << 8) | b[off + 5];
            x->pes_length_field = l;
            if (l == 0) { /* unbounded: up to the next start code of a PS unit */
                size_t e = off + 6;
                while (e + 4 <= len && !(b[e] == 0 && b[e + 1] == 0 && b[e + 2] == 1 && b[e + 3] >= 0xBA))
                    e++;
                x->len = e + 4 <= len ? e - off : len - off;
            } else {
                x->len = 6 + l;
            }
            if (x->id == 0xE0 || x->id == 0xC0) {
                const uint8_t *h = b + off;
                ck_assert_uint_eq(h[6] >> 6, 2);
                x->has_pts = h[7] & 0x80;
                x->has_dts = h[7] & 0x40;
                if (x->has_pts) x->pts = read_ts(h + 9);
                if (x->has_dts) x->dts = read_ts(h + 14);
                x->payload_off = off + 9 + h[8];
                x->payload_len = x->len - 9 - h[8];
            }
        }
        ck_assert_uint_le(x->len, len - off);
        off += x->len;
    }
    return n;
}

/* Concatenated payload of all PES of one stream id. */
static size_t collect(const uint8_t *b, const struct unit *u, size_t n, uint8_t id, uint8_t *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        if (u[i].id == id) {
            memcpy(out + len, b + u[i].payload_off, u[i].payload_len);
            len += u[i].payload_len;
        }
    return len;
}

static uint8_t out[600000];
static struct unit units[64];

static size_t mux_one(struct ps_mux *m, enum codec_id c, const uint8_t *data, size_t len, int64_t pts,
                      int64_t dts, bool key)
{
    struct ps_mux_frame f = {.codec = c, .data = data, .len = len, .pts = pts, .dts = dts, .key = key};
    size_t n = 0;
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &n), 0);
    ck_assert_uint_le(n, ps_mux_max_size(m, len));
    return n;
}

/* ---- tests ---- */

START_TEST(crc32_mpeg2_check_value)
{
    ck_assert_uint_eq(ps_mux_crc32((const uint8_t *)"123456789", 9), 0x0376E6E7u);
    ck_assert_uint_eq(ps_mux_crc32(NULL, 0), 0xFFFFFFFFu);
}
END_TEST

START_TEST(keyframe_exact_headers)
{
    struct ps_mux_config cfg = {.video = CODEC_H264, .audio = CODEC_G711A};
    struct ps_mux *m = ps_mux_create(&cfg);
    ck_assert_ptr_nonnull(m);
    const uint8_t es[] = {0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00};
    size_t len = mux_one(m, CODEC_H264, es, sizeof es, 3600, 3600, true);

    static const uint8_t pack[] = {0x00, 0x00, 0x01, 0xBA, 0x44, 0x00, 0x04,
                                   0x70, 0x84, 0x01, 0x00, 0x5F, 0x6B, 0xF8}; /* SCR 3600, mux rate 6106 */
    static const uint8_t sys[] = {0x00, 0x00, 0x01, 0xBB, 0x00, 0x0C, 0x80, 0x2F, 0xB5,
                                  0x04, 0xE1, 0x7F, 0xE0, 0xE1, 0x00, 0xC0, 0xC0, 0x20};
    static const uint8_t psm_head[] = {0x00, 0x00, 0x01, 0xBC, 0x00, 0x12, 0xE0, 0xFF, 0x00, 0x00,
                                       0x00, 0x08, 0x1B, 0xE0, 0x00, 0x00, 0x90, 0xC0, 0x00, 0x00};
    static const uint8_t pes[] = {0x00, 0x00, 0x01, 0xE0, 0x00, 0x10, 0x80,
                                  0x80, 0x05, 0x21, 0x00, 0x01, 0x1C, 0x21}; /* PTS 3600, no DTS */
    size_t o = 0;
    ck_assert_mem_eq(out + o, pack, sizeof pack);
    o += sizeof pack;
    ck_assert_mem_eq(out + o, sys, sizeof sys);
    o += sizeof sys;
    ck_assert_mem_eq(out + o, psm_head, sizeof psm_head);
    ck_assert_uint_eq(ps_mux_crc32(out + o, sizeof psm_head + 4), 0); /* CRC over the PSM including it */
    o += sizeof psm_head + 4;
    ck_assert_mem_eq(out + o, pes, sizeof pes);
    o += sizeof pes;
    ck_assert_mem_eq(out + o, es, sizeof es);
    ck_assert_uint_eq(o + sizeof es, len);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(h265_psm_and_dts)
{
    struct ps_mux_config cfg = {.video = CODEC_H265, .psm = PS_MUX_PSM_EVERY_KEY};
    struct ps_mux *m = ps_mux_create(&cfg);
    const uint8_t es[] = {0, 0, 1, 0x26, 0x01, 0xAF};
    int64_t pts = 0x1ABCDEF01ll, dts = 0x1ABCDEF01ll - 7200; /* beyond 32 bits: the 33rd bit must survive */
    size_t len = mux_one(m, CODEC_H265, es, sizeof es, pts, dts, true);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(units[2].id, 0xBC);
    ck_assert_uint_eq(out[units[2].off + 12], 0x24); /* H.265 stream_type */
    ck_assert_uint_eq(out[units[2].off + 11], 4);    /* one map entry */
    ck_assert_uint_eq(ps_mux_crc32(out + units[2].off, units[2].len), 0);
    ck_assert(units[3].has_pts && units[3].has_dts);
    ck_assert_int_eq(units[3].pts, pts);
    ck_assert_int_eq(units[3].dts, dts);
    ck_assert_uint_eq(out[units[3].off + 9] >> 4, 3); /* '0011' prefix when DTS follows */
    /* SCR = DTS: decode the pack header's 33-bit base independently */
    const uint8_t *p = out;
    int64_t scr = ((int64_t)((p[4] >> 3) & 7) << 30) | ((int64_t)(p[4] & 3) << 28) | ((int64_t)p[5] << 20) |
                  ((int64_t)(p[6] >> 3) << 15) | ((int64_t)(p[6] & 3) << 13) | ((int64_t)p[7] << 5) |
                  (p[8] >> 3);
    ck_assert_int_eq(scr, dts);
    ck_assert_uint_eq(units[3].payload_len, sizeof es);
    ck_assert_mem_eq(out + units[3].payload_off, es, sizeof es);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(non_key_frame_has_no_psm)
{
    struct ps_mux_config cfg = {.video = CODEC_H264};
    struct ps_mux *m = ps_mux_create(&cfg);
    const uint8_t es[] = {0, 0, 0, 1, 0x41, 0x9A};
    size_t len = mux_one(m, CODEC_H264, es, sizeof es, 0, 0, false);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(units[0].id, 0xBA);
    ck_assert_uint_eq(units[1].id, 0xE0);
    ck_assert(units[1].has_pts && !units[1].has_dts);
    ps_mux_destroy(m);
}
END_TEST

static uint8_t big[300000], back[300000];

static void fill_pattern(uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++) b[i] = (uint8_t)(i * 7 + (i >> 9));
}

START_TEST(large_frame_split_default)
{
    struct ps_mux_config cfg = {.video = CODEC_H264};
    struct ps_mux *m = ps_mux_create(&cfg);
    fill_pattern(big, 200000);
    size_t len = mux_one(m, CODEC_H264, big, 200000, 90000, 90000, true);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 3 + 4); /* pack, system, PSM, ceil(200000 / 65500) = 4 PES */
    for (size_t i = 3; i < n; i++) {
        ck_assert_uint_eq(units[i].id, 0xE0);
        ck_assert_uint_eq(units[i].has_pts, i == 3); /* PTS only in the first PES of the frame */
        ck_assert_uint_eq(units[i].payload_len, i < n - 1 ? 65500 : 200000 - 3 * 65500);
    }
    ck_assert_uint_eq(collect(out, units, n, 0xE0, back), 200000);
    ck_assert_mem_eq(back, big, 200000);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(pes_split_option_and_limit)
{
    struct ps_mux_config cfg = {.video = CODEC_H264, .max_pes_payload = 1000};
    struct ps_mux *m = ps_mux_create(&cfg);
    fill_pattern(big, 4500);
    size_t len = mux_one(m, CODEC_H264, big, 4500, 0, 0, false);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 1 + 5);
    ck_assert_uint_eq(units[5].payload_len, 500);
    ck_assert_uint_eq(collect(out, units, n, 0xE0, back), 4500);
    ck_assert_mem_eq(back, big, 4500);
    ps_mux_destroy(m);

    /* A limit above what PES_packet_length can express is capped (PTS+DTS header: 65522). */
    cfg.max_pes_payload = 100000;
    m = ps_mux_create(&cfg);
    fill_pattern(big, 70000);
    len = mux_one(m, CODEC_H264, big, 70000, 3000, 0, false);
    n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(units[1].pes_length_field, 65535);
    ck_assert_uint_eq(units[1].payload_len, 65522);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(pes_length_zero)
{
    struct ps_mux_config cfg = {.video = CODEC_H264, .video_pes_len_zero = true, .audio = CODEC_G711U};
    struct ps_mux *m = ps_mux_create(&cfg);
    fill_pattern(big, 100000);
    big[0] = big[1] = 0, big[2] = 0, big[3] = 1; /* make it look like an access unit */
    size_t len = mux_one(m, CODEC_H264, big, 100000, 0, 0, false);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(units[1].pes_length_field, 0);
    ck_assert_uint_eq(units[1].payload_len, 100000);
    /* audio keeps a real length */
    uint8_t pcm[320];
    memset(pcm, 0xD5, sizeof pcm);
    len = mux_one(m, CODEC_G711U, pcm, sizeof pcm, 0, 0, true);
    n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(units[1].id, 0xC0);
    ck_assert_uint_eq(units[1].pes_length_field, 3 + 5 + 320);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(psm_policies)
{
    const uint8_t es[] = {0, 0, 0, 1, 0x65, 0x11};
    struct ps_mux_config cfg = {.video = CODEC_H264, .psm = PS_MUX_PSM_FIRST};
    struct ps_mux *m = ps_mux_create(&cfg);
    /* FIRST: before the first frame even when it is not a keyframe, then never again */
    size_t n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, 0, 0, false), units, 64);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(units[2].id, 0xBC);
    n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, 3600, 3600, true), units, 64);
    ck_assert_uint_eq(n, 2);
    ps_mux_destroy(m);

    cfg.psm = PS_MUX_PSM_NONE;
    m = ps_mux_create(&cfg);
    n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, 0, 0, true), units, 64);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(units[0].id, 0xBA);
    ps_mux_destroy(m);

    cfg.psm = PS_MUX_PSM_EVERY_KEY;
    m = ps_mux_create(&cfg);
    for (int i = 0; i < 3; i++) {
        n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, i * 3600, i * 3600, true), units, 64);
        ck_assert_uint_eq(n, 4);
    }
    ps_mux_destroy(m);
}
END_TEST

START_TEST(sparse_packs)
{
    const uint8_t es[] = {0, 0, 0, 1, 0x41, 0x11};
    uint8_t pcm[320] = {0};
    struct ps_mux_config cfg = {.video = CODEC_H264, .audio = CODEC_G711A, .sparse_packs = true};
    struct ps_mux *m = ps_mux_create(&cfg);
    /* the very first frame always starts with a pack header, even if it is audio */
    size_t n = walk(out, mux_one(m, CODEC_G711A, pcm, sizeof pcm, 0, 0, true), units, 64);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(units[0].id, 0xBA);
    n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, 0, 0, true), units, 64);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(units[0].id, 0xBA);
    n = walk(out, mux_one(m, CODEC_H264, es, sizeof es, 3600, 3600, false), units, 64);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(units[0].id, 0xE0);
    n = walk(out, mux_one(m, CODEC_G711A, pcm, sizeof pcm, 3600, 3600, true), units, 64);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(units[0].id, 0xC0);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(audio_only_psm_once_per_second)
{
    uint8_t pcm[320] = {0};
    struct ps_mux_config cfg = {.audio = CODEC_G711A};
    struct ps_mux *m = ps_mux_create(&cfg);
    int with_psm = 0;
    for (int i = 0; i < 50; i++) { /* 2 s of 40 ms frames */
        size_t n = walk(out, mux_one(m, CODEC_G711A, pcm, sizeof pcm, i * 3600, i * 3600, true), units, 64);
        if (n == 4) {
            with_psm++;
            ck_assert_uint_eq(out[units[2].off + 11], 4);
            ck_assert_uint_eq(out[units[2].off + 12], 0x90);
            ck_assert_uint_eq(out[units[2].off + 13], 0xC0);
            ck_assert_uint_eq(out[units[1].off + 9], 0x04);  /* audio_bound 1 */
            ck_assert_uint_eq(out[units[1].off + 10], 0xE0); /* video_bound 0 */
        } else {
            ck_assert_uint_eq(n, 2);
        }
    }
    ck_assert_int_eq(with_psm, 2); /* at 0 s and 1 s */
    ps_mux_destroy(m);
}
END_TEST

START_TEST(frame_layout_nal_lengths_become_start_codes)
{
    /* two NAL units with 4-byte lengths; PES split at 3 bytes so the rewrite crosses PES boundaries */
    const uint8_t avcc[] = {0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 5, 0x65, 1, 2, 3, 4};
    const uint8_t annexb[] = {0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x65, 1, 2, 3, 4};
    struct ps_mux_config cfg = {.video = CODEC_H264, .max_pes_payload = 3};
    struct ps_mux *m = ps_mux_create(&cfg);
    struct ps_mux_frame f = {
        .codec = CODEC_H264, .data = avcc, .len = sizeof avcc, .key = true, .frame_layout = true};
    size_t len;
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), 0);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 3 + 5);
    ck_assert_uint_eq(collect(out, units, n, 0xE0, back), sizeof annexb);
    ck_assert_mem_eq(back, annexb, sizeof annexb);

    /* a length running past the end is refused before anything is written */
    const uint8_t bad[] = {0, 0, 0, 9, 0x65, 1};
    f.data = bad, f.len = sizeof bad;
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), -EINVAL);
    ck_assert_uint_eq(len, 0);
    const uint8_t short_tail[] = {0, 0, 0, 1, 0x65, 0, 0};
    f.data = short_tail, f.len = sizeof short_tail;
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), -EINVAL);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(frame_layout_raw_aac_gets_adts)
{
    struct ps_mux_config cfg = {
        .audio = CODEC_AAC, .aac_asc = {0x12, 0x10}, .aac_asc_len = 2}; /* LC 44.1k 2ch */
    struct ps_mux *m = ps_mux_create(&cfg);
    ck_assert_ptr_nonnull(m);
    uint8_t au[300];
    fill_pattern(au, sizeof au);
    struct ps_mux_frame f = {
        .codec = CODEC_AAC, .data = au, .len = sizeof au, .key = true, .frame_layout = true};
    size_t len;
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), 0);
    size_t n = walk(out, len, units, 64);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[units[2].off + 12], 0x0F);
    const uint8_t *p = out + units[3].payload_off;
    ck_assert_uint_eq(units[3].payload_len, 307);
    /* frame_length 307 = 0x133: bits spread over bytes 3..5 */
    const uint8_t adts[] = {0xFF, 0xF1, 0x50, 0x80, 0x26, 0x7F, 0xFC};
    ck_assert_mem_eq(p, adts, 7);
    ck_assert_mem_eq(p + 7, au, sizeof au);
    ps_mux_destroy(m);

    /* without an ASC a raw access unit cannot be muxed; an ASC with explicit frequency is refused */
    struct ps_mux_config no_asc = {.audio = CODEC_AAC};
    m = ps_mux_create(&no_asc);
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), -EINVAL);
    f.frame_layout = false; /* native ADTS passes through untouched */
    ck_assert_int_eq(ps_mux_write_buffer(m, &f, out, sizeof out, &len), 0);
    ps_mux_destroy(m);
    struct ps_mux_config explicit_rate = {.audio = CODEC_AAC, .aac_asc = {0x17, 0x80}, .aac_asc_len = 2};
    ck_assert_ptr_null(ps_mux_create(&explicit_rate));
}
END_TEST

static int unit_log[64];
static int unit_log_n;
static int record_units(void *arg, const uint8_t *data, size_t len, bool unit_start)
{
    size_t *total = arg;
    if (unit_start) {
        ck_assert_uint_ge(len, 4);
        ck_assert(data[0] == 0 && data[1] == 0 && data[2] == 1);
        if (unit_log_n < 64) unit_log[unit_log_n++] = data[3];
    }
    ck_assert_uint_gt(len, 0); /* never an empty piece */
    *total += len;
    return 0;
}

static int fail_on_third(void *arg, const uint8_t *data, size_t len, bool unit_start)
{
    int *calls = arg;
    return ++*calls == 3 ? -EPIPE : 0;
}

START_TEST(writer_sees_unit_starts_and_errors)
{
    struct ps_mux_config cfg = {.video = CODEC_H264, .audio = CODEC_AAC, .max_pes_payload = 1000};
    struct ps_mux *m = ps_mux_create(&cfg);
    fill_pattern(big, 2500);
    struct ps_mux_frame f = {.codec = CODEC_H264, .data = big, .len = 2500, .key = true};
    size_t total = 0;
    unit_log_n = 0;
    ck_assert_int_eq(ps_mux_write(m, &f, record_units, &total), 0);
    const int expect[] = {0xBA, 0xBB, 0xBC, 0xE0, 0xE0, 0xE0};
    ck_assert_int_eq(unit_log_n, 6);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(unit_log[i], expect[i]);
    ck_assert_uint_eq(total, 14 + 18 + 24 + 14 + 9 + 9 + 2500);

    /* a writer error aborts the frame and leaves the state as it was: the PSM comes again next time */
    int calls = 0;
    ck_assert_int_eq(ps_mux_write(m, &f, fail_on_third, &calls), -EPIPE);
    struct ps_mux_config cfg1 = {.video = CODEC_H264, .psm = PS_MUX_PSM_FIRST};
    struct ps_mux *first = ps_mux_create(&cfg1);
    size_t len;
    ck_assert_int_eq(ps_mux_write_buffer(first, &f, out, 100, &len), -ENOSPC);
    ck_assert_int_eq(ps_mux_write_buffer(first, &f, out, sizeof out, &len), 0);
    ck_assert_uint_eq(walk(out, len, units, 64), 3 + 1);
    ck_assert_uint_eq(units[2].id, 0xBC);
    ps_mux_destroy(first);

    /* codec not in the config */
    f.codec = CODEC_H265;
    ck_assert_int_eq(ps_mux_write(m, &f, record_units, &total), -EINVAL);
    f.codec = CODEC_G711A;
    ck_assert_int_eq(ps_mux_write(m, &f, record_units, &total), -EINVAL);
    ps_mux_destroy(m);
}
END_TEST

START_TEST(invalid_configs)
{
    struct ps_mux_config none = {0};
    ck_assert_ptr_null(ps_mux_create(&none));
    struct ps_mux_config audio_as_video = {.video = CODEC_AAC};
    ck_assert_ptr_null(ps_mux_create(&audio_as_video));
    struct ps_mux_config video_as_audio = {.audio = CODEC_H264};
    ck_assert_ptr_null(ps_mux_create(&video_as_audio));
    struct ps_mux_config opus = {.audio = CODEC_OPUS}; /* no PS stream_type */
    ck_assert_ptr_null(ps_mux_create(&opus));
}
END_TEST

START_TEST(max_size_is_an_upper_bound)
{
    struct ps_mux_config cfgs[] = {
        {.video = CODEC_H264, .audio = CODEC_AAC},
        {.video = CODEC_H265, .max_pes_payload = 1},
        {.video = CODEC_H264, .max_pes_payload = 7, .video_pes_len_zero = true},
    };
    const size_t sizes[] = {0, 1, 1000, 65500, 65501, 131000, 131001, 250000};
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            if (cfgs[c].max_pes_payload == 1 && sizes[s] > 20000)
                continue; /* 10 bytes per payload byte: out[] */
            struct ps_mux *m = ps_mux_create(&cfgs[c]);
            size_t len = mux_one(m, cfgs[c].video, big, sizes[s], 0, 1, true);
            ck_assert_uint_le(len, ps_mux_max_size(m, sizes[s]));
            ps_mux_destroy(m);
        }
    }
}
END_TEST

static Suite *ps_mux_suite(void)
{
    Suite *s = suite_create("ps_mux");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crc32_mpeg2_check_value);
    tcase_add_test(tc, keyframe_exact_headers);
    tcase_add_test(tc, h265_psm_and_dts);
    tcase_add_test(tc, non_key_frame_has_no_psm);
    tcase_add_test(tc, large_frame_split_default);
    tcase_add_test(tc, pes_split_option_and_limit);
    tcase_add_test(tc, pes_length_zero);
    tcase_add_test(tc, psm_policies);
    tcase_add_test(tc, sparse_packs);
    tcase_add_test(tc, audio_only_psm_once_per_second);
    tcase_add_test(tc, frame_layout_nal_lengths_become_start_codes);
    tcase_add_test(tc, frame_layout_raw_aac_gets_adts);
    tcase_add_test(tc, writer_sees_unit_starts_and_errors);
    tcase_add_test(tc, invalid_configs);
    tcase_add_test(tc, max_size_is_an_upper_bound);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(ps_mux_suite());
}
