/*
 * RTP over TCP (RFC 4571) for ingest streams:
 *  - passive on a per-stream port: we listen, the device connects (a newer connection replaces the old one,
 *    since devices reconnect after network trouble without closing the old socket);
 *  - passive on the shared port: any worker accepts; the first RTP header's SSRC names the stream, and the
 *    connection (fd + bytes already read) moves to the owning worker;
 *  - active: we connect to the address from the device's answer, retrying with backoff a bounded number of
 *    times (GB28181.md section 5).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/net.h"
#include "media/rfc4571.h"
#include "media/stream_priv.h"

#define MODULE              "rtp-tcp"
#define PEEK_MAX            64
#define ACTIVE_MAX_ATTEMPTS 6

struct tcp_conn {
    int fd;
    uv_poll_t poll;
    struct worker *w;
    struct stream *s; /* NULL while pending on the shared port */
    struct rfc4571 *split;
    uint8_t peek[PEEK_MAX];
    size_t peek_len;
    bool connecting;
    uint64_t accepted_ms;
    char peer[64];
};

struct stream_tcp {
    int listen_fd;
    uv_poll_t listen_poll;
    struct tcp_conn *conn;
    uv_timer_t retry;
    bool retry_init;
    int attempts;
};

static _Thread_local uint8_t read_buf[65536];

static void conn_free(uv_handle_t *h)
{
    struct tcp_conn *c = h->data;
    rfc4571_destroy(c->split);
    free(c);
}

static void conn_close(struct tcp_conn *c)
{
    if (c->fd < 0) return;
    if (c->s && c->s->tcp && c->s->tcp->conn == c) c->s->tcp->conn = NULL;
    uv_close((uv_handle_t *)&c->poll, conn_free);
    close(c->fd);
    c->fd = -1;
}

static void on_tcp_packet(void *arg, const uint8_t *pkt, size_t len)
{
    struct tcp_conn *c = arg;
    if (c->s) stream_input_rtp(c->s, pkt, len, clock_mono_ms());
}

static void attach_conn(struct stream *s, struct tcp_conn *c)
{
    if (s->tcp->conn && s->tcp->conn != c) {
        log_info(MODULE, "[%s] new TCP connection from %s replaces the old one", s->e.id, c->peer);
        conn_close(s->tcp->conn);
    }
    c->s = s;
    s->tcp->conn = c;
    if (!c->split) c->split = rfc4571_create(on_tcp_packet, c);
    if (s->e.ssrc) rfc4571_expect_ssrc(c->split, true, s->e.ssrc);
    if (!s->got_packet) snprintf(s->st.remote, sizeof s->st.remote, "%s", c->peer);
}

static void try_route_pending(struct tcp_conn *c, const uint8_t *more, size_t more_len);

static void on_conn_readable(uv_poll_t *h, int status, int events)
{
    struct tcp_conn *c = h->data;
    for (int round = 0; round < 8; round++) {
        ssize_t n = read(c->fd, read_buf, sizeof read_buf);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            if (c->s) log_info(MODULE, "[%s] TCP peer %s closed the connection", c->s->e.id, c->peer);
            conn_close(c);
            return;
        }
        if (n < 0) return;
        if (c->s) {
            rfc4571_input(c->split, read_buf, (size_t)n);
            if (c->fd < 0) return;
            /* A short read means the socket's queue was empty at that moment, and the poll reports
             * whatever arrives next: reading on until EAGAIN would cost a second read() per frame (half of
             * all reads at 1000 TCP cameras) to learn nothing. */
            if ((size_t)n < sizeof read_buf) return;
            continue;
        }
        /* pending on the shared port: keep the first bytes until an RTP header shows the SSRC */
        size_t room = PEEK_MAX - c->peek_len;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(c->peek + c->peek_len, read_buf, take);
        c->peek_len += take;
        /* route with everything read so far: the peek plus what did not fit in it */
        try_route_pending(c, read_buf + take, (size_t)n - take);
        if (c->fd < 0) return;
    }
}

struct handoff {
    int fd;
    size_t len;
    char peer[64];
    uint32_t ssrc;
    uint8_t bytes[]; /* every byte read before the hand-off (peek + the rest of that read) */
};

static struct stream *find_local_ssrc(struct worker *w, uint32_t ssrc);

