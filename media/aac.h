/*
 * AAC helpers: the ADTS header (how AAC travels in MPEG-PS/TS), the AudioSpecificConfig (how FLV, MP4 and
 * RTMP describe it), and the sampling-frequency table they share (ISO/IEC 14496-3 1.6.3.4). Pure functions,
 * bounded reads. Splitting a PES payload into ADTS frames is done incrementally by the PS demuxer (an ADTS
 * frame may straddle PES packets); these functions are what it uses to read each header.
 */
#ifndef GB_MEDIA_AAC_H
#define GB_MEDIA_AAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/frame.h"

#define ADTS_HEADER_LEN       7 /* without CRC */
#define ADTS_HEADER_LEN_CRC   9 /* protection_absent == 0 */
#define AAC_SAMPLES_PER_FRAME 1024
#define AAC_ASC_LEN           2 /* what aac_build_asc() writes */

struct adts_header {
    uint8_t object_type;       /* audio object type = ADTS profile + 1 (1 Main, 2 LC, 3 SSR, 4 LTP) */
    uint8_t sample_rate_index; /* 0..12 */
    uint8_t channel_config;    /* 0 (PCE in the stream) .. 7 */
    uint8_t header_len;        /* ADTS_HEADER_LEN or ADTS_HEADER_LEN_CRC */
    uint8_t raw_blocks;        /* number_of_raw_data_blocks_in_frame + 1 */
    uint16_t frame_len;        /* whole ADTS frame, header included */
};

/* Parses the ADTS header at p. Returns 0, -EAGAIN when fewer than 7 bytes are given, -EINVAL when p is not
 * a plausible header (no 0xFFF sync, layer != 0, reserved sampling index, frame shorter than its header). */
int adts_parse_header(const uint8_t *p, size_t len, struct adts_header *h);

/* Writes a 7-byte ADTS header (no CRC) for a raw access unit of raw_len bytes. Returns 7, or -EINVAL when
 * the values do not fit (object type 1..4, index 0..12, channels 0..7, frame <= 8191 bytes). */
int adts_write_header(uint8_t out[ADTS_HEADER_LEN], uint8_t object_type, uint8_t sample_rate_index,
                      uint8_t channel_config, size_t raw_len);

/* Sampling frequency of an index (0 for a reserved or escape index) and the reverse (-1 when not in the
 * table). */
uint32_t aac_sample_rate_from_index(uint8_t index);
int aac_sample_rate_to_index(uint32_t rate);

/* Builds the 2-byte AudioSpecificConfig (object type, frequency index, channel configuration, GASpecific
 * flags 0) into out (cap >= 2). Returns the length written, or -EINVAL. */
int aac_build_asc(uint8_t object_type, uint8_t sample_rate_index, uint8_t channel_config, uint8_t *out,
                  size_t cap);

struct aac_config {
    uint8_t object_type; /* escape (31) resolved */
    uint32_t sample_rate;
    uint8_t channel_config;
};
/* Reads the leading fields of an AudioSpecificConfig (explicit 24-bit frequency and the object type escape
 * included). Returns 0 or -EINVAL. */
int aac_parse_asc(const uint8_t *asc, size_t len, struct aac_config *out);

/* Brings an AAC track up to date with an ADTS header (sample rate, channels, AudioSpecificConfig).
 * Returns true when something changed (the caller then reports the track again). */
bool aac_track_update_from_adts(struct media_track *t, const struct adts_header *h);

#endif
