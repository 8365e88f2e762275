/*
 * The RTMP listener on every worker and the connections that have not played yet. The handshake and the
 * command conversation run here, on whichever worker the kernel gave the connection to; at `play` the
 * socket, the session (plain data) and the bytes not yet written or parsed move to the stream's owner
 * (rtmp_player.c) with worker_post, exactly like an HTTP-FLV viewer. A connection that stalls (no play
 * within RTMP_SETUP_TIMEOUT_MS), misbehaves (rtmp_session faults) or does not read our replies is cut and
 * counted; nothing it does can reach another connection.
 *
 * Per-worker state is reached through a thread-local (the worker's ext slot belongs to the HTTP server);
 * what is still open when the worker's loop ends (listener, pending connections) is released by a thread
 * exit destructor, after the loop has closed every handle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "relay/rtmp_priv.h"

#define MODULE                "rtmp"
#define RTMP_SETUP_TIMEOUT_MS 10000       /* from accept to play */
#define RTMP_OUT_MAX          (64 * 1024) /* replies a connection may leave unread before it is cut */
#define TIMER_MS              250

struct rtmp_counters rtmp_counters;
const struct gb_config *rtmp_cfg;

struct rtmp_conn;

struct rtmp_worker {
    struct worker *w;
    int listen_fd;
    uv_poll_t listen_poll;
    uv_timer_t timer;
    struct rtmp_conn *conns;
    struct log_ratelimit log_rl;
    uint64_t seed;
};

struct rtmp_conn {
    struct rtmp_conn *next, *prev;
    struct rtmp_worker *rw;
    int fd;
    uv_poll_t poll;
    struct rtmp_session *s;
    char peer[64];
    uint64_t deadline_ms;
    bool closing, close_after_write, waiting_stream, handshake_counted;
    uint8_t *out;
    size_t out_len, out_sent;
    uint8_t pending[4096]; /* input after play */
    size_t pending_len;
};

static pthread_key_t worker_key;
static _Thread_local struct rtmp_worker *current_rw;
static bool (*miss_hook)(const char *id);

void rtmp_set_stream_miss_hook(bool (*fn)(const char *id))
{
    miss_hook = fn;
}

void rtmp_report_fault(const char *peer, const struct rtmp_session *s)
{
    if (s->fault == RTMP_FAULT_NONE || s->fault >= RTMP_FAULT_COUNT) return;
    rtmp_count(&rtmp_counters.faults[s->fault]);
    struct rtmp_worker *rw = current_rw;
    if (!rw || log_ratelimit_ok(&rw->log_rl, clock_mono_ms()))
        log_info(MODULE, "%s: %s (%s)", peer,
                 s->fault_detail[0] ? s->fault_detail : rtmp_fault_name(s->fault), rtmp_fault_name(s->fault));
}

static void conn_free_cb(uv_handle_t *h)
{
    struct rtmp_conn *c = h->data;
    rtmp_session_destroy(c->s);
    free(c->out);
    free(c);
}

static void conn_unlink(struct rtmp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (c->rw->conns == c)
        c->rw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void conn_close(struct rtmp_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    conn_unlink(c);
    uv_poll_stop(&c->poll);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    uv_close((uv_handle_t *)&c->poll, conn_free_cb);
}

static void conn_fault(struct rtmp_conn *c, enum rtmp_fault f, const char *detail)
{
    if (c->s->fault == RTMP_FAULT_NONE || c->s->fault == f) {
        c->s->fault = f;
        snprintf(c->s->fault_detail, sizeof c->s->fault_detail, "%s", detail);
    }
    rtmp_report_fault(c->peer, c->s);
    conn_close(c);
}

static void on_conn_io(uv_poll_t *h, int status, int events);

static void update_poll(struct rtmp_conn *c)
{
    if (c->closing) return;
    int ev = c->out_sent < c->out_len ? UV_WRITABLE : 0;
    if (!c->waiting_stream && !c->close_after_write && c->s->state != RTMP_SESSION_PLAY_REQUESTED)
        ev |= UV_READABLE;
    uv_poll_start(&c->poll, ev ? ev : UV_DISCONNECT, on_conn_io);
}

static void write_pending(struct rtmp_conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            conn_close(c);
            return;
        }
        c->out_sent += (size_t)n;
    }
    if (c->out_sent == c->out_len) {
        c->out_len = c->out_sent = 0;
        if (c->close_after_write) {
            conn_close(c);
            return;
        }
    }
    update_poll(c);
}

