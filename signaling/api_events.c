/*
 * /api/v1/alarms and /api/v1/devices/{id}/positions: the stored Alarm and MobilePosition history (events.c,
 * storage_events.c) over HTTP, newest first (JSON shapes in docs/API_DEVICES.md). Control thread, like every
 * API handler of signaling/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/api.h"
#include "common/clock.h"
#include "signaling/record_list.h"
#include "signaling/sig_core.h"
#include "signaling/storage_events.h"

#define LIST_DEFAULT 100
#define LIST_MAX     1000

static json_t *int_or_null(int v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *time_json(uint64_t wall_ms)
{
    char buf[32];
    return json_string(clock_format_utc(wall_ms, buf, sizeof(buf)));
}

/* ?limit=: 1..LIST_MAX, default LIST_DEFAULT; replies 400 itself and returns -1 when bad. */
static int param_limit(struct api_request *req)
{
    char text[16];
    if (!api_query_get(req, "limit", text, sizeof(text))) return LIST_DEFAULT;
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 1 || v > LIST_MAX) {
        api_reply_error(req, 400, "bad_limit", "limit must be a number from 1 to %d", LIST_MAX);
        return -1;
    }
    return (int)v;
}

static void alarm_row(void *arg, const struct stored_alarm *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "device", json_string(a->device_id));
    json_object_set_new(o, "channel", json_string(a->channel_id));
    json_object_set_new(o, "priority", int_or_null(a->priority));
    json_object_set_new(o, "method", int_or_null(a->method));
    json_object_set_new(o, "type", int_or_null(a->type));
    json_object_set_new(o, "time", json_string(a->time));
    json_object_set_new(o, "description", json_string(a->description));
    json_object_set_new(o, "longitude", a->has_position ? json_real(a->longitude) : json_null());
    json_object_set_new(o, "latitude", a->has_position ? json_real(a->latitude) : json_null());
    json_object_set_new(o, "received_at", time_json(a->received_at));
    json_array_append_new(arg, o);
}

static void handle_alarms(struct api_request *req)
{
    char device[64] = "", since_text[64];
    uint64_t since_ms = 0;
    int limit = param_limit(req);
    if (limit < 0) return;
    if (api_query_get(req, "device", device, sizeof(device)) && device[0] &&
        !device_id_acceptable(device, strlen(device))) {
        api_reply_error(req, 400, "bad_device_id", "'%s' is not a device ID (1-32 letters or digits)",
                        device);
        return;
    }
    if (api_query_get(req, "since", since_text, sizeof(since_text))) {
        int64_t s;
        if (!record_time_parse(since_text, &s)) {
            api_reply_error(req, 400, "bad_time", "since '%s' is not a UTC time like 2026-01-01T00:00:00Z",
                            since_text);
            return;
        }
        since_ms = (uint64_t)s * 1000;
    }
    json_t *arr = json_array();
    if (storage_alarms_list(device, since_ms, limit, alarm_row, arr)) {
        json_decref(arr);
        api_reply_error(req, 500, "storage_error", "the alarms could not be read");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "alarms", arr);
    api_reply_json(req, 200, o);
}

static void handle_alarms_clear(struct api_request *req)
{
    if (storage_alarms_clear())
        api_reply_error(req, 500, "storage_error", "the alarms could not be deleted");
    else
        api_reply_empty(req, 204);
}

static void position_row(void *arg, const struct stored_position *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "channel", json_string(p->channel_id));
    json_object_set_new(o, "time", json_string(p->time));
    json_object_set_new(o, "longitude", json_real(p->longitude));
    json_object_set_new(o, "latitude", json_real(p->latitude));
    json_object_set_new(o, "speed", json_real(p->speed));
    json_object_set_new(o, "direction", json_real(p->direction));
    json_object_set_new(o, "altitude", json_real(p->altitude));
    json_object_set_new(o, "received_at", time_json(p->received_at));
    json_array_append_new(arg, o);
}

static void handle_positions(struct api_request *req)
{
    struct device *dev = registry_find(req->params[0]);
    if (!dev) {
        api_reply_error(req, 404, "device_not_found", "no device %s", req->params[0]);
        return;
    }
    int limit = param_limit(req);
    if (limit < 0) return;
    json_t *arr = json_array();
    if (storage_positions_list(dev->id, limit, position_row, arr)) {
        json_decref(arr);
        api_reply_error(req, 500, "storage_error", "the positions could not be read");
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "device", json_string(dev->id));
    json_object_set_new(o, "positions", arr);
    api_reply_json(req, 200, o);
}

void events_api_register(void)
{
    static bool registered;
    if (registered) return;
    registered = true;
    api_route("GET", "/api/v1/alarms", handle_alarms);
    api_route("DELETE", "/api/v1/alarms", handle_alarms_clear);
    api_route("GET", "/api/v1/devices/{}/positions", handle_positions);
}
