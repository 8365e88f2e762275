/*
 * GB28181 MPEG-PS multiplexer (see ps_mux.h for the layout it writes and why).
 *
 * Everything is written through one writer callback, in pieces, so the payload is never copied here: a PES is
 * its header (built on the stack) followed by slices of the caller's frame. The media_frame layout conversion
 * (4-byte NAL lengths -> 4-byte start codes, raw AAC -> ADTS) is done while slicing, which is why the payload
 * is described by a small cursor (struct payload_cursor) rather than a pointer and a length.
 */
#include "media/ps_mux.h"

#include "media/aac.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MUX_RATE     6106u /* 50-byte units: ~2.4 Mbit/s, what a D1/720p camera announces */
#define AUDIO_ONLY_PSM_EVERY 90000 /* 1 s at 90 kHz: PSM repeat interval when there is no video */
#define PES_HEADER_MAX       19    /* 6 start+length, 3 flags, 10 PTS+DTS */
#define SYSTEM_HEADER_MAX    (12 + 3 * 2)
#define PSM_MAX              (16 + 4 * 2)
#define PTS_MASK             0x1FFFFFFFFll /* 33 bits */

struct ps_mux {
    struct ps_mux_config cfg;
    uint32_t video_pes_max;                                /* video PES payload limit */
    uint8_t aac_object_type, aac_rate_index, aac_channels; /* for ADTS headers of raw AAC frames */
    bool started;                                          /* a frame has been written */
    bool psm_written;                                      /* at least one PSM written */
    int64_t last_psm_pts;
};

uint32_t ps_mux_crc32(const uint8_t *data, size_t len)
{
    /* Bitwise on purpose: the only user is the PSM (a few dozen bytes per keyframe), so a table buys nothing.
     */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)data[i] << 24;
        for (int b = 0; b < 8; b++) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

/* The ADTS fields of an AudioSpecificConfig; what ADTS cannot express (object types above 4, a rate outside
 * the index table) is refused. */
static int adts_fields_from_asc(const uint8_t *asc, size_t len, struct ps_mux *m)
{
    struct aac_config ac;
    if (aac_parse_asc(asc, len, &ac) != 0) return -EINVAL;
    int index = aac_sample_rate_to_index(ac.sample_rate);
    if (ac.object_type < 1 || ac.object_type > 4 || index < 0 || ac.channel_config > 7) return -EINVAL;
    m->aac_object_type = ac.object_type;
    m->aac_rate_index = (uint8_t)index;
    m->aac_channels = ac.channel_config;
    return 0;
}

