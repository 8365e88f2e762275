/*
 * Subscriptions to devices (GB28181-2016 SUBSCRIBE/NOTIFY): for every online device the platform subscribes
 * to what sip.subscribe lists - Catalog (Event: Catalog), Alarm and MobilePosition (Event: presence, with
 * Interval sip.position_interval_s) - so devices push catalog changes, alarms and positions by NOTIFY
 * (subscribe_notify.c handles those).
 *
 * One state machine per device and kind, driven by the 1 s sweep rather than per-subscription timers:
 *   none -> pending (SUBSCRIBE sent) -> active (2xx; refreshed in the dialog at 2/3 of the granted Expires)
 *   pending -> refused (4xx-6xx) or failed (timeout, unreachable): retried once per sip.subscribe_expires_s,
 *   so a device that does not do subscriptions costs one SUBSCRIBE per period, not one per second
 *   a refresh answered 481 (the device forgot the dialog, e.g. it rebooted) -> none: subscribed anew.
 * A device that goes offline or is deleted loses its state (it is subscribed again when it comes back).
 * At shutdown every active subscription gets Expires: 0, waiting at most UNSUBSCRIBE_WAIT_MS for answers.
 *
 * Requests go to the device's registered source address like every request (NAT), with our Contact so
 * that the device knows where to send its NOTIFYs. Transaction callbacks carry the device ID and kind,
 * never a pointer: the state may be gone when the answer comes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/sig_core.h"
#include "signaling/subscribe_priv.h"
#include "version.h"

#define SUBSCRIBES_PER_SWEEP 200  /* new SUBSCRIBEs and refreshes per second, so a burst of registrations */
#define UNSUBSCRIBE_MAX      4096 /* Expires: 0 sent at shutdown at most */
#define UNSUBSCRIBE_WAIT_MS  2000
#define BODY_MAX             1024

static const char *const state_names[] = {"none", "pending", "active", "refused", "failed", "terminated"};
const char *const subscribe_kind_names[SUB_KINDS] = {"catalog", "alarm", "position"};
static const char *const kind_cmdtype[SUB_KINDS] = {"Catalog", "Alarm", "MobilePosition"};

static struct hash *subs_ht;
static unsigned wanted_mask; /* bit per kind, parsed from sip.subscribe */
static bool wanted_parsed;
static struct tmr shutdown_tmr;
static unsigned unsubscribes_waiting;
static void (*shutdown_done)(void *arg);
static void *shutdown_arg;

struct txn_ctx {
    char device_id[DEVICE_ID_MAX];
    enum sub_kind kind;
    uint32_t cseq;
    uint32_t expires; /* asked */
};

/* ---- state ---- */

static bool id_cmp(struct le *le, void *arg)
{
    const struct sub_device *sd = le->data;
    return !strcmp(sd->id, arg);
}

struct sub_device *subscribe_find(const char *device_id)
{
    if (!subs_ht || !device_id) return NULL;
    struct le *le = hash_lookup(subs_ht, hash_joaat_str(device_id), id_cmp, (void *)device_id);
    return le ? le->data : NULL;
}

static struct sub_device *sub_get(const char *device_id)
{
    struct sub_device *sd = subscribe_find(device_id);
    if (sd) return sd;
    if (!subs_ht && hash_alloc(&subs_ht, 1024)) return NULL;
    sd = calloc(1, sizeof(*sd));
    if (!sd) return NULL;
    snprintf(sd->id, sizeof(sd->id), "%s", device_id);
    hash_append(subs_ht, hash_joaat_str(sd->id), &sd->he, sd);
    return sd;
}

static void sub_device_free(struct sub_device *sd)
{
    hash_unlink(&sd->he);
    free(sd);
}

int subscribe_parse_kinds(const char *list, unsigned *mask, char *bad, size_t bad_size)
{
    char copy[CFG_STR_MAX];
    snprintf(copy, sizeof(copy), "%s", list ? list : "");
    *mask = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int k = -1;
        for (int i = 0; i < SUB_KINDS; i++)
            if (!strcasecmp(tok, subscribe_kind_names[i]) || !strcasecmp(tok, kind_cmdtype[i])) k = i;
        if (k >= 0) {
            *mask |= 1u << k;
        } else if (strcasecmp(tok, "none")) {
            if (bad) snprintf(bad, bad_size, "%s", tok);
            return EINVAL;
        }
    }
    return 0;
}

const char *subscribe_kinds_text(unsigned mask, char *buf, size_t size)
{
    size_t pos = 0;
    buf[0] = 0;
    for (int k = 0; k < SUB_KINDS; k++)
        if (mask & (1u << k) && pos < size)
            pos += (size_t)snprintf(buf + pos, size - pos, "%s%s", pos ? "," : "", subscribe_kind_names[k]);
    return buf;
}