static void adopt_task(void *arg)
{
    struct handoff *h = arg;
    struct worker *w = worker_current();
    struct stream *s = find_local_ssrc(w, h->ssrc);
    if (!s) {
        close(h->fd);
    } else {
        stream_tcp_adopt(s, h->fd, h->bytes, h->len);
        if (s->tcp && s->tcp->conn) snprintf(s->tcp->conn->peer, sizeof s->tcp->conn->peer, "%s", h->peer);
    }
    free(h);
}

static void try_route_pending(struct tcp_conn *c, const uint8_t *more, size_t more_len)
{
    if (c->peek_len < 2 + 12) return; /* more_len is 0 here: the peek is not full yet */
    const uint8_t *rtp = c->peek + 2;
    if ((rtp[0] >> 6) != 2) {
        log_warn(MODULE, "TCP connection from %s on the shared port does not start with RFC 4571 RTP; closed",
                 c->peer);
        conn_close(c);
        return;
    }
    uint32_t ssrc = rtp_rd32(rtp + 8);
    struct stream *s = find_local_ssrc(c->w, ssrc);
    if (s) {
        attach_conn(s, c);
        rfc4571_input(c->split, c->peek, c->peek_len);
        c->peek_len = 0;
        if (more_len && c->fd >= 0) rfc4571_input(c->split, more, more_len);
        return;
    }
    int owner = directory_owner_by_ssrc(ssrc);
    if (owner < 0) {
        log_warn(MODULE, "TCP connection from %s on the shared port: no stream expects SSRC %u; closed",
                 c->peer, ssrc);
        conn_close(c);
        return;
    }
    struct handoff *h = malloc(sizeof *h + c->peek_len + more_len);
    if (!h) {
        conn_close(c);
        return;
    }
    h->fd = dup(c->fd);
    h->len = c->peek_len + more_len;
    h->ssrc = ssrc;
    memcpy(h->bytes, c->peek, c->peek_len);
    if (more_len) memcpy(h->bytes + c->peek_len, more, more_len);
    snprintf(h->peer, sizeof h->peer, "%s", c->peer);
    conn_close(c);
    if (h->fd < 0 || worker_post(owner, adopt_task, h) != 0) {
        if (h->fd >= 0) close(h->fd);
        free(h);
    }
}

struct ssrc_find {
    uint32_t ssrc;
    struct stream *found;
};

static void match_ssrc(struct stream *s, void *arg)
{
    struct ssrc_find *f = arg;
    if (s->e.shared && s->e.ssrc == f->ssrc) f->found = s;
}

static struct stream *find_local_ssrc(struct worker *w, uint32_t ssrc)
{
    struct ssrc_find f = {ssrc, NULL};
    worker_foreach_stream(w, match_ssrc, &f);
    return f.found;
}

static struct tcp_conn *conn_new(struct worker *w, int fd, const char *peer)
{
    struct tcp_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd;
    c->w = w;
    c->accepted_ms = clock_mono_ms();
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    uv_poll_init(worker_loop(w), &c->poll, fd);
    c->poll.data = c;
    return c;
}

void stream_accept_shared_tcp(struct worker *w, int fd, const struct sockaddr *from)
{
    char peer[64];
    net_format_addr(from, peer, sizeof peer);
    struct tcp_conn *c = conn_new(w, fd, peer);
    if (!c) {
        close(fd);
        return;
    }
    uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
}

void stream_tcp_adopt(struct stream *s, int fd, const uint8_t *pending, size_t len)
{
    if (!s->tcp) {
        s->tcp = calloc(1, sizeof *s->tcp);
        if (!s->tcp) {
            close(fd);
            return;
        }
        s->tcp->listen_fd = -1;
    }
    struct tcp_conn *c = conn_new(s->w, fd, "?");
    if (!c) {
        close(fd);
        return;
    }
    attach_conn(s, c);
    if (len) rfc4571_input(c->split, pending, len);
    if (c->fd >= 0) uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
}

