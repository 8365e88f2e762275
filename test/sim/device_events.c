/*
 * gbsim device: subscriptions and events, with values a test can predict.
 *   SUBSCRIBE (Catalog, Alarm, MobilePosition): 200 with the Expires asked (or --subscribe-refuse CODE),
 *   the dialog is kept and refreshed by the platform's in-dialog SUBSCRIBEs; Expires: 0 ends it. With
 *   --notify-catalog-add, a new Catalog subscription is followed by one NOTIFY Catalog adding channel
 *   "<first 10 digits>131" +
 *   (9000000 + the device's serial mod 1000000), named "新增摄像机"; a MobilePosition subscription gets a
 *   NOTIFY every Interval seconds. NOTIFYs carry Event (as subscribed) and Subscription-State.
 *   --alarm-every S: a MESSAGE Notify Alarm every S seconds, the n-th (from 1) with AlarmPriority
 *   (n-1)%4+1, AlarmMethod 2, Info/AlarmType 1, AlarmTime 2026-01-01T08:00:00 + n s, AlarmDescription
 *   "gbsim alarm n", Longitude 117.2, Latitude 31.8.
 *   --position-every S: a MESSAGE Notify MobilePosition every S seconds, the n-th with Time
 *   2026-01-01T08:00:00 + n s, Longitude 116 + n/1000, Latitude 39.9, Speed 10.5, Direction 90, Altitude 50
 *   (the subscription's NOTIFYs carry the same values, counted on their own).
 * Every step prints a "gbsim: event=subscribe|unsubscribe|notify|alarm|position device=... kind=..." line.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signaling/record_list.h"
#include "test/sim/device_events.h"

enum { K_CATALOG = 0, K_ALARM, K_POSITION, K_KINDS };
static const char *const kind_names[K_KINDS] = {"catalog", "alarm", "position"};
static const char *const kind_cmdtypes[K_KINDS] = {"Catalog", "Alarm", "MobilePosition"};

struct sim_dialog {
    bool active;
    char call_id[128], remote_tag[128], local_tag[24], event[64];
    uint32_t cseq;
    uint64_t expires_at, next_notify;
    int interval_s;
};

struct sim_events {
    struct sim_device *dev;
    struct sim_dialog dialogs[K_KINDS];
    uint64_t alarm_due, position_due;
    unsigned alarms, positions, position_notifies;
};

static double alarm_every_s, position_every_s;
static int subscribe_refuse;
static bool notify_catalog_add;
static atomic_ullong n_subscribes, n_refreshes, n_unsubscribes, n_notifies, n_alarms, n_alarm_acks,
    n_positions;
extern atomic_ullong sim_records_queries, sim_records_messages;
bool sim_records_option(int code, const char *arg);

bool sim_events_option(int code, const char *arg)
{
    switch (code) {
    case SIM_OPT_ALARM_EVERY: alarm_every_s = atof(arg); return alarm_every_s > 0;
    case SIM_OPT_POSITION_EVERY: position_every_s = atof(arg); return position_every_s > 0;
    case SIM_OPT_SUBSCRIBE_REFUSE:
        subscribe_refuse = atoi(arg);
        return subscribe_refuse >= 300 && subscribe_refuse <= 699;
    case SIM_OPT_NOTIFY_CATALOG_ADD: notify_catalog_add = true; return true;
    default: return sim_records_option(code, arg);
    }
}

static void event(const struct sim_events *ev, const char *name, const char *kind, const char *extra)
{
    if (!sim_opt.quiet_events)
        fprintf(stderr, "gbsim: event=%s device=%s kind=%s%s%s\n", name, sim_device_id(ev->dev), kind,
                extra ? " " : "", extra ? extra : "");
}

struct sim_events *sim_events_create(struct sim_device *dev)
{
    struct sim_events *ev = calloc(1, sizeof(*ev));
    if (!ev) return NULL;
    ev->dev = dev;
    uint64_t now = tmr_jiffies();
    if (alarm_every_s > 0) ev->alarm_due = now + (uint64_t)(alarm_every_s * 1000);
    if (position_every_s > 0) ev->position_due = now + (uint64_t)(position_every_s * 1000);
    return ev;
}

void sim_events_destroy(struct sim_events *ev)
{
    free(ev);
}

/* ---- bodies ---- */

