/*
 * Private to the RTP H.264/H.265 depacketizer (media/rtp_h26x*.c):
 *   rtp_h26x.c          packets in order: sequence gaps, where an access unit starts and ends (timestamp,
 *                       marker), damage after loss, timing (pts unwrap, dts from decoding order), emitting;
 *   rtp_h26x_payload.c  what is inside one packet for each RFC: single NAL units, aggregation packets,
 *                       fragmentation units, and whether a packet visibly starts a picture.
 */
#ifndef GB_MEDIA_RTP_H26X_INTERNAL_H
#define GB_MEDIA_RTP_H26X_INTERNAL_H

#include "media/rtp_h26x.h"
#include "media/video_au.h"

#define RTP_H26X_MAX_REORDER 8  /* deepest B-frame reordering followed for dts */
#define RTP_H26X_PTS_HISTORY 16 /* decoding-order pts remembered to learn the reorder depth */

/* dts from decoding order (see rtp_h26x.h): pending pts sorted ascending, delayed by `delay` frames. */
struct rtp_h26x_dts {
    int64_t pending[RTP_H26X_MAX_REORDER + 1];
    uint8_t npending;
    uint8_t delay;
    int64_t history[RTP_H26X_PTS_HISTORY]; /* ring, decoding order */
    uint8_t nhistory, history_at;
    bool started;
    int64_t last_dts;
};

struct rtp_h26x {
    enum codec_id codec;
    struct ps_demux_callbacks cb;
    void *arg;
    struct rtp_h26x_stats stats;
    bool donl; /* H.265 DONL/DOND fields present */

    struct media_track track;
    struct video_au au;
    bool announced;

    /* sequence numbers */
    bool have_seq;
    uint16_t next_seq;

    /* the access unit being built */
    bool au_open;
    uint32_t au_ts;

    /* after damage: packets with skip_ts are dropped; the next unit must visibly start a picture */
    bool skipping;
    uint32_t skip_ts;
    bool need_clean_start;

    /* the fragmented NAL unit being reassembled */
    bool fu_open;
    uint8_t fu_type;

    /* RTP marker: ended a unit at marker_ts; wrong once = ignored from then on */
    bool marker_ended;
    uint32_t marker_ts;
    bool markers_ignored;

    /* 32-bit RTP timestamp unwrapping */
    bool ts_started;
    uint32_t ts_last_raw;
    int64_t ts_last;
    struct rtp_h26x_dts dts;
};

/* rtp_h26x.c: the unit being built can no longer be trusted (loss, bad packet, broken fragment). */
void rtp_h26x_damage(struct rtp_h26x *d);
/* rtp_h26x.c: appends one NAL unit, or its first fragment: header bytes (reconstructed for a fragment) then
 * the first body bytes. rtp_h26x_nal_more() appends more body bytes of the same NAL unit. */
void rtp_h26x_nal_begin(struct rtp_h26x *d, const uint8_t *hdr, size_t hdr_len, const uint8_t *body,
                        size_t n);
void rtp_h26x_nal_more(struct rtp_h26x *d, const uint8_t *body, size_t n);

/* rtp_h26x_payload.c: feeds the NAL units of one packet's payload. Returns 0, -EINVAL or -ENOTSUP (the
 * reason is counted and the unit damaged here), or 1 when the packet was ignored (undefined type). */
int rtp_h264_depacketize(struct rtp_h26x *d, const uint8_t *p, size_t len);
int rtp_h265_depacketize(struct rtp_h26x *d, const uint8_t *p, size_t len);
/* rtp_h26x_payload.c: true when this payload's first NAL unit starts a picture (see rtp_h26x.h). */
bool rtp_h26x_starts_picture(enum codec_id codec, bool donl, const uint8_t *p, size_t len);

#endif
