/*
 * Access-unit builder: Annex-B bytes in, one length-prefixed frame buffer out (see video_au.h for the
 * contract and why start-code bytes are written first and taken back later).
 */
#include "media/video_au.h"

#include <string.h>

#include "media/h26x.h"

#define NAL_LEN_PREFIX 4
#define CHUNK_FRAMES   8            /* a chunk holds about this many average frames */
#define CHUNK_MIN      (16u * 1024) /* chunk sizes are half octaves from here: 16, 24, 32, 48, 64 KiB... */
#define CHUNK_MAX      (256u * 1024)
#define MIN_START_ROOM 512u /* a frame does not start in less room than this: it would move at once */
#define REGION_ALIGN   16u

void video_au_init(struct video_au *au, enum codec_id codec, size_t max_frame, struct media_track *track)
{
    memset(au, 0, sizeof *au);
    au->codec = codec == CODEC_H264 || codec == CODEC_H265 ? codec : CODEC_NONE;
    au->max_frame = max_frame > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)max_frame;
    au->track = track;
}

static void reset_unit(struct video_au *au)
{
    au->open = false;
    au->base = 0;
    au->len = 0;
    au->key = au->has_params = au->overflow = au->key_room = false;
    au->in_nal = false;
    au->zeros = 0;
    au->nal_off = 0;
}

void video_au_destroy(struct video_au *au)
{
    gbuf_unref(au->buf);
    au->buf = NULL;
    au->chunk_used = au->chunk_cap = 0;
    reset_unit(au);
}

bool video_au_pending(const struct video_au *au)
{
    return au->len > 0 || au->in_nal;
}

static bool h264_profile_known(uint8_t profile_idc)
{
    switch (profile_idc) {
    case 66:
    case 77:
    case 88:
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135: return true;
    default: return false;
    }
}

enum codec_id video_au_guess_codec(const uint8_t *nal, size_t len)
{
    if (len < 2 || (nal[0] & 0x80)) return CODEC_NONE;
    uint8_t b0 = nal[0], b1 = nal[1];
    /* H.264 SPS: as H.265 these bytes have nuh_layer_id >= 32 or a reserved type. */
    if ((b0 == 0x27 || b0 == 0x47 || b0 == 0x67) && h264_profile_known(b1)) return CODEC_H264;
    /* H.264 AUD (nal_ref_idc 0): primary_pic_type then the stop bit. */
    if (b0 == 0x09 && (b1 & 0x1f) == 0x10) return CODEC_H264;
    /* H.265 VPS/SPS/PPS/AUD, layer 0: as H.264 these are unspecified/partition types or an SEI with
     * nal_ref_idc != 0, which the standard forbids. */
    if ((b0 == 0x40 || b0 == 0x42 || b0 == 0x44 || b0 == 0x46) && (b1 & 0xf8) == 0 && (b1 & 0x07) != 0)
        return CODEC_H265;
    return CODEC_NONE;
}

static uint8_t *payload(struct video_au *au)
{
    return au->buf->data + au->base + FRAME_HEADROOM;
}

/* Continues the unit in a new chunk with room for `payload_cap` payload bytes (and the next frames): what
 * was written so far is copied, the old chunk stays alive as long as earlier frames hold it. */
static void move_to_new_chunk(struct video_au *au, size_t payload_cap)
{
    size_t want = (size_t)au->avg_frame * CHUNK_FRAMES;
    if (want < CHUNK_MIN) want = CHUNK_MIN;
    if (want > CHUNK_MAX) want = CHUNK_MAX;
    size_t need = FRAME_HEADROOM + payload_cap + FRAME_TAILROOM;
    if (want < need) want = need;
    /* Half-octave sizes (..., 64, 96, 128, 192 KiB): a stream's chunks, keyframe chunks included, are then
     * mostly of one size, which is what the per-class pools recycle best. */
    size_t step = CHUNK_MIN;
    while (step < want && step * 3 / 2 < want) step *= 2;
    want = step >= want ? step : step * 3 / 2;
    struct gbuf *chunk = gbuf_alloc(want - sizeof(struct gbuf));
    if (au->open && au->len) memcpy(chunk->data + FRAME_HEADROOM, payload(au), au->len);
    gbuf_unref(au->buf);
    au->buf = chunk;
    au->chunk_used = 0;
    au->chunk_cap = chunk->cap;
    au->base = 0;
}