/* sip.subscribe, parsed once (an unknown word is logged and skipped). */
static unsigned wanted(void)
{
    if (wanted_parsed) return wanted_mask;
    wanted_parsed = true;
    char rest[CFG_STR_MAX];
    snprintf(rest, sizeof(rest), "%s", sig->cfg.sip.subscribe);
    char bad[64];
    unsigned mask;
    while (subscribe_parse_kinds(rest, &mask, bad, sizeof(bad)) == EINVAL) {
        log_warn(LOG_MOD, "sip.subscribe: '%s' is not catalog, alarm or position; ignored", bad);
        char *at = strstr(rest, bad); /* blank the word out and parse again */
        if (at) memset(at, ' ', strlen(bad));
    }
    wanted_mask = mask;
    return wanted_mask;
}

unsigned subscribe_kinds_for(const struct device *dev)
{
    if (dev && dev->subscribe_mask >= 0) return (unsigned)dev->subscribe_mask;
    return sig ? wanted() : 0;
}

/* ---- requests ---- */

static int send_subscribe(struct sub_device *sd, enum sub_kind kind, uint32_t expires, sip_resp_h *resph);

static void schedule_retry(struct sub *s, uint64_t now, enum sub_state state)
{
    s->state = state;
    s->expires_at = 0;
    s->due_mono = now + (uint64_t)sig->cfg.sip.subscribe_expires_s * 1000;
}

static void unsubscribe_answered(void)
{
    if (unsubscribes_waiting && --unsubscribes_waiting == 0 && shutdown_done) {
        tmr_cancel(&shutdown_tmr);
        void (*done)(void *) = shutdown_done;
        shutdown_done = NULL;
        done(shutdown_arg);
    }
}

static void txn_response(int err, const struct sip_msg *msg, void *arg)
{
    struct txn_ctx *ctx = arg;
    if (!err && msg && msg->scode < 200) return;
    struct sub_device *sd = sig ? subscribe_find(ctx->device_id) : NULL;
    struct sub *s = sd ? &sd->subs[ctx->kind] : NULL;
    if (ctx->expires == 0) { /* an unsubscribe at shutdown */
        unsubscribe_answered();
        if (s) s->state = SUB_NONE;
        free(ctx);
        return;
    }
    if (!s || s->cseq != ctx->cseq) { /* forgotten, or a newer request went out since */
        free(ctx);
        return;
    }
    uint64_t now = clock_mono_ms();
    s->last_status = err ? 0 : msg->scode;
    if (!err && msg->scode < 300) {
        if (pl_isset(&msg->to.tag) && msg->to.tag.l < sizeof(s->to_tag))
            pl_strcpy(&msg->to.tag, s->to_tag, sizeof(s->to_tag));
        uint32_t granted = pl_isset(&msg->expires) ? pl_u32(&msg->expires) : ctx->expires;
        if (!granted || granted > ctx->expires) granted = ctx->expires;
        s->state = SUB_ACTIVE;
        s->expires_at = clock_wall_ms() + (uint64_t)granted * 1000;
        s->due_mono = now + (granted * 2000ull / 3 > 1000 ? granted * 2000ull / 3 : 1000);
        log_debug(LOG_MOD, "device %s: %s subscription active for %u s", ctx->device_id,
                  subscribe_kind_names[ctx->kind], granted);
    } else if (!err && msg->scode == 481 && s->to_tag[0]) {
        s->state = SUB_NONE; /* the device lost the dialog: subscribe anew at the next sweep */
        s->due_mono = 0;
        sig_count(SC_SUBSCRIBE_FAILED);
    } else {
        sig_count(SC_SUBSCRIBE_FAILED);
        schedule_retry(s, now, err ? SUB_FAILED : SUB_REFUSED);
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
        if (err != ECONNABORTED && log_ratelimit_ok(&rl, now))
            log_info(LOG_MOD, "device %s: %s subscription %s (%s); next try in %d s", ctx->device_id,
                     subscribe_kind_names[ctx->kind], err ? "failed" : "refused",
                     err ? strerror(err) : "error response", sig->cfg.sip.subscribe_expires_s);
    }
    free(ctx);
}

