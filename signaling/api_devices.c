/*
 * /api/v1/devices: the registry over HTTP (JSON shapes in docs/API_DEVICES.md). Handlers run on the control
 * thread like everything in signaling/, so they read the registry directly. DeviceStatus is the one handler
 * that answers later: it keeps the api_request until the device's answer, a SIP error or
 * sip.query_timeout_s (504).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/api.h"
#include "common/clock.h"
#include "common/log.h"
#include "signaling/sig_core.h"
#include "signaling/storage.h"

static const char *const media_transport_names[] = {"udp", "tcp-passive", "tcp-active"};

static json_t *json_time(uint64_t wall_ms)
{
    char buf[32];
    return wall_ms ? json_string(clock_format_utc(wall_ms, buf, sizeof(buf))) : json_null();
}

static json_t *json_int_or_null(long long v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

static json_t *device_json(const struct device *dev)
{
    char addr[64] = "";
    if (sa_isset(&dev->addr, SA_ALL)) sig_addr_str(&dev->addr, addr, sizeof(addr));
    int mt = dev->media_transport >= 0 && dev->media_transport <= 2 ? dev->media_transport
                                                                    : sig->cfg.sip.media_transport;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(dev->id));
    json_object_set_new(o, "name", json_string(device_display_name(dev)));
    json_object_set_new(o, "device_name", json_string(dev->device_name));
    json_object_set_new(o, "manufacturer", json_string(dev->manufacturer));
    json_object_set_new(o, "model", json_string(dev->model));
    json_object_set_new(o, "firmware", json_string(dev->firmware));
    json_object_set_new(o, "user_agent", json_string(dev->user_agent));
    json_object_set_new(o, "transport", json_string(dev->transport == SIP_TRANSP_TCP ? "tcp" : "udp"));
    json_object_set_new(o, "address", json_string(addr));
    json_object_set_new(o, "online", json_boolean(dev->online));
    json_object_set_new(o, "registered", json_boolean(dev->registered));
    json_object_set_new(o, "registered_at", json_time(dev->registered_at));
    json_object_set_new(o, "keepalive_at", json_time(dev->keepalive_at));
    json_object_set_new(o, "expires_at", json_time(dev->expires_at));
    json_object_set_new(o, "catalog_at", json_time(dev->catalog_at));
    json_object_set_new(o, "catalog_in_progress", json_boolean(dev->assembly != NULL));
    json_object_set_new(o, "channel_count", json_integer((json_int_t)dev->nchannels));
    json_object_set_new(o, "reported_channels", json_int_or_null(dev->reported_channels));
    json_object_set_new(o, "media_transport", json_string(media_transport_names[mt]));
    json_object_set_new(o, "password_set", json_boolean(dev->password[0] != 0));
    char kinds[64];
    json_object_set_new(o, "subscribe",
                        json_string(subscribe_kinds_text(subscribe_kinds_for(dev), kinds, sizeof(kinds))));
    json_object_set_new(o, "subscribe_source", json_string(dev->subscribe_mask >= 0 ? "device" : "config"));
    json_object_set_new(o, "subscriptions", subscribe_state_json(dev->id));
    json_object_set_new(o, "last_position", events_last_position_json(dev->id));
    return o;
}

static json_t *channel_json(const struct manscdp_catalog_item *it)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(it->device_id));
    json_object_set_new(o, "name", json_string(it->name));
    json_object_set_new(o, "manufacturer", json_string(it->manufacturer));
    json_object_set_new(o, "model", json_string(it->model));
    json_object_set_new(o, "owner", json_string(it->owner));
    json_object_set_new(o, "civil_code", json_string(it->civil_code));
    json_object_set_new(o, "address", json_string(it->address));
    json_object_set_new(o, "parental", json_int_or_null(it->parental));
    json_object_set_new(o, "parent_id", json_string(it->parent_id));
    json_object_set_new(o, "business_group_id", json_string(it->business_group_id));
    json_object_set_new(o, "status", json_string(it->status));
    json_object_set_new(o, "online", json_boolean(it->online));
    json_object_set_new(o, "ptz_type", json_int_or_null(it->ptz_type));
    json_object_set_new(o, "longitude", it->has_position ? json_real(it->longitude) : json_null());
    json_object_set_new(o, "latitude", it->has_position ? json_real(it->latitude) : json_null());
    json_object_set_new(o, "ip_address", json_string(it->ip_address));
    json_object_set_new(o, "port", json_int_or_null(it->port));
    return o;
}

/* The device named by params[0], or NULL after replying 404. */
static struct device *device_or_404(struct api_request *req)
{
    struct device *dev = registry_find(req->params[0]);
    if (!dev) api_reply_error(req, 404, "device_not_found", "no device %s", req->params[0]);
    return dev;
}

