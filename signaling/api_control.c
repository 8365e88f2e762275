/*
 * Device control over HTTP (docs/API_DEVICES.md "Device control"): PTZ, presets, device commands and
 * configuration queries on the channels of registered devices.
 *
 * Every handler checks the same things in the same order - the device exists (404), the channel is one of
 * its catalog channels or the device itself (404), the body is well-formed (400, counted), the device is
 * online and reachable (409) - then keeps the api_request until device_control.c reports: the device's
 * answer, the MESSAGE's 200 for commands devices never answer, a SIP error (502) or sip.query_timeout_s
 * (504). Handlers run on the control thread, like the rest of signaling/.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/api.h"
#include "common/clock.h"
#include "common/log.h"
#include "signaling/ptz.h"
#include "signaling/sig_core.h"

#define PTZ_DEFAULT_SPEED 128

/* What a waiting request needs when the device answers: the request and what to put in the reply. */
struct control_wait {
    struct api_request *req;
    char what[CONTROL_CONFIG_TYPE_MAX]; /* the PTZCmd, the command name or the config type */
    bool is_control;                    /* a DeviceControl: count its failures in SC_CONTROL_FAILED */
};

/* 400, counted and logged rate-limited: a client sending bad bodies must not fill the log. */
static void reply_bad_request(struct api_request *req, const char *code, const char *message)
{
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
    sig_count(SC_CONTROL_BAD_REQUEST);
    if (log_ratelimit_ok(&rl, clock_mono_ms()))
        log_info(LOG_MOD, "API %s %s from %s refused: %s", req->method, req->path, req->peer, message);
    api_reply_error(req, 400, code, "%s", message);
}

/* The device of params[0] and its channel params[1] (or the device's own ID), online; NULL after replying. */
static struct device *target_or_reply(struct api_request *req, bool need_channel)
{
    struct device *dev = registry_find(req->params[0]);
    if (!dev) {
        api_reply_error(req, 404, "device_not_found", "no device %s", req->params[0]);
        return NULL;
    }
    if (need_channel && strcmp(req->params[1], dev->id) && !device_find_channel(dev, req->params[1])) {
        api_reply_error(req, 404, "channel_not_found", "device %s has no channel %s", dev->id,
                        req->params[1]);
        return NULL;
    }
    return dev;
}

static bool online_or_reply(struct api_request *req, const struct device *dev)
{
    if (dev->online && device_reachable(dev)) return true;
    api_reply_error(req, 409, "device_offline", "device %s is offline", dev->id);
    return false;
}

bool sig_reply_query_error(struct api_request *req, int err)
{
    switch (err) {
    case 0: return false;
    case ETIMEDOUT:
        api_reply_error(req, 504, "device_timeout", "the device did not answer within %d s",
                        sig ? sig->cfg.sip.query_timeout_s : 0);
        break;
    case ENOENT: api_reply_error(req, 404, "device_not_found", "the device was deleted"); break;
    case ESHUTDOWN: api_reply_error(req, 503, "shutting_down", "gbgate is stopping"); break;
    case ENOTCONN: api_reply_error(req, 409, "device_offline", "the device's connection is gone"); break;
    default: api_reply_error(req, 502, "device_error", "the device refused the request: %s", strerror(err));
    }
    return true;
}

static struct control_wait *wait_new(struct api_request *req, const char *what, bool is_control)
{
    struct control_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        api_reply_error(req, 503, "out_of_memory", "cannot take the request now");
        return NULL;
    }
    w->req = req;
    size_t n = strlen(what); /* callers pass validated values that fit; cut anything else */
    if (n >= sizeof(w->what)) n = sizeof(w->what) - 1;
    memcpy(w->what, what, n);
    w->what[n] = 0;
    w->is_control = is_control;
    return w;
}

/* After a send: when it failed at once (nothing in flight) replies 502 and frees the wait. */
static void wait_started(struct control_wait *w, struct device *dev, int err)
{
    if (!err) return;
    if (w->is_control) sig_count(SC_CONTROL_FAILED);
    api_reply_error(w->req, 502, "send_failed", "cannot send to device %s: %s", dev->id, strerror(err));
    free(w);
}

