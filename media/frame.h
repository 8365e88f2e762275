/*
 * The one frame type: a complete access unit (video) or audio frame, contiguous in a pooled buffer. Video
 * frames share their buffer (a chunk, media/video_au.h) with the stream's neighbouring frames; a frame owns
 * only its own region of it, and must never write outside that region.
 *
 * Layout of a frame's region in frame->buf->data:   [ headroom | payload (off..off+len) | tailroom ]
 * The headroom and tailroom let relay/flv turn the frame into a complete FLV tag in place (tag header and
 * codec header written before the payload, PreviousTagSize after it), so a frame is copied once, from the
 * network into this buffer, and every viewer sends these same bytes.
 *
 * Payload format:
 *  - H.264 / H.265: NAL units each preceded by a 4-byte big-endian length (AVCC/HVCC style, no start codes).
 *    Parameter sets (SPS/PPS/VPS) and SEI stay in band; AUD NAL units are dropped.
 *  - AAC: one raw access unit (ADTS header removed).
 *  - G.711 and other audio: the raw codec bytes.
 */
#ifndef GB_MEDIA_FRAME_H
#define GB_MEDIA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "media/codec.h"

#define FRAME_HEADROOM 32 /* >= FLV tag header (11) + largest codec header (8, enhanced HEVC) */
#define FRAME_TAILROOM 8  /* >= FLV PreviousTagSize (4) */

struct media_frame {
    struct gbuf *buf;  /* owned reference */
    uint32_t off, len; /* payload position within buf->data */
    enum codec_id codec;
    int64_t pts, dts; /* 90 kHz, unwrapped (monotonic across the 33-bit wrap), not rebased */
    bool key;         /* video: IDR/IRAP access unit; audio: always true */
    bool has_params;  /* video: SPS (and PPS/VPS) present in this access unit */
};

/* What is known about one elementary stream; sent again whenever it changes (new SPS, new sample rate). */
#define TRACK_PARAM_MAX 512
struct media_track {
    enum codec_id codec;
    /* video */
    uint32_t width, height;
    uint32_t fps_num, fps_den; /* from SPS VUI timing, 0 when absent */
    uint16_t vps_len, sps_len, pps_len;
    uint8_t vps[TRACK_PARAM_MAX], sps[TRACK_PARAM_MAX], pps[TRACK_PARAM_MAX]; /* NAL units, header included */
    /* audio */
    uint32_t sample_rate;
    uint8_t channels;
    uint8_t asc_len;
    uint8_t asc[8]; /* AAC AudioSpecificConfig */
};

/* Releases the frame's buffer and clears it. */
static inline void media_frame_release(struct media_frame *f)
{
    gbuf_unref(f->buf);
    f->buf = NULL;
    f->len = 0;
}

#endif
