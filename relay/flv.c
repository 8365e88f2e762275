/*
 * FLV tag writer (contract in flv.h).
 *
 * Media tags are built in place: the 11-byte tag header and the codec header (1..8 bytes) are written
 * backwards into the frame's headroom, the 4-byte PreviousTagSize into its tailroom, so the complete tag is
 * one contiguous span of the frame's own buffer and the payload is never copied. Sequence headers and
 * onMetaData are rare, so they get a buffer of their own.
 *
 * Byte layouts follow the FLV spec v10.1 and veovera's enhanced-RTMP v1; where the spec is vague the choice
 * is what FFmpeg's flvenc writes, so that players tested against FFmpeg output accept ours:
 *  - AAC audio byte 0xAF (AAC, "44 kHz", 16-bit, "stereo": the spec fixes these for AAC);
 *  - G.711 0x72 (A-law) / 0x82 (mu-law): the rate field says 5.5 kHz, which for codecs 7/8 means 8 kHz;
 *  - avcC carries the chroma/bit-depth extension for every profile but Baseline/Main/Extended.
 * Audio tags are never marked key: a viewer that skips to a keyframe looks at video tags only.
 */
#include "relay/flv.h"

#include <errno.h>
#include <string.h>

#include "media/h26x.h"
#include "relay/amf0.h"

#define TAG_HEADER_LEN  11
#define PREV_SIZE_LEN   4
#define TAG_DATA_MAX    0xffffffu /* DataSize is 24 bits */
#define SI24_MIN        (-8388608)
#define SI24_MAX        8388607
#define FLV_AVC         7
#define FLV_HEVC_ID12   12
#define FLV_AUDIO_AAC   0xaf
#define FLV_AUDIO_ALAW  0x72
#define FLV_AUDIO_MULAW 0x82
#define FOURCC_HVC1     0x68766331u /* 'h' 'v' 'c' '1' */
#define EX_HEADER       0x80        /* IsExHeader bit of the enhanced-RTMP video byte */
enum { EX_SEQUENCE_START = 0, EX_CODED_FRAMES = 1, EX_CODED_FRAMES_X = 3 };
enum { AVC_SEQUENCE_HEADER = 0, AVC_NALU = 1 };
enum { FRAME_TYPE_KEY = 1, FRAME_TYPE_INTER = 2 };

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    put_u24(p + 1, v);
}

static uint32_t si24(int32_t v)
{
    if (v < SI24_MIN) v = SI24_MIN;
    if (v > SI24_MAX) v = SI24_MAX;
    return (uint32_t)v & 0xffffff;
}

void flv_file_header(uint8_t out[13], bool has_video, bool has_audio)
{
    static const uint8_t sig[] = {'F', 'L', 'V', 1};
    memcpy(out, sig, sizeof sig);
    out[4] = (uint8_t)((has_audio ? 0x04 : 0) | (has_video ? 0x01 : 0));
    put_u32(out + 5, 9);
    put_u32(out + 9, 0);
}

/* Tag header at p; the timestamp is 24 bits plus an 8-bit extension holding bits 24..31. StreamID is 0. */
static void put_tag_header(uint8_t *p, uint8_t type, uint32_t data_size, uint32_t ts_ms)
{
    p[0] = type;
    put_u24(p + 1, data_size);
    put_u24(p + 4, ts_ms & 0xffffff);
    p[7] = (uint8_t)(ts_ms >> 24);
    put_u24(p + 8, 0);
}

/* The codec header that precedes a media payload. Returns its length, or -EINVAL for a codec FLV cannot
 * carry. */
