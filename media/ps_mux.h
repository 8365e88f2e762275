/*
 * GB28181 MPEG-PS multiplexer: one frame in, the PS bytes of that frame out (through a writer callback or
 * into a caller buffer). Pure: no I/O, no threads, no allocation after ps_mux_create(). Used by the camera
 * simulator (test/sim) and, later, by cascade (the gateway sending PS to an upper platform).
 *
 * What it writes for each frame, the way GB28181 cameras do (../shared/GB28181.md section 6):
 *   pack header (MPEG-2, SCR = the frame's DTS)       - every frame (or only keyframes with sparse_packs)
 *   system header + program stream map (with CRC32)   - on keyframes (see enum ps_mux_psm)
 *   PES (stream 0xE0 video / 0xC0 audio) with PTS, and DTS when it differs; a frame larger than one PES can
 *   carry is split across several PES, the PTS only in the first one.
 *
 * Input payload formats:
 *   - native (the default): video Annex-B (start codes), AAC with ADTS headers, G.711 and others raw;
 *   - media_frame layout (frame.h; set ps_mux_frame.frame_layout): video NAL units with 4-byte lengths, which
 *     are written as 4-byte start codes (same size, so no copy is needed), and raw AAC access units, which
 * get an ADTS header built from the AudioSpecificConfig given in the config.
 */
#ifndef GB_MEDIA_PS_MUX_H
#define GB_MEDIA_PS_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/codec.h"

#define PS_MUX_STREAM_ID_VIDEO 0xE0
#define PS_MUX_STREAM_ID_AUDIO 0xC0
/* The largest PES payload: PES_packet_length is 16 bits and covers 3 flag bytes + 10 PTS/DTS bytes. */
#define PS_MUX_PES_PAYLOAD_LIMIT   65522
#define PS_MUX_PES_PAYLOAD_DEFAULT 65500
/* Size of the MPEG-2 pack header the muxer writes (no stuffing). */
#define PS_MUX_PACK_HEADER_LEN 14

/* When the system header and the program stream map are written. */
enum ps_mux_psm {
    PS_MUX_PSM_EVERY_KEY = 0, /* before every keyframe (what cameras do; the default) */
    PS_MUX_PSM_FIRST,         /* once, before the first frame */
    PS_MUX_PSM_NONE,          /* never (receivers must guess the codecs) */
};

struct ps_mux_config {
    enum codec_id video; /* CODEC_NONE when there is no video track */
    enum codec_id audio; /* CODEC_NONE when there is no audio track */
    enum ps_mux_psm psm;
    uint32_t max_pes_payload; /* split video frames into PES of at most this many payload bytes;
                                 0 = PS_MUX_PES_PAYLOAD_DEFAULT, capped at PS_MUX_PES_PAYLOAD_LIMIT */
    bool video_pes_len_zero;  /* video in one PES per frame with PES_packet_length 0 (unbounded) */
    bool sparse_packs;        /* pack header only before keyframes: many PES per pack */
    uint32_t mux_rate;        /* program_mux_rate in units of 50 bytes/s; 0 = 6106 (~2.4 Mbit/s) */
    /* AAC AudioSpecificConfig: needed only for frame_layout AAC frames (raw access units). */
    uint8_t aac_asc[8];
    uint8_t aac_asc_len;
};

struct ps_mux_frame {
    enum codec_id codec; /* the config's video or audio codec */
    const uint8_t *data;
    size_t len;
    int64_t pts, dts;  /* 90 kHz; written modulo 2^33 */
    bool key;          /* video: IDR/IRAP access unit. Audio-only streams: ignored (see ps_mux_write) */
    bool frame_layout; /* data is in the media_frame layout (4-byte NAL lengths / raw AAC), see above */
};

/* Receives the output in order, in pieces. `unit_start` is true on the first piece of each PS unit (pack
 * header, system header, PSM, one PES): a packetizer can use it to align RTP packets to units.
 * Returns 0 to continue or a negative errno to abort the frame (ps_mux_write returns it). */
typedef int (*ps_mux_write_fn)(void *arg, const uint8_t *data, size_t len, bool unit_start);

struct ps_mux;

/* Returns NULL when the config is invalid (no track, a codec without a PS stream_type, AAC ASC unusable). */
struct ps_mux *ps_mux_create(const struct ps_mux_config *cfg);
void ps_mux_destroy(struct ps_mux *m);

/* Writes one frame. Returns 0, -EINVAL (codec not in the config, or malformed frame_layout data: nothing
 * written), or the writer's error (the frame is cut short). After any error the mux state is as before the
 * call, so the frame may be written again (e.g. a PSM still comes first). In an audio-only stream the system
 * header and PSM are repeated once per second. */
int ps_mux_write(struct ps_mux *m, const struct ps_mux_frame *f, ps_mux_write_fn write, void *arg);

/* Writes one frame into out[0..cap). Returns 0 with *out_len set, -ENOSPC when cap is too small (nothing
 * useful in out; use ps_mux_max_size), or the errors of ps_mux_write. */
int ps_mux_write_buffer(struct ps_mux *m, const struct ps_mux_frame *f, uint8_t *out, size_t cap,
                        size_t *out_len);

/* An upper bound of the PS bytes one frame of `payload_len` bytes produces with this mux's config. */
size_t ps_mux_max_size(const struct ps_mux *m, size_t payload_len);

/* MPEG-2 CRC32 (poly 0x04C11DB7, init 0xFFFFFFFF, no reflection), as used by the PSM. */
uint32_t ps_mux_crc32(const uint8_t *data, size_t len);

#endif
