/*
 * NOTIFY requests from devices (GB28181-2016 subscriptions, see subscribe.c): answered 200 at once, then
 * the MANSCDP body is applied -
 *   Notify Catalog: each item carries an Event: ADD and UPDATE insert or replace the channel, DEL removes
 *     it, ON/OFF (and VLOST/DEFECT, which mean "off") change its status; the change is stored at once;
 *   Notify Alarm / MobilePosition: stored like their MESSAGE twins (events.c).
 * The NOTIFY belongs to a subscription when its Call-ID is one of ours: its Subscription-State then
 * updates that subscription (expires, or terminated). Devices also send NOTIFYs outside any subscription
 * we know (after a restart of gbgate, or on their own): from a known device they are accepted all the same,
 * from an unknown one refused with 481.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/storage.h"
#include "signaling/subscribe_priv.h"

static void remove_channel(struct device *dev, const char *channel_id)
{
    const struct manscdp_catalog_item *it = device_find_channel(dev, channel_id);
    if (!it) return;
    size_t pos = (size_t)(it - dev->channels);
    memmove(&dev->channels[pos], &dev->channels[pos + 1], (dev->nchannels - pos - 1) * sizeof(*it));
    dev->nchannels--;
}

/* Applies the Event of every item; returns true when the channel list changed. */
static bool apply_catalog(struct device *dev, const struct manscdp_msg *m, bool *removed)
{
    struct manscdp_catalog cat;
    if (manscdp_decode_catalog(m, &cat)) return false;
    bool changed = false;
    struct manscdp_catalog_item item;
    for (const struct manscdp_node *n = cat.first_item; n; n = manscdp_next(n)) {
        manscdp_decode_catalog_item(n, &item);
        if (!item.device_id[0]) continue;
        const char *ev = item.event;
        if (!ev[0]) ev = manscdp_node_get(n, "OperateType"); /* Hikvision writes this instead */
        if (!ev) ev = "";
        if (!strcasecmp(ev, "DEL")) {
            remove_channel(dev, item.device_id);
            *removed = changed = true;
        } else if (!strcasecmp(ev, "ON") || !strcasecmp(ev, "OFF") || !strcasecmp(ev, "VLOST") ||
                   !strcasecmp(ev, "DEFECT")) {
            const struct manscdp_catalog_item *old = device_find_channel(dev, item.device_id);
            if (!old) continue; /* a status of a channel we never saw: the next catalog brings it */
            struct manscdp_catalog_item upd = *old;
            upd.online = !strcasecmp(ev, "ON");
            snprintf(upd.status, sizeof(upd.status), "%s", upd.online ? "ON" : "OFF");
            changed |= device_merge_channels(dev, &upd, 1) == 0;
        } else { /* ADD, UPDATE, or no Event (a plain catalog pushed): the item as sent */
            changed |= device_merge_channels(dev, &item, 1) == 0;
        }
    }
    return changed;
}

static void update_subscription(struct device *dev, const struct sip_msg *msg)
{
    struct sub_device *sd = subscribe_find(dev->id);
    if (!sd) return;
    for (int k = 0; k < SUB_KINDS; k++) {
        struct sub *s = &sd->subs[k];
        if (!s->call_id[0] || pl_strcmp(&msg->callid, s->call_id)) continue;
        const struct sip_hdr *h = sip_msg_xhdr(msg, "Subscription-State");
        if (!h) return;
        struct pl expires;
        if (h->val.l >= 10 && !strncasecmp(h->val.p, "terminated", 10)) {
            s->state = SUB_TERMINATED; /* subscribe.c tries again after a period */
            s->expires_at = 0;
            s->due_mono = clock_mono_ms() + (uint64_t)sig->cfg.sip.subscribe_expires_s * 1000;
        } else if (!re_regex(h->val.p, h->val.l, "expires=[0-9]+", &expires) && s->state == SUB_ACTIVE) {
            s->expires_at = clock_wall_ms() + (uint64_t)pl_u32(&expires) * 1000;
        }
        return;
    }
}

void subscribe_handle_notify(struct sip_endpoint *ep, const struct sip_msg *msg)
{
    sig_count(SC_NOTIFY);
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
    char id[DEVICE_ID_MAX] = "";
    const struct pl *user = &msg->from.uri.user;
    if (device_id_acceptable(user->p, user->l)) pl_strcpy(user, id, sizeof(id));
    struct device *dev = registry_find(id);
    if (!dev) {
        sig_count(SC_EVENTS_DROPPED);
        sig_reply(ep, msg, 481, "Subscription Does Not Exist", NULL);
        return;
    }
    const uint8_t *body;
    size_t len;
    struct manscdp_msg *m = NULL;
    sig_msg_body(msg, &body, &len); /* checked by the dispatcher */
    if (!body || manscdp_parse(body, len, &m)) {
        sig_count(SC_BAD_BODY);
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_warn(LOG_MOD, "NOTIFY from %s: body of %zu bytes refused", id, len);
        sig_reply(ep, msg, 400, "Bad Request (MANSCDP body)", NULL);
        return;
    }
    sig_reply(ep, msg, 200, "OK", NULL);
    update_subscription(dev, msg);
    if (manscdp_is(m, MANSCDP_NOTIFY, "Catalog")) {
        bool removed = false;
        if (apply_catalog(dev, m, &removed)) {
            storage_save_channels(dev, removed);
            dev->catalog_at = clock_wall_ms();
            device_mark_dirty(dev);
            log_info(LOG_MOD, "device %s: catalog notify applied, %zu channels", dev->id, dev->nchannels);
        }
    } else if (!events_handle_notify(dev, m)) {
        sig_count(SC_UNKNOWN_CMDTYPE);
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_info(LOG_MOD, "NOTIFY from %s: %s %s ignored", id, manscdp_root_name(manscdp_root(m)),
                     manscdp_cmdtype(m));
    }
    manscdp_free(m);
}
