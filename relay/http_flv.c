/*
 * GET /live/{stream}.flv: becomes an HTTP-FLV viewer (chunked) or, with Upgrade: websocket, a WS-FLV viewer
 * (binary frames carrying the same FLV bytes). The viewer must live on the stream's owning worker; when the
 * request landed elsewhere, the socket is handed over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/control.h"
#include "common/log.h"
#include "media/directory.h"
#include "relay/http_priv.h"
#include "relay/live.h"
#include "relay/viewer.h"
#include "relay/ws.h"

#define MODULE "http-flv"

static bool (*miss_hook)(const char *id);

void http_set_stream_miss_hook(bool (*fn)(const char *id))
{
    miss_hook = fn;
}

/* Requests parked while their stream starts on demand (per worker, so no locking). */
struct pending_view {
    struct pending_view *next;
    struct http_conn *c;
    char id[STREAM_ID_MAX + 1];
    bool ws;
    uint64_t deadline_ms;
};
static _Thread_local struct pending_view *pending;

struct flv_request {
    int fd;
    bool ws;
    char id[STREAM_ID_MAX + 1];
    char ws_key[64];
    char peer[64];
};

static bool on_ws_read(struct viewer *v, const uint8_t *p, size_t len);
static void on_viewer_closed(struct viewer *v)
{
    if (v->framing == FRAMING_WEBSOCKET) ws_parser_destroy(v->ops_arg);
    live_viewer_closed(v);
}

static const struct viewer_ops http_viewer_ops = {NULL, on_viewer_closed};
static const struct viewer_ops ws_viewer_ops = {on_ws_read, on_viewer_closed};

/* WebSocket viewers: the client only sends control frames (ping, close); data frames are ignored. */
static void ws_event(void *arg, const struct ws_event *ev)
{
    struct viewer *v = arg;
    if (ev->type == WS_EV_PING) {
        uint8_t hdr[10];
        size_t n = ws_frame_header(hdr, WS_OP_PONG, ev->len, true);
        uint8_t frame[10 + 125];
        memcpy(frame, hdr, n);
        memcpy(frame + n, ev->data, ev->len);
        viewer_push_bytes(v, frame, n + ev->len, false);
    } else if (ev->type == WS_EV_CLOSE) {
        uint8_t frame[2 + WS_MAX_CONTROL_PAYLOAD];
        size_t plen = ws_close_payload(frame + 2, WS_CLOSE_NORMAL, "bye");
        ws_frame_header(frame, WS_OP_CLOSE, plen, true);
        ssize_t w = write(v->fd, frame, plen + 2); /* best effort, the connection ends now */
        (void)w;
        viewer_close(v, "client sent WebSocket close");
    }
}

static bool on_ws_read(struct viewer *v, const uint8_t *p, size_t len)
{
    enum ws_error e = ws_parser_input(v->ops_arg, p, len);
    if (e != WS_OK) log_info(MODULE, "ws-flv viewer %s: %s", v->peer, ws_error_str(e));
    return e == WS_OK;
}

/* Writes a short error straight to a socket that has no connection object any more. */
static void respond_raw_and_close(int fd, int status, const char *message)
{
    char buf[512];
    char body[300];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\",\"code\":\"not_found\"}", message);
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n%s",
                     status, http_status_text(status), bl, body);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
    close(fd);
}

static void start_viewer(struct worker *w, struct live *l, const struct flv_request *r)
{
    size_t budget = (size_t)http_cfg->stream.viewer_queue_kb * 1024;
    struct viewer *v;
    if (r->ws) {
        char accept[WS_ACCEPT_KEY_LEN + 1];
        if (ws_accept_key(r->ws_key, accept) != 0) {
            respond_raw_and_close(r->fd, 400, "bad Sec-WebSocket-Key");
            return;
        }
        v = viewer_create(w, r->fd, FRAMING_WEBSOCKET, budget, &ws_viewer_ops, NULL, r->peer, "ws-flv");
        if (!v) {
            close(r->fd);
            return;
        }
        v->ops_arg = ws_parser_create(WS_ROLE_SERVER, 64 * 1024, ws_event, v);
        char head[256];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\nServer: gbgate\r\n\r\n",
                         accept);
        viewer_push_bytes(v, head, (size_t)n, false);
    } else {
        v = viewer_create(w, r->fd, FRAMING_HTTP_CHUNKED, budget, &http_viewer_ops, NULL, r->peer, "flv");
        if (!v) {
            close(r->fd);
            return;
        }
        static const char head[] =
            "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\nCache-Control: no-cache\r\n"
            "Access-Control-Allow-Origin: *\r\nServer: gbgate\r\n\r\n";
        viewer_push_bytes(v, head, sizeof head - 1, false);
    }
    live_add_viewer(l, v);
}

