/*
 * Media sessions with devices (invite.h): INVITE a channel, follow the answer, ACK, BYE, CANCEL, the device's
 * own BYE, and the device going away. Control thread only.
 *
 * Why not libre's sipsess: after the 2xx it routes ACK and BYE to the device's Contact, which is a private
 * address for devices behind NAT, and it fails a 2xx without Contact (DEPENDENCIES.md). So the dialog state -
 * Call-ID, both tags, CSeq, route set - is kept here and every request goes to the registered source address
 * (invite_dialog.c). libre still does the transactions: retransmissions over UDP, the ACK of error answers,
 * and CANCEL once a provisional answer came.
 *
 * A session is one of (invite_priv.h): CALLING -> EARLY (1xx) -> UP (2xx, ACKed) -> BYE_SENT -> freed, or
 * ABANDONED when we stop waiting before the final answer (sip.invite_timeout_s, invite_bye, the device went
 * away): the caller has had its answer already, and a late 2xx is ACKed and closed with a BYE so the device
 * does not stream to nobody. A session is freed only when libre holds no request of it.
 *
 * The owner always hears how its session ended, unless it ended it itself (invite_bye): a pending INVITE gets
 * its final answer (408 after sip.invite_timeout_s, status 0 with the reason when the device went away or at
 * shutdown), an established session the ended hook (BYE from the device, device offline / unregistered /
 * deleted, shutdown). So the owner's own cleanup runs in every case, shutdown included.
 *
 * The 2xx of an INVITE ends libre's client transaction, so a 2xx retransmitted because our ACK was lost
 * reaches invite_handle_response() (a response listener of each endpoint), which ACKs it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/invite_priv.h"
#include "signaling/invite_sdp.h"
#include "signaling/mansrtsp.h"

#define BYE_WAIT_MS     4000 /* a BYE not answered by then is given up (the session is freed) */
#define BYE_ALL_WAIT_MS 3000 /* shutdown waits at most this long for the BYEs' answers */
#define BYE_ALL_POLL_MS 50

static struct list sessions;
static uint64_t next_session_id = 1;
static void (*ended_hook)(uint64_t session, const char *reason);

static struct {
    struct tmr tmr;
    void (*done)(void *arg);
    void *arg;
    uint64_t deadline;
} bye_all;

static const char *state_name(enum inv_state st)
{
    static const char *const names[] = {"calling", "early", "up", "bye sent", "abandoned"};
    return st <= INV_ABANDONED ? names[st] : "?";
}

static struct invite_session *find(uint64_t id)
{
    for (struct le *le = sessions.head; le; le = le->next) {
        struct invite_session *s = le->data;
        if (s->id == id) return s;
    }
    return NULL;
}

static void session_free(struct invite_session *s)
{
    tmr_cancel(&s->tmr);
    /* libre requests still held: dereferencing one cancels it and drops its callbacks */
    s->invite_req = mem_deref(s->invite_req);
    s->bye_req = mem_deref(s->bye_req);
    list_unlink(&s->le);
    free(s);
}

static void log_session(const struct invite_session *s, const char *what)
{
    log_info(LOG_MOD, "device %s channel %s ssrc %s (session %llu, %s): %s", s->p.device_id, s->p.channel_id,
             s->p.ssrc, (unsigned long long)s->id, state_name(s->state), what);
}

/* ---- BYE ---- */

static void bye_timeout(void *arg)
{
    struct invite_session *s = arg;
    log_session(s, "BYE not answered in time; forgotten");
    session_free(s);
}

static void bye_response(int err, const struct sip_msg *msg, void *arg)
{
    struct invite_session *s = arg;
    if (!err && msg && msg->scode < 200) return;
    char what[96];
    if (err || !msg)
        snprintf(what, sizeof(what), "BYE failed: %s", strerror(err ? err : EPROTO));
    else
        snprintf(what, sizeof(what), "BYE answered %u", msg->scode);
    log_session(s, what);
    session_free(s);
}

