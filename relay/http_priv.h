/* Private to relay/http_*.c: the connection object and the helpers the routes share. */
#ifndef GB_RELAY_HTTP_PRIV_H
#define GB_RELAY_HTTP_PRIV_H

#include <http_parser.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "media/worker.h"
#include "relay/http_server.h"

#define HTTP_MAX_HEADER_BYTES 8192
#define HTTP_MAX_BODY         (1u << 20)
#define HTTP_URL_MAX          2048

struct http_conn {
    struct worker *w;
    int fd;
    uv_poll_t poll;
    int refs; /* 1 for the handle, +1 while an API call is pending */
    bool closing;
    bool loopback;
    char peer[64];
    uint64_t last_activity_ms;
    struct http_conn *next, *prev; /* worker's connection list (idle timeouts) */

    http_parser parser;
    size_t header_bytes;
    char url[HTTP_URL_MAX];
    size_t url_len;
    char field[64];
    size_t field_len;
    bool field_done;
    enum { H_NONE, H_UPGRADE, H_WS_KEY, H_AUTH, H_CONNECTION, H_HOST, H_RANGE, H_OTHER } cur_header;
    char value[512];
    size_t value_len;
    char upgrade[32], ws_key[64], auth[300], connection[32], host[128];
    char range[128]; /* Range: (recordings, relay/http_range.h) */
    char *body;
    size_t body_len;
    bool message_done, too_large, parse_error;

    char *out;
    size_t out_len, out_sent;
    bool close_after_write;
    bool waiting_api;
    bool parked; /* waiting for an on-demand stream (owned by the pending list) */
};

/* Queues a complete response; Content-Length and CORS headers are added here. body may be NULL. */
void http_respond(struct http_conn *c, int status, const char *content_type, const char *body, size_t len,
                  const char *extra_headers);
void http_respond_error(struct http_conn *c, int status, const char *code, const char *message);
/* Gives the connection's fd away (it becomes a viewer); the connection object goes away. */
int http_conn_detach(struct http_conn *c);
void http_conn_release(struct http_conn *c);
const char *http_status_text(int status);

/* http_routes.c */
void http_route(struct http_conn *c);
/* http_flv.c */
void http_flv_serve(struct http_conn *c, const char *stream_id, bool websocket);
/* Answers parked on-demand requests whose wait expired (all: every one, at shutdown). */
void http_flv_expire_pending(uint64_t now_ms, bool all);
/* http_metrics.c */
/* The /metrics text (malloc'd; *len its length). Thread-safe: called on the control thread. */
char *http_metrics_text(size_t *len);
/* http_static.c */
void http_static_serve(struct http_conn *c, const char *path);

extern const struct gb_config *http_cfg;

#endif