static void handle_list(struct api_request *req)
{
    size_t n;
    struct device **devs = registry_sorted(&n);
    json_t *arr = json_array();
    for (size_t i = 0; devs && i < n; i++) json_array_append_new(arr, device_json(devs[i]));
    free(devs);
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(arr)));
    json_object_set_new(o, "devices", arr);
    api_reply_json(req, 200, o);
}

static void handle_get(struct api_request *req)
{
    struct device *dev = device_or_404(req);
    if (dev) api_reply_json(req, 200, device_json(dev));
}

static void handle_channels(struct api_request *req)
{
    struct device *dev = device_or_404(req);
    if (!dev) return;
    json_t *arr = json_array();
    for (size_t i = 0; i < dev->nchannels; i++) json_array_append_new(arr, channel_json(&dev->channels[i]));
    json_t *o = json_object();
    json_object_set_new(o, "device_id", json_string(dev->id));
    json_object_set_new(o, "count", json_integer((json_int_t)dev->nchannels));
    json_object_set_new(o, "channels", arr);
    api_reply_json(req, 200, o);
}

/* Validates the PUT body into the values to apply; replies 400 itself and returns false on a bad field. */
struct put_values {
    const char *password, *name;
    bool set_password, set_name;
    int media_transport; /* -2 = unchanged */
    int subscribe_mask;  /* -2 = unchanged, -1 = follow sip.subscribe */
};

static bool put_parse(struct api_request *req, json_t *body, struct put_values *v)
{
    *v = (struct put_values){NULL, NULL, false, false, -2, -2};
    json_t *pw = json_object_get(body, "password"), *name = json_object_get(body, "name");
    json_t *mt = json_object_get(body, "media_transport"), *sub = json_object_get(body, "subscribe");
    if (pw) {
        if (!json_is_string(pw) && !json_is_null(pw)) goto bad_password;
        v->password = json_is_string(pw) ? json_string_value(pw) : "";
        if (strlen(v->password) >= DEVICE_PASSWORD_MAX) goto bad_password;
        v->set_password = true;
    }
    if (name) {
        if (!json_is_string(name) && !json_is_null(name)) {
            api_reply_error(req, 400, "bad_name", "name must be a string");
            return false;
        }
        v->name = json_is_string(name) ? json_string_value(name) : "";
        if (strlen(v->name) >= DEVICE_TEXT_MAX) {
            api_reply_error(req, 400, "bad_name", "name is longer than %d bytes", DEVICE_TEXT_MAX - 1);
            return false;
        }
        v->set_name = true;
    }
    if (mt) {
        const char *s = json_is_string(mt) ? json_string_value(mt) : "";
        for (int i = 0; i < 3; i++)
            if (!strcmp(s, media_transport_names[i])) v->media_transport = i;
        if (json_is_null(mt)) v->media_transport = -1;
        if (v->media_transport == -2) {
            api_reply_error(req, 400, "bad_media_transport",
                            "media_transport must be udp, tcp-passive or tcp-active");
            return false;
        }
    }
    if (sub) { /* "catalog,alarm", [] or ["catalog", ...], "" = none; null = back to sip.subscribe */
        char list[128] = "", bad[64] = "";
        size_t pos = 0;
        bool ok = json_is_string(sub) || json_is_array(sub) || json_is_null(sub);
        if (json_is_string(sub)) snprintf(list, sizeof(list), "%s", json_string_value(sub));
        size_t i;
        json_t *item;
        if (json_is_array(sub)) json_array_foreach(sub, i, item)
            {
                if (!json_is_string(item) || pos >= sizeof(list)) ok = false;
                if (ok)
                    pos += (size_t)snprintf(list + pos, sizeof(list) - pos, ",%s", json_string_value(item));
            }
        unsigned mask = 0;
        if (ok && !json_is_null(sub) && subscribe_parse_kinds(list, &mask, bad, sizeof(bad))) ok = false;
        if (!ok) {
            api_reply_error(
                req, 400, "bad_subscribe",
                "subscribe must list catalog, alarm and/or position (a string or an array), or be "
                "null%s%s",
                bad[0] ? ": not a kind: " : "", bad);
            return false;
        }
        v->subscribe_mask = json_is_null(sub) ? -1 : (int)mask;
    }
    return true;
bad_password:
    api_reply_error(req, 400, "bad_password", "password must be a string of at most %d bytes",
                    DEVICE_PASSWORD_MAX - 1);
    return false;
}

