/*
 * Sockets of `gbsim send`: one per stream (its own source port), UDP with sendmmsg batches, TCP with RFC 4571
 * framing (2-byte big-endian length before each RTP packet) as a client (--transport tcp) or after accepting
 * the gateway's connection (tcp-listen, for the gateway's TCP-active mode).
 *
 * Every packet goes out as two pieces: a small per-stream head (length prefix + patched RTP header) and the
 * rest of the packet straight from the shared clip, so nothing is copied on the way out. UDP sockets are
 * blocking and unconnected (no ICMP "port unreachable" errors when the gateway is not there yet); TCP sockets
 * are non-blocking so one slow receiver never stalls the other streams: what the kernel does not take is kept
 * in the stream's pending buffer (bounded; whole packets beyond the bound are dropped and counted).
 * With --gso, a frame's packets of equal size go out in one UDP_SEGMENT send each (the kernel cuts them
 * into datagrams), which takes most of the per-packet send work off a load generator.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/net.h"
#include "media/rtp.h"
#include "sim_send.h"

#define UDP_SNDBUF            (1 << 20)
#define TCP_PENDING_LIMIT     (8u << 20)
#define BATCH_MAX             512 /* packets per sendmmsg / sendmsg call (2 iovecs each, under IOV_MAX) */
#define TCP_CONNECT_TIMEOUT_S 5
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, Linux 4.18 */
#endif
#define GSO_SEGMENTS_MAX 64 /* the kernel's UDP_MAX_SEGMENTS */
#define GSO_BYTES_MAX    65000

uint16_t sim_addr_port(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return ntohs(((const struct sockaddr_in *)a)->sin_port);
}

void sim_addr_set_port(struct sockaddr_storage *a, uint16_t port)
{
    if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)a)->sin_port = htons(port);
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int sim_sock_open(struct sim_sock *s, const struct sim_options *o, unsigned i)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->stream_socket = o->transport == SIM_TRANSPORT_TCP || o->transport == SIM_TRANSPORT_TCP_LISTEN;
    if (o->transport == SIM_TRANSPORT_NONE || o->transport == SIM_TRANSPORT_TCP_LISTEN) return 0;
    s->dest = o->dest;
    s->dest_len = o->dest_len;
    sim_addr_set_port(&s->dest, (uint16_t)(sim_addr_port(&o->dest) + i * o->port_step));
    int type = o->transport == SIM_TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(s->dest.ss_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (type == SOCK_DGRAM) {
        s->gso = o->udp_gso;
        int size = UDP_SNDBUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        s->fd = fd;
        return 0;
    }
    struct timeval tv = {TCP_CONNECT_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv); /* bounds the blocking connect */
    if (connect(fd, (const struct sockaddr *)&s->dest, s->dest_len) != 0) {
        int e = errno;
        char addr[64];
        fprintf(stderr, "gbsim send: stream %u: connect to %s: %s\n", i,
                net_format_addr((const struct sockaddr *)&s->dest, addr, sizeof addr), strerror(e));
        close(fd);
        return -e;
    }
    set_nodelay(fd);
    net_set_nonblock(fd);
    s->fd = fd;
    return 0;
}

void sim_sock_close(struct sim_sock *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
    free(s->pending);
    s->pending = NULL;
    s->pending_len = s->pending_cap = 0;
}

int sim_listeners_open(const struct sim_options *o, struct sim_listener **out, unsigned *count)
{
    unsigned n = o->port_step ? o->streams : 1;
    struct sim_listener *l = calloc(n, sizeof *l);
    if (!l) return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        int port = o->listen_port + (int)(i * o->port_step);
        int fd = net_bind("0.0.0.0", port, SOCK_STREAM, false, 64);
        if (fd < 0) {
            fprintf(stderr, "gbsim send: listen on port %d: %s\n", port, strerror(-fd));
            while (i--) close(l[i].fd);
            free(l);
            return fd;
        }
        l[i] = (struct sim_listener){
            .fd = fd, .first_stream = o->port_step ? i : 0, .stream_count = o->port_step ? 1 : o->streams};
    }
    *out = l;
    *count = n;
    return 0;
}

int sim_listener_accept(struct sim_listener *l, struct sim_sock *s)
{
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    set_nodelay(fd);
    s->fd = fd;
    return 0;
}

/* ---- sending ---- */

static struct mmsghdr batch_msgs[BATCH_MAX];
static struct iovec batch_iov[2 * BATCH_MAX];

static union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
} gso_cmsg[BATCH_MAX];
static size_t msg_packets[BATCH_MAX]; /* packets in each message of the batch */

/* Fills one message with the packet at `first` and, with --gso, the run of packets after it that share its
 * size (a shorter packet ends the run, as UDP_SEGMENT requires); returns how many packets it took. */
