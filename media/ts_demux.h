/*
 * Incremental MPEG-2 transport stream demultiplexer (ISO/IEC 13818-1), for MPEG-TS over RTP (RFC 2250:
 * whole 188-byte packets in each RTP payload, PT 33) from devices that send TS instead of PS. Bytes in (any
 * split; normally one RTP payload at a time), frames out through the same callbacks, and in the same frame.h
 * layout, as the PS demuxer (ps_demux.h). No I/O, no threads, no allocation per packet: payload bytes are
 * copied once, into pooled frame buffers (video through the shared access-unit builder, video_au.h).
 *
 * What it reads: the PAT (first program other than the network PID), that program's PMT (the first video
 * and the first audio stream: stream types 0x1b H.264, 0x24 H.265, 0x0f AAC in ADTS, 0x90/0x91 G.711 A/mu
 * and the other GB/T 28181 audio types; MPEG-4 video and SVAC are reported but not remuxed), and PES packets
 * of those two PIDs, reassembled across TS packets. Section CRCs are ignored (as the PS demuxer ignores the
 * PSM's), but every length a section, an adaptation field or a PES header states is bounded by the bytes
 * really there. PTS/DTS are unwrapped to one monotonic 90 kHz timeline for both streams.
 *
 * A video access unit ends when a PES with another PTS starts (TS puts one access unit or more per PES) or at
 * flush; an AAC frame per ADTS frame (which may straddle PES), dated from its PES PTS and 1024 samples apart;
 * a G.711 (raw audio) frame per PES.
 *
 * Loss: the continuity counter of each PID in use is checked; a gap (or ts_demux_mark_loss() for an RTP
 * gap, or a transport_error_indicator) drops the frame being built on that PID and skips to the next PES
 * start (for video, to the next PES that carries a PTS). A packet repeated with the same counter is a
 * permitted duplicate and is skipped.
 */
#ifndef GB_MEDIA_TS_DEMUX_H
#define GB_MEDIA_TS_DEMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/ps_demux.h"

struct ts_demux;

struct ts_demux_stats {
    uint64_t bytes_in;
    uint64_t packets;       /* TS packets parsed */
    uint64_t resyncs;       /* times the 0x47 sync byte had to be searched for */
    uint64_t bytes_skipped; /* bytes outside TS packets */
    uint64_t bad_packets;   /* dropped: transport_error_indicator, reserved adaptation_field_control,
                               adaptation field longer than the packet */
    uint64_t cc_errors;     /* continuity-counter gaps on the PIDs in use */
    uint64_t duplicates;    /* repeated packets skipped */
    uint64_t pat, pmt;      /* sections parsed */
    uint64_t psi_errors;    /* malformed PAT/PMT sections (lengths that do not fit) */
    uint64_t pes;           /* PES packets started on the selected streams */
    uint64_t pes_errors;    /* PES headers rejected, PES_packet_length shorter than its header or
                               contradicted by the next PES start */
    uint64_t video_frames, audio_frames;
    uint64_t frames_dropped; /* oversize, damaged by loss, or not remuxable */
};

/* max_frame: the largest frame accepted (bytes, 0 = 4 MiB); larger ones are dropped and counted. */
struct ts_demux *ts_demux_create(const struct ps_demux_callbacks *cb, void *arg, size_t max_frame);
void ts_demux_destroy(struct ts_demux *d);

/* Feeds bytes. Returns 0, or -EINVAL when the input looks like no TS at all (64 KiB without a packet;
 * counted, the caller may report it). */
int ts_demux_input(struct ts_demux *d, const uint8_t *data, size_t len);

/* The transport lost data: frames being assembled are dropped, a partial TS packet is discarded. */
void ts_demux_mark_loss(struct ts_demux *d);

/* Emits what is still being assembled (end of stream). */
void ts_demux_flush(struct ts_demux *d);

const struct ts_demux_stats *ts_demux_get_stats(const struct ts_demux *d);

#endif