static void event_time(unsigned n, char out[RECORD_TIME_SIZE])
{
    int64_t base;
    record_time_parse("2026-01-01T08:00:00", &base);
    record_time_format(base + n, out);
}

static int build_position(struct sim_events *ev, unsigned n, char *body, size_t cap, size_t *len)
{
    char t[RECORD_TIME_SIZE], lon[32];
    event_time(n, t);
    snprintf(lon, sizeof(lon), "%.6f", 116.0 + n / 1000.0);
    const struct manscdp_field f[] = {{"Time", t},       {"Longitude", lon},  {"Latitude", "39.9"},
                                      {"Speed", "10.5"}, {"Direction", "90"}, {"Altitude", "50"}};
    return manscdp_build(body, cap, len, sim_device_charset(), MANSCDP_NOTIFY, "MobilePosition", n,
                         sim_device_id(ev->dev), f, sizeof(f) / sizeof(f[0]));
}

static int build_alarm(struct sim_events *ev, unsigned n, char *body, size_t cap, size_t *len)
{
    char t[RECORD_TIME_SIZE], prio[8], desc[48];
    event_time(n, t);
    snprintf(prio, sizeof(prio), "%u", (n - 1) % 4 + 1);
    snprintf(desc, sizeof(desc), "gbsim alarm %u", n);
    const struct manscdp_field f[] = {
        {"AlarmPriority", prio}, {"AlarmMethod", "2"}, {"AlarmTime", t},       {"AlarmDescription", desc},
        {"Longitude", "117.2"},  {"Latitude", "31.8"}, {"Info/AlarmType", "1"}};
    return manscdp_build(body, cap, len, sim_device_charset(), MANSCDP_NOTIFY, "Alarm", n,
                         sim_device_id(ev->dev), f, sizeof(f) / sizeof(f[0]));
}

static int build_catalog_add(struct sim_events *ev, char *body, size_t cap, size_t *len)
{
    const char *id = sim_device_id(ev->dev);
    struct manscdp_catalog_item it;
    memset(&it, 0, sizeof(it));
    snprintf(it.device_id, sizeof(it.device_id), "%.10s131%07lu", id,
             9000000ul + strtoul(id + 13, NULL, 10) % 1000000ul);
    snprintf(it.event, sizeof(it.event), "ADD");
    snprintf(it.name, sizeof(it.name), "新增摄像机");
    snprintf(it.manufacturer, sizeof(it.manufacturer), "gbsim");
    snprintf(it.parent_id, sizeof(it.parent_id), "%s", id);
    snprintf(it.status, sizeof(it.status), "ON");
    it.online = true;
    it.parental = it.safety_way = it.secrecy = 0;
    it.register_way = 1;
    it.port = it.ptz_type = -1;
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, cap, sim_device_charset(), MANSCDP_NOTIFY, "Catalog", 1, id);
    manscdp_writer_int(&w, "SumNum", 1);
    manscdp_writer_open_attr(&w, "DeviceList", "Num", "1");
    manscdp_writer_open(&w, "Item");
    manscdp_writer_text(&w, "DeviceID", it.device_id);
    manscdp_writer_text(&w, "Event", it.event);
    manscdp_writer_text(&w, "Name", it.name);
    manscdp_writer_text(&w, "Manufacturer", it.manufacturer);
    manscdp_writer_text(&w, "ParentID", it.parent_id);
    manscdp_writer_text(&w, "Status", it.status);
    return manscdp_writer_finish(&w, len);
}

/* ---- NOTIFY in a subscription dialog ---- */