/* Sends BYE (when the device can be reached) and frees the session once it is answered or BYE_WAIT_MS
 * passed. */
static void send_bye(struct invite_session *s, const char *reason)
{
    char what[160];
    snprintf(what, sizeof(what), "BYE (%s)", reason);
    log_session(s, what);
    s->state = INV_BYE_SENT;
    dialog_target_refresh(s);
    int err = dialog_target_reachable(s) ? dialog_send_bye(s, reason, bye_response) : ENOTCONN;
    if (err) {
        snprintf(what, sizeof(what), "BYE not sent: %s", strerror(err));
        log_session(s, what);
        session_free(s);
        return;
    }
    sig_count(SC_BYE_SENT);
    tmr_start(&s->tmr, BYE_WAIT_MS, bye_timeout, s);
}

/* ---- INVITE answers ---- */

static void deliver(struct invite_session *s, const struct invite_answer *a)
{
    invite_answer_fn cb = s->cb;
    s->cb = NULL;
    if (cb) cb(s->arg, s->id, a);
}

static void fail(struct invite_session *s, int status, const char *reason)
{
    struct invite_answer a;
    memset(&a, 0, sizeof(a));
    a.status = status;
    snprintf(a.reason, sizeof(a.reason), "%.*s", (int)sizeof(a.reason) - 1, reason);
    deliver(s, &a);
}

static void on_2xx(struct invite_session *s, const struct sip_msg *msg)
{
    dialog_learn(s, msg);
    s->cseq = s->invite_cseq;
    dialog_target_refresh(s);
    int err = dialog_send_ack(s);
    if (err) log_warn(LOG_MOD, "device %s: ACK not sent: %s", s->p.device_id, strerror(err));
    if (s->state == INV_ABANDONED) {
        send_bye(s, "answered after the session was given up");
        return;
    }
    tmr_cancel(&s->tmr);
    s->state = INV_UP;
    sig_count(SC_INVITE_OK);
    struct invite_answer a;
    invite_answer_from_response(msg, &a);
    char what[200], y[16] = "none";
    if (a.has_ssrc) snprintf(y, sizeof(y), "%010u", a.ssrc);
    snprintf(what, sizeof(what), "answered %d%s, device media %s:%d%s%s%s, y=%s", a.status,
             a.has_sdp ? "" : " without SDP", a.remote_ip[0] ? a.remote_ip : "?", a.remote_port,
             a.remote_tcp ? " TCP" : "", a.setup[0] ? " setup:" : "", a.setup, y);
    log_session(s, what);
    deliver(s, &a);
}

static void invite_response(int err, const struct sip_msg *msg, void *arg)
{
    struct invite_session *s = arg;
    if (!err && msg && msg->scode < 200) {
        if (s->state == INV_CALLING) s->state = INV_EARLY;
        return;
    }
    if (!err && msg && msg->scode < 300) {
        on_2xx(s, msg);
        return;
    }
    /* an error answer (libre ACKed it) or no answer at all */
    if (s->state != INV_ABANDONED) {
        sig_count(SC_INVITE_FAILED);
        if (msg) {
            struct invite_answer a;
            invite_answer_from_response(msg, &a);
            char what[160];
            snprintf(what, sizeof(what), "INVITE refused: %d %s", a.status, a.reason);
            log_session(s, what);
            deliver(s, &a);
        } else {
            char why[96];
            snprintf(why, sizeof(why), "INVITE failed: %s", strerror(err));
            log_session(s, why);
            fail(s, err == ETIMEDOUT ? 408 : 0, err == ETIMEDOUT ? "Request Timeout (no answer)" : why);
        }
    }
    session_free(s);
}

/* sip.invite_timeout_s passed without a final answer: tell the caller (408), CANCEL (libre sends it once a
 * provisional answer came), and wait for libre to end the transaction. */