static int send_subscribe(struct sub_device *sd, enum sub_kind kind, uint32_t expires, sip_resp_h *resph)
{
    struct device *dev = registry_find(sd->id);
    if (!dev || !device_reachable(dev)) return ENOTCONN;
    struct sub *s = &sd->subs[kind];
    if (!s->call_id[0]) { /* a new dialog */
        re_snprintf(s->call_id, sizeof(s->call_id), "%016llx@gbgate-sub", rand_u64());
        re_snprintf(s->from_tag, sizeof(s->from_tag), "%016llx", rand_u64());
        s->to_tag[0] = 0;
        s->sn = sig_next_sn();
    }
    char body[BODY_MAX], interval[16];
    size_t len;
    struct manscdp_field fields[4];
    size_t nfields = 0;
    if (kind == SUB_POSITION) {
        snprintf(interval, sizeof(interval), "%d", sig->cfg.sip.position_interval_s);
        fields[nfields++] = (struct manscdp_field){"Interval", interval};
    } else if (kind == SUB_ALARM) { /* every priority (1 highest .. 4) and method (0 = all) */
        fields[nfields++] = (struct manscdp_field){"StartAlarmPriority", "1"};
        fields[nfields++] = (struct manscdp_field){"EndAlarmPriority", "4"};
        fields[nfields++] = (struct manscdp_field){"AlarmMethod", "0"};
    }
    enum manscdp_charset cs = strcasecmp(sig->cfg.sip.charset, "UTF-8") ? MANSCDP_GB2312 : MANSCDP_UTF8;
    int err = manscdp_build_query(body, sizeof(body), &len, cs, kind_cmdtype[kind], s->sn, dev->id, fields,
                                  nfields);
    if (err) return err;
    char route_text[96], ruri[128], event[48];
    struct sa laddr;
    bool tcp = dev->transport == SIP_TRANSP_TCP;
    if (re_snprintf(route_text, sizeof(route_text), "sip:%J%s", &dev->addr, tcp ? ";transport=tcp" : "") <
            0 ||
        re_snprintf(ruri, sizeof(ruri), "sip:%s@%J", dev->id, &dev->addr) < 0)
        return EINVAL;
    err = sip_transp_laddr(endpoint_sip(dev->ep), &laddr, dev->transport, &dev->addr);
    if (err) return err;
    if (kind == SUB_CATALOG)
        snprintf(event, sizeof(event), "Catalog;id=%u", s->sn);
    else
        snprintf(event, sizeof(event), "presence");
    struct pl pl;
    struct uri route;
    pl_set_str(&pl, route_text);
    err = uri_decode(&route, &pl);
    if (err) return err;
    struct txn_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return ENOMEM;
    snprintf(ctx->device_id, sizeof(ctx->device_id), "%s", dev->id);
    ctx->kind = kind;
    ctx->expires = expires;
    ctx->cseq = ++s->cseq;
    err = sip_requestf(NULL, endpoint_sip(dev->ep), true, "SUBSCRIBE", ruri, &route, NULL, NULL, resph, ctx,
                       "From: <sip:%s@%s>;tag=%s\r\n"
                       "To: <%s>%s%s\r\n"
                       "Call-ID: %s\r\n"
                       "CSeq: %u SUBSCRIBE\r\n"
                       "Contact: <sip:%s@%J%s>\r\n"
                       "Event: %s\r\n"
                       "Expires: %u\r\n"
                       "User-Agent: gbgate/%s\r\n"
                       "Content-Type: Application/MANSCDP+xml\r\n"
                       "Content-Length: %zu\r\n"
                       "\r\n"
                       "%b",
                       sig->cfg.sip.id, sig->cfg.sip.domain, s->from_tag, ruri, s->to_tag[0] ? ";tag=" : "",
                       s->to_tag, s->call_id, ctx->cseq, sig->cfg.sip.id, &laddr, tcp ? ";transport=tcp" : "",
                       event, expires, GBGATE_VERSION, len, body, len);
    if (err) {
        free(ctx);
        return err;
    }
    sig_count(SC_SUBSCRIBE_SENT);
    return 0;
}

/* ---- the sweep ---- */

struct sweep_ctx {
    uint64_t now;
    unsigned budget;
};

static void sweep_kind(struct sub_device *sd, enum sub_kind kind, struct sweep_ctx *c)
{
    struct sub *s = &sd->subs[kind];
    bool start = s->state == SUB_NONE ||
                 ((s->state == SUB_REFUSED || s->state == SUB_FAILED || s->state == SUB_TERMINATED) &&
                  c->now >= s->due_mono);
    bool refresh = s->state == SUB_ACTIVE && c->now >= s->due_mono;
    if ((!start && !refresh) || !c->budget) return;
    c->budget--;
    if (start) s->call_id[0] = 0; /* a new dialog */
    s->state = SUB_PENDING;
    int err = send_subscribe(sd, kind, (uint32_t)sig->cfg.sip.subscribe_expires_s, txn_response);
    if (err) {
        sig_count(SC_SUBSCRIBE_FAILED);
        schedule_retry(s, c->now, SUB_FAILED);
    }
}