static void conn_send(void *arg, const uint8_t *p, size_t len)
{
    struct rtmp_conn *c = arg;
    if (c->out_len - c->out_sent + len > RTMP_OUT_MAX) {
        c->close_after_write = true; /* flagged; cut by the caller once it returns */
        c->s->fault = RTMP_FAULT_OVERFLOW;
        return;
    }
    if (c->out_sent > 0) { /* compact: what was written is gone */
        memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
        c->out_len -= c->out_sent;
        c->out_sent = 0;
    }
    uint8_t *n = realloc(c->out, c->out_len + len);
    if (!n) return;
    c->out = n;
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
}

static const struct rtmp_session_ops conn_session_ops = {conn_send, NULL};

/* Moves the connection to the stream's owner (or runs the player here when this is the owner). */
static void hand_off(struct rtmp_conn *c, int owner)
{
    struct rtmp_handoff *h = calloc(1, sizeof *h);
    if (!h) {
        conn_close(c);
        return;
    }
    h->fd = c->fd;
    h->s = c->s;
    snprintf(h->peer, sizeof h->peer, "%s", c->peer);
    h->out_len = c->out_len - c->out_sent;
    if (h->out_len) {
        h->out = malloc(h->out_len);
        if (h->out)
            memcpy(h->out, c->out + c->out_sent, h->out_len);
        else
            h->out_len = 0;
    }
    memcpy(h->in, c->pending, c->pending_len);
    h->in_len = c->pending_len;
    rtmp_session_set_ops(c->s, NULL, NULL);
    c->s = NULL;
    c->fd = -1; /* the socket travels with h */
    conn_close(c);
    if (owner == worker_index(current_rw->w)) {
        rtmp_player_start(h);
        return;
    }
    if (worker_post(owner, rtmp_player_start, h) != 0) {
        close(h->fd);
        rtmp_session_destroy(h->s);
        free(h->out);
        free(h);
    }
}

static void play_not_found(struct rtmp_conn *c, const char *why)
{
    rtmp_session_play_not_found(c->s, why);
    c->s->fault = RTMP_FAULT_NOT_FOUND;
    snprintf(c->s->fault_detail, sizeof c->s->fault_detail, "play %.64s: %.80s", c->s->stream, why);
    rtmp_report_fault(c->peer, c->s);
    c->close_after_write = true;
    write_pending(c);
}

/* The player asked for s->stream: hand it to the owner, or wait (bounded) for an on-demand stream to start
 * and be ready. */
static void resolve_play(struct rtmp_conn *c, uint64_t now)
{
    struct stream_entry e;
    bool known = directory_get(c->s->stream, &e);
    if (known && (!e.on_demand || e.ready)) {
        hand_off(c, e.worker);
        return;
    }
    if (!c->waiting_stream) {
        if (!known && !(miss_hook && miss_hook(c->s->stream))) {
            play_not_found(c, "no such stream");
            return;
        }
        c->waiting_stream = true;
        c->deadline_ms = now + (uint64_t)rtmp_cfg->stream.first_frame_timeout_s * 1000;
        update_poll(c);
        return;
    }
    if (now >= c->deadline_ms) play_not_found(c, "the stream did not start in time");
}