static void invite_timeout(void *arg)
{
    struct invite_session *s = arg;
    if (s->state != INV_CALLING && s->state != INV_EARLY) return;
    char why[96];
    snprintf(why, sizeof(why), "Request Timeout (no answer in %d s)", sig->cfg.sip.invite_timeout_s);
    log_session(s, why);
    sig_count(SC_INVITE_FAILED);
    s->state = INV_ABANDONED;
    sip_request_cancel(s->invite_req);
    fail(s, 408, why);
}

/* ---- public API ---- */

int invite_start(const struct invite_params *p, invite_answer_fn cb, void *arg, uint64_t *session)
{
    if (!sig || sig->shutting_down) return ESHUTDOWN;
    struct device *dev = registry_find(p->device_id);
    if (!dev) return ENOENT;
    if (!dev->online || !device_reachable(dev)) return ENOTCONN;

    char sdp[INVITE_SDP_OFFER_MAX];
    size_t sdp_len;
    int err = invite_sdp_offer(sdp, sizeof(sdp), p, &sdp_len);
    if (err) return err;

    struct invite_session *s = calloc(1, sizeof(*s));
    if (!s) return ENOMEM;
    s->id = next_session_id++;
    s->p = *p;
    s->cb = cb;
    s->arg = arg;
    s->state = INV_CALLING;
    s->invite_cseq = s->cseq = 1 + rand_u32() % 10000;
    re_snprintf(s->from_tag, sizeof(s->from_tag), "%016llx", rand_u64());
    tmr_init(&s->tmr);
    dialog_target_refresh(s);
    if (re_snprintf(s->ruri, sizeof(s->ruri), "sip:%s@%J", p->channel_id, &s->dst) < 0) {
        free(s);
        return EINVAL;
    }
    list_append(&sessions, &s->le, s);
    err = dialog_send_invite(s, sdp, sdp_len, invite_response);
    if (err) {
        log_warn(LOG_MOD, "device %s channel %s: INVITE not sent: %s", p->device_id, p->channel_id,
                 strerror(err));
        session_free(s);
        return err;
    }
    sig_count(SC_INVITE_SENT);
    tmr_start(&s->tmr, (uint64_t)sig->cfg.sip.invite_timeout_s * 1000, invite_timeout, s);
    static const char *const tnames[] = {"udp", "tcp-passive", "tcp-active"};
    char what[160];
    snprintf(what, sizeof(what), "INVITE sent (%s, media %s:%d)", tnames[p->transport % 3], p->media_ip,
             p->media_port);
    log_session(s, what);
    *session = s->id;
    return 0;
}

void invite_bye(uint64_t session, const char *reason)
{
    struct invite_session *s = find(session);
    if (!s) return;
    switch (s->state) {
    case INV_CALLING:
    case INV_EARLY: {
        char what[160];
        snprintf(what, sizeof(what), "CANCEL (%s)", reason ? reason : "stopped");
        log_session(s, what);
        s->cb = NULL;
        s->state = INV_ABANDONED;
        tmr_cancel(&s->tmr);
        sip_request_cancel(s->invite_req);
        break;
    }
    case INV_UP: send_bye(s, reason ? reason : "stopped"); break;
    default: break;
    }
}

static const char *const rtsp_ctype = "Application/MANSRTSP";

/* One INFO with a MANSRTSP body (signaling/mansrtsp.h builds it; CSeq counts up within the dialog). */
static int send_rtsp(uint64_t session, struct mansrtsp_request *req)
{
    struct invite_session *s = find(session);
    if (!s || s->state != INV_UP) return ENOENT;
    char body[MANSRTSP_MAX_BODY];
    size_t n;
    req->cseq = s->rtsp_cseq + 1;
    int err = mansrtsp_build(body, sizeof(body), req, &n);
    if (err) return err;
    s->rtsp_cseq++;
    dialog_target_refresh(s);
    char what[96];
    snprintf(what, sizeof(what), "INFO %s (CSeq %u)", mansrtsp_method_name(req->method), req->cseq);
    log_session(s, what);
    return dialog_send_info(s, rtsp_ctype, body, n, NULL);
}

