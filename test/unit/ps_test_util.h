/*
 * Test helpers for the PS demuxer suites: a tiny MPEG-PS writer for synthetic streams (pack header, system
 * header, PSM with a real CRC_32, PES with PTS/DTS, stuffing, PES_packet_length 0) and a frame collector
 * that checks every frame's layout (frame.h) as it arrives. Header-only (static inline) because each unit
 * test is a single .c file.
 */
#ifndef GB_TEST_UNIT_PS_TEST_UTIL_H
#define GB_TEST_UNIT_PS_TEST_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "media/ps_demux.h"

/* ---- writer ---- */

struct psb {
    uint8_t *d;
    size_t len, cap;
};

static inline void psb_put(struct psb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 256;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
}

static inline void psb_u8(struct psb *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    psb_put(b, &x, 1);
}

static inline void psb_u16(struct psb *b, unsigned v)
{
    psb_u8(b, v >> 8);
    psb_u8(b, v);
}

static inline void psb_free(struct psb *b)
{
    free(b->d);
    memset(b, 0, sizeof *b);
}

/* MPEG-2 pack header with `stuffing` bytes (0..7) of 0xFF. */
static inline void psb_pack(struct psb *b, uint64_t scr, unsigned stuffing)
{
    uint8_t h[14] = {0x00, 0x00, 0x01, 0xba};
    h[4] = (uint8_t)(0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03));
    h[5] = (uint8_t)(scr >> 20);
    h[6] = (uint8_t)(((scr >> 12) & 0xf8) | 0x04 | ((scr >> 13) & 0x03));
    h[7] = (uint8_t)(scr >> 5);
    h[8] = (uint8_t)(((scr << 3) & 0xf8) | 0x04); /* SCR extension 0 */
    h[9] = 0x01;
    h[10] = 0x01; /* program_mux_rate */
    h[11] = 0x89;
    h[12] = 0xc3;
    h[13] = (uint8_t)(0xf8 | stuffing);
    psb_put(b, h, sizeof h);
    for (unsigned i = 0; i < stuffing; i++) psb_u8(b, 0xff);
}

static inline void psb_system_header(struct psb *b)
{
    static const uint8_t sh[] = {0x00, 0x00, 0x01, 0xbb, 0x00, 0x0c, 0x80, 0x1e, 0xff,
                                 0xfe, 0xe1, 0x7f, 0xe0, 0xe0, 0xe8, 0xc0, 0xc0, 0x20};
    psb_put(b, sh, sizeof sh);
}

static inline uint32_t psb_crc32_mpeg2(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffff;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int k = 0; k < 8; k++) crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1;
    }
    return crc;
}

struct psb_psm_entry {
    uint8_t stream_type, stream_id;
    const uint8_t *descriptors;
    size_t descriptors_len;
};

enum psb_psm_flaw {
    PSM_OK = 0,
    PSM_BAD_CRC = 1,
    PSM_SHORT_MAP_LENGTH = 2, /* elementary_stream_map_length too small (the real Audio_G711_PS2 flaw) */
    PSM_LONG_INFO_LENGTH = 4, /* the last entry's es_info_length overruns the map */
    PSM_NO_CRC = 8,           /* no CRC_32 at all (lengths consistent without it) */
};

static inline void psb_psm(struct psb *b, const struct psb_psm_entry *e, size_t n, unsigned flaws)
{
    static const uint8_t program_descriptor[] = {0x40, 0x0e, 'H',  'K',  0x01, 0x00, 0x13, 0x67,
                                                 0x2b, 0x8b, 0xb3, 0x87, 0x00, 0xff, 0xff, 0xff};
    size_t start = b->len;
    psb_put(b, "\x00\x00\x01\xbc\x00\x00", 6);
    psb_u8(b, 0xe0);
    psb_u8(b, 0xff);
    psb_u16(b, sizeof program_descriptor);
    psb_put(b, program_descriptor, sizeof program_descriptor);
    size_t map_len_at = b->len;
    psb_u16(b, 0);
    size_t map_start = b->len;
    for (size_t i = 0; i < n; i++) {
        psb_u8(b, e[i].stream_type);
        psb_u8(b, e[i].stream_id);
        size_t info = e[i].descriptors_len;
        if ((flaws & PSM_LONG_INFO_LENGTH) && i == n - 1) info += 40;
        psb_u16(b, (unsigned)info);
        if (e[i].descriptors_len) psb_put(b, e[i].descriptors, e[i].descriptors_len);
    }
    size_t map_len = b->len - map_start;
    if (flaws & PSM_SHORT_MAP_LENGTH) map_len = map_len > 6 ? map_len - 6 : 0;
    b->d[map_len_at] = (uint8_t)(map_len >> 8);
    b->d[map_len_at + 1] = (uint8_t)map_len;
    size_t total = b->len - start + ((flaws & PSM_NO_CRC) ? 0 : 4);
    b->d[start + 4] = (uint8_t)((total - 6) >> 8);
    b->d[start + 5] = (uint8_t)(total - 6);
    if (!(flaws & PSM_NO_CRC)) {
        uint32_t crc = psb_crc32_mpeg2(b->d + start, b->len - start);
        if (flaws & PSM_BAD_CRC) crc ^= 0x5a5a5a5a;
        psb_u16(b, crc >> 16);
        psb_u16(b, crc & 0xffff);
    }
}