static void conn_input(struct rtmp_conn *c, const uint8_t *p, size_t n)
{
    size_t used = 0;
    int rc = rtmp_session_input(c->s, p, n, &used);
    if (rc < 0) {
        rtmp_report_fault(c->peer, c->s);
        conn_close(c);
        return;
    }
    if (c->s->fault == RTMP_FAULT_OVERFLOW) {
        conn_fault(c, RTMP_FAULT_OVERFLOW, "does not read our replies");
        return;
    }
    if (!c->handshake_counted && !c->s->hs) {
        c->handshake_counted = true;
        if (c->s->digest_handshake) rtmp_count(&rtmp_counters.digest_handshakes);
    }
    if (rc == RTMP_SESSION_CLOSE) {
        if (c->s->fault) rtmp_report_fault(c->peer, c->s);
        c->close_after_write = true;
    } else if (rc == RTMP_SESSION_PLAY) {
        c->pending_len = n - used; /* at most one read: fits */
        memcpy(c->pending, p + used, c->pending_len);
    }
    write_pending(c);
    if (!c->closing && rc == RTMP_SESSION_PLAY) resolve_play(c, clock_mono_ms());
}

static void on_conn_io(uv_poll_t *h, int status, int events)
{
    struct rtmp_conn *c = h->data;
    if (c->closing) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (events & UV_WRITABLE) {
        write_pending(c);
        if (c->closing) return;
    }
    if (!(events & UV_READABLE)) {
        if (events & UV_DISCONNECT) conn_close(c);
        return;
    }
    uint8_t buf[sizeof c->pending];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n > 0) conn_input(c, buf, (size_t)n);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    struct rtmp_worker *rw = h->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(rw->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        rtmp_count(&rtmp_counters.connections);
        struct rtmp_conn *c = calloc(1, sizeof *c);
        if (c) c->s = rtmp_session_create((uint32_t)rtmp_cfg->rtmp.chunk_size, ++rw->seed ^ clock_mono_us());
        if (!c || !c->s) {
            free(c);
            close(fd);
            continue;
        }
        c->rw = rw;
        c->fd = fd;
        net_format_addr((struct sockaddr *)&ss, c->peer, sizeof c->peer);
        c->deadline_ms = clock_mono_ms() + RTMP_SETUP_TIMEOUT_MS;
        rtmp_session_set_ops(c->s, &conn_session_ops, c);
        c->next = rw->conns;
        if (rw->conns) rw->conns->prev = c;
        rw->conns = c;
        uv_poll_init(worker_loop(rw->w), &c->poll, fd);
        c->poll.data = c;
        uv_poll_start(&c->poll, UV_READABLE, on_conn_io);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct rtmp_worker *rw = t->data;
    uint64_t now = clock_mono_ms();
    for (struct rtmp_conn *c = rw->conns, *next; c; c = next) {
        next = c->next;
        if (c->waiting_stream)
            resolve_play(c, now);
        else if (now >= c->deadline_ms)
            conn_fault(c, RTMP_FAULT_TIMEOUT,
                       c->s->hs ? "stalled in the handshake" : "no play within 10 s of connecting");
    }
    rtmp_relays_scan(rw->w, now);
}

/* Thread exit of a worker: its loop has closed every handle; release what they belonged to. */
static void release_worker(void *arg)
{
    struct rtmp_worker *rw = arg;
    while (rw->conns) {
        struct rtmp_conn *c = rw->conns;
        conn_unlink(c);
        if (c->fd >= 0) close(c->fd);
        rtmp_session_destroy(c->s);
        free(c->out);
        free(c);
    }
    if (rw->listen_fd >= 0) close(rw->listen_fd);
    free(rw);
    rtmp_relays_worker_exit();
}

static void attach_task(void *arg)
{
    struct rtmp_worker *rw = arg;
    rw->w = worker_current();
    rw->log_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 10);
    current_rw = rw;
    pthread_setspecific(worker_key, rw);
    uv_loop_t *loop = worker_loop(rw->w);
    if (rw->listen_fd >= 0) {
        uv_poll_init(loop, &rw->listen_poll, rw->listen_fd);
        rw->listen_poll.data = rw;
        uv_poll_start(&rw->listen_poll, UV_READABLE, on_accept);
    }
    uv_timer_init(loop, &rw->timer);
    rw->timer.data = rw;
    uv_timer_start(&rw->timer, on_timer, TIMER_MS, TIMER_MS);
}