int invite_info_scale(uint64_t session, double scale)
{
    if (!(scale >= MANSRTSP_SCALE_MIN && scale <= MANSRTSP_SCALE_MAX)) return EINVAL;
    struct mansrtsp_request r = {.method = MANSRTSP_PLAY, .has_scale = true, .scale = scale};
    return send_rtsp(session, &r);
}

int invite_info_pause(uint64_t session)
{
    struct mansrtsp_request r = {.method = MANSRTSP_PAUSE, .has_pause_time = true, .pause_now = true};
    return send_rtsp(session, &r);
}

int invite_info_resume(uint64_t session)
{
    struct mansrtsp_request r = {.method = MANSRTSP_PLAY, .range = MANSRTSP_RANGE_NOW};
    return send_rtsp(session, &r);
}

int invite_info_seek(uint64_t session, double npt_seconds)
{
    if (!(npt_seconds >= 0 && npt_seconds <= MANSRTSP_NPT_MAX)) return EINVAL;
    struct mansrtsp_request r = {
        .method = MANSRTSP_PLAY, .range = MANSRTSP_RANGE_FROM, .range_start = npt_seconds};
    return send_rtsp(session, &r);
}

void invite_set_ended_hook(void (*fn)(uint64_t session, const char *reason))
{
    ended_hook = fn;
}

unsigned invite_count(void)
{
    unsigned n = 0;
    for (struct le *le = sessions.head; le; le = le->next) {
        const struct invite_session *s = le->data;
        n += s->state == INV_CALLING || s->state == INV_EARLY || s->state == INV_UP;
    }
    return n;
}

/* Ends the sessions of device_id (NULL: all). A pending INVITE gets its final answer (status 0, `reason`)
 * and is CANCELed; an established session gets a BYE (still worth a try: an unregistering device hears it and
 * stops sending) and the ended hook. Either way the owner learns of it and can clean up. Sessions are
 * collected by id first: the callbacks run the owner's code, which may end other sessions. */
static unsigned end_sessions(const char *device_id, const char *reason)
{
    size_t n = 0;
    for (struct le *le = sessions.head; le; le = le->next) n++;
    if (!n) return 0;
    uint64_t *ids = calloc(n, sizeof(*ids));
    if (!ids) return 0;
    size_t k = 0;
    for (struct le *le = sessions.head; le; le = le->next) {
        struct invite_session *s = le->data;
        if (!device_id || !strcmp(s->p.device_id, device_id)) ids[k++] = s->id;
    }
    unsigned ended = 0;
    for (size_t i = 0; i < k; i++) {
        struct invite_session *s = find(ids[i]);
        if (!s) continue;
        if (s->state == INV_CALLING || s->state == INV_EARLY) {
            log_session(s, reason);
            s->state = INV_ABANDONED;
            tmr_cancel(&s->tmr);
            sip_request_cancel(s->invite_req);
            fail(s, 0, reason);
            ended++;
        } else if (s->state == INV_UP) {
            send_bye(s, reason); /* may free s */
            if (ended_hook) ended_hook(ids[i], reason);
            ended++;
        }
    }
    free(ids);
    return ended;
}

/* ---- shutdown ---- */

static void bye_all_poll(void *arg)
{
    (void)arg;
    bool waiting = false;
    for (struct le *le = sessions.head; le && !waiting; le = le->next)
        waiting = ((struct invite_session *)le->data)->state == INV_BYE_SENT;
    if (waiting && clock_mono_ms() < bye_all.deadline) {
        tmr_start(&bye_all.tmr, BYE_ALL_POLL_MS, bye_all_poll, NULL);
        return;
    }
    void (*done)(void *) = bye_all.done;
    bye_all.done = NULL;
    if (done) done(bye_all.arg);
}

void invite_bye_all(void (*done)(void *arg), void *arg)
{
    unsigned n = end_sessions(NULL, "gbgate is shutting down");
    if (n) log_info(LOG_MOD, "shutdown: ending %u media sessions", n);
    bye_all.done = done;
    bye_all.arg = arg;
    bye_all.deadline = clock_mono_ms() + BYE_ALL_WAIT_MS;
    tmr_init(&bye_all.tmr);
    tmr_start(&bye_all.tmr, 0, bye_all_poll, NULL);
}