/* Makes room for `extra` more payload bytes; false (and the unit marked oversize) past max_frame. */
static bool reserve(struct video_au *au, size_t extra)
{
    if (au->overflow) return false;
    if ((size_t)au->len + extra > au->max_frame) {
        au->overflow = true;
        return false;
    }
    if (!au->open) {
        size_t room = au->chunk_cap - au->chunk_used; /* 0 without a chunk */
        if (room < FRAME_HEADROOM + MIN_START_ROOM + extra + FRAME_TAILROOM)
            move_to_new_chunk(au, MIN_START_ROOM + extra);
        else
            au->base = au->chunk_used;
        au->open = true;
    }
    if ((au->key || au->has_params) && !au->key_room) {
        /* A keyframe (its parameter sets came first): move now, while little is written, if the last
         * keyframe's size would not fit, rather than copying most of it when it overflows. */
        au->key_room = true;
        size_t want = (size_t)au->key_frame + au->key_frame / 8;
        if (want > au->max_frame) want = au->max_frame;
        if (want > au->len + extra && au->base + FRAME_HEADROOM + want + FRAME_TAILROOM > au->chunk_cap)
            move_to_new_chunk(au, want);
    }
    if (au->base + FRAME_HEADROOM + (size_t)au->len + extra + FRAME_TAILROOM > au->chunk_cap)
        move_to_new_chunk(au, 2 * ((size_t)au->len + extra));
    return true;
}

static void append(struct video_au *au, const uint8_t *p, size_t n)
{
    if (n == 0 || !au->in_nal || !reserve(au, n)) return;
    memcpy(payload(au) + au->len, p, n);
    au->len += (uint32_t)n;
}

/* Copies a parameter set into the track when it differs from the recorded one; true when it did. */
static bool record_param_set(struct video_au *au, uint8_t *stored, uint16_t *stored_len, const uint8_t *nal,
                             size_t n)
{
    if (!au->track || n > TRACK_PARAM_MAX) return false;
    if (*stored_len == n && memcmp(stored, nal, n) == 0) return false;
    memcpy(stored, nal, n);
    *stored_len = (uint16_t)n;
    au->params_changed = true;
    return true;
}

static void record_sps(struct video_au *au, const uint8_t *nal, size_t n)
{
    struct media_track *t = au->track;
    if (!t || !record_param_set(au, t->sps, &t->sps_len, nal, n)) return;
    t->width = t->height = t->fps_num = t->fps_den = 0;
    if (au->codec == CODEC_H264) {
        struct h264_sps_info info;
        if (h264_parse_sps(nal, n, &info) == 0) {
            t->width = info.width;
            t->height = info.height;
            t->fps_num = info.fps_num;
            t->fps_den = info.fps_den;
        }
    } else {
        struct h265_sps_info info;
        if (h265_parse_sps(nal, n, &info) == 0) {
            t->width = info.width;
            t->height = info.height;
            t->fps_num = info.fps_num;
            t->fps_den = info.fps_den;
        }
    }
}

/* A conclusive NAL header that disagrees with the codec in use: the parameter sets recorded so far belong
 * to the wrong codec, forget them. */
static void switch_codec(struct video_au *au, enum codec_id codec)
{
    au->codec = codec;
    au->params_changed = true;
    if (au->track) {
        au->track->codec = codec;
        au->track->vps_len = au->track->sps_len = au->track->pps_len = 0;
        au->track->width = au->track->height = au->track->fps_num = au->track->fps_den = 0;
    }
}

