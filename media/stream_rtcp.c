/*
 * RTCP for ingest streams (GB28181.md section 5): some cameras stop sending after a while when they hear no
 * receiver reports, so a per-stream UDP receiver listens on port + 1, reads the sender's SRs (for LSR/DLSR
 * and as a liveness sign) and sends a receiver report every RR_INTERVAL_MS to where the sender's RTCP comes
 * from, or, before any arrived, to the sender's RTP source port + 1. RTCP multiplexed on the RTP port (RFC
 * 5761) is read too. Reports ride the same socket as the RTP they describe only when multiplexed; TCP streams
 * carry no RTCP (devices do not expect it there).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/net.h"
#include "media/stream_priv.h"

#define MODULE         "rtcp"
#define RR_INTERVAL_MS 5000
#define OUR_SSRC       0x67626774u /* "gbgt": any fixed value different from the senders' */

void stream_rtcp_input(struct stream *s, const uint8_t *p, size_t len, const struct sockaddr *from,
                       uint64_t now_ms)
{
    struct rtcp_compound c;
    if (rtcp_parse(p, len, &c) != 0) {
        s->st.bad_packets++;
        return;
    }
    if (from && s->rtcp_fd >= 0) {
        memcpy(&s->sender_rtcp, from,
               from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
        s->have_sender_rtcp = true;
    }
    if (c.has_sr) {
        rtcp_source_on_sr(&s->rtcp, &c.sr, now_ms);
        s->st.rtcp_sr_received++;
    }
    if (c.bye) log_info(MODULE, "[%s] sender said RTCP BYE (ssrc %u)", s->e.id, c.bye_ssrc);
}

static void deliver_rtcp(void *arg, const uint8_t *p, size_t len, const struct sockaddr *from, uint64_t now)
{
    stream_rtcp_input(arg, p, len, from, now);
}

static void on_rtcp_readable(uv_poll_t *h, int status, int events)
{
    struct stream *s = h->data;
    if (status < 0 || s->closing) return;
    worker_recv_udp(s->w, s->rtcp_fd, deliver_rtcp, s);
}

void stream_rtcp_open(struct stream *s)
{
    s->rtcp_fd = -1;
    s->next_rr_ms = clock_mono_ms() + RR_INTERVAL_MS;
    if (s->e.transport != TRANSPORT_UDP || s->e.shared) return;
    int fd = net_bind("0.0.0.0", s->e.port + 1, SOCK_DGRAM, false, 0);
    if (fd < 0) {
        log_warn(MODULE, "[%s] no RTCP on port %d: %s", s->e.id, s->e.port + 1, strerror(-fd));
        return;
    }
    s->rtcp_fd = fd;
    uv_poll_init(worker_loop(s->w), &s->rtcp_poll, fd);
    s->rtcp_poll.data = s;
    uv_poll_start(&s->rtcp_poll, UV_READABLE, on_rtcp_readable);
}

void stream_rtcp_close(struct stream *s)
{
    if (s->rtcp_fd < 0) return;
    s->pending_closes++;
    uv_close((uv_handle_t *)&s->rtcp_poll, stream_handle_closed);
    close(s->rtcp_fd);
    s->rtcp_fd = -1;
}

void stream_rtcp_tick(struct stream *s, uint64_t now_ms)
{
    if (now_ms < s->next_rr_ms || !s->got_packet || s->rtcp_fd < 0) return;
    s->next_rr_ms = now_ms + RR_INTERVAL_MS;
    struct sockaddr_storage to;
    if (s->have_sender_rtcp) {
        to = s->sender_rtcp;
    } else if (s->have_sender_rtp) {
        to = s->sender_rtp;
        if (to.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&to;
            a->sin_port = htons((uint16_t)(ntohs(a->sin_port) + 1));
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&to;
            a->sin6_port = htons((uint16_t)(ntohs(a->sin6_port) + 1));
        }
    } else {
        return;
    }
    struct rtp_reorder_stats rs;
    rtp_reorder_get_stats(s->reorder, &rs);
    s->rtcp.ssrc = s->last_ssrc;
    struct rtcp_report_block block;
    rtcp_source_report(&s->rtcp, &rs, now_ms, &block);
    uint8_t pkt[256];
    size_t n = rtcp_build_receiver_report(pkt, sizeof pkt, OUR_SSRC, "gbgate", &block);
    socklen_t tl = to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (n && sendto(s->rtcp_fd, pkt, n, MSG_DONTWAIT, (struct sockaddr *)&to, tl) == (ssize_t)n)
        s->st.rtcp_rr_sent++;
}
