/*
 * Private to the MPEG-TS demultiplexer (media/ts_*.c):
 *   ts_demux.c  the packet layer: sync, packet headers, adaptation fields, continuity counters, routing by
 *               PID, PES header reassembly and PES payload bounds;
 *   ts_psi.c    PAT/PMT sections (reassembled across packets) and the choice of the two elementary streams;
 *   ts_video.c  video access units (where they end, dating units without PTS, loss);
 *   ts_audio.c  audio frames: ADTS frames cut out of the AAC stream, one frame per PES for raw codecs.
 * The split between ts_video/ts_audio and ps_video/ps_audio is the same, on purpose.
 */
#ifndef GB_MEDIA_TS_INTERNAL_H
#define GB_MEDIA_TS_INTERNAL_H

#include "media/aac.h"
#include "media/audio_es.h"
#include "media/ts_demux.h"
#include "media/video_au.h"
#include "media/video_es.h"

#define TS_PACKET_SIZE  188
#define TS_SYNC         0x47
#define TS_PID_PAT      0x0000
#define TS_PID_NULL     0x1fff
#define TS_PID_NONE     0xffff /* not a PID: "no stream selected" */
#define TS_SECTION_MAX  1024   /* section_length <= 1021 for PAT/PMT, plus the 3 bytes before it */
#define TS_PES_HDR_MAX  (9 + 255)
#define TS_NOT_TS_AFTER (64u * 1024)

/* A PSI section being reassembled on one PID. */
struct ts_section {
    uint16_t pid;
    int8_t cc; /* last continuity counter, -1 unknown */
    bool started;
    uint16_t len;
    uint8_t buf[TS_SECTION_MAX];
};

enum ts_pes_state {
    TS_PES_WAIT,    /* until the next payload_unit_start_indicator */
    TS_PES_HEADER,  /* collecting the PES header into hdr[] */
    TS_PES_PAYLOAD, /* payload to the stream: `remaining` bytes when bounded */
};

/* PES reassembly state common to the video and the audio stream. */
struct ts_pes {
    uint16_t pid; /* TS_PID_NONE when the PMT has none */
    uint8_t stream_type;
    int8_t cc;
    enum ts_pes_state state;
    uint8_t hdr[TS_PES_HDR_MAX];
    uint16_t hdr_len, hdr_need;
    bool bounded;       /* PES_packet_length != 0 */
    uint32_t remaining; /* payload bytes left when bounded */
};

struct ts_video {
    struct ts_pes pes;
    struct video_es es; /* the access units: built, dated and emitted (video_es.h, shared with PS) */
    bool wait_pts;      /* after a loss: PES without PTS are the rest of a damaged unit */
};

struct ts_audio {
    struct ts_pes pes;
    bool raw;           /* one frame per PES (G.711 and other raw codecs); else AAC in ADTS */
    struct audio_es es; /* the frames (audio_es.h, shared with the PS demuxer) */
};

struct ts_demux {
    struct ps_demux_callbacks cb;
    void *arg;
    size_t max_frame;
    struct ts_demux_stats stats;

    uint8_t partial[TS_PACKET_SIZE]; /* a TS packet split across input calls */
    uint16_t partial_len;
    bool synced;             /* the next byte should be a sync byte */
    uint64_t skipped_in_row; /* bytes skipped since the last good packet */

    uint16_t program_number;
    struct ts_section pat, pmt; /* pmt.pid == TS_PID_NONE until the PAT names it */

    /* 33-bit timestamp unwrapping, one reference for all streams */
    bool ts_started;
    uint64_t ts_last_raw;
    int64_t ts_last;

    struct ts_video video;
    struct ts_audio audio;
};

/* ts_demux.c */
int64_t ts_unwrap(struct ts_demux *d, uint64_t raw33);
void ts_pes_reset(struct ts_pes *pes, uint16_t pid, uint8_t stream_type);

/* ts_psi.c: a section PID's payload (pusi: the packet starts a section, pointer_field first). */
void ts_section_input(struct ts_demux *d, struct ts_section *s, const uint8_t *p, size_t n, bool pusi);
void ts_section_reset(struct ts_section *s, uint16_t pid);

/* ts_video.c */
void ts_video_init(struct ts_demux *d);
void ts_video_destroy(struct ts_demux *d);
void ts_video_set_stream(struct ts_demux *d, uint16_t pid, uint8_t stream_type);
bool ts_video_pes_start(struct ts_demux *d, bool has_pts, int64_t pts, int64_t dts);
void ts_video_payload(struct ts_demux *d, const uint8_t *p, size_t n);
void ts_video_complete(struct ts_demux *d);
void ts_video_loss(struct ts_demux *d);

/* ts_audio.c */
void ts_audio_init(struct ts_demux *d);
void ts_audio_destroy(struct ts_demux *d);
void ts_audio_set_stream(struct ts_demux *d, uint16_t pid, uint8_t stream_type);
void ts_audio_pes_start(struct ts_demux *d, bool has_pts, int64_t pts);
void ts_audio_payload(struct ts_demux *d, const uint8_t *p, size_t n);
void ts_audio_pes_end(struct ts_demux *d);
void ts_audio_flush(struct ts_demux *d);
void ts_audio_loss(struct ts_demux *d);

#endif