/* ---- PTZ ---- */

static void ptz_done(void *arg, int err, const struct manscdp_msg *answer)
{
    struct control_wait *w = arg;
    (void)answer;
    if (err) sig_count(SC_CONTROL_FAILED);
    if (!sig_reply_query_error(w->req, err)) {
        json_t *o = json_object();
        json_object_set_new(o, "cmd", json_string(w->what));
        json_object_set_new(o, "sent", json_true());
        api_reply_json(w->req, 200, o);
    }
    free(w);
}

/* The PTZCmd a body asks for into hex; replies 400 itself and returns false on a bad body. */
static bool ptz_body_to_cmd(struct api_request *req, json_t *body, char hex[PTZ_HEX_LEN + 1])
{
    json_t *action = json_object_get(body, "action"), *preset = json_object_get(body, "preset");
    json_t *raw = json_object_get(body, "cmd");
    struct ptz_cmd cmd;
    char msg[160];
    if (!json_is_object(body) || (action != NULL) + (preset != NULL) + (raw != NULL) != 1) {
        reply_bad_request(req, "bad_body", "the body must be an object with one of action, preset or cmd");
        return false;
    }
    if (action) {
        json_t *speed = json_object_get(body, "speed");
        json_int_t v = speed ? (json_is_integer(speed) ? json_integer_value(speed) : -1) : PTZ_DEFAULT_SPEED;
        if (!json_is_string(action) || v < 0 || v > 255 ||
            ptz_from_action(json_string_value(action), (int)v, &cmd)) {
            reply_bad_request(req, "bad_action",
                              "action must be one of up, down, left, right, upleft, upright, downleft, "
                              "downright, zoomin, zoomout, stop, focusnear, focusfar, irisopen, irisclose "
                              "and speed an integer 0-255");
            return false;
        }
    } else if (preset) {
        json_t *op = json_object_get(preset, "op"), *index = json_object_get(preset, "index");
        if (!json_is_object(preset) || !json_is_string(op) || !json_is_integer(index) ||
            json_integer_value(index) < 1 || json_integer_value(index) > PTZ_MAX_PRESET ||
            ptz_from_preset(json_string_value(op), (int)json_integer_value(index), &cmd)) {
            reply_bad_request(req, "bad_preset",
                              "preset must be {\"op\": \"set\"|\"call\"|\"delete\", \"index\": 1-255}");
            return false;
        }
    } else {
        const char *why = "cmd must be a string";
        if (!json_is_string(raw) || ptz_decode(json_string_value(raw), json_string_length(raw), &cmd, &why)) {
            snprintf(msg, sizeof(msg), "bad cmd: %s", why);
            reply_bad_request(req, "bad_cmd", msg);
            return false;
        }
    }
    return ptz_encode(&cmd, hex) == 0; /* every path above gives fields in range */
}

static void handle_ptz(struct api_request *req)
{
    struct device *dev = target_or_reply(req, true);
    if (!dev) return;
    json_t *body = api_body_json(req);
    if (!body) {
        sig_count(SC_CONTROL_BAD_REQUEST);
        return;
    }
    char hex[PTZ_HEX_LEN + 1];
    bool ok = ptz_body_to_cmd(req, body, hex);
    json_decref(body);
    if (!ok || !online_or_reply(req, dev)) return;
    struct control_wait *w = wait_new(req, hex, true);
    if (w) wait_started(w, dev, control_send_ptz(dev, req->params[1], hex, ptz_done, w));
}

/* ---- device commands ---- */

/* A Result other than OK in the device's answer: replies 502 device_refused and returns true. */
static bool reply_if_refused(struct control_wait *w, const struct manscdp_msg *answer)
{
    const char *result = answer ? manscdp_get(answer, "Result") : NULL;
    if (!result || !result[0] || !strcasecmp(result, "OK")) return false;
    if (w->is_control) sig_count(SC_CONTROL_FAILED);
    api_reply_error(w->req, 502, "device_refused", "the device answered %s %s with Result %s",
                    manscdp_cmdtype(answer), w->what, result);
    return true;
}

