/*
 * HTTP connections on the workers: accept, parse with http-parser (bounded: 8 KiB of headers, 1 MiB body,
 * 2 KiB URL), hand the complete request to the router, write the response, keep the connection alive for the
 * next one. One request at a time per connection (no pipelining: browsers and API clients do not use it).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "relay/http_priv.h"
#include "relay/viewer.h"

#define MODULE          "http"
#define IDLE_TIMEOUT_MS 30000

const struct gb_config *http_cfg;

struct http_worker {
    int listen_fd;
    uv_poll_t listen_poll;
    struct http_conn *conns;
};

static int *listen_fds;

const char *http_status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
    }
}

static void conn_free_cb(uv_handle_t *h)
{
    http_conn_release(h->data);
}

void http_conn_release(struct http_conn *c)
{
    if (--c->refs > 0) return;
    free(c->body);
    free(c->out);
    free(c);
}

static void conn_unlink(struct http_conn *c)
{
    struct http_worker *hw = worker_get_ext(c->w);
    if (c->prev)
        c->prev->next = c->next;
    else if (hw->conns == c)
        hw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void conn_close(struct http_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    conn_unlink(c);
    uv_poll_stop(&c->poll);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    uv_close((uv_handle_t *)&c->poll, conn_free_cb);
}

int http_conn_detach(struct http_conn *c)
{
    int fd = c->fd;
    c->fd = -1;
    conn_close(c);
    return fd;
}

static void reset_request(struct http_conn *c)
{
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->header_bytes = c->url_len = c->field_len = c->value_len = 0;
    c->url[0] = c->upgrade[0] = c->ws_key[0] = c->auth[0] = c->connection[0] = c->host[0] = c->range[0] = 0;
    c->field_done = false;
    c->cur_header = H_NONE;
    free(c->body);
    c->body = NULL;
    c->body_len = 0;
    c->message_done = c->too_large = c->parse_error = false;
}

static void on_conn_io(uv_poll_t *h, int status, int events);

static void write_pending(struct http_conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_sent, c->out_len - c->out_sent);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                uv_poll_start(&c->poll, UV_READABLE | UV_WRITABLE, on_conn_io);
                return;
            }
            conn_close(c);
            return;
        }
        c->out_sent += (size_t)n;
    }
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_sent = 0;
    if (c->close_after_write) {
        conn_close(c);
        return;
    }
    reset_request(c);
    uv_poll_start(&c->poll, UV_READABLE, on_conn_io);
}

void http_respond(struct http_conn *c, int status, const char *content_type, const char *body, size_t len,
                  const char *extra_headers)
{
    if (c->closing) return;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: gbgate\r\nAccess-Control-Allow-Origin: *\r\n"
                     "Content-Length: %zu\r\n%s%s%s%s%s\r\n",
                     status, http_status_text(status), len, content_type ? "Content-Type: " : "",
                     content_type ? content_type : "", content_type ? "\r\n" : "",
                     c->close_after_write ? "Connection: close\r\n" : "", extra_headers ? extra_headers : "");
    if (n >= (int)sizeof head) n = (int)sizeof head - 1;
    free(c->out);
    c->out = malloc((size_t)n + len);
    if (!c->out) {
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)n);
    if (len) memcpy(c->out + n, body, len);
    c->out_len = (size_t)n + len;
    c->out_sent = 0;
    write_pending(c);
}

void http_respond_error(struct http_conn *c, int status, const char *code, const char *message)
{
    char body[640];
    char esc[512];
    size_t o = 0;
    for (const char *p = message; *p && o + 2 < sizeof esc; p++) {
        if (*p == '"' || *p == '\\') esc[o++] = '\\';
        esc[o++] = (*p >= 0 && *p < 0x20) ? ' ' : *p;
    }
    esc[o] = 0;
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\",\"code\":\"%s\"}", esc, code);
    http_respond(c, status, "application/json", body, (size_t)n, NULL);
}

/* ---- http-parser callbacks ---- */

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (c->url_len + len >= sizeof c->url) {
        c->too_large = true;
        return 1;
    }
    memcpy(c->url + c->url_len, at, len);
    c->url_len += len;
    c->url[c->url_len] = 0;
    return 0;
}

