/*
 * Decoders for what FLV tags carry (API in flv_reader.h): the video and audio tag headers (legacy FLV,
 * the Chinese HEVC codec id 12, enhanced-RTMP ExVideoTagHeader), the AVC/HEVC decoder configuration records
 * and the AAC AudioSpecificConfig. Every read is bounds-checked against the length given; results point
 * into the input or are copied into the fixed arrays of struct media_track (oversized sets are refused).
 */
#include "relay/flv_reader.h"

#include <errno.h>
#include <string.h>

#include "media/h26x.h"

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define FOURCC_AVC1        FOURCC('a', 'v', 'c', '1')
#define FOURCC_HVC1        FOURCC('h', 'v', 'c', '1')
enum { EX_SEQUENCE_START = 0, EX_CODED_FRAMES = 1, EX_SEQUENCE_END = 2, EX_CODED_FRAMES_X = 3 };

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int32_t get_si24(const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v & 0x800000) ? (int32_t)v - 0x1000000 : (int32_t)v;
}

/* Enhanced RTMP v1: [IsExHeader|FrameType(3)|PacketType(4)] FourCC, then SI24 cts for CodedFrames of
 * AVC/HEVC only (other codecs have no composition time). */
static int parse_enhanced(const uint8_t *b, size_t len, struct flv_video_tag *out)
{
    if (len < 5) return -EBADMSG;
    uint8_t packet_type = b[0] & 0x0f;
    out->enhanced = true;
    out->fourcc = get_u32(b + 1);
    out->codec = out->fourcc == FOURCC_HVC1   ? CODEC_H265
                 : out->fourcc == FOURCC_AVC1 ? CODEC_H264
                                              : CODEC_NONE;
    size_t hdr = 5;
    switch (packet_type) {
    case EX_SEQUENCE_START: out->packet = FLV_VIDEO_SEQUENCE_HEADER; break;
    case EX_CODED_FRAMES:
        out->packet = FLV_VIDEO_FRAME;
        if (out->codec != CODEC_NONE) {
            if (len < 8) return -EBADMSG;
            out->cts_ms = get_si24(b + 5);
            hdr = 8;
        }
        break;
    case EX_CODED_FRAMES_X: out->packet = FLV_VIDEO_FRAME; break;
    case EX_SEQUENCE_END: out->packet = FLV_VIDEO_END_OF_SEQUENCE; break;
    default: out->packet = FLV_VIDEO_OTHER; break; /* metadata, MPEG-2 TS sequence start, reserved */
    }
    if (out->codec == CODEC_NONE || out->frame_type == 5) out->packet = FLV_VIDEO_OTHER;
    out->data = b + hdr;
    out->len = (uint32_t)(len - hdr);
    return 0;
}

int flv_parse_video_tag(const uint8_t *b, size_t len, struct flv_video_tag *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1) return -EBADMSG;
    out->frame_type = (b[0] >> 4) & 0x07;
    if (b[0] & 0x80) return parse_enhanced(b, len, out);
    out->codec_id = b[0] & 0x0f;
    bool avc_style = out->codec_id == 7 || out->codec_id == 12;
    if (!avc_style || out->frame_type == 5) { /* another codec, or a video info/command frame */
        out->packet = FLV_VIDEO_OTHER;
        out->data = b + 1;
        out->len = (uint32_t)(len - 1);
        return 0;
    }
    if (len < 5) return -EBADMSG;
    out->codec = out->codec_id == 7 ? CODEC_H264 : CODEC_H265;
    out->cts_ms = get_si24(b + 2);
    switch (b[1]) {
    case 0: out->packet = FLV_VIDEO_SEQUENCE_HEADER; break;
    case 1: out->packet = FLV_VIDEO_FRAME; break;
    case 2: out->packet = FLV_VIDEO_END_OF_SEQUENCE; break;
    default: out->packet = FLV_VIDEO_OTHER; break;
    }
    out->data = b + 5;
    out->len = (uint32_t)(len - 5);
    return 0;
}