static void handle_put(struct api_request *req)
{
    const char *id = req->params[0];
    if (!device_id_acceptable(id, strlen(id))) {
        api_reply_error(req, 400, "bad_device_id", "'%s' is not a device ID (1-32 letters or digits)", id);
        return;
    }
    json_t *body = api_body_json(req);
    if (!body) return;
    struct put_values v;
    if (!json_is_object(body)) {
        api_reply_error(req, 400, "bad_body", "the body must be a JSON object");
    } else if (put_parse(req, body, &v)) {
        bool created;
        struct device *dev = registry_get_or_create(id, &created);
        if (!dev) {
            api_reply_error(req, 503, "registry_full", "cannot add another device");
        } else {
            if (v.set_password) snprintf(dev->password, sizeof(dev->password), "%s", v.password);
            if (v.set_name) snprintf(dev->name, sizeof(dev->name), "%s", v.name);
            if (v.media_transport != -2) dev->media_transport = v.media_transport;
            if (v.subscribe_mask != -2) dev->subscribe_mask = v.subscribe_mask;
            if (storage_save_device(dev)) {
                api_reply_error(req, 500, "storage_error", "the device could not be stored");
            } else {
                log_info(LOG_MOD, "device %s %s through the API", id, created ? "added" : "updated");
                api_reply_json(req, created ? 201 : 200, device_json(dev));
            }
        }
    }
    json_decref(body);
}

static void handle_delete(struct api_request *req)
{
    struct device *dev = device_or_404(req);
    if (!dev) return;
    char id[DEVICE_ID_MAX];
    snprintf(id, sizeof(id), "%s", dev->id);
    query_forget_device(id);
    records_forget_device(id);
    subscribe_device_gone(id);
    events_forget_device(id);
    invite_device_gone(id, "deleted through the API");
    registry_remove(dev);
    if (storage_delete_device(id)) {
        api_reply_error(req, 500, "storage_error", "the device was removed but not from storage");
        return;
    }
    log_info(LOG_MOD, "device %s deleted through the API", id);
    api_reply_empty(req, 204);
}

static void handle_catalog(struct api_request *req)
{
    struct device *dev = device_or_404(req);
    if (!dev) return;
    if (!dev->online || !device_reachable(dev)) {
        api_reply_error(req, 409, "device_offline", "device %s is offline", dev->id);
        return;
    }
    int err = query_catalog(dev);
    if (err && err != EALREADY) {
        api_reply_error(req, 502, "query_failed", "cannot query device %s: %s", dev->id, strerror(err));
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "device_id", json_string(dev->id));
    json_object_set_new(o, "status", json_string(err == EALREADY ? "in_progress" : "queried"));
    json_object_set_new(o, "sn", json_integer(dev->assembly ? dev->assembly->sn : 0));
    api_reply_json(req, 202, o);
}

static void status_done(void *arg, int err, const struct manscdp_msg *answer)
{
    struct api_request *req = arg;
    struct manscdp_device_status st;
    if (!err && manscdp_decode_device_status(answer, &st)) err = EPROTO;
    if (sig_reply_query_error(req, err)) return;
    json_t *alarms = json_array();
    for (const struct manscdp_node *n = st.first_alarm; n; n = manscdp_next(n)) {
        struct manscdp_alarm_status_item item;
        manscdp_decode_alarm_status_item(n, &item);
        json_t *a = json_object();
        json_object_set_new(a, "id", json_string(item.device_id));
        json_object_set_new(a, "duty_status", json_string(item.duty_status));
        json_array_append_new(alarms, a);
    }
    json_t *o = json_object();
    json_object_set_new(o, "device_id", json_string(manscdp_device_id(answer)));
    json_object_set_new(o, "result", json_string(st.result));
    json_object_set_new(o, "online", json_boolean(st.online));
    json_object_set_new(o, "online_text", json_string(st.online_text));
    json_object_set_new(o, "status", json_string(st.status));
    json_object_set_new(o, "encode", json_string(st.encode));
    json_object_set_new(o, "record", json_string(st.record));
    json_object_set_new(o, "device_time", json_string(st.device_time));
    json_object_set_new(o, "alarms", alarms);
    api_reply_json(req, 200, o);
}

static void handle_status(struct api_request *req)
{
    struct device *dev = device_or_404(req);
    if (!dev) return;
    if (!dev->online || !device_reachable(dev)) {
        api_reply_error(req, 409, "device_offline", "device %s is offline", dev->id);
        return;
    }
    int err = query_device_status(dev, status_done, req);
    if (err) api_reply_error(req, 502, "query_failed", "cannot query device %s: %s", dev->id, strerror(err));
}

void api_devices_register(void)
{
    static bool registered;
    if (registered) return; /* routes outlive a stop/start of the plane (tests) */
    registered = true;
    api_route("GET", "/api/v1/devices", handle_list);
    api_route("GET", "/api/v1/devices/{}", handle_get);
    api_route("PUT", "/api/v1/devices/{}", handle_put);
    api_route("DELETE", "/api/v1/devices/{}", handle_delete);
    api_route("GET", "/api/v1/devices/{}/channels", handle_channels);
    api_route("POST", "/api/v1/devices/{}/catalog", handle_catalog);
    api_route("GET", "/api/v1/devices/{}/status", handle_status);
    api_control_register(); /* api_control.c: PTZ, presets, device commands, config */
}