static int codec_header(const struct media_frame *f, int32_t cts_ms, enum flv_hevc_mode mode, uint8_t out[8])
{
    uint8_t frame_type = f->key ? FRAME_TYPE_KEY : FRAME_TYPE_INTER;
    switch (f->codec) {
    case CODEC_H264:
    case CODEC_H265:
        if (f->codec == CODEC_H265 && mode == FLV_HEVC_ENHANCED) {
            /* CodedFramesX omits the composition time when it is zero (saves 3 bytes per frame). */
            bool with_cts = cts_ms != 0;
            out[0] =
                (uint8_t)(EX_HEADER | frame_type << 4 | (with_cts ? EX_CODED_FRAMES : EX_CODED_FRAMES_X));
            put_u32(out + 1, FOURCC_HVC1);
            if (!with_cts) return 5;
            put_u24(out + 5, si24(cts_ms));
            return 8;
        }
        out[0] = (uint8_t)(frame_type << 4 | (f->codec == CODEC_H264 ? FLV_AVC : FLV_HEVC_ID12));
        out[1] = AVC_NALU;
        put_u24(out + 2, si24(cts_ms));
        return 5;
    case CODEC_AAC:
        out[0] = FLV_AUDIO_AAC;
        out[1] = 1; /* AACPacketType: raw */
        return 2;
    case CODEC_G711A: out[0] = FLV_AUDIO_ALAW; return 1;
    case CODEC_G711U: out[0] = FLV_AUDIO_MULAW; return 1;
    default: return -EINVAL;
    }
}

int flv_tag_from_frame(struct media_frame *frame, uint32_t ts_ms, int32_t cts_ms, enum flv_hevc_mode mode,
                       struct flv_tag *tag)
{
    uint8_t hdr[8];
    int hdr_len = codec_header(frame, cts_ms, mode, hdr);
    if (hdr_len < 0 || !frame->buf) return -EINVAL;
    /* The producer promises FRAME_HEADROOM / FRAME_TAILROOM; check rather than trust, since a violation would
     * write outside the buffer. */
    size_t front = TAG_HEADER_LEN + (size_t)hdr_len;
    if (frame->off < front || (size_t)frame->off + frame->len + PREV_SIZE_LEN > frame->buf->cap)
        return -ENOSPC;
    if ((size_t)hdr_len + frame->len > TAG_DATA_MAX) return -EMSGSIZE;

    uint32_t data_size = (uint32_t)hdr_len + frame->len;
    uint8_t *start = frame->buf->data + frame->off - front;
    bool video = codec_is_video(frame->codec);
    put_tag_header(start, video ? FLV_TAG_VIDEO : FLV_TAG_AUDIO, data_size, ts_ms);
    memcpy(start + TAG_HEADER_LEN, hdr, (size_t)hdr_len);
    put_u32(frame->buf->data + frame->off + frame->len, TAG_HEADER_LEN + data_size);

    tag->buf = frame->buf;
    tag->off = frame->off - (uint32_t)front;
    tag->len = TAG_HEADER_LEN + data_size + PREV_SIZE_LEN;
    tag->ts_ms = ts_ms;
    tag->type = video ? FLV_TAG_VIDEO : FLV_TAG_AUDIO;
    tag->key = video && frame->key;
    frame->buf = NULL;
    frame->len = 0;
    return 0;
}

/* A new buffer holding a tag of `body_len` body bytes; the caller fills the body at buf->data + 11. */
static uint8_t *new_tag(struct flv_tag *tag, uint8_t type, size_t body_len, uint32_t ts_ms)
{
    tag->buf = gbuf_alloc(TAG_HEADER_LEN + body_len + PREV_SIZE_LEN);
    tag->off = 0;
    tag->len = (uint32_t)(TAG_HEADER_LEN + body_len + PREV_SIZE_LEN);
    tag->ts_ms = ts_ms;
    tag->type = type;
    tag->key = true;
    uint8_t *p = tag->buf->data;
    put_tag_header(p, type, (uint32_t)body_len, ts_ms);
    put_u32(p + TAG_HEADER_LEN + body_len, (uint32_t)(TAG_HEADER_LEN + body_len));
    return p + TAG_HEADER_LEN;
}

/* AVCDecoderConfigurationRecord (ISO 14496-15 5.3.3.1). Returns its length (out must hold
 * 11 + 4 + sps_len + pps_len bytes), or -EINVAL. */