void invite_close(void)
{
    tmr_cancel(&bye_all.tmr);
    bye_all.done = NULL;
    struct le *le;
    while ((le = sessions.head)) session_free(le->data);
}

/* ---- from the endpoints ---- */

bool invite_handle_request(struct sip_endpoint *ep, const struct sip_msg *msg)
{
    /* the bulk of the traffic (registrations, keepalives, query answers) is never in a dialog */
    if (!pl_isset(&msg->to.tag) || !pl_strcmp(&msg->met, "REGISTER") || !pl_strcmp(&msg->met, "MESSAGE"))
        return false;
    struct invite_session *s = NULL;
    for (struct le *le = sessions.head; le && !s; le = le->next)
        if (dialog_matches(le->data, msg)) s = le->data;
    if (!s) return false;
    if (!pl_strcmp(&msg->met, "ACK")) return true;
    sig_reply(ep, msg, 200, "OK", NULL);
    if (pl_strcmp(&msg->met, "BYE")) return true; /* INFO, OPTIONS... in the dialog: acknowledged */
    sig_count(SC_BYE_RECEIVED);
    uint64_t id = s->id;
    enum inv_state st = s->state;
    log_session(s, "BYE from the device");
    if (st == INV_BYE_SENT) return true; /* crossing BYEs: ours is answered on its own */
    if (st == INV_CALLING || st == INV_EARLY) fail(s, 0, "the device sent BYE before answering");
    session_free(s);
    if (st == INV_UP && ended_hook) ended_hook(id, "the device sent BYE");
    return true;
}

bool invite_handle_response(const struct sip_msg *msg)
{
    if (msg->scode < 200 || msg->scode >= 300 || pl_strcmp(&msg->cseq.met, "INVITE")) return false;
    for (struct le *le = sessions.head; le; le = le->next) {
        struct invite_session *s = le->data;
        if (pl_strcmp(&msg->callid, s->call_id) || pl_strcmp(&msg->from.tag, s->from_tag)) continue;
        if (s->state == INV_UP || s->state == INV_BYE_SENT) (void)dialog_send_ack(s); /* our ACK was lost */
        return true;
    }
    return false;
}

bool invite_media_status_end(const char *device_id, const char *notify_device_id, const char *call_id)
{
    struct invite_session *by_call = NULL, *by_channel = NULL, *by_device = NULL;
    for (struct le *le = sessions.head; le; le = le->next) {
        struct invite_session *s = le->data;
        if (s->state != INV_UP || s->p.kind == INVITE_PLAY || strcmp(s->p.device_id, device_id)) continue;
        if (call_id && !strcmp(s->call_id, call_id)) by_call = s;
        /* sessions are appended: the first match is the oldest */
        if (!by_channel && notify_device_id && !strcmp(s->p.channel_id, notify_device_id)) by_channel = s;
        if (!by_device) by_device = s;
    }
    struct invite_session *s = by_call                                                    ? by_call
                               : by_channel                                               ? by_channel
                               : notify_device_id && !strcmp(notify_device_id, device_id) ? by_device
                                                                                          : NULL;
    if (!s) {
        log_info(LOG_MOD, "device %s: MediaStatus 121 for %s matches no playback or download; ignored",
                 device_id, notify_device_id ? notify_device_id : "?");
        return false;
    }
    uint64_t id = s->id;
    log_session(s, by_call ? "MediaStatus 121 (end of recording, same Call-ID)"
                           : "MediaStatus 121 (end of recording)");
    send_bye(s, INVITE_END_OF_RECORDING); /* may free s */
    if (ended_hook) ended_hook(id, INVITE_END_OF_RECORDING);
    return true;
}

void invite_device_gone(const char *device_id, const char *why)
{
    char reason[128];
    snprintf(reason, sizeof(reason), "the device went away: %s", why);
    end_sessions(device_id, reason);
}
