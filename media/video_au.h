/*
 * Incremental Annex-B -> length-prefixed access-unit builder for H.264/H.265.
 *
 * The PS demuxer feeds it PES payload bytes in whatever pieces the network delivered. Each byte is copied
 * once, straight into the pooled frame buffer (frame.h layout: FRAME_HEADROOM free bytes, then the payload,
 * then FRAME_TAILROOM), while start codes are found on the fly, including start codes split across pieces.
 * A start code's zero bytes are copied like any other byte and taken back when the 01 arrives (a NAL unit
 * never ends in a zero byte, so trailing zeros are start-code or trailing_zero_8bits bytes); the four bytes
 * it leaves become the NAL unit's big-endian length once the unit ends.
 *
 * At each NAL unit end: AUD units are dropped; SPS/PPS/VPS are compared with the ones recorded in the
 * caller's media_track and copied there when they changed (the SPS is parsed for size and frame rate);
 * IDR (H.264) / IRAP 16..23 (H.265) mark the unit a keyframe. With no codec given (no PSM), the first NAL
 * header that only one of the two codecs can produce decides; a conclusive header that contradicts the
 * codec given (a PSM that lies) switches codecs. Units of the access unit that came before the deciding
 * one were read under the wrong (or no) codec and are dropped.
 *
 * Where an access unit ends is the caller's decision (PTS change, RTP marker, flush): video_au_finish().
 * Frames over max_frame are dropped whole.
 *
 * Frame buffers are carved one after another out of a chunk owned by the builder (each frame holds a
 * reference to its chunk; out->off says where its payload starts), instead of one buffer per frame sized from
 * a guess: a GOP cache holds a whole GOP, so per-frame slack and the heap churn of freeing frames of every
 * size at each keyframe were memory per stream (docs/PERFORMANCE.md, memory). A chunk holds about
 * CHUNK_FRAMES average frames (16-256 KiB), so chunks are few, alike in size and recycled by the pools. A
 * frame that outgrows its chunk moves to a new one (a copy of what was written so far); a keyframe moves
 * early, after its parameter sets, to a chunk with room for the last keyframe's size.
 */
#ifndef GB_MEDIA_VIDEO_AU_H
#define GB_MEDIA_VIDEO_AU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/frame.h"

struct video_au {
    enum codec_id codec;       /* CODEC_H264, CODEC_H265, or CODEC_NONE while unknown */
    uint32_t max_frame;        /* payload bytes */
    struct media_track *track; /* parameter sets are recorded here (owned by the caller) */
    bool params_changed;       /* track's VPS/SPS/PPS (or codec) changed; the caller clears it */

    /* frame memory: the chunk frames are carved from (the builder's own reference) */
    struct gbuf *buf;
    uint32_t chunk_used; /* bytes of buf->data taken by finished frames */
    uint32_t chunk_cap;  /* buf->cap, kept here: the chunk's header is a cache miss per frame */
    uint32_t avg_frame;  /* running average payload size: sizes the next chunk */
    uint32_t key_frame;  /* payload size of the last keyframe: room reserved for the next one */

    /* the access unit being built: [headroom | payload | tailroom] at buf->data + base */
    bool open;     /* a frame region is open at base */
    uint32_t base; /* start of the region (its headroom) in buf->data */
    uint32_t len;  /* payload bytes written after the headroom */
    bool key, has_params, overflow;
    bool key_room; /* room for a keyframe was checked for this unit */

    /* Annex-B scanning */
    bool in_nal;      /* a start code was seen in this unit: bytes belong to a NAL unit */
    uint8_t zeros;    /* zero bytes at the end of what was fed (capped at 3) */
    uint32_t nal_off; /* payload offset of the current NAL unit's length prefix */
};

enum video_au_result {
    VIDEO_AU_EMPTY = 0,     /* nothing to emit (no NAL unit, or only AUDs) */
    VIDEO_AU_FRAME = 1,     /* *out holds a frame */
    VIDEO_AU_OVERSIZE = -1, /* dropped: larger than max_frame */
    VIDEO_AU_NO_CODEC = -2, /* dropped: neither a PSM nor the NAL headers told H.264 from H.265 */
};

/* codec may be CODEC_NONE (guess from the NAL headers). track must outlive the builder. */
void video_au_init(struct video_au *au, enum codec_id codec, size_t max_frame, struct media_track *track);
/* Releases the chunk (finished frames keep their own references) and any unfinished unit. */
void video_au_destroy(struct video_au *au);

/* Appends ES bytes of the current access unit (any split). */
void video_au_feed(struct video_au *au, const uint8_t *data, size_t len);
/* True when bytes have been fed since the last finish/discard. */
bool video_au_pending(const struct video_au *au);

/* Ends the access unit. On VIDEO_AU_FRAME, out->buf/off/len/codec/key/has_params are set (pts/dts are the
 * caller's: set to 0) and the caller owns a reference to out->buf, the chunk, which later frames share: the
 * frame owns only [off - FRAME_HEADROOM, off + len + FRAME_TAILROOM) of it. */
enum video_au_result video_au_finish(struct video_au *au, struct media_frame *out);
/* Drops the access unit being built; returns true when it held any NAL unit. */
bool video_au_discard(struct video_au *au);

/* The codec only one of H.264 / H.265 could have written this NAL header (2 bytes), else CODEC_NONE:
 * H.264 SPS (nal_ref_idc != 0) and AUD; H.265 VPS/SPS/PPS/AUD of layer 0, temporal id 0. */
enum codec_id video_au_guess_codec(const uint8_t *nal, size_t len);

#endif
