/* Private to media/stream*.c: the stream object, shared by the UDP path (stream.c) and TCP (stream_tcp.c). */
#ifndef GB_MEDIA_STREAM_PRIV_H
#define GB_MEDIA_STREAM_PRIV_H

#include <uv.h>

#include "common/log.h"
#include "media/payload_sniff.h"
#include "media/ps_demux.h"
#include "media/rtp_h26x.h"
#include "media/ts_demux.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtp_reorder.h"
#include "media/stream.h"

struct stream_tcp;
struct stream_dump;

struct stream {
    struct worker *w;
    struct stream_entry e;
    const struct stream_sink_ops *ops;
    void *sink;

    int udp_fd; /* per-stream UDP port, -1 when none */
    uv_poll_t udp_poll;
    struct stream_tcp *tcp; /* TCP listener/connection state, NULL for UDP */
    int rtcp_fd;            /* per-stream UDP: RTCP on port + 1, -1 when none */
    uv_poll_t rtcp_poll;
    struct rtcp_source rtcp;
    struct sockaddr_storage sender_rtp, sender_rtcp; /* where RTP comes from / where its RTCP came from */
    bool have_sender_rtp, have_sender_rtcp;
    uint64_t next_rr_ms;
    int pending_closes; /* libuv handles still closing; the stream is freed when this reaches 0 */
    bool closing;

    struct rtp_reorder *reorder;
    struct ps_demux *demux; /* PS (the GB28181 norm), created with the stream */
    struct payload_sniffer sniffer;
    enum payload_kind kind; /* decided from the first packets; PAYLOAD_UNKNOWN until then */
    struct rtp_h26x *h26x;  /* raw H.264/H.265 (RFC 6184/7798), created when sniffed */
    struct ts_demux *ts;    /* MPEG-TS over RTP, created when sniffed */
    uint8_t **sniff_held;   /* packets seen while the payload kind was undecided, replayed once it is */
    size_t *sniff_held_len;
    unsigned sniff_held_n;
    bool got_packet;
    uint32_t last_ssrc;      /* the SSRC the stream is locked on */
    uint32_t candidate_ssrc; /* another SSRC that may be a restarted sender */
    uint32_t candidate_run;  /* its packets seen in a row */
    uint16_t candidate_seq;  /* before the first lock: the candidate's last sequence number */
    uint8_t *probation_pkt;  /* before the first lock: the candidate's packet, delivered once confirmed */
    size_t probation_len;
    uint64_t locked_ssrc_seen_ms;
    bool drop_video_until_key;
    bool
        awaiting_connect; /* tcp-active: still connecting (the retry budget bounds it, not the RTP timeout) */
    bool timeout_held;    /* a paused playback: the device sends nothing and the RTP timeout waits */
    bool sent_key;
    uint64_t created_mono_ms, last_packet_mono_ms;

    struct stream_dump *dump; /* raw RTP being captured, NULL normally */
    struct stream_stats st;   /* counters kept here directly */
    uint64_t bytes_prev_tick;
    uint64_t prev_tick_ms;
    struct log_ratelimit rl;
};

/* Parsed-RTP entry point shared by UDP and TCP. */
void stream_input_rtp(struct stream *s, const uint8_t *p, size_t len, uint64_t now_ms);
/* Frees the stream once no libuv handle of it is still closing. */
void stream_handle_closed(uv_handle_t *h);

/* stream_rtcp.c */
void stream_rtcp_open(struct stream *s);
void stream_rtcp_close(struct stream *s);
/* An RTCP compound that arrived on the RTCP port or multiplexed on the RTP port. */
void stream_rtcp_input(struct stream *s, const uint8_t *p, size_t len, const struct sockaddr *from,
                       uint64_t now_ms);
/* Sends a receiver report when one is due (tick). */
void stream_rtcp_tick(struct stream *s, uint64_t now_ms);

/* stream_dump.c */
void stream_dump_packet(struct stream *s, const uint8_t *p, size_t len, uint64_t now_ms);

/* stream_tcp.c */
int stream_tcp_open(struct stream *s, char *err, size_t errsize);
void stream_tcp_close(struct stream *s);
/* Hands a TCP connection (with bytes already read) to the stream (shared-port TCP hand-off). */
void stream_tcp_adopt(struct stream *s, int fd, const uint8_t *pending, size_t len);

#endif