struct ps_mux *ps_mux_create(const struct ps_mux_config *cfg)
{
    if (cfg->video == CODEC_NONE && cfg->audio == CODEC_NONE) return NULL;
    if (cfg->video != CODEC_NONE && (!codec_is_video(cfg->video) || !codec_to_ps_stream_type(cfg->video)))
        return NULL;
    if (cfg->audio != CODEC_NONE && (!codec_is_audio(cfg->audio) || !codec_to_ps_stream_type(cfg->audio)))
        return NULL;
    struct ps_mux *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cfg = *cfg;
    if (!m->cfg.mux_rate) m->cfg.mux_rate = DEFAULT_MUX_RATE;
    m->cfg.mux_rate &= 0x3FFFFF;
    m->video_pes_max = cfg->max_pes_payload ? cfg->max_pes_payload : PS_MUX_PES_PAYLOAD_DEFAULT;
    if (m->video_pes_max > PS_MUX_PES_PAYLOAD_LIMIT) m->video_pes_max = PS_MUX_PES_PAYLOAD_LIMIT;
    if (cfg->aac_asc_len && adts_fields_from_asc(cfg->aac_asc, cfg->aac_asc_len, m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void ps_mux_destroy(struct ps_mux *m)
{
    free(m);
}

/* ---- fixed units ----------------------------------------------------------------------------------------
 */

static size_t write_pack_header(uint8_t *p, int64_t dts, uint32_t mux_rate)
{
    uint64_t scr = (uint64_t)dts & PTS_MASK; /* SCR base in 90 kHz; the 27 MHz extension stays 0 */
    p[0] = 0x00, p[1] = 0x00, p[2] = 0x01, p[3] = 0xBA;
    p[4] = (uint8_t)(0x44 | ((scr >> 27) & 0x38) | ((scr >> 28) & 0x03));
    p[5] = (uint8_t)(scr >> 20);
    p[6] = (uint8_t)(((scr >> 12) & 0xF8) | 0x04 | ((scr >> 13) & 0x03));
    p[7] = (uint8_t)(scr >> 5);
    p[8] = (uint8_t)(((scr << 3) & 0xF8) | 0x04); /* + SCR extension bits 8..7 = 0 */
    p[9] = 0x01;                                  /* SCR extension bits 6..0 = 0, marker */
    p[10] = (uint8_t)(mux_rate >> 14);
    p[11] = (uint8_t)(mux_rate >> 6);
    p[12] = (uint8_t)(((mux_rate << 2) & 0xFC) | 0x03);
    p[13] = 0xF8; /* reserved, no stuffing */
    return PS_MUX_PACK_HEADER_LEN;
}

static size_t write_system_header(uint8_t *p, const struct ps_mux_config *cfg)
{
    size_t n = 12;
    p[0] = 0x00, p[1] = 0x00, p[2] = 0x01, p[3] = 0xBB;
    p[6] = (uint8_t)(0x80 | (cfg->mux_rate >> 15));
    p[7] = (uint8_t)(cfg->mux_rate >> 7);
    p[8] = (uint8_t)((cfg->mux_rate << 1) | 0x01);
    p[9] = (uint8_t)((cfg->audio != CODEC_NONE ? 1 : 0) << 2);    /* audio_bound, fixed 0, CSPS 0 */
    p[10] = (uint8_t)(0xE0 | (cfg->video != CODEC_NONE ? 1 : 0)); /* audio/video lock, marker, video_bound */
    p[11] = 0x7F;                                                 /* no packet rate restriction */
    if (cfg->video != CODEC_NONE) {
        p[n++] = PS_MUX_STREAM_ID_VIDEO;
        p[n++] = 0xE0 | 0x01; /* '11', scale 1024 bytes, bound 0x100 * 1024 = 256 KiB */
        p[n++] = 0x00;
    }
    if (cfg->audio != CODEC_NONE) {
        p[n++] = PS_MUX_STREAM_ID_AUDIO;
        p[n++] = 0xC0; /* '11', scale 128 bytes, bound 32 * 128 = 4 KiB */
        p[n++] = 0x20;
    }
    p[4] = (uint8_t)((n - 6) >> 8);
    p[5] = (uint8_t)(n - 6);
    return n;
}

static size_t write_psm(uint8_t *p, const struct ps_mux_config *cfg)
{
    size_t n = 16; /* start code, length, 2 flag bytes, program_stream_info_length, map length, ... */
    size_t map = 0;
    uint8_t entries[8];
    if (cfg->video != CODEC_NONE) {
        entries[map++] = codec_to_ps_stream_type(cfg->video);
        entries[map++] = PS_MUX_STREAM_ID_VIDEO;
        entries[map++] = 0, entries[map++] = 0; /* elementary_stream_info_length */
    }
    if (cfg->audio != CODEC_NONE) {
        entries[map++] = codec_to_ps_stream_type(cfg->audio);
        entries[map++] = PS_MUX_STREAM_ID_AUDIO;
        entries[map++] = 0, entries[map++] = 0;
    }
    p[0] = 0x00, p[1] = 0x00, p[2] = 0x01, p[3] = 0xBC;
    p[6] = 0xE0;              /* current_next_indicator 1, version 0 */
    p[7] = 0xFF;              /* reserved, marker */
    p[8] = 0x00, p[9] = 0x00; /* program_stream_info_length: no descriptors */
    p[10] = (uint8_t)(map >> 8);
    p[11] = (uint8_t)map;
    memcpy(p + 12, entries, map);
    n = 12 + map;
    size_t psm_len = n + 4 - 6; /* bytes after the length field, CRC included */
    p[4] = (uint8_t)(psm_len >> 8);
    p[5] = (uint8_t)psm_len;
    uint32_t crc = ps_mux_crc32(p, n);
    p[n++] = (uint8_t)(crc >> 24);
    p[n++] = (uint8_t)(crc >> 16);
    p[n++] = (uint8_t)(crc >> 8);
    p[n++] = (uint8_t)crc;
    return n;
}

static void put_timestamp(uint8_t *p, uint8_t prefix, int64_t ts)
{
    uint64_t t = (uint64_t)ts & PTS_MASK;
    p[0] = (uint8_t)((prefix << 4) | ((t >> 29) & 0x0E) | 0x01);
    p[1] = (uint8_t)(t >> 22);
    p[2] = (uint8_t)(((t >> 14) & 0xFE) | 0x01);
    p[3] = (uint8_t)(t >> 7);
    p[4] = (uint8_t)(((t << 1) & 0xFE) | 0x01);
}

/* A PES header for `payload_len` bytes; `length_zero` writes PES_packet_length 0 (unbounded). */
static size_t write_pes_header(uint8_t *p, uint8_t stream_id, size_t payload_len, bool with_pts, int64_t pts,
                               int64_t dts, bool length_zero)
{
    size_t n = 9;
    bool with_dts = with_pts && ((pts - dts) & PTS_MASK) != 0;
    p[0] = 0x00, p[1] = 0x00, p[2] = 0x01, p[3] = stream_id;
    p[6] = 0x80; /* '10', not scrambled */
    p[7] = with_dts ? 0xC0 : with_pts ? 0x80 : 0x00;
    if (with_pts) {
        put_timestamp(p + n, with_dts ? 0x3 : 0x2, pts);
        n += 5;
    }
    if (with_dts) {
        put_timestamp(p + n, 0x1, dts);
        n += 5;
    }
    p[8] = (uint8_t)(n - 9);
    size_t pes_len = length_zero ? 0 : n - 6 + payload_len;
    p[4] = (uint8_t)(pes_len >> 8);
    p[5] = (uint8_t)pes_len;
    return n;
}

/* ---- payload slicing ------------------------------------------------------------------------------------
 */

/* The frame's payload as the PS will carry it: an optional ADTS header, then the data, where (frame layout
 * video) each 4-byte NAL length reads as a 4-byte start code. Sliced strictly in order. */
struct payload_cursor {
    const uint8_t *data;
    size_t data_len;
    uint8_t adts[ADTS_HEADER_LEN];
    size_t adts_len;      /* 0 or 7 */
    bool length_prefixed; /* rewrite NAL lengths as start codes */
    size_t next_prefix;   /* offset in data of the next NAL length field */
};

static const uint8_t start_code4[4] = {0x00, 0x00, 0x00, 0x01};

static size_t payload_total(const struct payload_cursor *c)
{
    return c->adts_len + c->data_len;
}

/* True when data is a chain of 4-byte-length NAL units covering it exactly. */
static bool length_chain_valid(const uint8_t *d, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 4) return false;
        size_t nal =
            ((size_t)d[off] << 24) | ((size_t)d[off + 1] << 16) | ((size_t)d[off + 2] << 8) | d[off + 3];
        if (nal > len - off - 4) return false;
        off += 4 + nal;
    }
    return true;
}

/* Emits payload bytes [a, b) (payload coordinates) through the writer. */
static int payload_emit(struct payload_cursor *c, size_t a, size_t b, ps_mux_write_fn write, void *arg)
{
    int err;
    if (a < c->adts_len) {
        size_t n = (b < c->adts_len ? b : c->adts_len) - a;
        if ((err = write(arg, c->adts + a, n, false)) != 0) return err;
        a += n;
    }
    if (a >= b) return 0;
    a -= c->adts_len, b -= c->adts_len;
    if (!c->length_prefixed) return write(arg, c->data + a, b - a, false);
    while (a < b) {
        size_t n;
        if (a < c->next_prefix) {
            n = (b < c->next_prefix ? b : c->next_prefix) - a;
            err = write(arg, c->data + a, n, false);
        } else { /* inside the 4-byte length at next_prefix: write the start code instead */
            size_t k = a - c->next_prefix;
            n = 4 - k < b - a ? 4 - k : b - a;
            err = write(arg, start_code4 + k, n, false);
            if (a + n == c->next_prefix + 4) {
                const uint8_t *l = c->data + c->next_prefix;
                size_t nal = ((size_t)l[0] << 24) | ((size_t)l[1] << 16) | ((size_t)l[2] << 8) | l[3];
                c->next_prefix += 4 + nal;
            }
        }
        if (err) return err;
        a += n;
    }
    return 0;
}

/* ---- frame ----------------------------------------------------------------------------------------------
 */

static int write_fixed(ps_mux_write_fn write, void *arg, const uint8_t *p, size_t n)
{
    return write(arg, p, n, true);
}

static int write_pes_sequence(const struct ps_mux_frame *f, struct payload_cursor *c, uint8_t stream_id,
                              size_t max_payload, bool length_zero, ps_mux_write_fn write, void *arg)
{
    uint8_t hdr[PES_HEADER_MAX];
    size_t total = payload_total(c);
    size_t off = 0;
    do {
        size_t chunk = length_zero ? total : total - off < max_payload ? total - off : max_payload;
        size_t n = write_pes_header(hdr, stream_id, chunk, off == 0, f->pts, f->dts, length_zero);
        int err = write(arg, hdr, n, true);
        if (!err && chunk) err = payload_emit(c, off, off + chunk, write, arg);
        if (err) return err;
        off += chunk;
    } while (off < total);
    return 0;
}

int ps_mux_write(struct ps_mux *m, const struct ps_mux_frame *f, ps_mux_write_fn write, void *arg)
{
    const struct ps_mux_config *cfg = &m->cfg;
    if (f->codec == CODEC_NONE || (f->codec != cfg->video && f->codec != cfg->audio)) return -EINVAL;
    if (!f->data && f->len) return -EINVAL;
    bool video = f->codec == cfg->video;

    struct payload_cursor c = {.data = f->data, .data_len = f->len};
    if (f->frame_layout && video && (f->codec == CODEC_H264 || f->codec == CODEC_H265)) {
        if (!length_chain_valid(f->data, f->len)) return -EINVAL;
        c.length_prefixed = true;
    } else if (f->frame_layout && f->codec == CODEC_AAC) {
        if (!cfg->aac_asc_len ||
            adts_write_header(c.adts, m->aac_object_type, m->aac_rate_index, m->aac_channels, f->len) < 0)
            return -EINVAL;
        c.adts_len = ADTS_HEADER_LEN;
    }

    /* A "key point" is where a receiver may start: a video keyframe, or, without video, once a second. */
    bool key_point = video ? f->key
                           : cfg->video == CODEC_NONE &&
                                 (!m->psm_written || f->pts - m->last_psm_pts >= AUDIO_ONLY_PSM_EVERY ||
                                  f->pts < m->last_psm_pts);
    bool headers =
        (cfg->psm == PS_MUX_PSM_EVERY_KEY && key_point) || (cfg->psm == PS_MUX_PSM_FIRST && !m->psm_written);
    bool pack = !cfg->sparse_packs || key_point || !m->started;

    uint8_t buf[PS_MUX_PACK_HEADER_LEN > PSM_MAX ? PS_MUX_PACK_HEADER_LEN : PSM_MAX];
    int err = 0;
    if (pack) err = write_fixed(write, arg, buf, write_pack_header(buf, f->dts, cfg->mux_rate));
    if (!err && headers) err = write_fixed(write, arg, buf, write_system_header(buf, cfg));
    if (!err && headers) err = write_fixed(write, arg, buf, write_psm(buf, cfg));
    if (!err && video)
        err = write_pes_sequence(f, &c, PS_MUX_STREAM_ID_VIDEO, m->video_pes_max, cfg->video_pes_len_zero,
                                 write, arg);
    else if (!err)
        err =
            write_pes_sequence(f, &c, PS_MUX_STREAM_ID_AUDIO, PS_MUX_PES_PAYLOAD_DEFAULT, false, write, arg);
    if (err) return err; /* the mux state is untouched: the same frame may be written again */
    if (headers) {
        m->psm_written = true;
        m->last_psm_pts = f->pts;
    }
    m->started = true;
    return 0;
}

size_t ps_mux_max_size(const struct ps_mux *m, size_t payload_len)
{
    size_t payload = payload_len + ADTS_HEADER_LEN;
    size_t per_pes =
        m->video_pes_max < PS_MUX_PES_PAYLOAD_DEFAULT ? m->video_pes_max : PS_MUX_PES_PAYLOAD_DEFAULT;
    size_t pes_count = payload / per_pes + 1;
    return PS_MUX_PACK_HEADER_LEN + SYSTEM_HEADER_MAX + PSM_MAX + pes_count * PES_HEADER_MAX + payload;
}

struct buffer_writer {
    uint8_t *out;
    size_t cap, len;
};

static int buffer_write(void *arg, const uint8_t *data, size_t len, bool unit_start)
{
    struct buffer_writer *w = arg;
    if (len > w->cap - w->len) return -ENOSPC;
    memcpy(w->out + w->len, data, len);
    w->len += len;
    return 0;
}

int ps_mux_write_buffer(struct ps_mux *m, const struct ps_mux_frame *f, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    struct buffer_writer w = {out, cap, 0};
    int err = ps_mux_write(m, f, buffer_write, &w);
    *out_len = err ? 0 : w.len;
    return err;
}
