/*
 * Request routing. API calls are copied into an api_request and run on the control thread; the reply comes
 * back to this worker as a task, and the connection is kept alive (refcount) until it does, even if the
 * client went away meanwhile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/api.h"
#include "common/control.h"
#include "common/log.h"
#include "relay/http_priv.h"
#include "relay/recorder_priv.h"

#define MODULE "http"

struct api_reply_msg {
    struct http_conn *c;
    int status;
    char content_type[64];
    char *body;
    size_t len;
};

static void deliver_reply(void *arg)
{
    struct api_reply_msg *m = arg;
    struct http_conn *c = m->c;
    c->waiting_api = false;
    if (!c->closing)
        http_respond(c, m->status, m->content_type[0] ? m->content_type : NULL, m->body, m->len, NULL);
    http_conn_release(c);
    free(m->body);
    free(m);
}

static void api_reply_to_worker(void *reply_arg, int status, const char *content_type, char *body, size_t len)
{
    struct http_conn *c = reply_arg;
    struct api_reply_msg *m = calloc(1, sizeof *m);
    if (!m) abort();
    m->c = c;
    m->status = status;
    if (content_type) snprintf(m->content_type, sizeof m->content_type, "%s", content_type);
    m->body = body;
    m->len = len;
    if (worker_post(worker_index(c->w), deliver_reply, m) != 0) {
        /* the worker is shutting down: the connection dies with it */
        free(body);
        free(m);
    }
}

static void run_api(void *arg)
{
    api_dispatch(arg);
}

static void run_metrics(void *arg)
{
    size_t len = 0;
    char *text = http_metrics_text(&len);
    api_reply_to_worker(arg, 200, "text/plain; version=0.0.4", text, len);
}

/* Runs fn(arg) on the control thread, which answers through api_reply_to_worker; the connection waits for
 * it. False (nothing posted, the connection released again) when the gateway is shutting down. */
static bool post_to_control(struct http_conn *c, void (*fn)(void *), void *arg)
{
    c->refs++;
    c->waiting_api = true;
    if (control_post(fn, arg) == 0) return true;
    c->refs--;
    c->waiting_api = false;
    return false;
}

/* /metrics is built on the control thread, like API answers: a worker keeps reading its RTP meanwhile. */
static void route_metrics(struct http_conn *c)
{
    if (!post_to_control(c, run_metrics, c))
        http_respond_error(c, 503, "shutting_down", "the gateway is shutting down");
}

static bool token_ok(const char *auth, const char *token)
{
    if (strncasecmp(auth, "Bearer ", 7) != 0) return false;
    const char *given = auth + 7;
    size_t a = strlen(given), b = strlen(token);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++) diff |= (unsigned)(given[i] ^ token[i]);
    return diff == 0;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Percent-decodes src into dst; false on a bad escape or an embedded NUL. */
static bool url_decode(const char *src, size_t len, char *dst, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (o + 1 >= size) return false;
        if (src[i] == '%') {
            if (i + 2 >= len + 0 || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0) return false;
            char ch = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
            if (ch == 0) return false;
            dst[o++] = ch;
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = 0;
    return true;
}

static void route_api(struct http_conn *c, const char *method, const char *path, const char *query)
{
    if (!c->loopback) {
        if (!http_cfg->http.api_token[0]) {
            http_respond_error(c, 403, "forbidden",
                               "API calls from other hosts are disabled until http.api_token is set");
            return;
        }
        if (!token_ok(c->auth, http_cfg->http.api_token)) {
            http_respond_error(c, 401, "unauthorized", "missing or wrong Authorization: Bearer token");
            return;
        }
    }
    if (strlen(path) >= sizeof((struct api_request *)0)->path ||
        strlen(query) >= sizeof((struct api_request *)0)->query) {
        http_respond_error(c, 414, "uri_too_long", "API path or query too long");
        return;
    }
    struct api_request *req = calloc(1, sizeof *req);
    if (!req) {
        http_respond_error(c, 503, "overloaded", "out of memory");
        return;
    }
    snprintf(req->method, sizeof req->method, "%s", method);
    memcpy(req->path, path, strlen(path) + 1);
    memcpy(req->query, query, strlen(query) + 1);
    req->body = c->body;
    req->body_len = c->body_len;
    c->body = NULL;
    c->body_len = 0;
    req->from_loopback = c->loopback;
    snprintf(req->peer, sizeof req->peer, "%s", c->peer);
    snprintf(req->host, sizeof req->host, "%s", c->host);
    req->reply_fn = api_reply_to_worker;
    req->reply_arg = c;
    if (!post_to_control(c, run_api, req)) {
        api_request_free(req);
        http_respond_error(c, 503, "shutting_down", "the gateway is shutting down");
    }
}

void http_route(struct http_conn *c)
{
    const char *method = http_method_str((enum http_method)c->parser.method);
    char *q = strchr(c->url, '?');
    size_t path_len = q ? (size_t)(q - c->url) : strlen(c->url);
    char path[HTTP_URL_MAX];
    if (!url_decode(c->url, path_len, path, sizeof path) || path[0] != '/') {
        c->close_after_write = true;
        http_respond_error(c, 400, "bad_request", "malformed URL");
        return;
    }
    const char *query = q ? q + 1 : "";
    if (!strcmp(method, "OPTIONS")) {
        http_respond(c, 204, NULL, NULL, 0,
                     "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
                     "Access-Control-Allow-Headers: Authorization, Content-Type\r\n"
                     "Access-Control-Max-Age: 86400\r\n");
        return;
    }
    if (!strncmp(path, "/api/", 5)) {
        route_api(c, method, path, query);
        return;
    }
    if (!strncmp(path, "/live/", 6)) {
        size_t len = strlen(path + 6);
        bool ws = !strcasecmp(c->upgrade, "websocket");
        if (len > 4 && !strcmp(path + 6 + len - 4, ".flv") && len - 4 <= 64) {
            char id[65];
            memcpy(id, path + 6, len - 4);
            id[len - 4] = 0;
            if (strcmp(method, "GET") != 0) {
                http_respond_error(c, 405, "method_not_allowed", "live streams are read with GET");
                return;
            }
            http_flv_serve(c, id, ws);
            return;
        }
        http_respond_error(c, 404, "not_found", "live URLs look like /live/{stream}.flv");
        return;
    }
    if (!strncmp(path, "/records/", 9)) { /* finished MP4 recordings (relay/recorder_http.c) */
        recorder_http_serve(c, method, path + 9);
        return;
    }
    if (!strcmp(path, "/metrics")) {
        route_metrics(c);
        return;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        http_respond_error(c, 405, "method_not_allowed", "only GET is served here");
        return;
    }
    http_static_serve(c, path);
}
