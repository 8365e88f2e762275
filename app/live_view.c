/*
 * GB28181 live view (issue 5): one media session per "{deviceId}_{channelId}" however many viewers arrive.
 *
 *   viewer / play API -> OPENING: SSRC allocated, receiver opened on a worker (per-stream port), then the
 *   INVITE (for tcp-active: the INVITE first, the receiver connects to the answer's c=/m=) -> INVITING ->
 *   WAIT_MEDIA: the first keyframe releases every waiter (API replies, parked HTTP viewers) -> PLAYING; the
 *   last viewer leaving arms stream.idle_close_s -> BYE. RTP timeout, device BYE, device offline, the stop
 * API and shutdown all end here too (ENDED), and the session is freed once its receiver has closed.
 *
 * A new request for a stream whose previous session is still closing waits (deferred) until the old receiver
 * is gone, so the two never fight over the stream id. Things that can arrive in either order are accepted in
 * either order: a keyframe before the 200 OK (devices that stream before answering), an API stop while the
 * receiver is still opening.
 *
 * Control thread only. Every transition is logged with device, channel, SSRC and reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/live_view.h"
#include "common/api.h"
#include "common/control.h"
#include "common/log.h"
#include "relay/http_server.h"
#include "signaling/gbid.h"
#include "signaling/invite.h"
#include "signaling/libre.h"
#include "signaling/signaling.h"

#define MODULE "live-view"

enum lv_state { LV_NEW, LV_OPENING, LV_INVITING, LV_WAIT_MEDIA, LV_PLAYING, LV_ENDED };
static const char *const state_names[] = {"new",     "opening", "inviting", "waiting for media",
                                          "playing", "ended"};

struct waiter {
    struct waiter *next;
    struct api_request *req;
};

struct lv_session {
    struct lv_session *next;
    char id[STREAM_ID_MAX + 1], device[21], channel[21];
    enum lv_state state;
    enum invite_transport transport;
    uint64_t sip;
    bool sip_pending;      /* INVITE sent, no answer yet (ending now means CANCEL) */
    bool sip_up;           /* answered 2xx: ending means BYE */
    bool deferred;         /* waits for the previous session of this id to close */
    bool receiver_opening; /* streams_open in flight: its callback finishes whatever happens meanwhile */
    bool receiver_open;
    bool port_owned;     /* tcp-active: the port offered, not yet handed to a receiver */
    bool keyframe_early; /* the first keyframe came before the 200 OK */
    uint32_t ssrc;
    char ssrc_text[GB_SSRC_LEN + 1];
    int port;
    int viewers;
    struct tmr timeout, idle;
    struct waiter *waiters;
    int sip_status;
};

static struct lv_session *sessions;
static struct gb_ssrc_pool ssrc_pool;
static bool ssrc_pool_ready;

/* The live (not ENDED) session of id. */
static struct lv_session *find(const char *id)
{
    for (struct lv_session *s = sessions; s; s = s->next)
        if (s->state != LV_ENDED && !strcmp(s->id, id)) return s;
    return NULL;
}

static struct lv_session *find_ended(const char *id)
{
    for (struct lv_session *s = sessions; s; s = s->next)
        if (s->state == LV_ENDED && !strcmp(s->id, id)) return s;
    return NULL;
}

static void set_state(struct lv_session *s, enum lv_state st, const char *why)
{
    log_info(MODULE, "[%s] device %s channel %s ssrc %s: %s -> %s (%s)", s->id, s->device, s->channel,
             s->ssrc_text, state_names[s->state], state_names[st], why);
    s->state = st;
}

static void reply_playing(struct api_request *req, const struct lv_session *s)
{
    api_reply_json(req, 200,
                   json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "stream", s->id, "device", s->device, "channel",
                             s->channel, "ssrc", s->ssrc_text, "port", s->port, "transport",
                             stream_transport_name((enum stream_transport)s->transport), "urls",
                             streams_urls_json(s->id, req)));
}

