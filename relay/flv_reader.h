/*
 * FLV reading: an incremental parser of FLV byte streams (file header, then tags) and decoders for what is
 * inside the tags (video/audio tag headers, AVC/HEVC decoder configuration records, AAC AudioSpecificConfig).
 *
 * Used by the project's own checker (test/tools/flvinfo), the tests of the tag writer, and by servers that
 * receive FLV (RTMP publish). Shaped like the other parsers of the project: bytes in (any split, one byte at
 * a time if need be), one callback per complete tag out, no I/O, no threads. A tag that arrives whole inside
 * one input chunk is passed to the callback in place; only a tag split across chunks is assembled in the
 * reader's own buffer, which grows with the bytes that actually arrived (doubling, never past max_tag_size)
 * and is reused for every later tag.
 */
#ifndef GB_RELAY_FLV_READER_H
#define GB_RELAY_FLV_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/codec.h"
#include "media/frame.h"

/* ---- incremental parser ---- */

struct flv_reader_tag {
    uint8_t type;   /* TagType without the filter bit: 8 audio, 9 video, 18 script, others passed through */
    bool filtered;  /* Filter bit set (encrypted body) */
    uint32_t ts_ms; /* 24-bit timestamp + 8-bit extension */
    uint32_t stream_id;
    const uint8_t *data; /* the tag body (after the 11-byte header), valid during the callback only */
    uint32_t size;
    uint64_t offset; /* of the tag header from the start of the input */
};

/* Returns 0 to go on; any other value stops the reader and is returned by flv_reader_input(). */
typedef int (*flv_reader_tag_cb)(void *arg, const struct flv_reader_tag *tag);

struct flv_reader_config {
    flv_reader_tag_cb on_tag;
    void *arg;
    bool no_file_header;   /* input starts directly with a tag (e.g. the payloads of an RTMP stream) */
    bool no_prev_tag_size; /* tags are not followed by PreviousTagSize (RTMP message bodies) */
    uint32_t max_tag_size; /* larger DataSize -> -EMSGSIZE; 0 means the format's limit (16 MiB - 1) */
};

struct flv_reader_stats {
    uint64_t bytes; /* consumed */
    uint64_t tags;
    uint32_t
        prev_size_mismatches; /* PreviousTagSize != 11 + DataSize (counted, not fatal: players ignore it) */
    bool header_seen;
    bool header_audio, header_video; /* the TypeFlags of the file header */
};

struct flv_reader;

/* NULL on allocation failure. */
struct flv_reader *flv_reader_create(const struct flv_reader_config *cfg);
void flv_reader_destroy(struct flv_reader *r);
/* Feeds bytes. Returns 0; -EBADMSG (not FLV, bad header); -EMSGSIZE (tag over the limit); -ENOMEM; or the
 * non-zero value of the callback that stopped the reader. Errors are sticky: later calls return the same. */
int flv_reader_input(struct flv_reader *r, const uint8_t *data, size_t len);
/* At the end of input: 0 when the input ended on a tag boundary, -EBADMSG when it ended inside the file
 * header or a tag (a truncated tag is never delivered). */
int flv_reader_finish(const struct flv_reader *r);
/* Bytes held of an incomplete header/tag. */
size_t flv_reader_pending(const struct flv_reader *r);
const struct flv_reader_stats *flv_reader_get_stats(const struct flv_reader *r);

/* ---- tag bodies ---- */

enum flv_video_packet {
    FLV_VIDEO_SEQUENCE_HEADER, /* AVC/HEVC packet type 0, enhanced SequenceStart */
    FLV_VIDEO_FRAME,           /* NALU / CodedFrames / CodedFramesX */
    FLV_VIDEO_END_OF_SEQUENCE,
    FLV_VIDEO_OTHER, /* command frames, metadata, codecs other than H.264/H.265 */
};

struct flv_video_tag {
    enum codec_id codec; /* CODEC_H264, CODEC_H265, or CODEC_NONE for any other codec */
    bool enhanced;       /* enhanced-RTMP ExVideoTagHeader */
    uint8_t codec_id;    /* legacy CodecID (7 AVC, 12 HEVC, ...); 0 when enhanced */
    uint32_t fourcc;     /* enhanced FourCC ('hvc1' = 0x68766331); 0 when legacy */
    uint8_t frame_type;  /* 1 key, 2 inter, 3 disposable inter, 4 generated key, 5 info/command */
    enum flv_video_packet packet;
    int32_t cts_ms;      /* composition time offset (PTS - DTS) */
    const uint8_t *data; /* sequence header: the decoder configuration record; frame: length-prefixed NALs */
    uint32_t len;
};
/* Returns 0, or -EBADMSG when the body is too short for its header. */
int flv_parse_video_tag(const uint8_t *body, size_t len, struct flv_video_tag *out);

struct flv_audio_tag {
    enum codec_id codec; /* CODEC_AAC, CODEC_G711A, CODEC_G711U, CODEC_MP3, or CODEC_NONE */
    uint8_t sound_format, sound_rate, sound_size, sound_type; /* the raw fields of the first byte */
    bool sequence_header;                                     /* AAC AudioSpecificConfig */
    const uint8_t *data;                                      /* ASC, or the raw frame */
    uint32_t len;
};
int flv_parse_audio_tag(const uint8_t *body, size_t len, struct flv_audio_tag *out);

/* Decodes an avcC (codec CODEC_H264) or hvcC (CODEC_H265) record into `track`: codec, the first
 * SPS/PPS(/VPS) and, through the SPS, width, height and frame rate. *nal_length_size (may be NULL) gets the
 * size of the NAL length prefixes of the frames (1, 2 or 4). Returns 0, -EBADMSG (malformed record, missing
 * or oversized parameter set) or -EINVAL (SPS that media/h26x cannot parse). */
int flv_video_config_decode(enum codec_id codec, const uint8_t *record, size_t len, struct media_track *track,
                            uint8_t *nal_length_size);
/* Fills `track` (codec, sample_rate, channels, asc) from an audio tag: the AAC sequence header's ASC, or the
 * G.711 flags (8 kHz). Returns 0, -EBADMSG (bad ASC) or -ENOTSUP (another codec or a raw AAC frame). */
int flv_audio_config_decode(const struct flv_audio_tag *tag, struct media_track *track);
/* AAC AudioSpecificConfig -> sampling rate and channel configuration (0 = defined in a PCE). */
int aac_asc_parse(const uint8_t *asc, size_t len, uint32_t *sample_rate, uint8_t *channels);

/* Walks length-prefixed NAL units: returns 1 with the next unit, 0 at the end, -EBADMSG when a length runs
 * past the end. *pos starts at 0. */
int flv_nal_next(const uint8_t *data, size_t len, uint8_t length_size, size_t *pos, const uint8_t **nal,
                 uint32_t *nal_len);

#endif
