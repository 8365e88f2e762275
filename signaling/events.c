/*
 * Alarm and MobilePosition notifies from devices (GB28181.md section 3), whether they come by MESSAGE or by
 * NOTIFY inside a subscription (subscribe.c): each is stored with bounded history (storage_events.c) and an
 * Alarm is acknowledged the way the standard asks, with a MESSAGE <Response><CmdType>Alarm</CmdType>
 * <Result>OK</Result> to the device (besides the SIP 200, which the caller sends).
 *
 * The newest position of each device is also kept in memory (a hash by device ID, warmed from storage at
 * start) so the device JSON can show it without a query per device.
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
#include "signaling/storage_events.h"

#define ACK_BODY_MAX 1024

struct last_position {
    struct le he;
    struct stored_position p;
};

static struct hash *last_positions;
static size_t nlast; /* entries in last_positions */

static bool id_cmp(struct le *le, void *arg)
{
    const struct last_position *lp = le->data;
    return !strcmp(lp->p.device_id, arg);
}

static struct last_position *last_find(const char *device_id)
{
    if (!last_positions) return NULL;
    struct le *le = hash_lookup(last_positions, hash_joaat_str(device_id), id_cmp, (void *)device_id);
    return le ? le->data : NULL;
}

static void last_set(void *arg, const struct stored_position *p)
{
    (void)arg;
    struct last_position *lp = last_find(p->device_id);
    if (!lp) {
        if (!last_positions || nlast >= SIG_MAX_DEVICES) return;
        lp = calloc(1, sizeof(*lp));
        if (!lp) return;
        hash_append(last_positions, hash_joaat_str(p->device_id), &lp->he, lp);
        nlast++;
    }
    lp->p = *p;
}

static bool free_handler(struct le *le, void *arg)
{
    (void)arg;
    struct last_position *lp = le->data;
    hash_unlink(&lp->he);
    free(lp);
    nlast--;
    return false;
}

int events_open(void)
{
    int err = hash_alloc(&last_positions, 1024);
    if (!err) err = storage_events_open();
    if (!err) err = storage_positions_latest(last_set, NULL);
    return err;
}

void events_close(void)
{
    storage_events_close();
    if (last_positions) hash_apply(last_positions, free_handler, NULL);
    last_positions = mem_deref(last_positions);
}

void events_forget_device(const char *device_id)
{
    struct last_position *lp = last_find(device_id);
    if (lp) free_handler(&lp->he, NULL);
    (void)storage_events_forget_device(device_id);
}

json_t *events_last_position_json(const char *device_id)
{
    struct last_position *lp = last_find(device_id);
    if (!lp) return json_null();
    char at[32];
    json_t *o = json_object();
    json_object_set_new(o, "channel", json_string(lp->p.channel_id));
    json_object_set_new(o, "time", json_string(lp->p.time));
    json_object_set_new(o, "longitude", json_real(lp->p.longitude));
    json_object_set_new(o, "latitude", json_real(lp->p.latitude));
    json_object_set_new(o, "received_at", json_string(clock_format_utc(lp->p.received_at, at, sizeof(at))));
    return o;
}

/* ---- notifies ---- */

static void ack_sent(int err, const struct sip_msg *msg, void *arg)
{
    (void)arg;
    if (!err && msg && msg->scode < 200) return;
    if (err || !msg || msg->scode >= 300) sig_count(SC_QUERIES_FAILED);
}

/* <Response><CmdType>Alarm</CmdType><SN>(the alarm's)</SN><DeviceID>(the alarm's)</DeviceID><Result>OK */
static void alarm_acknowledge(struct device *dev, const struct manscdp_msg *m)
{
    uint32_t sn = 0;
    manscdp_sn(m, &sn);
    char sn_text[16];
    snprintf(sn_text, sizeof(sn_text), "%u", sn);
    const struct manscdp_field fields[] = {{"Result", "OK"}};
    char body[ACK_BODY_MAX];
    size_t len;
    enum manscdp_charset cs = strcasecmp(sig->cfg.sip.charset, "UTF-8") ? MANSCDP_GB2312 : MANSCDP_UTF8;
    if (!manscdp_build(body, sizeof(body), &len, cs, MANSCDP_RESPONSE, "Alarm", sn, manscdp_device_id(m),
                       fields, 1))
        (void)sig_send_message(dev, body, len, ack_sent, NULL);
}

static void store_alarm(struct device *dev, const struct manscdp_msg *m)
{
    struct manscdp_alarm al;
    if (manscdp_decode_alarm(m, &al)) return;
    struct stored_alarm a;
    memset(&a, 0, sizeof(a));
    snprintf(a.device_id, sizeof(a.device_id), "%s", dev->id);
    snprintf(a.channel_id, sizeof(a.channel_id), "%s", manscdp_device_id(m));
    a.priority = al.alarm_priority;
    a.method = al.alarm_method;
    a.type = al.alarm_type;
    snprintf(a.time, sizeof(a.time), "%s", al.alarm_time);
    snprintf(a.description, sizeof(a.description), "%s", al.alarm_description);
    a.has_position = al.has_position;
    a.longitude = al.longitude;
    a.latitude = al.latitude;
    a.received_at = clock_wall_ms();
    if (storage_alarm_add(&a, sig->cfg.sip.alarm_history)) return;
    sig_count(SC_ALARMS);
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 20);
    if (log_ratelimit_ok(&rl, clock_mono_ms()))
        log_info(LOG_MOD, "device %s: alarm on %s, priority %d method %d type %d at %s: %s", dev->id,
                 a.channel_id, a.priority, a.method, a.type, a.time, a.description);
}

static void store_position(struct device *dev, const struct manscdp_msg *m)
{
    struct manscdp_mobile_position mp;
    if (manscdp_decode_mobile_position(m, &mp)) return;
    if (!mp.has_position) {
        sig_count(SC_EVENTS_DROPPED);
        return;
    }
    struct stored_position p;
    memset(&p, 0, sizeof(p));
    snprintf(p.device_id, sizeof(p.device_id), "%s", dev->id);
    snprintf(p.channel_id, sizeof(p.channel_id), "%s", manscdp_device_id(m));
    snprintf(p.time, sizeof(p.time), "%s", mp.time);
    p.longitude = mp.longitude;
    p.latitude = mp.latitude;
    p.speed = mp.speed;
    p.direction = mp.direction;
    p.altitude = mp.altitude;
    p.received_at = clock_wall_ms();
    last_set(NULL, &p);
    if (!storage_position_add(&p, sig->cfg.sip.position_history)) sig_count(SC_POSITIONS);
}

bool events_handle_notify(struct device *dev, const struct manscdp_msg *m)
{
    bool alarm = manscdp_is(m, MANSCDP_NOTIFY, "Alarm");
    bool position = manscdp_is(m, MANSCDP_NOTIFY, "MobilePosition");
    if (!alarm && !position) return false;
    if (!dev) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
        sig_count(SC_EVENTS_DROPPED);
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_info(LOG_MOD, "%s notify from an unknown device ignored", manscdp_cmdtype(m));
        return true;
    }
    if (alarm) {
        store_alarm(dev, m);
        alarm_acknowledge(dev, m);
    } else {
        store_position(dev, m);
    }
    return true;
}