int flv_parse_audio_tag(const uint8_t *b, size_t len, struct flv_audio_tag *out)
{
    memset(out, 0, sizeof *out);
    if (len < 1) return -EBADMSG;
    out->sound_format = b[0] >> 4;
    out->sound_rate = (b[0] >> 2) & 3;
    out->sound_size = (b[0] >> 1) & 1;
    out->sound_type = b[0] & 1;
    size_t hdr = 1;
    switch (out->sound_format) {
    case 10:
        if (len < 2) return -EBADMSG;
        out->codec = CODEC_AAC;
        out->sequence_header = b[1] == 0;
        hdr = 2;
        break;
    case 7: out->codec = CODEC_G711A; break;
    case 8: out->codec = CODEC_G711U; break;
    case 2:
    case 14: out->codec = CODEC_MP3; break;
    default: out->codec = CODEC_NONE; break;
    }
    out->data = b + hdr;
    out->len = (uint32_t)(len - hdr);
    return 0;
}

/* Copies a parameter set into one of the track's fixed arrays (first one wins). */
static int keep_param(uint8_t *dst, uint16_t *dst_len, const uint8_t *nal, uint16_t len)
{
    if (*dst_len) return 0;
    if (len == 0 || len > TRACK_PARAM_MAX) return -EBADMSG;
    memcpy(dst, nal, len);
    *dst_len = len;
    return 0;
}

/* One list of "count x (u16 length, NAL)" starting at *pos; keeps the first unit in dst. */
static int read_nal_list(const uint8_t *rec, size_t len, size_t *pos, unsigned count, uint8_t *dst,
                         uint16_t *dst_len)
{
    for (unsigned i = 0; i < count; i++) {
        if (len - *pos < 2) return -EBADMSG;
        uint16_t n = get_u16(rec + *pos);
        if (len - *pos - 2 < n) return -EBADMSG;
        if (dst && keep_param(dst, dst_len, rec + *pos + 2, n) != 0) return -EBADMSG;
        *pos += 2 + (size_t)n;
    }
    return 0;
}

static int decode_avcc(const uint8_t *rec, size_t len, struct media_track *t, uint8_t *length_size)
{
    if (len < 7 || rec[0] != 1) return -EBADMSG;
    *length_size = (rec[4] & 3) + 1;
    size_t pos = 6;
    int err = read_nal_list(rec, len, &pos, rec[5] & 0x1f, t->sps, &t->sps_len);
    if (err) return err;
    if (pos >= len) return -EBADMSG;
    unsigned num_pps = rec[pos++];
    err = read_nal_list(rec, len, &pos, num_pps, t->pps, &t->pps_len);
    if (err) return err;
    /* Anything after (the High-profile chroma/bit-depth extension) repeats what the SPS says. */
    if (!t->sps_len || !t->pps_len) return -EBADMSG;
    struct h264_sps_info sps;
    if (h264_parse_sps(t->sps, t->sps_len, &sps) != 0) return -EINVAL;
    t->width = sps.width;
    t->height = sps.height;
    t->fps_num = sps.fps_num;
    t->fps_den = sps.fps_den;
    return 0;
}

static int decode_hvcc(const uint8_t *rec, size_t len, struct media_track *t, uint8_t *length_size)
{
    if (len < 23 || rec[0] != 1) return -EBADMSG;
    *length_size = (rec[21] & 3) + 1;
    unsigned num_arrays = rec[22];
    size_t pos = 23;
    for (unsigned i = 0; i < num_arrays; i++) {
        if (len - pos < 3) return -EBADMSG;
        uint8_t type = rec[pos] & 0x3f;
        unsigned count = get_u16(rec + pos + 1);
        pos += 3;
        uint8_t *dst = NULL;
        uint16_t *dst_len = NULL;
        if (type == H265_NAL_VPS) dst = t->vps, dst_len = &t->vps_len;
        if (type == H265_NAL_SPS) dst = t->sps, dst_len = &t->sps_len;
        if (type == H265_NAL_PPS) dst = t->pps, dst_len = &t->pps_len;
        int err = read_nal_list(rec, len, &pos, count, dst, dst_len);
        if (err) return err;
    }
    if (!t->vps_len || !t->sps_len || !t->pps_len) return -EBADMSG;
    struct h265_sps_info sps;
    if (h265_parse_sps(t->sps, t->sps_len, &sps) != 0) return -EINVAL;
    t->width = sps.width;
    t->height = sps.height;
    t->fps_num = sps.fps_num;
    t->fps_den = sps.fps_den;
    return 0;
}