static size_t udp_message(struct sim_sock *s, const struct sim_out_packet *pkts, size_t first, size_t count,
                          struct iovec *iov, size_t iov_room, unsigned m)
{
    size_t seg = RTP_HEADER_SIZE + pkts[first].rest_len, bytes = 0, k = 0;
    size_t max = s->gso ? GSO_SEGMENTS_MAX : 1;
    while (first + k < count && k < max && 2 * (k + 1) <= iov_room) {
        const struct sim_out_packet *p = &pkts[first + k];
        size_t len = RTP_HEADER_SIZE + p->rest_len;
        if (k > 0 && (len > seg || bytes + len > GSO_BYTES_MAX)) break;
        iov[2 * k] = (struct iovec){(void *)(p->head + 2), RTP_HEADER_SIZE};
        iov[2 * k + 1] = (struct iovec){(void *)p->rest, p->rest_len};
        bytes += len;
        k++;
        if (len < seg) break;
    }
    batch_msgs[m].msg_hdr = (struct msghdr){
        .msg_name = &s->dest, .msg_namelen = s->dest_len, .msg_iov = iov, .msg_iovlen = 2 * k};
    if (k > 1) {
        struct msghdr *h = &batch_msgs[m].msg_hdr;
        h->msg_control = gso_cmsg[m].buf;
        h->msg_controllen = sizeof gso_cmsg[m].buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg16 = (uint16_t)seg;
        memcpy(CMSG_DATA(c), &seg16, sizeof seg16);
    }
    return k;
}

/* One sendmmsg per batch: a message per packet, or per run of equal-size packets with --gso. */
static size_t send_udp(struct sim_sock *s, const struct sim_out_packet *pkts, size_t count)
{
    size_t sent = 0;
    while (sent < count) {
        unsigned nmsg = 0;
        size_t at = sent, iov_used = 0;
        while (at < count && nmsg < BATCH_MAX && iov_used + 2 <= 2 * BATCH_MAX) {
            size_t k = udp_message(s, pkts, at, count, &batch_iov[iov_used], 2 * BATCH_MAX - iov_used, nmsg);
            msg_packets[nmsg++] = k;
            at += k;
            iov_used += 2 * k;
        }
        int r = sendmmsg(s->fd, batch_msgs, nmsg, 0);
        if (r > 0) {
            for (int i = 0; i < r; i++) sent += msg_packets[i];
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            return sent; /* ENOBUFS, EPERM (firewall)...: the rest of this frame is lost */
        }
    }
    return sent;
}

static int pending_append(struct sim_sock *s, const void *data, size_t len)
{
    if (!len) return 0;
    if (s->pending_len + len > s->pending_cap) {
        size_t cap = s->pending_cap ? s->pending_cap : 64 * 1024;
        while (cap < s->pending_len + len) cap *= 2;
        uint8_t *p = realloc(s->pending, cap);
        if (!p) return -ENOMEM;
        s->pending = p, s->pending_cap = cap;
    }
    memcpy(s->pending + s->pending_len, data, len);
    s->pending_len += len;
    return 0;
}

int sim_sock_flush(struct sim_sock *s)
{
    while (s->pending_len) {
        ssize_t n = send(s->fd, s->pending, s->pending_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return -EAGAIN;
            s->dead = true;
            return -errno;
        }
        memmove(s->pending, s->pending + n, s->pending_len - (size_t)n);
        s->pending_len -= (size_t)n;
    }
    return 0;
}

/* Keeps packets [from, count) for later, the first of them possibly partly written (`skip` bytes gone).
 * Returns how many of them were kept; a partly written packet is always kept, or the framing would break. */
static size_t queue_rest(struct sim_sock *s, const struct sim_out_packet *pkts, size_t from, size_t count,
                         size_t skip)
{
    size_t kept = 0;
    for (size_t i = from; i < count; i++, skip = 0) {
        const struct sim_out_packet *p = &pkts[i];
        size_t total = 2 + RTP_HEADER_SIZE + p->rest_len;
        if (!skip && s->pending_len + total > TCP_PENDING_LIMIT) break;
        size_t head_skip = skip < 2 + RTP_HEADER_SIZE ? skip : 2 + RTP_HEADER_SIZE;
        size_t rest_skip = skip - head_skip;
        if (pending_append(s, p->head + head_skip, 2 + RTP_HEADER_SIZE - head_skip) ||
            pending_append(s, p->rest + rest_skip, p->rest_len - rest_skip))
            break;
        kept++;
    }
    return kept;
}

static size_t send_tcp(struct sim_sock *s, const struct sim_out_packet *pkts, size_t count)
{
    if (s->dead || (s->pending_len && sim_sock_flush(s) != 0 && s->dead)) return 0;
    if (s->pending_len) return queue_rest(s, pkts, 0, count, 0); /* keep the byte order */
    size_t done = 0;
    while (done < count) {
        size_t n = count - done < BATCH_MAX ? count - done : BATCH_MAX;
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
            const struct sim_out_packet *p = &pkts[done + i];
            batch_iov[2 * i] = (struct iovec){(void *)p->head, 2 + RTP_HEADER_SIZE};
            batch_iov[2 * i + 1] = (struct iovec){(void *)p->rest, p->rest_len};
            bytes += 2 + RTP_HEADER_SIZE + p->rest_len;
        }
        struct msghdr msg = {.msg_iov = batch_iov, .msg_iovlen = 2 * n};
        ssize_t w = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            s->dead = true;
            return done;
        }
        size_t written = w < 0 ? 0 : (size_t)w;
        if (written == bytes) {
            done += n;
            continue;
        }
        /* partial: find the packet where the kernel stopped and keep the rest */
        size_t i = done;
        while (written >= 2 + RTP_HEADER_SIZE + pkts[i].rest_len)
            written -= 2 + RTP_HEADER_SIZE + pkts[i++].rest_len;
        return i + queue_rest(s, pkts, i, count, written);
    }
    return done;
}

size_t sim_sock_send(struct sim_sock *s, const struct sim_out_packet *pkts, size_t count)
{
    if (s->fd < 0) return count; /* offline run (--dump-ps only) */
    return s->stream_socket ? send_tcp(s, pkts, count) : send_udp(s, pkts, count);
}
