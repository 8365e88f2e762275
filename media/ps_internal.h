/*
 * Private to the PS demultiplexer (media/ps_*.c): the demuxer state and the interface between its three
 * parts:
 *   ps_demux.c  the byte-level state machine: start codes, pack/system header/PSM/PES headers, payload
 *               routing, resynchronisation;
 *   ps_video.c  video access units: when a frame is complete (PTS change, trusted RTP marker, flush);
 *   ps_audio.c  audio frames: one per PES (G.711 and other raw codecs) or one per ADTS frame (AAC).
 * The demuxer keeps one video and one audio elementary stream (the first of each kind that carries data):
 * a frame says its codec but not its stream id, so a second stream of a kind could not be told apart.
 */
#ifndef GB_MEDIA_PS_INTERNAL_H
#define GB_MEDIA_PS_INTERNAL_H

#include "media/aac.h"
#include "media/audio_es.h"
#include "media/h26x.h"
#include "media/ps_demux.h"
#include "media/video_au.h"
#include "media/video_es.h"

#define PS_HDR_MAX            1024         /* largest unit header kept (a PSM longer than this is skipped) */
#define PS_NOT_PS_AFTER       (64u * 1024) /* bytes without any pack or PES before input is called "not PS" */
#define PS_MARKER_TRUST_AFTER 3            /* RTP markers confirmed by a new PTS before they end frames */

enum ps_state {
    PS_SCAN,    /* looking for 00 00 01 <stream id> */
    PS_HEADER,  /* collecting a unit header into hdr[] */
    PS_SKIP,    /* skipping `remaining` bytes (stuffing, padding, private data, other streams) */
    PS_PAYLOAD, /* PES payload for the video or audio stream: `remaining` bytes, or until a start code */
};

enum ps_marker_trust { PS_MARKER_UNKNOWN, PS_MARKER_TRUSTED, PS_MARKER_DISTRUSTED };

struct ps_video {
    uint8_t stream_id;  /* 0 = not bound yet */
    struct video_es es; /* the access units: built, dated and emitted (video_es.h, shared with TS) */
    bool pts_seen;      /* any video PES carried a PTS */
    bool wait_pts;      /* after a loss: ignore PTS-less PES (continuations) until one with a PTS */
    /* RTP marker (frame_end) evaluation */
    enum ps_marker_trust marker_trust;
    uint32_t marker_confirmations;
    bool marker_pending; /* a marker arrived; the next video PES says whether it was a frame end */
    int64_t marker_pts;
};

enum ps_audio_mode { PS_AUDIO_PROBE, PS_AUDIO_RAW, PS_AUDIO_ADTS };

struct ps_audio {
    uint8_t stream_id; /* 0 = not bound yet */
    enum ps_audio_mode mode;
    uint32_t pes_len;   /* payload bytes of the current PES, 0 when unbounded */
    struct audio_es es; /* the frames (probe bytes wait in its stash while the codec is unknown) */
};

struct ps_demux {
    struct ps_demux_callbacks cb;
    void *arg;
    size_t max_frame;
    struct ps_demux_stats stats;

    enum ps_state state;
    bool resyncing;          /* position unknown: accept only validated pack/PES headers */
    uint32_t sync_window;    /* last bytes seen while scanning */
    bool resync_pending;     /* garbage was skipped: count a resync when a header passes */
    uint64_t scan_bytes;     /* bytes consumed by the current scan */
    uint64_t scan_garbage;   /* of which neither 0x00 nor 0xFF (stuffing) */
    uint8_t hdr[PS_HDR_MAX]; /* unit header, from its 00 00 01 */
    uint32_t hdr_len, hdr_need;
    uint32_t remaining; /* PS_SKIP / bounded PS_PAYLOAD */
    bool unbounded;     /* PS_PAYLOAD with PES_packet_length 0 */
    uint8_t held;       /* unbounded payload: trailing bytes held back as a possible 00 00 01 */
    uint8_t target;     /* PS_PAYLOAD: where payload bytes go (enum payload_target in ps_demux.c) */
    bool skip_counts;   /* PS_SKIP: count the skipped bytes in stats.bytes_skipped */

    uint8_t psm_stream_type[64]; /* by stream_id - 0xC0; 0 = no PSM entry */

    /* 33-bit timestamp unwrapping, one reference for all streams so they stay comparable */
    bool ts_started;
    uint64_t ts_last_raw;
    int64_t ts_last;

    struct ps_video video;
    struct ps_audio audio;
};

/* ps_demux.c */
int64_t ps_unwrap_ts(struct ps_demux *d, uint64_t raw33);

/* ps_video.c */
void ps_video_init(struct ps_demux *d);
void ps_video_destroy(struct ps_demux *d);
/* A video PES header for the bound stream; returns false when its payload must be skipped. */
bool ps_video_pes_start(struct ps_demux *d, bool has_pts, int64_t pts, int64_t dts);
void ps_video_payload(struct ps_demux *d, const uint8_t *p, size_t n);
void ps_video_complete(struct ps_demux *d);
void ps_video_frame_end(struct ps_demux *d, bool mid_pes);
void ps_video_loss(struct ps_demux *d);
void ps_video_set_codec(struct ps_demux *d, enum codec_id codec);

/* ps_audio.c */
void ps_audio_init(struct ps_demux *d);
void ps_audio_destroy(struct ps_demux *d);
void ps_audio_pes_start(struct ps_demux *d, bool has_pts, int64_t pts, uint32_t payload_len);
void ps_audio_payload(struct ps_demux *d, const uint8_t *p, size_t n);
void ps_audio_pes_end(struct ps_demux *d);
void ps_audio_flush(struct ps_demux *d);
void ps_audio_loss(struct ps_demux *d);
void ps_audio_set_codec(struct ps_demux *d, enum codec_id codec);

#endif