static void on_listen(uv_poll_t *h, int status, int events)
{
    struct stream *s = h->data;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(s->tcp->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    char peer[64];
    net_format_addr((struct sockaddr *)&ss, peer, sizeof peer);
    struct tcp_conn *c = conn_new(s->w, fd, peer);
    if (!c) {
        close(fd);
        return;
    }
    log_info(MODULE, "[%s] device connected from %s", s->e.id, peer);
    attach_conn(s, c);
    uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
}

static void start_active_connect(struct stream *s);

static void on_retry_timer(uv_timer_t *t)
{
    start_active_connect(t->data);
}

static void schedule_retry(struct stream *s, const char *why)
{
    if (++s->tcp->attempts >= ACTIVE_MAX_ATTEMPTS) {
        log_warn(MODULE, "[%s] giving up connecting to %s after %d attempts: %s", s->e.id, s->e.remote,
                 s->tcp->attempts, why);
        s->awaiting_connect = false;
        stream_close(s, "tcp-active: could not connect to the device");
        return;
    }
    uint64_t delay = 250ull << (s->tcp->attempts - 1); /* 250 ms, 500 ms, 1 s, ... */
    log_info(MODULE, "[%s] connect to %s failed (%s); retry %d in %llu ms", s->e.id, s->e.remote, why,
             s->tcp->attempts, (unsigned long long)delay);
    uv_timer_start(&s->tcp->retry, on_retry_timer, delay, 0);
}

static void on_connect_writable(uv_poll_t *h, int status, int events)
{
    struct tcp_conn *c = h->data;
    struct stream *s = c->s;
    int soerr = 0;
    socklen_t l = sizeof soerr;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
    if (soerr || status < 0) {
        conn_close(c);
        schedule_retry(s, strerror(soerr ? soerr : ECONNREFUSED));
        return;
    }
    c->connecting = false;
    s->awaiting_connect = false;
    s->last_packet_mono_ms = clock_mono_ms(); /* the RTP timeout counts from the connection */
    log_info(MODULE, "[%s] connected to %s", s->e.id, s->e.remote);
    s->tcp->attempts = 0;
    uv_poll_start(&c->poll, UV_READABLE, on_conn_readable);
}

static void start_active_connect(struct stream *s)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (net_parse_addr(s->e.remote, 0, &ss, &sl) != 0) return;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        schedule_retry(s, strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        schedule_retry(s, strerror(e));
        return;
    }
    struct tcp_conn *c = conn_new(s->w, fd, s->e.remote);
    if (!c) {
        close(fd);
        return;
    }
    attach_conn(s, c);
    c->connecting = true;
    uv_poll_start(&c->poll, UV_WRITABLE, on_connect_writable);
}

int stream_tcp_open(struct stream *s, char *err, size_t errsize)
{
    s->tcp = calloc(1, sizeof *s->tcp);
    if (!s->tcp) return ENOMEM;
    s->tcp->listen_fd = -1;
    if (s->e.transport == TRANSPORT_TCP_ACTIVE) {
        struct sockaddr_storage ss;
        socklen_t sl;
        if (net_parse_addr(s->e.remote, 0, &ss, &sl) != 0 || !strchr(s->e.remote, ':')) {
            snprintf(err, errsize, "tcp-active needs \"remote\" as ip:port, got '%s'", s->e.remote);
            goto fail;
        }
        uv_timer_init(worker_loop(s->w), &s->tcp->retry);
        s->tcp->retry.data = s;
        s->tcp->retry_init = true;
        s->awaiting_connect = true;
        start_active_connect(s);
        return 0;
    }
    if (s->e.shared) return 0; /* connections arrive through the workers' shared listeners */
    s->tcp->listen_fd = net_bind("0.0.0.0", s->e.port, SOCK_STREAM, false, 8);
    if (s->tcp->listen_fd < 0) {
        snprintf(err, errsize, "cannot listen on TCP port %d: %s", s->e.port, strerror(-s->tcp->listen_fd));
        s->tcp->listen_fd = -1;
        goto fail;
    }
    uv_poll_init(worker_loop(s->w), &s->tcp->listen_poll, s->tcp->listen_fd);
    s->tcp->listen_poll.data = s;
    uv_poll_start(&s->tcp->listen_poll, UV_READABLE, on_listen);
    return 0;
fail:
    free(s->tcp); /* no libuv handle was initialised on this path */
    s->tcp = NULL;
    return EINVAL;
}

static void tcp_state_closed(uv_handle_t *h)
{
    struct stream *s = h->data;
    stream_handle_closed(h);
    (void)s;
}

void stream_tcp_close(struct stream *s)
{
    struct stream_tcp *t = s->tcp;
    if (t->conn) {
        t->conn->s = NULL;
        conn_close(t->conn);
    }
    if (t->listen_fd >= 0) {
        s->pending_closes++;
        uv_close((uv_handle_t *)&t->listen_poll, tcp_state_closed);
        close(t->listen_fd);
        t->listen_fd = -1;
    }
    if (t->retry_init) {
        s->pending_closes++;
        uv_close((uv_handle_t *)&t->retry, tcp_state_closed);
    }
    /* struct stream_tcp is freed with the stream (stream_free) */
}