static int build_avcc(const struct media_track *t, uint8_t *out)
{
    struct h264_sps_info sps;
    if (t->sps_len < 4 || t->pps_len < 1 || h264_parse_sps(t->sps, t->sps_len, &sps) != 0) return -EINVAL;
    uint8_t *p = out;
    *p++ = 1; /* configurationVersion */
    *p++ = sps.profile_idc;
    *p++ = sps.constraint_flags;
    *p++ = sps.level_idc;
    *p++ = 0xfc | 3; /* lengthSizeMinusOne = 3: our payloads use 4-byte lengths */
    *p++ = 0xe0 | 1; /* one SPS */
    put_u16(p, t->sps_len);
    memcpy(p + 2, t->sps, t->sps_len);
    p += 2 + t->sps_len;
    *p++ = 1; /* one PPS */
    put_u16(p, t->pps_len);
    memcpy(p + 2, t->pps, t->pps_len);
    p += 2 + t->pps_len;
    if (sps.profile_idc != 66 && sps.profile_idc != 77 && sps.profile_idc != 88) {
        *p++ = (uint8_t)(0xfc | (sps.chroma_format_idc & 3));
        *p++ = (uint8_t)(0xf8 | ((sps.bit_depth_luma - 8) & 7));
        *p++ = (uint8_t)(0xf8 | ((sps.bit_depth_chroma - 8) & 7));
        *p++ = 0; /* no SPS extensions */
    }
    return (int)(p - out);
}

static uint8_t *put_hvcc_array(uint8_t *p, uint8_t nal_type, const uint8_t *nal, uint16_t len)
{
    *p++ = (uint8_t)(0x80 | nal_type); /* array_completeness 1: no other parameter sets arrive in band */
    put_u16(p, 1);
    put_u16(p + 2, len);
    memcpy(p + 4, nal, len);
    return p + 4 + len;
}

/* HEVCDecoderConfigurationRecord (ISO 14496-15 8.3.3.1). Returns its length (out must hold
 * 23 + 3 * 5 + vps_len + sps_len + pps_len bytes), or -EINVAL. */
static int build_hvcc(const struct media_track *t, uint8_t *out)
{
    struct h265_sps_info sps;
    if (t->vps_len < 2 || t->sps_len < 2 || t->pps_len < 2 || h265_parse_sps(t->sps, t->sps_len, &sps) != 0)
        return -EINVAL;
    uint8_t *p = out;
    *p++ = 1; /* configurationVersion */
    *p++ = (uint8_t)((sps.general_profile_space & 3) << 6 | (sps.general_tier_flag ? 0x20 : 0) |
                     (sps.general_profile_idc & 0x1f));
    put_u32(p, sps.general_profile_compatibility_flags);
    p += 4;
    for (int i = 5; i >= 0; i--) *p++ = (uint8_t)(sps.general_constraint_indicator_flags >> (8 * i));
    *p++ = sps.general_level_idc;
    put_u16(p, 0xf000 | (sps.min_spatial_segmentation_idc & 0x0fff));
    p += 2;
    *p++ =
        0xfc; /* parallelismType 0 (unknown): always allowed, and what FFmpeg writes without a segmentation */
    *p++ = (uint8_t)(0xfc | (sps.chroma_format_idc & 3));
    *p++ = (uint8_t)(0xf8 | ((sps.bit_depth_luma - 8) & 7));
    *p++ = (uint8_t)(0xf8 | ((sps.bit_depth_chroma - 8) & 7));
    put_u16(p, 0); /* avgFrameRate: unspecified */
    p += 2;
    /* constantFrameRate 0 | numTemporalLayers | temporalIdNested | lengthSizeMinusOne 3 */
    *p++ = (uint8_t)((sps.max_sub_layers & 7) << 3 | (sps.temporal_id_nesting ? 0x04 : 0) | 3);
    *p++ = 3; /* numOfArrays */
    p = put_hvcc_array(p, H265_NAL_VPS, t->vps, t->vps_len);
    p = put_hvcc_array(p, H265_NAL_SPS, t->sps, t->sps_len);
    p = put_hvcc_array(p, H265_NAL_PPS, t->pps, t->pps_len);
    return (int)(p - out);
}

int flv_video_sequence_header(const struct media_track *video, uint32_t ts_ms, enum flv_hevc_mode mode,
                              struct flv_tag *tag)
{
    uint8_t record[23 + 3 * 5 + 3 * TRACK_PARAM_MAX];
    int len;
    if (video->sps_len > TRACK_PARAM_MAX || video->pps_len > TRACK_PARAM_MAX ||
        video->vps_len > TRACK_PARAM_MAX)
        return -EINVAL;
    if (video->codec == CODEC_H264)
        len = build_avcc(video, record);
    else if (video->codec == CODEC_H265)
        len = build_hvcc(video, record);
    else
        return -EINVAL;
    if (len < 0) return len;