static void finish_header(struct http_conn *c)
{
    char *dst = NULL;
    size_t size = 0;
    switch (c->cur_header) {
    case H_UPGRADE: dst = c->upgrade, size = sizeof c->upgrade; break;
    case H_WS_KEY: dst = c->ws_key, size = sizeof c->ws_key; break;
    case H_AUTH: dst = c->auth, size = sizeof c->auth; break;
    case H_CONNECTION: dst = c->connection, size = sizeof c->connection; break;
    case H_HOST: dst = c->host, size = sizeof c->host; break;
    case H_RANGE: /* a cut Range value could name other bytes: one too long is ignored instead */
        if (c->value_len < sizeof c->range)
            dst = c->range, size = sizeof c->range;
        else
            snprintf(c->range, sizeof c->range, "ignored");
        break;
    default: break;
    }
    if (dst) snprintf(dst, size, "%.*s", (int)c->value_len, c->value);
    c->cur_header = H_NONE;
    c->field_len = c->value_len = 0;
    c->field_done = false;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    c->header_bytes += len;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->too_large = true;
        return 1;
    }
    if (c->field_done) finish_header(c);
    size_t n = len < sizeof c->field - 1 - c->field_len ? len : sizeof c->field - 1 - c->field_len;
    memcpy(c->field + c->field_len, at, n);
    c->field_len += n;
    c->field[c->field_len] = 0;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    c->header_bytes += len;
    if (c->header_bytes > HTTP_MAX_HEADER_BYTES) {
        c->too_large = true;
        return 1;
    }
    if (!c->field_done) {
        c->field_done = true;
        c->cur_header = !strcasecmp(c->field, "Upgrade")             ? H_UPGRADE
                        : !strcasecmp(c->field, "Sec-WebSocket-Key") ? H_WS_KEY
                        : !strcasecmp(c->field, "Authorization")     ? H_AUTH
                        : !strcasecmp(c->field, "Connection")        ? H_CONNECTION
                        : !strcasecmp(c->field, "Host")              ? H_HOST
                        : !strcasecmp(c->field, "Range")             ? H_RANGE
                                                                     : H_OTHER;
    }
    size_t n = len < sizeof c->value - 1 - c->value_len ? len : sizeof c->value - 1 - c->value_len;
    memcpy(c->value + c->value_len, at, n);
    c->value_len += n;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    if (c->field_done) finish_header(c);
    if (p->content_length != ULLONG_MAX && p->content_length > HTTP_MAX_BODY) {
        c->too_large = true;
        return 1;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_conn *c = p->data;
    if (c->body_len + len > HTTP_MAX_BODY) {
        c->too_large = true;
        return 1;
    }
    char *nb = realloc(c->body, c->body_len + len + 1);
    if (!nb) return 1;
    c->body = nb;
    memcpy(c->body + c->body_len, at, len);
    c->body_len += len;
    c->body[c->body_len] = 0;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct http_conn *c = p->data;
    c->message_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_conn_io(uv_poll_t *h, int status, int events)
{
    struct http_conn *c = h->data;
    if (c->closing) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->last_activity_ms = clock_mono_ms();
    if (events & UV_WRITABLE) {
        write_pending(c);
        if (c->closing || c->out) return;
    }
    if (!(events & UV_READABLE) || c->message_done) return;
    char buf[4096];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n < 0) return;
    size_t used = http_parser_execute(&c->parser, &parser_settings, buf, (size_t)n);
    if (c->too_large) {
        c->close_after_write = true;
        http_respond_error(c, c->header_bytes > HTTP_MAX_HEADER_BYTES ? 431 : 413, "too_large",
                           "request too large");
        return;
    }
    if (!c->message_done && (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK || used != (size_t)n) &&
        !c->parser.upgrade) {
        c->close_after_write = true;
        http_respond_error(c, 400, "bad_request", http_errno_description(HTTP_PARSER_ERRNO(&c->parser)));
        return;
    }
    if (c->message_done || c->parser.upgrade) {
        c->message_done = true;
        c->close_after_write = !http_should_keep_alive(&c->parser);
        uv_poll_stop(&c->poll); /* one request at a time: reading resumes after the response */
        http_route(c);
    }
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    struct worker *w = h->data;
    struct http_worker *hw = worker_get_ext(w);
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(hw->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        struct http_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->w = w;
        c->fd = fd;
        c->refs = 1;
        c->loopback = net_is_loopback((struct sockaddr *)&ss);
        net_format_addr((struct sockaddr *)&ss, c->peer, sizeof c->peer);
        c->last_activity_ms = clock_mono_ms();
        reset_request(c);
        c->next = hw->conns;
        if (hw->conns) hw->conns->prev = c;
        hw->conns = c;
        uv_poll_init(worker_loop(w), &c->poll, fd);
        c->poll.data = c;
        uv_poll_start(&c->poll, UV_READABLE, on_conn_io);
    }
}