static inline void psb_timestamp(struct psb *b, unsigned prefix, uint64_t ts)
{
    psb_u8(b, (prefix << 4) | (((ts >> 30) & 7) << 1) | 1);
    psb_u16(b, (unsigned)((((ts >> 15) & 0x7fff) << 1) | 1));
    psb_u16(b, (unsigned)(((ts & 0x7fff) << 1) | 1));
}

#define PSB_NO_TS UINT64_MAX

/* MPEG-2 PES. unbounded: PES_packet_length 0. stuffing: 0xFF bytes in the header. */
static inline void psb_pes(struct psb *b, uint8_t id, uint64_t pts, uint64_t dts, const void *payload,
                           size_t n, bool unbounded, unsigned stuffing)
{
    unsigned hdl = (pts != PSB_NO_TS ? 5 : 0) + (dts != PSB_NO_TS ? 5 : 0) + stuffing;
    size_t len = 3 + hdl + n;
    ck_assert(unbounded || len <= 0xffff);
    psb_put(b, "\x00\x00\x01", 3);
    psb_u8(b, id);
    psb_u16(b, unbounded ? 0 : (unsigned)len);
    psb_u8(b, 0x80);
    psb_u8(b, (pts != PSB_NO_TS ? 0x80 : 0) | (dts != PSB_NO_TS ? 0x40 : 0));
    psb_u8(b, hdl);
    if (pts != PSB_NO_TS) psb_timestamp(b, dts != PSB_NO_TS ? 3 : 2, pts);
    if (dts != PSB_NO_TS) psb_timestamp(b, 1, dts);
    for (unsigned i = 0; i < stuffing; i++) psb_u8(b, 0xff);
    if (n) psb_put(b, payload, n);
}

/* ---- elementary stream generators ---- */

static const uint8_t test_h264_sps[] = {0x67, 0x4d, 0x00, 0x1e, 0x9d, 0xa8, 0x2c, 0x04,
                                        0x9a, 0x6e, 0x02, 0x02, 0x02, 0x80, 0x00, 0x00,
                                        0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42};
static const uint8_t test_h264_pps[] = {0x68, 0xee, 0x3c, 0x80};
static const uint8_t test_h265_vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60,
                                        0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
                                        0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x98, 0x09};
static const uint8_t test_h265_sps[] = {0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00,
                                        0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01,
                                        0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20, 0x00,
                                        0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0x21};
static const uint8_t test_h265_pps[] = {0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40};

/* One NAL unit: Annex-B into es (4-byte start code), length-prefixed into want (when want != NULL). */
static inline void es_nal(struct psb *es, struct psb *want, const uint8_t *nal, size_t n)
{
    psb_put(es, "\x00\x00\x00\x01", 4);
    psb_put(es, nal, n);
    if (!want) return;
    psb_u16(want, (unsigned)(n >> 16));
    psb_u16(want, (unsigned)(n & 0xffff));
    psb_put(want, nal, n);
}

/* A slice NAL unit with `body` pseudo-random bytes that contain zeros and emulation-prevention sequences
 * but never a start code, and do not end in zero. */
static inline void es_slice(struct psb *es, struct psb *want, const uint8_t *header, size_t header_len,
                            size_t body, unsigned *seed)
{
    uint8_t *nal = malloc(header_len + body);
    memcpy(nal, header, header_len);
    size_t i = header_len;
    while (i < header_len + body) {
        *seed = *seed * 1103515245u + 12345u;
        unsigned r = (*seed >> 16) & 0xff;
        if (r < 8 && i + 4 <= header_len + body - 1) { /* 00 00 03 0x */
            memcpy(nal + i, "\x00\x00\x03", 3);
            nal[i + 3] = (uint8_t)(r & 3);
            i += 4;
        } else {
            nal[i++] = (uint8_t)(r < 16 ? 0 : r);
            if (i >= 2 && nal[i - 1] == 0 && nal[i - 2] == 0) nal[i - 1] = 0x55;
        }
    }
    if (nal[header_len + body - 1] == 0) nal[header_len + body - 1] = 0x80;
    es_nal(es, want, nal, header_len + body);
    free(nal);
}

/* An H.264 access unit: [AUD] [SPS PPS when key] slice (IDR or P). */
static inline void es_h264_au(struct psb *es, struct psb *want, bool key, bool aud, size_t body,
                              unsigned *seed)
{
    if (aud) es_nal(es, NULL, (const uint8_t *)"\x09\xf0", 2);
    if (key) {
        es_nal(es, want, test_h264_sps, sizeof test_h264_sps);
        es_nal(es, want, test_h264_pps, sizeof test_h264_pps);
    }
    es_slice(es, want, (const uint8_t *)(key ? "\x65\x88" : "\x41\x9a"), 2, body, seed);
}