static void notify_resp(int err, const struct sip_msg *msg, void *arg)
{
    (void)arg;
    (void)err;
    (void)msg;
}

static void send_notify(struct sim_events *ev, int kind, const char *body, size_t len)
{
    struct sim_dialog *d = &ev->dialogs[kind];
    char uri[160];
    re_snprintf(uri, sizeof(uri), "sip:%s@%J%s", sim_opt.server_id, &sim_opt.server,
                sim_opt.transport == SIP_TRANSP_TCP ? ";transport=tcp" : "");
    uint64_t now = tmr_jiffies();
    unsigned left = d->expires_at > now ? (unsigned)((d->expires_at - now) / 1000) : 0;
    int err =
        sip_requestf(NULL, sim_device_sip(ev->dev), true, "NOTIFY", uri, NULL, NULL, NULL, notify_resp, ev,
                     "From: <sip:%s@%s>;tag=%s\r\n"
                     "To: <sip:%s@%s>;tag=%s\r\n"
                     "Call-ID: %s\r\n"
                     "CSeq: %u NOTIFY\r\n"
                     "Event: %s\r\n"
                     "Subscription-State: active;expires=%u\r\n"
                     "User-Agent: gbsim\r\n"
                     "Content-Type: Application/MANSCDP+xml\r\n"
                     "Content-Length: %zu\r\n\r\n%b",
                     sim_device_id(ev->dev), sim_opt.domain, d->local_tag, sim_opt.server_id, sim_opt.domain,
                     d->remote_tag, d->call_id, ++d->cseq, d->event, left, len, body, len);
    if (!err) {
        atomic_fetch_add(&n_notifies, 1);
        event(ev, "notify", kind_names[kind], NULL);
    }
}

bool sim_events_handle_request(struct sim_events *ev, const struct sip_msg *msg)
{
    if (!ev || pl_strcmp(&msg->met, "SUBSCRIBE")) return false;
    struct manscdp_msg *q = NULL;
    if (manscdp_parse(mbuf_buf(msg->mb), mbuf_get_left(msg->mb), &q)) {
        (void)sip_reply(sim_device_sip(ev->dev), msg, 400, "Bad Request");
        return true;
    }
    int kind = -1;
    for (int k = 0; k < K_KINDS; k++)
        if (!strcasecmp(manscdp_cmdtype(q), kind_cmdtypes[k])) kind = k;
    const char *interval = manscdp_get(q, "Interval");
    int interval_s = interval ? atoi(interval) : 0;
    manscdp_free(q);
    if (kind < 0) {
        (void)sip_reply(sim_device_sip(ev->dev), msg, 489, "Bad Event");
        return true;
    }
    if (subscribe_refuse) {
        (void)sip_reply(sim_device_sip(ev->dev), msg, (uint16_t)subscribe_refuse, "Refused");
        event(ev, "subscribe-refused", kind_names[kind], NULL);
        return true;
    }
    struct sim_dialog *d = &ev->dialogs[kind];
    uint32_t expires = pl_isset(&msg->expires) ? pl_u32(&msg->expires) : 3600;
    bool refresh = pl_isset(&msg->to.tag);
    if (refresh && (!d->active || pl_strcmp(&msg->callid, d->call_id))) {
        (void)sip_reply(sim_device_sip(ev->dev), msg, 481, "Subscription Does Not Exist");
        return true;
    }
    if (!refresh) {
        memset(d, 0, sizeof(*d));
        pl_strcpy(&msg->callid, d->call_id, sizeof(d->call_id));
        pl_strcpy(&msg->from.tag, d->remote_tag, sizeof(d->remote_tag));
        re_snprintf(d->local_tag, sizeof(d->local_tag), "%016llx", msg->tag);
        const struct sip_hdr *e = sip_msg_hdr(msg, SIP_HDR_EVENT);
        if (e) pl_strcpy(&e->val, d->event, sizeof(d->event));
    }
    (void)sip_replyf(sim_device_sip(ev->dev), msg, 200, "OK", "Expires: %u\r\nContent-Length: 0\r\n\r\n",
                     expires);
    char extra[64];
    snprintf(extra, sizeof(extra), "expires=%u refresh=%d", expires, refresh);
    if (expires == 0) {
        d->active = false;
        atomic_fetch_add(&n_unsubscribes, 1);
        event(ev, "unsubscribe", kind_names[kind], NULL);
        return true;
    }
    atomic_fetch_add(refresh ? &n_refreshes : &n_subscribes, 1);
    event(ev, "subscribe", kind_names[kind], extra);
    uint64_t now = tmr_jiffies();
    d->active = true;
    d->expires_at = now + (uint64_t)expires * 1000;
    if (refresh) return true;
    d->interval_s = interval_s > 0 ? interval_s : 5;
    d->next_notify = now + (uint64_t)d->interval_s * 1000;
    if (kind == K_CATALOG && notify_catalog_add) {
        char body[2048];
        size_t len;
        if (!build_catalog_add(ev, body, sizeof(body), &len)) send_notify(ev, K_CATALOG, body, len);
    }
    return true;
}