int flv_video_config_decode(enum codec_id codec, const uint8_t *record, size_t len, struct media_track *track,
                            uint8_t *nal_length_size)
{
    uint8_t length_size = 0;
    memset(track, 0, sizeof *track);
    track->codec = codec;
    int err = codec == CODEC_H264   ? decode_avcc(record, len, track, &length_size)
              : codec == CODEC_H265 ? decode_hvcc(record, len, track, &length_size)
                                    : -ENOTSUP;
    if (err == 0 && length_size == 3) err = -EBADMSG; /* lengthSizeMinusOne 2 is forbidden */
    if (err) {
        memset(track, 0, sizeof *track);
        return err;
    }
    if (nal_length_size) *nal_length_size = length_size;
    return 0;
}

/* MSB-first bit reader over a short array; reading past the end sets `overrun`. */
struct bits {
    const uint8_t *p;
    size_t len, pos;
    bool overrun;
};

static uint32_t bits_get(struct bits *b, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (b->pos >= b->len * 8) {
            b->overrun = true;
            return 0;
        }
        v = v << 1 | ((b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1);
        b->pos++;
    }
    return v;
}

int aac_asc_parse(const uint8_t *asc, size_t len, uint32_t *sample_rate, uint8_t *channels)
{
    static const uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000,  7350};
    struct bits b = {asc, len, 0, false};
    uint32_t object_type = bits_get(&b, 5);
    if (object_type == 31) object_type = 32 + bits_get(&b, 6);
    uint32_t index = bits_get(&b, 4);
    uint32_t rate = index == 15 ? bits_get(&b, 24) : index < 13 ? rates[index] : 0;
    uint32_t channel_config = bits_get(&b, 4);
    if (b.overrun || object_type == 0 || rate == 0 || channel_config > 7) return -EBADMSG;
    *sample_rate = rate;
    *channels = (uint8_t)(channel_config == 7 ? 8 : channel_config); /* 7 means 7.1 */
    return 0;
}

int flv_audio_config_decode(const struct flv_audio_tag *tag, struct media_track *track)
{
    memset(track, 0, sizeof *track);
    switch (tag->codec) {
    case CODEC_AAC:
        if (!tag->sequence_header) return -ENOTSUP;
        if (aac_asc_parse(tag->data, tag->len, &track->sample_rate, &track->channels) != 0) return -EBADMSG;
        if (tag->len <= sizeof track->asc) { /* a longer one is not kept rather than kept cut */
            track->asc_len = (uint8_t)tag->len;
            memcpy(track->asc, tag->data, tag->len);
        }
        break;
    case CODEC_G711A:
    case CODEC_G711U: /* FLV defines codecs 7 and 8 as 8 kHz whatever the rate field says */
        track->sample_rate = 8000;
        track->channels = tag->sound_type ? 2 : 1;
        break;
    default: return -ENOTSUP;
    }
    track->codec = tag->codec;
    return 0;
}

int flv_nal_next(const uint8_t *data, size_t len, uint8_t length_size, size_t *pos, const uint8_t **nal,
                 uint32_t *nal_len)
{
    if (*pos >= len) return 0;
    if (length_size < 1 || length_size > 4 || len - *pos < length_size) return -EBADMSG;
    uint32_t n = 0;
    for (unsigned i = 0; i < length_size; i++) n = n << 8 | data[*pos + i];
    if (len - *pos - length_size < n) return -EBADMSG;
    *nal = data + *pos + length_size;
    *nal_len = n;
    *pos += length_size + (size_t)n;
    return 1;
}