static void add_waiter(struct lv_session *s, struct api_request *req)
{
    struct waiter *w = calloc(1, sizeof *w);
    if (!w) {
        api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    w->req = req;
    w->next = s->waiters;
    s->waiters = w;
}

static void fail_waiters(struct lv_session *s, int http_status, const char *code, const char *message)
{
    while (s->waiters) {
        struct waiter *w = s->waiters;
        s->waiters = w->next;
        json_t *body = json_pack("{s:s,s:s,s:s}", "error", message, "code", code, "stream", s->id);
        if (s->sip_status) json_object_set_new(body, "sip_status", json_integer(s->sip_status));
        api_reply_json(w->req, http_status, body);
        free(w);
    }
    http_stream_ready(s->id, false, http_status, message);
}

static void begin(struct lv_session *s);

static void session_free(struct lv_session *s)
{
    for (struct lv_session **pp = &sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    tmr_cancel(&s->timeout);
    tmr_cancel(&s->idle);
    if (s->ssrc) gb_ssrc_pool_release(&ssrc_pool, s->ssrc);
    if (s->port_owned) ports_release(s->port);
    char id[STREAM_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", s->id);
    free(s);
    /* a request that came while this one was closing starts now */
    for (struct lv_session *d = sessions; d; d = d->next) {
        if (d->deferred && !strcmp(d->id, id)) {
            d->deferred = false;
            begin(d);
            break;
        }
    }
}

/* Ends the session for `reason`: fails waiters, CANCELs or BYEs the device (unless it ended the call itself)
 * and closes the receiver; the session is freed once the receiver's close comes back (closed_task). */
static void session_end(struct lv_session *s, int http_status, const char *code, const char *reason,
                        bool send_bye)
{
    if (s->state == LV_ENDED) return;
    set_state(s, LV_ENDED, reason);
    tmr_cancel(&s->timeout);
    tmr_cancel(&s->idle);
    fail_waiters(s, http_status, code, reason);
    if (s->sip_pending || (s->sip_up && send_bye)) invite_bye(s->sip, reason);
    s->sip_pending = s->sip_up = false;
    if (s->deferred || s->receiver_opening) {
        if (s->deferred) session_free(s);
        return; /* on_receiver_open closes what it opened */
    }
    if (s->receiver_open && streams_close(s->id, reason) == 0) return;
    s->receiver_open = false;
    session_free(s);
}

static void on_timeout(void *arg)
{
    struct lv_session *s = arg;
    if (s->state == LV_WAIT_MEDIA)
        session_end(s, 504, "no_media", "the device answered but sent no video in time", true);
    else if (s->state == LV_INVITING)
        session_end(s, 504, "invite_timeout", "the device did not answer the INVITE", true);
}

static void on_idle(void *arg)
{
    struct lv_session *s = arg;
    if (s->viewers == 0 && s->state == LV_PLAYING)
        session_end(s, 410, "idle", "no viewer left (idle close)", true);
}

static void arm_idle(struct lv_session *s)
{
    tmr_start(&s->idle, (uint64_t)app_config()->stream.idle_close_s * 1000, on_idle, s);
}

static void go_playing(struct lv_session *s)
{
    tmr_cancel(&s->timeout);
    set_state(s, LV_PLAYING, "first keyframe");
    directory_set_ready(s->id, true);
    while (s->waiters) {
        struct waiter *w = s->waiters;
        s->waiters = w->next;
        reply_playing(w->req, s);
        free(w);
    }
    http_stream_ready(s->id, true, 200, NULL);
    if (s->viewers == 0) arm_idle(s);
}

static void wait_media(struct lv_session *s, const char *why)
{
    if (s->keyframe_early) {
        set_state(s, LV_WAIT_MEDIA, why);
        go_playing(s);
        return;
    }
    set_state(s, LV_WAIT_MEDIA, why);
    tmr_start(&s->timeout, (uint64_t)app_config()->stream.first_frame_timeout_s * 1000, on_timeout, s);
}

static void on_receiver_open(void *arg, int err, const struct stream_entry *e, const char *message);

/* tcp-active: connect to the address the device answered (its registered IP when the answer has none). */
static void connect_to_device(struct lv_session *s, const struct invite_answer *a)
{
    char ip[64] = "";
    snprintf(ip, sizeof ip, "%s", a->remote_ip);
    struct signaling_device_info dev;
    if (!ip[0] && signaling_device_get(s->device, &dev)) {
        snprintf(ip, sizeof ip, "%s", dev.address);
        char *colon = strrchr(ip, ':');
        if (colon) *colon = 0;
    }
    if (!a->has_sdp || !a->remote_port || !ip[0]) {
        session_end(s, 502, "bad_answer", "tcp-active: the answer gives no address to connect to", true);
        return;
    }
    char remote[96];
    snprintf(remote, sizeof remote, "%s:%d", ip, a->remote_port);
    set_state(s, LV_OPENING, "answered; connecting to the device");
    s->receiver_opening = true;
    uint32_t expected = a->has_ssrc && a->ssrc ? a->ssrc : s->ssrc; /* informative: the connection is ours */
    int rc =
        streams_open(s->id, TRANSPORT_TCP_ACTIVE, s->port, expected, remote, "gb", true, on_receiver_open, s);
    if (rc) {
        s->receiver_opening = false;
        session_end(s, 503, "media_unavailable", strerror(rc), true);
    }
}

static void on_answer(void *arg, uint64_t sip, const struct invite_answer *a)
{
    struct lv_session *s = NULL;
    for (struct lv_session *x = sessions; x; x = x->next)
        if (x == arg && x->sip == sip && x->sip_pending) s = x;
    if (!s) {
        if (a->status >= 200 && a->status < 300) invite_bye(sip, "session gone"); /* a late 2xx */
        return;
    }
    s->sip_pending = false;
    if (a->status < 200 || a->status >= 300) {
        /* 408 comes from libre's or invite.c's timer as well as from devices: a timeout either way */
        bool timeout = a->status == 408 || a->status == 504;
        char why[200];
        snprintf(why, sizeof why, "the device refused the INVITE: %d %s", a->status, a->reason);
        if (a->status && !timeout) s->sip_status = a->status;
        if (timeout)
            session_end(s, 504, "invite_timeout", a->reason, false);
        else if (!a->status)
            session_end(s, 502, "invite_failed", a->reason, false);
        else
            session_end(s, 502, "invite_refused", why, false);
        return;
    }
    s->sip_up = true;
    if (a->has_ssrc && a->ssrc != s->ssrc)
        log_info(MODULE,
                 "[%s] the device answered with SSRC %010u instead of %s: the per-stream port accepts it",
                 s->id, a->ssrc, s->ssrc_text);
    if (s->transport == INVITE_TCP_ACTIVE) {
        connect_to_device(s, a);
        return;
    }
    wait_media(s, a->has_sdp ? "answered" : "answered without SDP");
}

static void send_invite(struct lv_session *s)
{
    const struct gb_config *cfg = app_config();
    struct invite_params p = {.kind = INVITE_PLAY, .transport = s->transport, .media_port = s->port};
    snprintf(p.device_id, sizeof p.device_id, "%s", s->device);
    snprintf(p.channel_id, sizeof p.channel_id, "%s", s->channel);
    snprintf(p.media_ip, sizeof p.media_ip, "%.63s", cfg->media.ip);
    snprintf(p.ssrc, sizeof p.ssrc, "%s", s->ssrc_text);
    set_state(s, LV_INVITING, "INVITE sent");
    int rc = invite_start(&p, on_answer, s, &s->sip);
    if (rc) {
        char why[128];
        snprintf(why, sizeof why, "cannot send the INVITE to the device: %s", strerror(rc));
        session_end(s,
                    rc == ENOTCONN ? 409
                    : rc == ENOENT ? 404
                                   : 502,
                    rc == ENOTCONN ? "device_offline"
                    : rc == ENOENT ? "device_not_found"
                                   : "invite_failed",
                    why, false);
        return;
    }
    s->sip_pending = true;
    tmr_start(&s->timeout, (uint64_t)(cfg->sip.invite_timeout_s + 2) * 1000, on_timeout, s);
}

static void on_receiver_open(void *arg, int err, const struct stream_entry *e, const char *message)
{
    struct lv_session *s = arg;
    s->receiver_opening = false;
    if (err) {
        if (s->state == LV_ENDED)
            session_free(s);
        else
            session_end(s, 503, "media_unavailable", message[0] ? message : strerror(err), true);
        return;
    }
    s->receiver_open = true;
    s->port = e->port;
    s->port_owned = false;      /* the receiver's close releases it */
    if (s->state == LV_ENDED) { /* stopped while opening */
        if (streams_close(s->id, "stopped while opening") != 0) {
            s->receiver_open = false;
            session_free(s);
        }
        return;
    }
    if (s->transport == INVITE_TCP_ACTIVE) { /* the INVITE was answered already */
        wait_media(s, "connected to the device");
        return;
    }
    send_invite(s);
}

/* OPENING: the receiver first (its port goes into the offer), except for tcp-active. */
static void begin(struct lv_session *s)
{
    set_state(s, LV_OPENING, s->waiters ? "play API" : "a viewer asked for it");
    if (s->transport == INVITE_TCP_ACTIVE) {
        s->port = ports_alloc(); /* offered in the INVITE; the receiver connects out after the answer */
        if (s->port < 0) {
            session_end(s, 503, "no_ports", "media.rtp_port_range is exhausted", false);
            return;
        }
        s->port_owned = true;
        send_invite(s);
        return;
    }
    enum stream_transport t = s->transport == INVITE_TCP_PASSIVE ? TRANSPORT_TCP_PASSIVE : TRANSPORT_UDP;
    s->receiver_opening = true;
    int rc = streams_open(s->id, t, 0, s->ssrc, NULL, "gb", true, on_receiver_open, s);
    if (rc) {
        s->receiver_opening = false;
        session_end(s, 503, "media_unavailable", strerror(rc), false);
    }
}

/* Starts (or joins) the session of id. req may be NULL (an HTTP viewer waiting). */
static void session_start(const char *id, const char *device, const char *channel, int transport,
                          struct api_request *req)
{
    struct lv_session *s = find(id);
    if (s) {
        if (!req) return;
        if (s->state == LV_PLAYING)
            reply_playing(req, s);
        else
            add_waiter(s, req);
        return;
    }
    struct signaling_device_info dev;
    int status = 0;
    const char *code = NULL, *why = NULL;
    if (!signaling_device_get(device, &dev))
        status = 404, code = "device_not_found", why = "no such device";
    else if (!dev.online)
        status = 409, code = "device_offline", why = "the device is offline";
    else if (!signaling_channel_exists(device, channel))
        status = 404, code = "channel_not_found", why = "the device has no such channel";
    if (status) {
        log_info(MODULE, "[%s] not started: %s", id, why);
        if (req)
            api_reply_error(req, status, code, "%s %s: %s", device, channel, why);
        else
            http_stream_ready(id, false, status, why);
        return;
    }
    if (!ssrc_pool_ready) {
        gb_ssrc_pool_init(&ssrc_pool, app_config()->sip.domain);
        ssrc_pool_ready = true;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        if (req) api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->device, sizeof s->device, "%s", device);
    snprintf(s->channel, sizeof s->channel, "%s", channel);
    snprintf(s->ssrc_text, sizeof s->ssrc_text, "-");
    s->transport = (enum invite_transport)(transport >= 0 ? transport : dev.media_transport);
    tmr_init(&s->timeout);
    tmr_init(&s->idle);
    s->next = sessions;
    sessions = s;
    if (req) add_waiter(s, req);
    if (gb_ssrc_pool_alloc(&ssrc_pool, false, &s->ssrc, s->ssrc_text) != 0) {
        s->ssrc = 0;
        session_end(s, 503, "no_ssrc", "no SSRC left", false);
        return;
    }
    if (find_ended(id)) {
        s->deferred = true;
        log_info(MODULE, "[%s] waits for the previous session of this channel to close", id);
        return;
    }
    begin(s);
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

/* ---- hooks from the workers (posted to the control thread) ---- */

static void on_demand_task(void *arg)
{
    char *id = arg, device[21], channel[21];
    if (split_gb_id(id, device, channel))
        session_start(id, device, channel, -1, NULL);
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

struct id_msg {
    char id[STREAM_ID_MAX + 1];
    int n;
    char reason[96];
};

static void post_msg(task_fn fn, const char *id, int n, const char *reason)
{
    struct id_msg *m = calloc(1, sizeof *m);
    if (!m) return;
    snprintf(m->id, sizeof m->id, "%s", id);
    m->n = n;
    snprintf(m->reason, sizeof m->reason, "%s", reason ? reason : "");
    if (control_post(fn, m) != 0) free(m);
}

static void first_frame_task(void *arg)
{
    struct id_msg *m = arg;
    struct lv_session *s = find(m->id);
    if (s && s->state == LV_WAIT_MEDIA)
        go_playing(s);
    else if (s && s->state != LV_PLAYING)
        s->keyframe_early = true; /* media before the 200 OK: playing as soon as it is answered */
    free(m);
}

void live_view_first_frame(const char *id)
{
    post_msg(first_frame_task, id, 0, NULL);
}

static void viewers_task(void *arg)
{
    struct id_msg *m = arg;
    struct lv_session *s = find(m->id);
    if (s) {
        s->viewers = m->n;
        if (m->n > 0)
            tmr_cancel(&s->idle);
        else if (s->state == LV_PLAYING)
            arm_idle(s);
    }
    free(m);
}

void live_view_viewers(const char *id, int viewers)
{
    post_msg(viewers_task, id, viewers, NULL);
}

static void closed_task(void *arg)
{
    struct id_msg *m = arg;
    struct lv_session *s = find_ended(m->id);
    if (s && s->receiver_open) {
        s->receiver_open = false;
        session_free(s);
    } else if ((s = find(m->id)) && s->receiver_open) {
        s->receiver_open = false;
        bool timeout = strstr(m->reason, "timeout") || strstr(m->reason, "no media");
        char why[128];
        snprintf(why, sizeof why, "the stream closed: %s", m->reason);
        session_end(s, timeout ? 504 : 410, timeout ? "no_media" : "stream_ended", why, true);
    }
    free(m);
}

void live_view_stream_closed(const char *id, const char *reason)
{
    post_msg(closed_task, id, 0, reason);
}

static void on_session_ended(uint64_t sip, const char *reason)
{
    for (struct lv_session *s = sessions; s; s = s->next) {
        if (s->sip_up && s->sip == sip && s->state != LV_ENDED) {
            s->sip_up = false;
            session_end(s, 410, "device_ended", reason, false);
            return;
        }
    }
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
    session_start(id, req->params[0], req->params[1], transport, req);
}

static void handle_stop(struct api_request *req)
{
    char id[STREAM_ID_MAX + 1];
    snprintf(id, sizeof id, "%.20s_%.20s", req->params[0], req->params[1]);
    struct lv_session *s = find(id);
    if (!s) {
        api_reply_error(req, 404, "not_playing", "%s is not playing", id);
        return;
    }
    session_end(s, 410, "stopped", "stopped through the API", true);
    api_reply_empty(req, 204);
}

void live_view_register(void)
{
    api_route("POST", "/api/v1/devices/{}/channels/{}/play", handle_play);
    api_route("DELETE", "/api/v1/devices/{}/channels/{}/play", handle_stop);
    invite_set_ended_hook(on_session_ended);
}
