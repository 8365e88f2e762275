/* libFuzzer: the API router (path patterns and parameters) and query-string decoding on arbitrary input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/api.h"

static void reply(void *arg, int status, const char *ct, char *body, size_t len)
{
    if (status < 100 || status > 599) abort();
    free(body);
}

static void handler(struct api_request *req)
{
    for (int i = 0; i < req->nparams; i++)
        if (!req->params[i][0] || strchr(req->params[i], '/')) abort();
    api_reply_empty(req, 204);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int routed;
    if (!routed) {
        api_route("GET", "/api/v1/devices/{}/channels/{}", handler);
        api_route("POST", "/api/v1/streams", handler);
        api_route("GET", "/api/v1/streams/{}", handler);
        routed = 1;
    }
    struct api_request *req = calloc(1, sizeof *req);
    size_t split = size ? data[0] % (size + 1) : 0;
    size_t plen = split < sizeof req->path - 1 ? split : sizeof req->path - 1;
    memcpy(req->path, data, plen);
    size_t qlen = size - split < sizeof req->query - 1 ? size - split : sizeof req->query - 1;
    memcpy(req->query, data + split, qlen);
    snprintf(req->method, sizeof req->method, "%s", size > 1 && (data[1] & 1) ? "POST" : "GET");
    char value[64];
    api_query_get(req, "start", value, sizeof value);
    api_query_get(req, "", value, sizeof value);
    req->reply_fn = reply;
    api_dispatch(req);
    return 0;
}