static void command_done(void *arg, int err, const struct manscdp_msg *answer)
{
    struct control_wait *w = arg;
    if (err) sig_count(SC_CONTROL_FAILED);
    /* commands with a Response carry Result; the others are done at the MESSAGE's 200 (answer NULL) */
    if (!sig_reply_query_error(w->req, err) && !reply_if_refused(w, answer)) {
        json_t *o = json_object();
        json_object_set_new(o, "command", json_string(w->what));
        json_object_set_new(o, "result", json_string("OK"));
        api_reply_json(w->req, 200, o);
    }
    free(w);
}

static void handle_control(struct api_request *req)
{
    struct device *dev = target_or_reply(req, true);
    if (!dev) return;
    json_t *body = api_body_json(req);
    if (!body) {
        sig_count(SC_CONTROL_BAD_REQUEST);
        return;
    }
    json_t *name = json_object_get(body, "command");
    const struct control_command *c =
        control_command_find(json_is_string(name) ? json_string_value(name) : NULL);
    json_decref(body);
    if (!c) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the body must be {\"command\": one of %s}", control_command_names());
        reply_bad_request(req, "bad_command", msg);
        return;
    }
    if (!online_or_reply(req, dev)) return;
    struct control_wait *w = wait_new(req, c->name, true);
    if (w) wait_started(w, dev, control_send_command(dev, req->params[1], c, command_done, w));
}

/* ---- queries ---- */

static void presets_done(void *arg, int err, const struct manscdp_msg *answer)
{
    struct control_wait *w = arg;
    if (!sig_reply_query_error(w->req, err)) {
        json_t *o = json_object();
        json_object_set_new(o, "device_id", json_string(w->req->params[0]));
        json_object_set_new(o, "channel_id", json_string(w->req->params[1]));
        json_object_set_new(o, "presets", control_presets_json(answer));
        api_reply_json(w->req, 200, o);
    }
    free(w);
}

static void handle_presets(struct api_request *req)
{
    struct device *dev = target_or_reply(req, true);
    if (!dev || !online_or_reply(req, dev)) return;
    struct control_wait *w = wait_new(req, "PresetQuery", false);
    if (w) wait_started(w, dev, control_query_presets(dev, req->params[1], presets_done, w));
}

static void config_done(void *arg, int err, const struct manscdp_msg *answer)
{
    struct control_wait *w = arg;
    if (!sig_reply_query_error(w->req, err) && !reply_if_refused(w, answer)) {
        json_t *o = json_object();
        json_object_set_new(o, "device_id", json_string(manscdp_device_id(answer)));
        json_object_set_new(o, "type", json_string(w->what));
        json_object_set_new(o, "config", control_config_json(answer));
        api_reply_json(w->req, 200, o);
    }
    free(w);
}

static void handle_config(struct api_request *req)
{
    struct device *dev = target_or_reply(req, false);
    if (!dev) return;
    char type[CONTROL_CONFIG_TYPE_MAX + 64]; /* longer than valid, so that a long value is refused whole */
    if (!api_query_get(req, "type", type, sizeof(type)) || !control_config_type_valid(type)) {
        char msg[400];
        snprintf(msg, sizeof(msg), "type must be one of %s, or several joined with '/'",
                 control_config_type_names());
        reply_bad_request(req, "bad_config_type", msg);
        return;
    }
    if (!online_or_reply(req, dev)) return;
    struct control_wait *w = wait_new(req, type, false);
    if (w) wait_started(w, dev, control_query_config(dev, dev->id, type, config_done, w));
}

void api_control_register(void)
{
    api_route("POST", "/api/v1/devices/{}/channels/{}/ptz", handle_ptz);
    api_route("GET", "/api/v1/devices/{}/channels/{}/presets", handle_presets);
    api_route("POST", "/api/v1/devices/{}/channels/{}/control", handle_control);
    api_route("GET", "/api/v1/devices/{}/config", handle_config);
}