/* An H.265 access unit: [AUD] [VPS SPS PPS when key] slice (IDR_W_RADL or TRAIL_R). */
static inline void es_h265_au(struct psb *es, struct psb *want, bool key, bool aud, size_t body,
                              unsigned *seed)
{
    if (aud) es_nal(es, NULL, (const uint8_t *)"\x46\x01\x50", 3);
    if (key) {
        es_nal(es, want, test_h265_vps, sizeof test_h265_vps);
        es_nal(es, want, test_h265_sps, sizeof test_h265_sps);
        es_nal(es, want, test_h265_pps, sizeof test_h265_pps);
    }
    es_slice(es, want, (const uint8_t *)(key ? "\x26\x01\xaf" : "\x02\x01\xd0"), 3, body, seed);
}

/* ---- collector ---- */

struct got_frame {
    enum codec_id codec;
    int64_t pts, dts;
    bool key, has_params, at_marker;
    int piece; /* collector.piece when the frame came out */
    uint32_t len;
    uint8_t *data; /* copy of the payload when the collector keeps data */
};

struct collector {
    bool keep_data;
    bool in_marker_call; /* set by the test around a ps_demux_input(..., true) */
    int piece;           /* set by the test: which input piece is being fed */
    struct got_frame *frames;
    size_t n, cap;
    size_t video, audio, keys;
    struct media_track tracks[16];
    size_t ntracks;
    uint64_t hash; /* FNV-1a over every payload, in order */
};

/* Checks frame.h's layout: headroom, tailroom, and for video a chain of 4-byte lengths covering the
 * payload exactly, with no empty unit and no AUD. */
static inline void check_frame_layout(const struct media_frame *f)
{
    ck_assert_ptr_nonnull(f->buf);
    ck_assert_uint_ge(f->off, FRAME_HEADROOM); /* video frames share chunks: off is where this one starts */
    ck_assert_uint_gt(f->len, 0);
    ck_assert((size_t)f->off + f->len + FRAME_TAILROOM <= f->buf->cap);
    if (f->codec != CODEC_H264 && f->codec != CODEC_H265) return;
    const uint8_t *p = f->buf->data + f->off;
    uint32_t pos = 0;
    while (pos < f->len) {
        ck_assert_uint_le(pos + 4, f->len);
        uint32_t n = ((uint32_t)p[pos] << 24) | ((uint32_t)p[pos + 1] << 16) | ((uint32_t)p[pos + 2] << 8) |
                     p[pos + 3];
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_le(n, f->len - pos - 4);
        uint8_t h = p[pos + 4];
        ck_assert(f->codec == CODEC_H264 ? h264_nal_type(h) != H264_NAL_AUD
                                         : h265_nal_type(h) != H265_NAL_AUD);
        ck_assert_uint_ne(p[pos + 4 + n - 1], 0); /* trailing zeros trimmed */
        pos += 4 + n;
    }
}

static inline void collector_on_frame(void *arg, struct media_frame *f)
{
    struct collector *c = arg;
    check_frame_layout(f);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->frames = realloc(c->frames, c->cap * sizeof *c->frames);
    }
    struct got_frame *g = &c->frames[c->n++];
    memset(g, 0, sizeof *g);
    g->codec = f->codec;
    g->pts = f->pts;
    g->dts = f->dts;
    g->key = f->key;
    g->has_params = f->has_params;
    g->at_marker = c->in_marker_call;
    g->piece = c->piece;
    g->len = f->len;
    const uint8_t *p = f->buf->data + f->off;
    if (c->keep_data) {
        g->data = malloc(f->len);
        memcpy(g->data, p, f->len);
    }
    uint64_t h = c->hash ? c->hash : 1469598103934665603ull;
    for (uint32_t i = 0; i < f->len; i++) h = (h ^ p[i]) * 1099511628211ull;
    c->hash = h;
    if (codec_is_video(f->codec)) {
        c->video++;
        c->keys += f->key;
    } else {
        c->audio++;
    }
    media_frame_release(f);
}

static inline void collector_on_track(void *arg, const struct media_track *t)
{
    struct collector *c = arg;
    ck_assert_uint_lt(c->ntracks, 16);
    c->tracks[c->ntracks++] = *t;
}

static inline struct ps_demux *collector_demux(struct collector *c, size_t max_frame)
{
    static const struct ps_demux_callbacks cb = {collector_on_frame, collector_on_track};
    struct ps_demux *d = ps_demux_create(&cb, c, max_frame);
    ck_assert_ptr_nonnull(d);
    return d;
}

static inline void collector_free(struct collector *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->frames[i].data);
    free(c->frames);
    memset(c, 0, sizeof *c);
}

#endif
