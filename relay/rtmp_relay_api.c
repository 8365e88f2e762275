/*
 * The relay API, on the control thread (common/api.h):
 *   POST   /api/v1/streams/{id}/relays        {"url":"rtmp://..."} -> 201 {"id":"r1", ...}
 *   GET    /api/v1/streams/{id}/relays        -> {"relays":[{"id","url","state","bytes","reconnects",...}]}
 *   DELETE /api/v1/streams/{id}/relays/{rid}  -> 204
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/api.h"
#include "relay/rtmp_priv.h"
#include "relay/rtmp_relay_priv.h"

static void handle_create(struct api_request *req)
{
    const char *id = req->params[0];
    struct stream_entry e;
    if (!directory_get(id, &e)) {
        api_reply_error(req, 404, "stream_not_found", "no stream %s", id);
        return;
    }
    json_t *body = api_body_json(req);
    if (!body) return;
    const char *url = json_string_value(json_object_get(body, "url"));
    if (!url || (strncasecmp(url, "rtmp://", 7) != 0 && strncasecmp(url, "rtmps://", 8) != 0) ||
        strlen(url) >= RELAY_URL_MAX || strlen(url) < 10) {
        json_decref(body);
        api_reply_error(req, 400, "bad_url",
                        "\"url\" must be an rtmp:// or rtmps:// URL shorter than %d bytes", RELAY_URL_MAX);
        return;
    }
    char rid[16];
    int rc = rtmp_relay_start(id, url, "api", e.worker, e.created_ms, rid);
    json_decref(body);
    if (rc == ENOSPC) {
        api_reply_error(req, 503, "too_many_relays", "at most %d relays at a time", RELAY_MAX);
        return;
    }
    if (rc) {
        api_reply_error(req, 503, "relay_failed", "cannot start the relay: %s", strerror(rc));
        return;
    }
    json_t *list = rtmp_relays_json(id);
    json_t *mine = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "id")), rid)) mine = json_incref(r);
    }
    json_decref(list);
    api_reply_json(req, 201, mine ? mine : json_pack("{s:s}", "id", rid));
}

static void handle_list(struct api_request *req)
{
    json_t *list = rtmp_relays_json(req->params[0]);
    if (json_array_size(list) == 0 && !directory_get(req->params[0], NULL)) {
        json_decref(list);
        api_reply_error(req, 404, "stream_not_found", "no stream %s", req->params[0]);
        return;
    }
    api_reply_json(req, 200, json_pack("{s:o}", "relays", list));
}

static void handle_delete(struct api_request *req)
{
    if (rtmp_relay_delete(req->params[0], req->params[1]) != 0) {
        api_reply_error(req, 404, "relay_not_found", "no relay %s on stream %s", req->params[1],
                        req->params[0]);
        return;
    }
    api_reply_empty(req, 204);
}

void rtmp_relay_api_register(void)
{
    api_route("POST", "/api/v1/streams/{}/relays", handle_create);
    api_route("GET", "/api/v1/streams/{}/relays", handle_list);
    api_route("DELETE", "/api/v1/streams/{}/relays/{}", handle_delete);
}
