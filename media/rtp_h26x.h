/*
 * RTP depacketizers for raw H.264 (RFC 6184) and raw H.265 (RFC 7798): RTP packets in, access units out,
 * through the same callbacks and in the same frame.h layout as the PS demuxer (ps_demux.h), so a stream can
 * swap one for the other by payload type. No I/O, no threads, no allocation per packet: NAL units are
 * copied once, straight into the pooled frame buffer, by the shared access-unit builder (video_au.h), which
 * also drops AUDs, records SPS/PPS/VPS in the track and flags keyframes.
 *
 * Packetizations accepted (non-interleaved mode, packetization-mode 0 and 1):
 *   H.264  single NAL unit (types 1-23), STAP-A (24), FU-A (28). STAP-B, MTAP16/24 and FU-B (interleaved
 *          mode) are refused and counted; undefined types 0, 30, 31 are ignored as RFC 6184 says.
 *   H.265  single NAL unit (types 0-47), AP (48), FU (49); DONL/DOND fields only when configured
 *          (sprop-max-don-diff > 0 in the SDP). PACI (50) is refused and counted, 51-63 are ignored.
 *
 * An access unit ends on the RTP marker bit (the RFCs put it on an access unit's last packet) or when a
 * packet with another timestamp arrives. A sender whose markers are shown to be wrong (a packet with the
 * marked timestamp follows the marker) is not believed any more: timestamp changes alone end its units.
 *
 * Loss (rtp_h26x_mark_loss(), or a sequence-number gap seen here) and malformed packets damage the access
 * unit being built: it is dropped (counted), the rest of its packets are skipped, and the next unit is
 * accepted only if its first packet visibly starts a picture (a parameter set, SEI or AUD, or the first
 * slice: first_mb_in_slice 0 / first_slice_segment_in_pic_flag 1). A fragmented NAL unit that loses its
 * start, a middle fragment or its end damages its unit the same way.
 *
 * Timing: pts is the RTP timestamp (90 kHz) unwrapped to 64 bits (not rebased). RTP carries no decoding
 * time; dts is derived from the arrival (decoding) order: with no reordering dts == pts; with B-frames the
 * reorder depth is learned from the timestamps and dts is the pts sequence sorted and delayed by that depth
 * (monotonic, <= pts once learned; the few frames before the depth is known get a clamped dts). A pts
 * more than 1 s behind the last dts or 10 s ahead of it is a new timeline (sender restart): dts restarts.
 */
#ifndef GB_MEDIA_RTP_H26X_H
#define GB_MEDIA_RTP_H26X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/codec.h"
#include "media/ps_demux.h"
#include "media/rtp.h"

struct rtp_h26x;

struct rtp_h26x_stats {
    uint64_t packets;        /* packets given to rtp_h26x_input() */
    uint64_t bytes_in;       /* their payload bytes */
    uint64_t nal_units;      /* NAL units passed to the access-unit builder */
    uint64_t video_frames;   /* access units emitted */
    uint64_t keyframes;      /* of which keyframes */
    uint64_t frames_dropped; /* access units discarded: damaged by loss or bad packets, oversize */
    uint64_t seq_gaps;       /* sequence-number gaps seen here (losses not announced by mark_loss) */
    uint64_t fu_broken;      /* fragmented NAL units missing their start, a middle fragment or their end */
    uint64_t malformed;      /* packets rejected: truncated, bad aggregation lengths, forbidden bit... */
    uint64_t unsupported;    /* interleaved-mode packets (STAP-B, MTAP16/24, FU-B), H.265 PACI */
    uint64_t ignored;        /* packets of undefined/unspecified types, skipped as the RFCs say */
    uint64_t skipped;        /* packets of an access unit already known to be damaged */
    uint64_t marker_errors;  /* markers shown to be wrong (after the first, markers are ignored) */
};

/* codec: CODEC_H264 or CODEC_H265 (anything else: NULL). max_frame: largest access unit accepted (bytes,
 * 0 = 4 MiB); larger ones are dropped and counted. */
struct rtp_h26x *rtp_h26x_create(enum codec_id codec, const struct ps_demux_callbacks *cb, void *arg,
                                 size_t max_frame);
void rtp_h26x_destroy(struct rtp_h26x *d);

/* H.265 only: DONL/DOND fields are present (the SDP's sprop-max-don-diff is greater than 0). Packets are
 * still delivered in RTP order: a receiver that is not interleaving needs no reordering by DON. */
void rtp_h26x_set_donl(struct rtp_h26x *d, bool present);

/* One RTP packet (media/rtp.h, already through the reorder window). Returns 0, -EINVAL for a malformed
 * packet, -ENOTSUP for an unsupported packetization (both counted; the unit they belong to is dropped). */
int rtp_h26x_input(struct rtp_h26x *d, const struct rtp_packet *pkt);

/* The transport lost packets just before the next one: the unit being built is dropped (see above). */
void rtp_h26x_mark_loss(struct rtp_h26x *d);

/* Emits the access unit still being built (end of stream). */
void rtp_h26x_flush(struct rtp_h26x *d);

const struct rtp_h26x_stats *rtp_h26x_get_stats(const struct rtp_h26x *d);

#endif
