/*
 * GB28181 live view (issue 5): one media session per "{deviceId}_{channelId}" however many viewers arrive.
 * The session itself (receiver, INVITE, first keyframe, idle close, device BYE...) is app/gb_session.c's;
 * this file is what is particular to live view: the stream id, starting on demand when a viewer asks for a
 * stream nobody has, and the play API.
 *
 * Control thread only, except live_view_miss_hook (a worker), which posts to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/gb_session.h"
#include "app/live_view.h"
#include "common/api.h"
#include "common/control.h"
#include "relay/http_server.h"
#include "signaling/gbid.h"

static void reply_playing(struct gb_session *s, struct api_request *req)
{
    api_reply_json(req, 200,
                   json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "stream", s->p.id, "device", s->p.device,
                             "channel", s->p.channel, "ssrc", s->ssrc_text, "port", s->port, "transport",
                             stream_transport_name((enum stream_transport)s->transport), "urls",
                             streams_urls_json(s->p.id, req)));
}

static const struct gb_session_ops live_ops = {.reply_playing = reply_playing};

/* Starts (or joins) the live view of id. req may be NULL (an HTTP viewer waiting). */
static void live_start(const char *id, const char *device, const char *channel, int transport,
                       struct api_request *req)
{
    struct gb_session_params p = {.transport = transport, .kind = INVITE_PLAY, .idle_close = true};
    snprintf(p.id, sizeof p.id, "%s", id);
    snprintf(p.device, sizeof p.device, "%.20s", device);
    snprintf(p.channel, sizeof p.channel, "%.20s", channel);
    gb_session_start(&p, &live_ops, NULL, req, NULL);
}

/* "{20 digits}_{20 digits}" */
static bool split_gb_id(const char *id, char device[21], char channel[21])
{
    if (strlen(id) != 41 || id[20] != '_') return false;
    memcpy(device, id, 20);
    device[20] = 0;
    memcpy(channel, id + 21, 20);
    channel[20] = 0;
    return gbid_valid(device) && gbid_valid(channel);
}

static void on_demand_task(void *arg)
{
    char *id = arg, device[21], channel[21];
    if (split_gb_id(id, device, channel))
        live_start(id, device, channel, -1, NULL);
    else
        http_stream_ready(id, false, 404, "no such stream");
    free(id);
}

bool live_view_miss_hook(const char *id)
{
    char device[21], channel[21];
    if (!split_gb_id(id, device, channel)) return false;
    char *copy = strdup(id);
    if (!copy || control_post(on_demand_task, copy) != 0) {
        free(copy);
        return false;
    }
    return true;
}

/* ---- API ---- */

static void handle_play(struct api_request *req)
{
    char id[STREAM_ID_MAX + 1];
    int transport = -1;
    if (!gbid_valid(req->params[0]) || !gbid_valid(req->params[1])) {
        api_reply_error(req, 400, "bad_id", "device and channel ids are 20 digits");
        return;
    }
    if (req->body_len) {
        json_t *body = api_body_json(req);
        if (!body) return;
        const char *t = json_string_value(json_object_get(body, "transport"));
        enum stream_transport st = TRANSPORT_UDP;
        if (t && stream_transport_parse(t, &st)) {
            json_decref(body);
            api_reply_error(req, 400, "bad_transport",
                            "\"transport\" must be udp, tcp-passive or tcp-active");
            return;
        }
        if (t) transport = (int)st;
        json_decref(body);
    }
    snprintf(id, sizeof id, "%.20s_%.20s", req->params[0], req->params[1]);
    live_start(id, req->params[0], req->params[1], transport, req);
}

static void handle_stop(struct api_request *req)
{
    char id[STREAM_ID_MAX + 1];
    snprintf(id, sizeof id, "%.20s_%.20s", req->params[0], req->params[1]);
    struct gb_session *s = gb_session_find(id);
    if (!s) {
        api_reply_error(req, 404, "not_playing", "%s is not playing", id);
        return;
    }
    gb_session_stop(s, 410, "stopped", "stopped through the API");
    api_reply_empty(req, 204);
}

void live_view_register(void)
{
    api_route("POST", "/api/v1/devices/{}/channels/{}/play", handle_play);
    api_route("DELETE", "/api/v1/devices/{}/channels/{}/play", handle_stop);
    gb_session_register();
}