static void http_tick(struct worker *w, uint64_t now)
{
    struct http_worker *hw = worker_get_ext(w);
    if (!hw) return;
    http_flv_expire_pending(now, false);
    for (struct http_conn *c = hw->conns, *next; c; c = next) {
        next = c->next;
        if (!c->waiting_api && !c->parked && now - c->last_activity_ms > IDLE_TIMEOUT_MS) conn_close(c);
    }
}

static void free_http_worker(uv_handle_t *h)
{
    free(h->data);
}

static void http_stop(struct worker *w)
{
    struct http_worker *hw = worker_get_ext(w);
    http_flv_expire_pending(0, true);
    viewer_close_all();
    if (!hw) return;
    while (hw->conns) {
        struct http_conn *c = hw->conns;
        conn_close(c); /* unlinks it */
    }
    uv_poll_stop(&hw->listen_poll);
    close(hw->listen_fd);
    hw->listen_poll.data = hw;
    uv_close((uv_handle_t *)&hw->listen_poll, free_http_worker);
    worker_set_ext(w, NULL);
}

static void attach_task(void *arg)
{
    struct worker *w = worker_current();
    struct http_worker *hw = calloc(1, sizeof *hw);
    if (!hw) abort();
    hw->listen_fd = (int)(intptr_t)arg;
    worker_set_ext(w, hw);
    uv_poll_init(worker_loop(w), &hw->listen_poll, hw->listen_fd);
    hw->listen_poll.data = w;
    uv_poll_start(&hw->listen_poll, UV_READABLE, on_accept);
}

int http_server_start(const struct gb_config *cfg, char *err, size_t errsize)
{
    http_cfg = cfg;
    int n = workers_count();
    listen_fds = calloc((size_t)n, sizeof *listen_fds);
    if (!listen_fds) return ENOMEM;
    for (int i = 0; i < n; i++) {
        listen_fds[i] = net_bind(cfg->http.listen, cfg->http.port, SOCK_STREAM, true, 1024);
        if (listen_fds[i] < 0) {
            snprintf(err, errsize, "http.port %d: %s", cfg->http.port, strerror(-listen_fds[i]));
            return -listen_fds[i];
        }
    }
    worker_set_tick_hook(http_tick);
    worker_set_flush_hook(viewer_flush_dirty);
    worker_set_stop_hook(http_stop);
    for (int i = 0; i < n; i++) worker_post(i, attach_task, (void *)(intptr_t)listen_fds[i]);
    log_info(MODULE, "HTTP on %s:%d (FLV, WS-FLV, API, console, metrics)", cfg->http.listen, cfg->http.port);
    return 0;
}
