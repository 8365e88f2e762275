/*
 * API router: a flat table of (method, pattern, handler); patterns match segment by segment with "{}" as a
 * one-segment wildcard. A few dozen routes, so a linear scan is simpler than a trie and never the bottleneck.
 */
#include "common/api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ROUTES 128

struct route {
    const char *method, *pattern;
    api_handler_fn fn;
};
static struct route routes[MAX_ROUTES];
static int nroutes;

void api_route(const char *method, const char *pattern, api_handler_fn fn)
{
    if (nroutes < MAX_ROUTES) routes[nroutes++] = (struct route){method, pattern, fn};
}

/* Matches path against pattern, collecting "{}" segments into req->params. */
static bool match(const char *pattern, const char *path, struct api_request *req)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || len >= API_PARAM_MAX || np >= API_MAX_PARAMS) return false;
            memcpy(req->params[np], s, len);
            req->params[np][len] = 0;
            np++;
            s += len;
            p += 2;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    if (*s == '/' && s[1] == 0) s++; /* tolerate a trailing slash */
    if (*p || *s) return false;
    req->nparams = np;
    return true;
}

void api_dispatch(struct api_request *req)
{
    bool path_known = false;
    for (int i = 0; i < nroutes; i++) {
        if (!match(routes[i].pattern, req->path, req)) continue;
        path_known = true;
        if (strcasecmp(routes[i].method, req->method) == 0) {
            routes[i].fn(req);
            return;
        }
    }
    if (path_known)
        api_reply_error(req, 405, "method_not_allowed", "%s is not allowed on %s", req->method, req->path);
    else
        api_reply_error(req, 404, "not_found", "no API endpoint %s", req->path);
}

void api_reply_raw(struct api_request *req, int status, const char *content_type, const char *body,
                   size_t len)
{
    char *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (copy) memcpy(copy, body, len);
    }
    req->replied = true;
    req->reply_fn(req->reply_arg, status, content_type, copy, copy ? len : 0);
    api_request_free(req);
}

void api_reply_json(struct api_request *req, int status, json_t *json)
{
    char *text = json ? json_dumps(json, JSON_COMPACT) : NULL;
    json_decref(json);
    req->replied = true;
    req->reply_fn(req->reply_arg, status, "application/json", text, text ? strlen(text) : 0);
    api_request_free(req);
}

void api_reply_error(struct api_request *req, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_reply_json(req, status, json_pack("{s:s,s:s}", "error", msg, "code", code));
}

void api_reply_empty(struct api_request *req, int status)
{
    req->replied = true;
    req->reply_fn(req->reply_arg, status, NULL, NULL, 0);
    api_request_free(req);
}

json_t *api_body_json(struct api_request *req)
{
    json_error_t jerr;
    json_t *j = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!j || !json_is_object(j)) {
        json_decref(j);
        api_reply_error(req, 400, "bad_json", "request body must be a JSON object%s%s",
                        req->body_len ? ": " : "", req->body_len ? jerr.text : "");
        return NULL;
    }
    return j;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool api_query_get(const struct api_request *req, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    const char *q = req->query;
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > klen && strncmp(q, key, klen) == 0 && q[klen] == '=') {
            size_t o = 0;
            for (size_t i = klen + 1; i < len && o + 1 < size; i++) {
                if (q[i] == '%' && i + 2 < len && hexval(q[i + 1]) >= 0 && hexval(q[i + 2]) >= 0) {
                    out[o++] = (char)(hexval(q[i + 1]) * 16 + hexval(q[i + 2]));
                    i += 2;
                } else {
                    out[o++] = q[i] == '+' ? ' ' : q[i];
                }
            }
            out[o] = 0;
            return true;
        }
        q += len + (amp ? 1 : 0);
    }
    return false;
}

void api_request_free(struct api_request *req)
{
    if (!req) return;
    free(req->body);
    free(req);
}