int rtmp_server_start(const struct gb_config *cfg, char *err, size_t errsize)
{
    rtmp_cfg = cfg;
    int n = workers_count();
    if (pthread_key_create(&worker_key, release_worker) != 0) return EAGAIN;
    struct rtmp_worker **rws = calloc((size_t)n, sizeof *rws);
    if (!rws) return ENOMEM;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        rws[i] = calloc(1, sizeof *rws[i]);
        if (!rws[i]) {
            rc = ENOMEM;
            break;
        }
        rws[i]->listen_fd = -1;
        if (!cfg->rtmp.enabled) continue;
        rws[i]->listen_fd = net_bind(cfg->rtmp.listen, cfg->rtmp.port, SOCK_STREAM, true, 1024);
        if (rws[i]->listen_fd < 0) {
            rc = -rws[i]->listen_fd;
            snprintf(err, errsize, "rtmp.port %d: %s", cfg->rtmp.port, strerror(rc));
        }
    }
    if (rc) {
        for (int i = 0; i < n; i++) {
            if (rws[i] && rws[i]->listen_fd >= 0) close(rws[i]->listen_fd);
            free(rws[i]);
        }
        free(rws);
        return rc;
    }
    rtmp_relays_init(cfg);
    rtmp_relay_api_register();
    for (int i = 0; i < n; i++) {
        if (worker_post(i, attach_task, rws[i]) != 0) {
            if (rws[i]->listen_fd >= 0) close(rws[i]->listen_fd);
            free(rws[i]);
        }
    }
    free(rws);
    if (cfg->rtmp.enabled)
        log_info(MODULE, "RTMP on %s:%d (play rtmp://host:%d/live/{stream}, chunk size %d)", cfg->rtmp.listen,
                 cfg->rtmp.port, cfg->rtmp.port, cfg->rtmp.chunk_size);
    return 0;
}

static void metric(struct sbuf *b, const char *name, const char *type, const char *help, long long value)
{
    sbuf_printf(b, "# HELP gbgate_%s %s\n# TYPE gbgate_%s %s\ngbgate_%s %lld\n", name, help, name, type, name,
                value);
}

void rtmp_metrics_write(struct sbuf *b)
{
    metric(b, "rtmp_connections_total", "counter", "RTMP connections accepted",
           (long long)atomic_load(&rtmp_counters.connections));
    metric(b, "rtmp_digest_handshakes_total", "counter", "RTMP handshakes with the Flash-style digest",
           (long long)atomic_load(&rtmp_counters.digest_handshakes));
    metric(b, "rtmp_plays_total", "counter", "RTMP players that started playing",
           (long long)atomic_load(&rtmp_counters.plays));
    metric(b, "rtmp_players", "gauge", "RTMP players connected",
           (long long)atomic_load(&rtmp_counters.players));
    metric(b, "rtmp_relay_starts_total", "counter", "RTMP push relays started (API and rules)",
           (long long)atomic_load(&rtmp_counters.relay_starts));
    sbuf_printf(b, "# HELP gbgate_rtmp_refused_total RTMP connections refused or cut, by reason\n"
                   "# TYPE gbgate_rtmp_refused_total counter\n");
    for (int f = RTMP_FAULT_NONE + 1; f < RTMP_FAULT_COUNT; f++)
        sbuf_printf(b, "gbgate_rtmp_refused_total{reason=\"%s\"} %llu\n", rtmp_fault_name((enum rtmp_fault)f),
                    (unsigned long long)atomic_load(&rtmp_counters.faults[f]));
    rtmp_relays_metrics(b);
}

json_t *rtmp_stream_json(const char *id)
{
    return json_pack("{s:i,s:o}", "rtmp_players", rtmp_players_of(id), "relays", rtmp_relays_json(id));
}
