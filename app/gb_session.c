/*
 * GB28181 media sessions (gb_session.h): the state machine shared by live view, playback and download.
 *
 *   start -> OPENING: SSRC allocated (live: leading 0, recordings: leading 1), receiver opened on a worker
 *   (per-stream port), then the INVITE (for tcp-active: the INVITE first, the receiver connects to the
 *   answer's c=/m=) -> INVITING -> WAIT_MEDIA: the first keyframe releases every waiter (API replies, parked
 *   HTTP viewers) -> PLAYING; with idle_close, the last viewer leaving arms stream.idle_close_s -> BYE. RTP
 *   timeout, device BYE, device offline, MediaStatus 121 (end of a recording), the stop API and shutdown all
 *   end here too (ENDED), and the session is freed once its receiver has closed.
 *
 * A new request for a stream whose previous session is still closing waits (deferred) until the old receiver
 * is gone, so the two never fight over the stream id. Things that can arrive in either order are accepted in
 * either order: a keyframe before the 200 OK (devices that stream before answering), a stop while the
 * receiver is still opening.
 *
 * Control thread only. Every transition is logged with device, channel, SSRC and reason.
 */
#include "app/gb_session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "common/api.h"
#include "common/control.h"
#include "common/log.h"
#include "relay/http_server.h"
#include "signaling/signaling.h"

#define MODULE "session"

static const char *const state_names[] = {"new",     "opening", "inviting", "waiting for media",
                                          "playing", "ended"};

struct gb_session_waiter {
    struct gb_session_waiter *next;
    struct api_request *req;
};

static struct gb_session *sessions;
static struct gb_ssrc_pool ssrc_pool;
static bool ssrc_pool_ready;

struct gb_session *gb_session_find(const char *id)
{
    for (struct gb_session *s = sessions; s; s = s->next)
        if (s->state != GBS_ENDED && !strcmp(s->p.id, id)) return s;
    return NULL;
}

static struct gb_session *find_ended(const char *id)
{
    for (struct gb_session *s = sessions; s; s = s->next)
        if (s->state == GBS_ENDED && !strcmp(s->p.id, id)) return s;
    return NULL;
}

void gb_session_foreach(void (*fn)(struct gb_session *s, void *arg), void *arg)
{
    for (struct gb_session *s = sessions; s; s = s->next)
        if (s->state != GBS_ENDED) fn(s, arg);
}

static void set_state(struct gb_session *s, enum gb_session_state st, const char *why)
{
    log_info(MODULE, "[%s] device %s channel %s ssrc %s: %s -> %s (%s)", s->p.id, s->p.device, s->p.channel,
             s->ssrc_text, state_names[s->state], state_names[st], why);
    s->state = st;
}

static void add_waiter(struct gb_session *s, struct api_request *req)
{
    struct gb_session_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    w->req = req;
    w->next = s->waiters;
    s->waiters = w;
}

static void fail_waiters(struct gb_session *s, int http_status, const char *code, const char *message)
{
    while (s->waiters) {
        struct gb_session_waiter *w = s->waiters;
        s->waiters = w->next;
        json_t *body = json_pack("{s:s,s:s,s:s}", "error", message, "code", code, "stream", s->p.id);
        if (s->sip_status) json_object_set_new(body, "sip_status", json_integer(s->sip_status));
        api_reply_json(w->req, http_status, body);
        free(w);
    }
    http_stream_ready(s->p.id, false, http_status, message);
}

static void begin(struct gb_session *s);