void sim_events_message(struct sim_events *ev, const struct manscdp_msg *m)
{
    if (ev && manscdp_is(m, MANSCDP_RESPONSE, "Alarm")) {
        atomic_fetch_add(&n_alarm_acks, 1);
        event(ev, "alarm-ack", "alarm", NULL);
    }
}

void sim_events_tick(struct sim_events *ev, uint64_t now)
{
    if (!ev) return;
    char body[2048];
    size_t len;
    if (ev->alarm_due && now >= ev->alarm_due) {
        ev->alarm_due = now + (uint64_t)(alarm_every_s * 1000);
        if (!build_alarm(ev, ++ev->alarms, body, sizeof(body), &len) &&
            !sim_device_send_body(ev->dev, body, len)) {
            atomic_fetch_add(&n_alarms, 1);
            event(ev, "alarm", "alarm", NULL);
        }
    }
    if (ev->position_due && now >= ev->position_due) {
        ev->position_due = now + (uint64_t)(position_every_s * 1000);
        if (!build_position(ev, ++ev->positions, body, sizeof(body), &len) &&
            !sim_device_send_body(ev->dev, body, len)) {
            atomic_fetch_add(&n_positions, 1);
            event(ev, "position", "position", NULL);
        }
    }
    struct sim_dialog *d = &ev->dialogs[K_POSITION];
    if (d->active && now >= d->expires_at) d->active = false; /* not refreshed: over */
    if (d->active && now >= d->next_notify) {
        d->next_notify = now + (uint64_t)d->interval_s * 1000;
        if (!build_position(ev, ++ev->position_notifies, body, sizeof(body), &len))
            send_notify(ev, K_POSITION, body, len);
    }
}

const char *sim_events_summary_json(void)
{
    static char buf[512];
    snprintf(buf, sizeof(buf),
             ",\"records\":{\"queries\":%llu,\"messages\":%llu},\"events\":{\"subscribes\":%llu,"
             "\"refreshes\":%llu,\"unsubscribes\":%llu,\"notifies\":%llu,\"alarms\":%llu,\"alarm_acks\":%llu,"
             "\"positions\":%llu}",
             (unsigned long long)atomic_load(&sim_records_queries),
             (unsigned long long)atomic_load(&sim_records_messages),
             (unsigned long long)atomic_load(&n_subscribes), (unsigned long long)atomic_load(&n_refreshes),
             (unsigned long long)atomic_load(&n_unsubscribes), (unsigned long long)atomic_load(&n_notifies),
             (unsigned long long)atomic_load(&n_alarms), (unsigned long long)atomic_load(&n_alarm_acks),
             (unsigned long long)atomic_load(&n_positions));
    return buf;
}
