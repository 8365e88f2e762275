/*
 * HTTP API router, run on the control thread. The HTTP server (on the media workers) parses a request,
 * copies it into an api_request and posts it to the control thread; the matching handler answers through
 * api_reply*(), possibly later (a play call waits for the first keyframe). The reply travels back to the
 * worker that owns the connection.
 *
 * Handlers register a method and a path pattern where "{}" matches one path segment:
 *     api_route("POST", "/api/v1/devices/{}/channels/{}/play", handle_play);
 * and find the segments in req->params[0..nparams).
 */
#ifndef GB_COMMON_API_H
#define GB_COMMON_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define API_MAX_PARAMS 4
#define API_PARAM_MAX  128

struct api_request {
    char method[8];
    char path[512];   /* decoded path without the query */
    char query[1024]; /* raw query string, without '?' */
    char *body;       /* NUL-terminated, may be NULL */
    size_t body_len;
    bool from_loopback;
    char peer[64];  /* "ip:port" of the client */
    char host[128]; /* the Host header (for URLs in replies), may be empty */
    int nparams;
    char params[API_MAX_PARAMS][API_PARAM_MAX];
    /* where the reply goes (set by the HTTP server) */
    void (*reply_fn)(void *reply_arg, int status, const char *content_type, char *body, size_t len);
    void *reply_arg;
    bool replied;
};

typedef void (*api_handler_fn)(struct api_request *req);

void api_route(const char *method, const char *pattern, api_handler_fn fn);
/* Finds the handler and calls it (control thread). Unknown path -> 404, wrong method -> 405. */
void api_dispatch(struct api_request *req);

/* Answers and frees req. `json` is stolen (decref'd). */
void api_reply_json(struct api_request *req, int status, json_t *json);
/* {"error": message, "code": code} with `status`. */
void api_reply_error(struct api_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void api_reply_empty(struct api_request *req, int status);
void api_reply_raw(struct api_request *req, int status, const char *content_type, const char *body,
                   size_t len);

/* Parses the JSON body; on failure replies 400 itself and returns NULL. */
json_t *api_body_json(struct api_request *req);
/* Query parameter value (URL-decoded) into out; returns false when absent. */
bool api_query_get(const struct api_request *req, const char *key, char *out, size_t size);

void api_request_free(struct api_request *req);

#endif