    uint8_t hdr[5];
    if (video->codec == CODEC_H265 && mode == FLV_HEVC_ENHANCED) {
        hdr[0] = EX_HEADER | FRAME_TYPE_KEY << 4 | EX_SEQUENCE_START;
        put_u32(hdr + 1, FOURCC_HVC1);
    } else {
        hdr[0] = FRAME_TYPE_KEY << 4 | (video->codec == CODEC_H264 ? FLV_AVC : FLV_HEVC_ID12);
        hdr[1] = AVC_SEQUENCE_HEADER;
        put_u24(hdr + 2, 0);
    }
    uint8_t *body = new_tag(tag, FLV_TAG_VIDEO, sizeof hdr + (size_t)len, ts_ms);
    memcpy(body, hdr, sizeof hdr);
    memcpy(body + sizeof hdr, record, (size_t)len);
    return 0;
}

int flv_audio_sequence_header(const struct media_track *audio, uint32_t ts_ms, struct flv_tag *tag)
{
    if (audio->codec != CODEC_AAC || audio->asc_len < 2 || audio->asc_len > sizeof audio->asc) return -EINVAL;
    uint8_t *body = new_tag(tag, FLV_TAG_AUDIO, 2 + (size_t)audio->asc_len, ts_ms);
    body[0] = FLV_AUDIO_AAC;
    body[1] = 0; /* AACPacketType: sequence header */
    memcpy(body + 2, audio->asc, audio->asc_len);
    return 0;
}

static int video_codec_id(const struct media_track *v, enum flv_hevc_mode mode)
{
    if (v->codec == CODEC_H264) return FLV_AVC;
    if (v->codec == CODEC_H265) return mode == FLV_HEVC_ENHANCED ? (int)FOURCC_HVC1 : FLV_HEVC_ID12;
    return -1;
}

static int audio_codec_id(const struct media_track *a)
{
    switch (a->codec) {
    case CODEC_AAC: return 10;
    case CODEC_G711A: return 7;
    case CODEC_G711U: return 8;
    default: return -1;
    }
}

/* onMetaData: "onMetaData" + ECMA array. The mode decides how HEVC is announced (FourCC or id 12). */
static int build_metadata(const struct media_track *video, const struct media_track *audio,
                          enum flv_hevc_mode mode, struct flv_tag *tag)
{
    if (video && video_codec_id(video, mode) < 0) video = NULL;
    if (audio && audio_codec_id(audio) < 0) audio = NULL;
    bool has_fps = video && video->fps_num && video->fps_den;
    uint32_t count = 2 + (video ? 3 + has_fps : 0) + (audio ? 4 : 0);

    uint8_t body[512];
    struct amf0_writer w;
    amf0_writer_init(&w, body, sizeof body);
    amf0_put_string(&w, "onMetaData");
    amf0_put_ecma_array_start(&w, count);
    amf0_put_prop_number(&w, "duration", 0); /* live */
    if (video) {
        amf0_put_prop_number(&w, "width", video->width);
        amf0_put_prop_number(&w, "height", video->height);
        if (has_fps) amf0_put_prop_number(&w, "framerate", (double)video->fps_num / video->fps_den);
        amf0_put_prop_number(&w, "videocodecid", video_codec_id(video, mode));
    }
    if (audio) {
        amf0_put_prop_number(&w, "audiocodecid", audio_codec_id(audio));
        amf0_put_prop_number(&w, "audiosamplerate", audio->sample_rate);
        amf0_put_prop_number(&w, "audiosamplesize", 16);
        amf0_put_prop_boolean(&w, "stereo", audio->channels > 1);
    }
    amf0_put_prop_string(&w, "encoder", "gbgate");
    amf0_put_object_end(&w);
    int len = amf0_writer_finish(&w);
    if (len < 0) return len;
    memcpy(new_tag(tag, FLV_TAG_SCRIPT, (size_t)len, 0), body, (size_t)len);
    return 0;
}

int flv_metadata(const struct media_track *video, const struct media_track *audio, enum flv_hevc_mode mode,
                 struct flv_tag *tag)
{
    /* No mode argument in this call: HEVC is announced the default (enhanced) way. Players take the codec
     * from the video tags themselves, so a legacy-12 stream with this metadata still plays. */
    return build_metadata(video, audio, mode, tag);
}
