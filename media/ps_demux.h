/*
 * Incremental, lenient GB28181 MPEG-PS demultiplexer: bytes in (any split, e.g. one RTP payload at a time),
 * frames out through a callback. No I/O, no threads, no allocation per packet (frames come from gbuf pools).
 *
 * Leniency (../shared/GB28181.md section 6): resyncs on 00 00 01 BA after garbage or a stream that starts
 * mid-PES; ignores PSM CRC errors and survives wrong elementary_stream_map_length /
 * elementary_stream_info_length; PES length 0 (unbounded video); frames split over several PES; vendor
 * descriptors; private stream 1 (0xBD) and padding skipped; no PSM at all (codec guessed from the PES
 * payload: Annex-B NAL types for video, ADTS sync for audio).
 *
 * A video frame is complete when (a) a PES with a different PTS starts, (b) the caller signals a frame end
 * (RTP marker) and the stream has shown that its markers coincide with frame ends, or (c) flush.
 */
#ifndef GB_MEDIA_PS_DEMUX_H
#define GB_MEDIA_PS_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/frame.h"

struct ps_demux;

struct ps_demux_callbacks {
    /* A complete frame; the callee takes ownership of frame->buf. */
    void (*on_frame)(void *arg, struct media_frame *frame);
    /* A track appeared or its parameters changed (new SPS resolution, sample rate...). */
    void (*on_track)(void *arg, const struct media_track *track);
};

struct ps_demux_stats {
    uint64_t bytes_in;
    uint64_t packs; /* pack headers seen */
    uint64_t psm;   /* program stream maps parsed */
    uint64_t pes;   /* PES packets parsed */
    uint64_t video_frames, audio_frames;
    uint64_t resyncs;        /* times the parser had to search for a start code */
    uint64_t bytes_skipped;  /* garbage and skipped streams */
    uint64_t frames_dropped; /* oversize, corrupt, or discarded after loss */
    uint64_t psm_errors;     /* malformed PSMs tolerated */
};

/* max_frame: the largest access unit accepted (bytes); larger ones are dropped and counted. */
struct ps_demux *ps_demux_create(const struct ps_demux_callbacks *cb, void *arg, size_t max_frame);
void ps_demux_destroy(struct ps_demux *d);

/* Feeds bytes. `frame_end`: the transport marks the end of a frame here (RTP marker bit).
 * Returns 0, or -EINVAL when the input looks like no PS at all (counted; the caller may report it). */
int ps_demux_input(struct ps_demux *d, const uint8_t *data, size_t len, bool frame_end);

/* The transport lost data: the frame being assembled is discarded and parsing resyncs on the next pack. */
void ps_demux_mark_loss(struct ps_demux *d);

/* Emits any frame still being assembled (end of stream). */
void ps_demux_flush(struct ps_demux *d);

const struct ps_demux_stats *ps_demux_get_stats(const struct ps_demux *d);

#endif
