/*
 * Incoming MESSAGE requests: MANSCDP bodies from devices (GB28181.md section 3).
 *
 * The sender is the From user. Answers:
 *   no body, unparsable XML (bombs, DTDs, truncated), not MANSCDP  -> 400, counted
 *   unacceptable From ID                                           -> 400, counted
 *   Keepalive from a device we do not know, or whose registration
 *   expired or was withdrawn                                       -> 404 (so that it registers again)
 *   a Response from a device we do not know                        -> 404
 *   anything else                                                  -> 200; unknown CmdTypes are counted
 * A keepalive (or any answer) from a registered device marks it online and refreshes its address: devices
 * behind NAT may come back from another port.
 */
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/invite.h"
#include "signaling/sig_core.h"

/* CmdTypes this platform understands (or knowingly ignores); others are counted as unknown. */
static bool cmdtype_known(const char *cmd)
{
    static const char *const known[] = {"Keepalive",     "Catalog",        "DeviceInfo",  "DeviceStatus",
                                        "RecordInfo",    "Alarm",          "MediaStatus", "MobilePosition",
                                        "DeviceControl", "ConfigDownload", "PresetQuery", "Broadcast",
                                        "DeviceConfig"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcasecmp(cmd, known[i])) return true;
    return false;
}

/* The device talks from here now: later requests go back the same way. */
static void device_seen(struct device *dev, struct sip_endpoint *ep, const struct sip_msg *msg)
{
    if (!sa_cmp(&dev->addr, &msg->src, SA_ALL) || dev->transport != msg->tp) {
        dev->addr = msg->src;
        dev->transport = msg->tp;
        device_mark_dirty(dev);
    }
    dev->ep = ep;
    device_set_tcp_conn(dev, msg->tp == SIP_TRANSP_TCP ? msg->sock : NULL);
    dev->last_seen_mono = clock_mono_ms();
}

static bool registration_valid(const struct device *dev)
{
    return dev && dev->registered && (!dev->expires_at || clock_wall_ms() < dev->expires_at);
}

static void handle_keepalive(struct sip_endpoint *ep, const struct sip_msg *msg, struct device *dev,
                             const char *id)
{
    if (!registration_valid(dev)) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
        sig_count(SC_KEEPALIVE_UNKNOWN);
        char src[64];
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_info(LOG_MOD, "keepalive from %s device %s at %s refused (404): it must register",
                     dev ? "unregistered" : "unknown", id, sig_addr_str(&msg->src, src, sizeof(src)));
        sig_reply(ep, msg, 404, "Not Found (register first)", NULL);
        return;
    }
    sig_count(SC_KEEPALIVE);
    bool was_online = dev->online;
    device_seen(dev, ep, msg);
    dev->keepalive_at = clock_wall_ms();
    device_mark_dirty(dev);
    sig_reply(ep, msg, 200, "OK", NULL);
    if (!was_online) {
        sig_device_online(dev);
        query_after_register(dev);
    }
}

/* MediaStatus 121: a playback or download reached the end of its range (invite.c finds the session). */
static void handle_media_status(struct sip_endpoint *ep, const struct sip_msg *msg, struct device *dev,
                                const struct manscdp_msg *m)
{
    device_seen(dev, ep, msg);
    sig_reply(ep, msg, 200, "OK", NULL);
    struct manscdp_media_status st;
    if (manscdp_decode_media_status(m, &st) != 0 || st.notify_type != MANSCDP_NOTIFY_MEDIA_END) {
        log_info(LOG_MOD, "device %s: MediaStatus NotifyType %d ignored", dev->id, st.notify_type);
        return;
    }
    char call_id[128];
    pl_strcpy(&msg->callid, call_id, sizeof(call_id));
    invite_media_status_end(dev->id, manscdp_device_id(m), call_id);
}

void message_handle(struct sip_endpoint *ep, const struct sip_msg *msg)
{
    sig_count(SC_MESSAGE);
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
    const struct pl *user = &msg->from.uri.user;
    if (!device_id_acceptable(user->p, user->l)) {
        sig_count(SC_INVALID_ID);
        sig_reply(ep, msg, 400, "Bad Request (device ID)", NULL);
        return;
    }
    char id[DEVICE_ID_MAX];
    pl_strcpy(user, id, sizeof(id));

    const uint8_t *body;
    size_t len;
    struct manscdp_msg *m = NULL;
    sig_msg_body(msg, &body, &len); /* checked by the dispatcher */
    int err = body ? manscdp_parse(body, len, &m) : EBADMSG;
    if (err) {
        sig_count(SC_BAD_BODY);
        char src[64];
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_warn(LOG_MOD, "MESSAGE from %s at %s: body of %zu bytes refused: %s", id,
                     sig_addr_str(&msg->src, src, sizeof(src)), len, strerror(err));
        sig_reply(ep, msg, 400, "Bad Request (MANSCDP body)", NULL);
        return;
    }

    struct device *dev = registry_find(id);
    const char *cmd = manscdp_cmdtype(m);
    if (manscdp_is(m, MANSCDP_NOTIFY, "Keepalive")) {
        handle_keepalive(ep, msg, dev, id);
    } else if (manscdp_root(m) == MANSCDP_RESPONSE) {
        if (!registration_valid(dev) && !(dev && dev->online)) {
            sig_reply(ep, msg, 404, "Not Found (register first)", NULL);
        } else {
            device_seen(dev, ep, msg);
            sig_reply(ep, msg, 200, "OK", NULL);
            if (!cmdtype_known(cmd)) sig_count(SC_UNKNOWN_CMDTYPE);
            if (!strcasecmp(cmd, "RecordInfo"))
                records_handle_response(dev, m); /* paged, records.c */
            else
                query_handle_response(dev, m);
        }
    } else if (manscdp_is(m, MANSCDP_NOTIFY, "MediaStatus") && registration_valid(dev)) {
        handle_media_status(ep, msg, dev, m);
    } else {
        if (!cmdtype_known(cmd)) {
            sig_count(SC_UNKNOWN_CMDTYPE);
            if (log_ratelimit_ok(&rl, clock_mono_ms()))
                log_info(LOG_MOD, "MESSAGE from %s: %s %s ignored", id, manscdp_root_name(manscdp_root(m)),
                         cmd);
        }
        sig_reply(ep, msg, 200, "OK", NULL);
        events_handle_notify(registration_valid(dev) ? dev : NULL, m); /* Alarm, MobilePosition */
    }
    manscdp_free(m);
}