/* A kind the device no longer wants (its setting changed through the API) is ended with Expires: 0. */
static void drop_kind(struct sub_device *sd, enum sub_kind kind)
{
    struct sub *s = &sd->subs[kind];
    if (s->state == SUB_ACTIVE) (void)send_subscribe(sd, kind, 0, txn_response);
    if (s->state != SUB_NONE)
        log_info(LOG_MOD, "device %s: %s subscription ended (no longer wanted)", sd->id,
                 subscribe_kind_names[kind]);
    memset(s, 0, sizeof(*s));
}

static bool sweep_device(struct device *dev, void *arg)
{
    struct sweep_ctx *c = arg;
    unsigned mask = subscribe_kinds_for(dev);
    struct sub_device *sd = subscribe_find(dev->id);
    if (!mask && !sd) return false;
    if (!dev->online || !device_reachable(dev)) return false;
    if (!sd && !(sd = sub_get(dev->id))) return false;
    for (int k = 0; k < SUB_KINDS; k++) {
        if (mask & (1u << k))
            sweep_kind(sd, (enum sub_kind)k, c);
        else if (sd->subs[k].state != SUB_NONE)
            drop_kind(sd, (enum sub_kind)k);
    }
    return c->budget == 0;
}

void subscribe_sweep(uint64_t now_mono)
{
    if (!sig || sig->shutting_down) return;
    struct sweep_ctx c = {now_mono, SUBSCRIBES_PER_SWEEP};
    registry_foreach(sweep_device, &c);
}

void subscribe_device_gone(const char *device_id)
{
    struct sub_device *sd = subscribe_find(device_id);
    if (sd) sub_device_free(sd);
}

/* ---- shutdown ---- */

static void shutdown_timeout(void *arg)
{
    (void)arg;
    unsubscribes_waiting = 0;
    void (*done)(void *) = shutdown_done;
    shutdown_done = NULL;
    if (done) done(shutdown_arg);
}

struct unsub_ctx {
    unsigned sent;
};

static bool unsubscribe_one(struct le *le, void *arg)
{
    struct unsub_ctx *u = arg;
    struct sub_device *sd = le->data;
    for (int k = 0; k < SUB_KINDS && u->sent < UNSUBSCRIBE_MAX; k++) {
        struct sub *s = &sd->subs[k];
        if (s->state != SUB_ACTIVE && !(s->state == SUB_PENDING && s->to_tag[0]))
            continue; /* or refreshing */
        if (!send_subscribe(sd, (enum sub_kind)k, 0, txn_response)) u->sent++;
    }
    return u->sent >= UNSUBSCRIBE_MAX;
}

void subscribe_shutdown(void (*done)(void *arg), void *arg)
{
    struct unsub_ctx u = {0};
    if (subs_ht) hash_apply(subs_ht, unsubscribe_one, &u);
    tmr_init(&shutdown_tmr);
    if (!u.sent) {
        done(arg);
        return;
    }
    log_info(LOG_MOD, "ending %u subscriptions", u.sent);
    shutdown_done = done;
    shutdown_arg = arg;
    unsubscribes_waiting = u.sent;
    tmr_start(&shutdown_tmr, UNSUBSCRIBE_WAIT_MS, shutdown_timeout, NULL);
}

static bool free_handler(struct le *le, void *arg)
{
    (void)arg;
    sub_device_free(le->data);
    return false;
}

void subscribe_close(void)
{
    tmr_cancel(&shutdown_tmr);
    shutdown_done = NULL;
    unsubscribes_waiting = 0;
    if (subs_ht) hash_apply(subs_ht, free_handler, NULL);
    subs_ht = mem_deref(subs_ht);
    wanted_parsed = false;
    wanted_mask = 0;
}

/* ---- API ---- */

json_t *subscribe_state_json(const char *device_id)
{
    const struct sub_device *sd = subscribe_find(device_id);
    json_t *o = json_object();
    unsigned mask = subscribe_kinds_for(registry_find(device_id));
    for (int k = 0; k < SUB_KINDS; k++) {
        if (!(mask & (1u << k))) continue;
        const struct sub *s = sd ? &sd->subs[k] : NULL;
        char at[32];
        json_t *one = json_object();
        json_object_set_new(one, "state", json_string(state_names[s ? s->state : SUB_NONE]));
        json_object_set_new(one, "expires_at",
                            s && s->expires_at ? json_string(clock_format_utc(s->expires_at, at, sizeof(at)))
                                               : json_null());
        if (s && s->last_status) json_object_set_new(one, "sip_status", json_integer(s->last_status));
        json_object_set_new(o, subscribe_kind_names[k], one);
    }
    return o;
}