static void serve_on_owner(void *arg)
{
    struct flv_request *r = arg;
    struct worker *w = worker_current();
    struct live *l = live_find(w, r->id);
    if (l)
        start_viewer(w, l, r);
    else
        respond_raw_and_close(r->fd, 404, "stream closed");
    free(r);
}

static bool valid_stream_id(const char *id)
{
    if (!*id) return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

void http_flv_serve(struct http_conn *c, const char *id, bool websocket)
{
    if (!valid_stream_id(id)) {
        http_respond_error(c, 400, "bad_stream_id", "stream ids are [A-Za-z0-9_.-]{1,64}");
        return;
    }
    if (websocket && !c->ws_key[0]) {
        http_respond_error(c, 400, "bad_websocket", "Sec-WebSocket-Key missing");
        return;
    }
    struct stream_entry e;
    if (!directory_get(id, &e) || (e.on_demand && !e.ready)) {
        if (miss_hook && miss_hook(id)) { /* starting on demand (GB live view): wait for it, bounded */
            struct pending_view *p = calloc(1, sizeof *p);
            if (!p) {
                http_respond_error(c, 503, "overloaded", "out of memory");
                return;
            }
            p->c = c;
            c->parked = true;
            p->ws = websocket;
            snprintf(p->id, sizeof p->id, "%s", id);
            p->deadline_ms = clock_mono_ms() + (uint64_t)http_cfg->stream.first_frame_timeout_s * 1000 + 5000;
            p->next = pending;
            pending = p;
            return;
        }
        http_respond_error(c, 404, "stream_not_found", "no such stream");
        return;
    }
    struct flv_request r = {.ws = websocket};
    snprintf(r.id, sizeof r.id, "%s", id);
    snprintf(r.ws_key, sizeof r.ws_key, "%s", c->ws_key);
    snprintf(r.peer, sizeof r.peer, "%s", c->peer);
    int owner = e.worker;
    r.fd = http_conn_detach(c);
    if (owner == worker_index(c->w)) {
        struct live *l = live_find(c->w, id);
        if (l)
            start_viewer(c->w, l, &r);
        else
            respond_raw_and_close(r.fd, 404, "stream not open yet");
        return;
    }
    struct flv_request *copy = malloc(sizeof *copy);
    if (!copy) {
        close(r.fd);
        return;
    }
    *copy = r;
    if (worker_post(owner, serve_on_owner, copy) != 0) {
        close(r.fd);
        free(copy);
    }
}

/* ---- on-demand waits ---- */

struct ready_msg {
    char id[STREAM_ID_MAX + 1];
    bool ok;
    int status;
    char reason[160];
};

static void ready_on_worker(void *arg)
{
    struct ready_msg *m = arg;
    struct pending_view **pp = &pending;
    while (*pp) {
        struct pending_view *p = *pp;
        if (strcmp(p->id, m->id) != 0) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        p->c->parked = false;
        if (m->ok) {
            http_flv_serve(p->c, p->id, p->ws);
        } else {
            const char *code = m->status == 404   ? "not_found"
                               : m->status == 409 ? "device_offline"
                               : m->status == 504 ? "timeout"
                                                  : "play_failed";
            http_respond_error(p->c, m->status, code, m->reason);
        }
        free(p);
    }
    free(arg);
}

void http_stream_ready(const char *id, bool ok, int status, const char *reason)
{
    for (int i = 0; i < workers_count(); i++) {
        struct ready_msg *m = calloc(1, sizeof *m);
        if (!m) return;
        snprintf(m->id, sizeof m->id, "%s", id);
        m->ok = ok;
        m->status = status;
        snprintf(m->reason, sizeof m->reason, "%s", reason ? reason : "");
        if (worker_post(i, ready_on_worker, m) != 0) free(m);
    }
}

void http_flv_expire_pending(uint64_t now_ms, bool all)
{
    struct pending_view **pp = &pending;
    while (*pp) {
        struct pending_view *p = *pp;
        if (!all && now_ms < p->deadline_ms) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        p->c->parked = false;
        http_respond_error(p->c, 504, "timeout", "the stream did not start in time");
        free(p);
    }
}