static void session_free(struct gb_session *s)
{
    for (struct gb_session **pp = &sessions; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    tmr_cancel(&s->timeout);
    tmr_cancel(&s->idle);
    if (s->ssrc) gb_ssrc_pool_release(&ssrc_pool, s->ssrc);
    if (s->port_owned) ports_release(s->port);
    if (s->ops->freed) s->ops->freed(s);
    char id[STREAM_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", s->p.id);
    free(s);
    /* a request that came while this one was closing starts now */
    for (struct gb_session *d = sessions; d; d = d->next) {
        if (d->deferred && !strcmp(d->p.id, id)) {
            d->deferred = false;
            begin(d);
            break;
        }
    }
}

/* Ends the session for `reason`: fails waiters, CANCELs or BYEs the device (unless it ended the call itself)
 * and closes the receiver; the session is freed once the receiver's close comes back (closed_task). */
static void session_end(struct gb_session *s, int http_status, const char *code, const char *reason,
                        bool send_bye)
{
    if (s->state == GBS_ENDED) return;
    set_state(s, GBS_ENDED, reason);
    tmr_cancel(&s->timeout);
    tmr_cancel(&s->idle);
    fail_waiters(s, http_status, code, reason);
    if (s->ops->ended) s->ops->ended(s, code, reason);
    if (s->sip_pending || (s->sip_up && send_bye)) invite_bye(s->sip, reason);
    s->sip_pending = s->sip_up = false;
    if (s->deferred || s->receiver_opening) {
        if (s->deferred) session_free(s);
        return; /* on_receiver_open closes what it opened */
    }
    if (s->receiver_open && streams_close(s->p.id, reason) == 0) return;
    s->receiver_open = false;
    session_free(s);
}

void gb_session_stop(struct gb_session *s, int http_status, const char *code, const char *reason)
{
    session_end(s, http_status, code, reason, true);
}

static void on_timeout(void *arg)
{
    struct gb_session *s = arg;
    if (s->state == GBS_WAIT_MEDIA)
        session_end(s, 504, "no_media", "the device answered but sent no video in time", true);
    else if (s->state == GBS_INVITING)
        session_end(s, 504, "invite_timeout", "the device did not answer the INVITE", true);
}

static void on_idle(void *arg)
{
    struct gb_session *s = arg;
    if (s->viewers == 0 && s->state == GBS_PLAYING)
        session_end(s, 410, "idle", "no viewer left (idle close)", true);
}

static void arm_idle(struct gb_session *s)
{
    if (s->p.idle_close) tmr_start(&s->idle, (uint64_t)app_config()->stream.idle_close_s * 1000, on_idle, s);
}

static void go_playing(struct gb_session *s)
{
    tmr_cancel(&s->timeout);
    set_state(s, GBS_PLAYING, "first keyframe");
    directory_set_ready(s->p.id, true);
    if (s->ops->playing) s->ops->playing(s);
    while (s->waiters) {
        struct gb_session_waiter *w = s->waiters;
        s->waiters = w->next;
        s->ops->reply_playing(s, w->req);
        free(w);
    }
    http_stream_ready(s->p.id, true, 200, NULL);
    if (s->viewers == 0) arm_idle(s);
}

static void wait_media(struct gb_session *s, const char *why)
{
    set_state(s, GBS_WAIT_MEDIA, why);
    if (s->keyframe_early) {
        go_playing(s);
        return;
    }
    tmr_start(&s->timeout, (uint64_t)app_config()->stream.first_frame_timeout_s * 1000, on_timeout, s);
}

static void on_receiver_open(void *arg, int err, const struct stream_entry *e, const char *message);

/* tcp-active: connect to the address the device answered (its registered IP when the answer has none). */
static void connect_to_device(struct gb_session *s, const struct invite_answer *a)
{
    char ip[64] = "";
    snprintf(ip, sizeof ip, "%s", a->remote_ip);
    struct signaling_device_info dev;
    if (!ip[0] && signaling_device_get(s->p.device, &dev)) {
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
    set_state(s, GBS_OPENING, "answered; connecting to the device");
    s->receiver_opening = true;
    uint32_t expected = a->has_ssrc && a->ssrc ? a->ssrc : s->ssrc; /* informative: the connection is ours */
    int rc = streams_open(s->p.id, TRANSPORT_TCP_ACTIVE, s->port, expected, remote, "gb", true,
                          on_receiver_open, s);
    if (rc) {
        s->receiver_opening = false;
        session_end(s, 503, "media_unavailable", strerror(rc), true);
    }
}

static void on_answer(void *arg, uint64_t sip, const struct invite_answer *a)
{
    struct gb_session *s = NULL;
    for (struct gb_session *x = sessions; x; x = x->next)
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
                 s->p.id, a->ssrc, s->ssrc_text);
    if (s->transport == INVITE_TCP_ACTIVE) {
        connect_to_device(s, a);
        return;
    }
    wait_media(s, a->has_sdp ? "answered" : "answered without SDP");
}

static void send_invite(struct gb_session *s)
{
    const struct gb_config *cfg = app_config();
    struct invite_params p = {.kind = s->p.kind,
                              .transport = s->transport,
                              .media_port = s->port,
                              .start_time = s->p.start_time,
                              .end_time = s->p.end_time,
                              .download_speed = s->p.download_speed};
    snprintf(p.device_id, sizeof p.device_id, "%s", s->p.device);
    snprintf(p.channel_id, sizeof p.channel_id, "%s", s->p.channel);
    snprintf(p.media_ip, sizeof p.media_ip, "%.63s", cfg->media.ip);
    snprintf(p.ssrc, sizeof p.ssrc, "%s", s->ssrc_text);
    set_state(s, GBS_INVITING, "INVITE sent");
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
    struct gb_session *s = arg;
    s->receiver_opening = false;
    if (err) {
        if (s->state == GBS_ENDED)
            session_free(s);
        else
            session_end(s, 503, "media_unavailable", message[0] ? message : strerror(err), true);
        return;
    }
    s->receiver_open = true;
    s->port = e->port;
    s->port_owned = false;       /* the receiver's close releases it */
    if (s->state == GBS_ENDED) { /* stopped while opening */
        if (streams_close(s->p.id, "stopped while opening") != 0) {
            s->receiver_open = false;
            session_free(s);
        }
        return;
    }
    if (s->ops->receiver_opened) s->ops->receiver_opened(s);
    if (s->transport == INVITE_TCP_ACTIVE) { /* the INVITE was answered already */
        wait_media(s, "connected to the device");
        return;
    }
    send_invite(s);
}

/* OPENING: the receiver first (its port goes into the offer), except for tcp-active. */
static void begin(struct gb_session *s)
{
    set_state(s, GBS_OPENING, s->waiters ? "API request" : "a viewer asked for it");
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
    int rc = streams_open(s->p.id, t, 0, s->ssrc, NULL, "gb", true, on_receiver_open, s);
    if (rc) {
        s->receiver_opening = false;
        session_end(s, 503, "media_unavailable", strerror(rc), false);
    }
}

bool gb_session_start(const struct gb_session_params *p, const struct gb_session_ops *ops, void *owner,
                      struct api_request *req, struct gb_session **out)
{
    struct gb_session *s = gb_session_find(p->id);
    if (out) *out = s;
    if (s) {
        if (!req) return true;
        if (s->state == GBS_PLAYING)
            s->ops->reply_playing(s, req);
        else
            add_waiter(s, req);
        return true;
    }
    struct signaling_device_info dev;
    int status = 0;
    const char *code = NULL, *why = NULL;
    if (!signaling_device_get(p->device, &dev))
        status = 404, code = "device_not_found", why = "no such device";
    else if (!dev.online)
        status = 409, code = "device_offline", why = "the device is offline";
    else if (!signaling_channel_exists(p->device, p->channel))
        status = 404, code = "channel_not_found", why = "the device has no such channel";
    if (status) {
        log_info(MODULE, "[%s] not started: %s", p->id, why);
        if (req)
            api_reply_error(req, status, code, "%s %s: %s", p->device, p->channel, why);
        else
            http_stream_ready(p->id, false, status, why);
        return false;
    }
    if (!ssrc_pool_ready) {
        gb_ssrc_pool_init(&ssrc_pool, app_config()->sip.domain);
        ssrc_pool_ready = true;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        if (req) api_reply_error(req, 503, "no_memory", "out of memory");
        return false;
    }
    s->p = *p;
    s->ops = ops;
    s->owner = owner;
    if (out) *out = s;
    snprintf(s->ssrc_text, sizeof s->ssrc_text, "-");
    s->transport = (enum invite_transport)(p->transport >= 0 ? p->transport : dev.media_transport);
    tmr_init(&s->timeout);
    tmr_init(&s->idle);
    s->next = sessions;
    sessions = s;
    if (req) add_waiter(s, req);
    if (gb_ssrc_pool_alloc(&ssrc_pool, p->kind != INVITE_PLAY, &s->ssrc, s->ssrc_text) != 0) {
        s->ssrc = 0;
        session_end(s, 503, "no_ssrc", "no SSRC left", false);
        return true;
    }
    if (find_ended(p->id)) {
        s->deferred = true;
        log_info(MODULE, "[%s] waits for the previous session of this stream to close", p->id);
        return true;
    }
    begin(s);
    return true;
}

/* ---- hooks from the workers (posted to the control thread) ---- */

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
    struct gb_session *s = gb_session_find(m->id);
    if (s && s->state == GBS_WAIT_MEDIA)
        go_playing(s);
    else if (s && s->state != GBS_PLAYING)
        s->keyframe_early = true; /* media before the 200 OK: playing as soon as it is answered */
    free(m);
}

void gb_session_first_frame(const char *id)
{
    post_msg(first_frame_task, id, 0, NULL);
}

static void viewers_task(void *arg)
{
    struct id_msg *m = arg;
    struct gb_session *s = gb_session_find(m->id);
    if (s) {
        s->viewers = m->n;
        if (m->n > 0)
            tmr_cancel(&s->idle);
        else if (s->state == GBS_PLAYING)
            arm_idle(s);
    }
    free(m);
}

void gb_session_viewers(const char *id, int viewers)
{
    post_msg(viewers_task, id, viewers, NULL);
}

static void closed_task(void *arg)
{
    struct id_msg *m = arg;
    struct gb_session *s = find_ended(m->id);
    if (s && s->receiver_open) {
        s->receiver_open = false;
        session_free(s);
    } else if ((s = gb_session_find(m->id)) && s->receiver_open) {
        s->receiver_open = false;
        bool timeout = strstr(m->reason, "timeout") || strstr(m->reason, "no media");
        char why[128];
        snprintf(why, sizeof why, "the stream closed: %s", m->reason);
        session_end(s, timeout ? 504 : 410, timeout ? "no_media" : "stream_ended", why, true);
    }
    free(m);
}

void gb_session_stream_closed(const char *id, const char *reason)
{
    post_msg(closed_task, id, 0, reason);
}

/* The device ended the call: BYE, offline, or MediaStatus 121 (invite.c sent the BYE for that one). */
static void on_session_ended(uint64_t sip, const char *reason)
{
    for (struct gb_session *s = sessions; s; s = s->next) {
        if (s->sip_up && s->sip == sip && s->state != GBS_ENDED) {
            s->sip_up = false;
            bool eor = !strcmp(reason, INVITE_END_OF_RECORDING);
            session_end(s, 410, eor ? "end_of_recording" : "device_ended", reason, false);
            return;
        }
    }
}

void gb_session_register(void)
{
    invite_set_ended_hook(on_session_ended);
}