/* The current NAL unit is complete: trim, classify, drop or keep, and write its length prefix. */
static void end_nal(struct video_au *au)
{
    au->in_nal = false;
    if (au->overflow || !au->open) return;
    uint8_t *base = payload(au);
    uint32_t body = au->nal_off + NAL_LEN_PREFIX;
    while (au->len > body && base[au->len - 1] == 0) au->len--;
    uint8_t *nal = base + body;
    size_t n = au->len - body;
    if (n == 0) {
        au->len = au->nal_off;
        return;
    }
    enum codec_id guess = video_au_guess_codec(nal, n);
    if (guess != CODEC_NONE && guess != au->codec) {
        switch_codec(au, guess);
        /* The units before this one were read as the other codec (an AUD may have been kept, a keyframe
         * missed): keep only this unit, moved to the front. */
        if (au->nal_off > 0) {
            memmove(base, base + au->nal_off, NAL_LEN_PREFIX + n);
            au->len = NAL_LEN_PREFIX + (uint32_t)n;
            au->nal_off = 0;
            nal = base + NAL_LEN_PREFIX;
        }
        au->key = au->has_params = false;
    }

    bool drop = false;
    struct media_track *t = au->track;
    if (au->codec == CODEC_H264) {
        uint8_t type = h264_nal_type(nal[0]);
        if (type == H264_NAL_AUD) drop = true;
        if (type == H264_NAL_IDR) au->key = true;
        if (type == H264_NAL_SPS) {
            au->has_params = true;
            record_sps(au, nal, n);
        }
        if (type == H264_NAL_PPS && t) record_param_set(au, t->pps, &t->pps_len, nal, n);
    } else if (au->codec == CODEC_H265) {
        uint8_t type = h265_nal_type(nal[0]);
        if (type == H265_NAL_AUD) drop = true;
        if (type >= H265_NAL_IRAP_FIRST && type <= H265_NAL_IRAP_LAST) au->key = true;
        if (type == H265_NAL_SPS) {
            au->has_params = true;
            record_sps(au, nal, n);
        }
        if (type == H265_NAL_VPS && t) record_param_set(au, t->vps, &t->vps_len, nal, n);
        if (type == H265_NAL_PPS && t) record_param_set(au, t->pps, &t->pps_len, nal, n);
    }
    if (drop) {
        au->len = au->nal_off;
        return;
    }
    uint8_t *prefix = base + au->nal_off;
    prefix[0] = (uint8_t)(n >> 24);
    prefix[1] = (uint8_t)(n >> 16);
    prefix[2] = (uint8_t)(n >> 8);
    prefix[3] = (uint8_t)n;
}

static void begin_nal(struct video_au *au)
{
    au->in_nal = true;
    au->nal_off = au->len;
    if (!reserve(au, NAL_LEN_PREFIX)) return;
    au->len += NAL_LEN_PREFIX;
}

static uint8_t count_trailing_zeros(const uint8_t *p, size_t n, uint8_t carried)
{
    size_t z = 0;
    while (z < n && p[n - 1 - z] == 0 && z < 3) z++;
    size_t total = z == n ? carried + z : z;
    return (uint8_t)(total > 3 ? 3 : total);
}

void video_au_feed(struct video_au *au, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    while (p < end) {
        /* Where the next start code's 01 byte is: its zeros may have ended the previous piece. */
        const uint8_t *one = NULL;
        if (au->zeros >= 2 && p[0] == 1) {
            one = p;
        } else if (au->zeros >= 1 && end - p >= 2 && p[0] == 0 && p[1] == 1) {
            one = p + 1;
        } else {
            int sc_len = 0;
            const uint8_t *sc = annexb_find_start_code(p, end, &sc_len);
            if (sc) one = sc + sc_len - 1;
        }
        if (!one) {
            append(au, p, (size_t)(end - p));
            au->zeros = count_trailing_zeros(p, (size_t)(end - p), au->zeros);
            return;
        }
        append(au, p, (size_t)(one - p)); /* the zeros before the 01 are trimmed by end_nal() */
        if (au->in_nal) end_nal(au);
        begin_nal(au);
        au->zeros = 0;
        p = one + 1;
    }
}

enum video_au_result video_au_finish(struct video_au *au, struct media_frame *out)
{
    if (au->in_nal) end_nal(au);
    enum video_au_result r = VIDEO_AU_FRAME;
    if (au->overflow)
        r = VIDEO_AU_OVERSIZE;
    else if (au->len == 0)
        r = VIDEO_AU_EMPTY;
    else if (au->codec == CODEC_NONE)
        r = VIDEO_AU_NO_CODEC;
    if (r != VIDEO_AU_FRAME) {
        reset_unit(au); /* the region is simply reused by the next unit */
        return r;
    }
    memset(out, 0, sizeof *out);
    out->buf = gbuf_ref(au->buf);
    out->off = au->base + FRAME_HEADROOM;
    out->len = au->len;
    out->codec = au->codec;
    out->key = au->key;
    out->has_params = au->has_params;
    size_t end = (size_t)out->off + au->len + FRAME_TAILROOM;
    end = (end + REGION_ALIGN - 1) & ~(size_t)(REGION_ALIGN - 1);
    au->chunk_used = end < au->chunk_cap ? (uint32_t)end : au->chunk_cap;
    au->avg_frame = au->avg_frame ? au->avg_frame - au->avg_frame / 8 + au->len / 8 : au->len;
    if (au->key) au->key_frame = au->len; /* the next keyframe gets room for this much (reserve()) */
    reset_unit(au);
    return VIDEO_AU_FRAME;
}

bool video_au_discard(struct video_au *au)
{
    bool had = au->len > 0 || au->overflow;
    reset_unit(au);
    return had;
}
