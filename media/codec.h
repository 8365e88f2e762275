/*
 * The one codec enum of the program, shared by PS, RTP payloads, FLV, RTMP and the API
 * (the ireader/media-server idea of a single stream-type vocabulary).
 */
#ifndef GB_MEDIA_CODEC_H
#define GB_MEDIA_CODEC_H

#include <stdbool.h>
#include <stdint.h>

enum codec_id {
    CODEC_NONE = 0,
    CODEC_H264,
    CODEC_H265,
    CODEC_MPEG4V, /* recognised and reported, not remuxed */
    CODEC_SVAC,   /* recognised and reported, not remuxed */
    CODEC_AAC,
    CODEC_G711A,
    CODEC_G711U,
    CODEC_G722,
    CODEC_G723,
    CODEC_G729,
    CODEC_OPUS,
    CODEC_MP3,
};

static inline bool codec_is_video(enum codec_id c)
{
    return c == CODEC_H264 || c == CODEC_H265 || c == CODEC_MPEG4V || c == CODEC_SVAC;
}
static inline bool codec_is_audio(enum codec_id c)
{
    return c >= CODEC_AAC;
}
static inline bool codec_is_g711(enum codec_id c)
{
    return c == CODEC_G711A || c == CODEC_G711U;
}
/* Sample rate of a headerless speech codec (G.711, G.722, G.723, G.729), 0 for every other codec. */
uint32_t codec_fixed_sample_rate(enum codec_id c);
/* Lower-case name for the API ("h264", "h265", "aac", "g711a", ...). */
const char *codec_name(enum codec_id c);
/* MPEG-PS/TS stream_type (PSM) -> codec; CODEC_NONE when unknown. GB28181.md section 6. */
enum codec_id codec_from_ps_stream_type(uint8_t stream_type);
uint8_t codec_to_ps_stream_type(enum codec_id c);

#endif
