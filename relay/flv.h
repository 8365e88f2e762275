/*
 * FLV tag writer, written in-house because FFmpeg 5.1's muxer refuses HEVC (see ../shared/DEPENDENCIES.md).
 *
 * Tags are built once per frame, in place in the frame's own buffer (media/frame.h headroom/tailroom), and
 * shared by every viewer (HTTP-FLV, WS-FLV, RTMP, relays). A "tag" here always means the complete bytes:
 * 11-byte tag header + body + 4-byte PreviousTagSize.
 *
 * Video: H.264 as AVC (codec id 7); H.265 as enhanced RTMP (FourCC 'hvc1', ExVideoTagHeader) by default, or
 * the legacy codec id 12 used by Chinese players. Audio: AAC (10), G.711 A-law (7) / mu-law (8) as-is.
 */
#ifndef GB_RELAY_FLV_H
#define GB_RELAY_FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/frame.h"

enum flv_hevc_mode { FLV_HEVC_ENHANCED = 0, FLV_HEVC_LEGACY12 = 1 };

enum flv_tag_type { FLV_TAG_AUDIO = 8, FLV_TAG_VIDEO = 9, FLV_TAG_SCRIPT = 18 };

/* A complete tag held by reference: bytes buf->data[off .. off+len). */
struct flv_tag {
    struct gbuf *buf;
    uint32_t off, len;
    uint32_t ts_ms;
    uint8_t type; /* enum flv_tag_type */
    bool key;     /* video keyframe (or sequence header / metadata) */
};

/* The 13-byte file header ("FLV", version 1, flags, header size 9, PreviousTagSize0 = 0). */
void flv_file_header(uint8_t out[13], bool has_video, bool has_audio);

/* Turns `frame` into a complete tag in place. ts_ms: the tag's DTS in ms; cts_ms: PTS - DTS in ms.
 * On success the frame's buffer reference moves into `tag` (frame->buf becomes NULL).
 * Returns 0, or -EINVAL for a codec FLV cannot carry (the frame is left untouched). */
int flv_tag_from_frame(struct media_frame *frame, uint32_t ts_ms, int32_t cts_ms, enum flv_hevc_mode mode,
                       struct flv_tag *tag);

/* Sequence headers: AVCDecoderConfigurationRecord, HEVCDecoderConfigurationRecord (from VPS/SPS/PPS in the
 * track), AAC AudioSpecificConfig. Return 0 and a new tag, or -EINVAL when the track lacks what is needed. */
int flv_video_sequence_header(const struct media_track *video, uint32_t ts_ms, enum flv_hevc_mode mode,
                              struct flv_tag *tag);
int flv_audio_sequence_header(const struct media_track *audio, uint32_t ts_ms, struct flv_tag *tag);
/* onMetaData script tag (width, height, framerate, videocodecid, audiocodecid, audiosamplerate, ...).
 * Either track may be NULL. */
int flv_metadata(const struct media_track *video, const struct media_track *audio, enum flv_hevc_mode mode,
                 struct flv_tag *tag);

static inline void flv_tag_release(struct flv_tag *t)
{
    gbuf_unref(t->buf);
    t->buf = NULL;
}

#endif
