/*
 * Registrar: REGISTER from devices (GB28181.md section 2).
 *
 *   banned ID or address                          -> 403 (no challenge: a banned device learns nothing)
 *   no Authorization / not ours / unparsable      -> 401 with a fresh nonce (not a failure: many devices send
 * a made-up Authorization on their first REGISTER) our nonce, expired                            -> 401
 * stale=true our nonce, wrong response                     -> 403, one failure for the ID and one for the
 * address; sip.auth_ban_failures of them ban it for sip.auth_ban_s right response (any realm: devices send
 * "hik", "34020000"...; with or without qop) or sip.auth = off
 *                                                 -> 200 with Expires (capped at sip.register_expires_max_s)
 * and Date (sip.date_header); Expires: 0 unregisters
 *
 * The password is the device's own (set through the API) or sip.password. After a new registration (new
 * device, back from offline, moved address) DeviceInfo and Catalog are queried.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/sig_core.h"

#define DEFAULT_EXPIRES_S 3600

static uint32_t now_s(void)
{
    return (uint32_t)(clock_mono_ms() / 1000);
}

static void challenge(struct sip_endpoint *ep, const struct sip_msg *msg, bool stale)
{
    char nonce[DIGEST_NONCE_LEN + 1], value[512], headers[600];
    digest_nonce_make(sig->nonce_secret, now_s(), nonce);
    if (digest_challenge_format(value, sizeof(value), sig->cfg.sip.domain, nonce, true, stale) < 0) {
        sig_reply(ep, msg, 500, "Server Internal Error", NULL);
        return;
    }
    snprintf(headers, sizeof(headers), "WWW-Authenticate: %s\r\n", value);
    sig_count(stale ? SC_STALE_NONCE : SC_CHALLENGE);
    sig_reply(ep, msg, 401, "Unauthorized", headers);
}

static bool pl_is_number(const struct pl *pl)
{
    if (!pl->l || pl->l > 9) return false;
    for (size_t i = 0; i < pl->l; i++)
        if (pl->p[i] < '0' || pl->p[i] > '9') return false;
    return true;
}

/* Expires header, else the Contact's expires parameter, else one hour (also for a value that is not a
 * number: better than reading garbage as 0 = unregister); capped by the config. */
static uint32_t requested_expires(const struct sip_msg *msg)
{
    uint32_t expires = DEFAULT_EXPIRES_S;
    if (pl_isset(&msg->expires)) {
        if (pl_is_number(&msg->expires)) expires = pl_u32(&msg->expires);
    } else {
        const struct sip_hdr *contact = sip_msg_hdr(msg, SIP_HDR_CONTACT);
        struct sip_addr addr;
        struct pl val;
        if (contact && !sip_addr_decode(&addr, &contact->val) &&
            !msg_param_decode(&addr.params, "expires", &val) && pl_is_number(&val))
            expires = pl_u32(&val);
    }
    uint32_t max = (uint32_t)sig->cfg.sip.register_expires_max_s;
    return expires > max ? max : expires;
}

/* Checks the Authorization header; replies itself and returns false unless the device is authenticated. */
static bool authenticate(struct sip_endpoint *ep, const struct sip_msg *msg, const char *id,
                         const char *idkey, const char *ipkey)
{
    const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_AUTHORIZATION);
    struct digest_fields cred;
    if (!hdr || digest_parse(hdr->val.p, hdr->val.l, &cred) || digest_credentials_check(&cred)) {
        challenge(ep, msg, false);
        return false;
    }
    switch (
        digest_nonce_check(sig->nonce_secret, cred.nonce, now_s(), (uint32_t)sig->cfg.sip.nonce_lifetime_s)) {
    case DIGEST_NONCE_FOREIGN: challenge(ep, msg, false); return false;
    case DIGEST_NONCE_STALE: challenge(ep, msg, true); return false;
    case DIGEST_NONCE_VALID: break;
    }
    const struct device *dev = registry_find(id);
    const char *password = dev && dev->password[0] ? dev->password : sig->cfg.sip.password;
    if (digest_verify(&cred, "REGISTER", password)) {
        auth_ban_success(sig->bans, idkey);
        auth_ban_success(sig->bans, ipkey);
        return true;
    }
    uint64_t now = clock_mono_ms();
    char src[64];
    sig_addr_str(&msg->src, src, sizeof(src));
    bool banned = auth_ban_failure(sig->bans, idkey, now);
    banned |= auth_ban_failure(sig->bans, ipkey, now);
    sig_count(SC_AUTH_FAILED);
    if (banned) {
        sig_count(SC_BANS);
        log_warn(LOG_MOD, "device %s from %s: banned for %d s after %d failed authentications", id, src,
                 sig->cfg.sip.auth_ban_s, sig->cfg.sip.auth_ban_failures);
    } else {
        log_warn(LOG_MOD, "device %s from %s: wrong password (user \"%s\", realm \"%s\")", id, src,
                 cred.username, cred.realm);
    }
    sig_reply(ep, msg, 403, "Forbidden", NULL);
    return false;
}

static void unregister(struct sip_endpoint *ep, const struct sip_msg *msg, const char *id)
{
    struct device *dev = registry_find(id);
    if (dev) {
        dev->registered = false;
        dev->expires_at = clock_wall_ms();
        sig_device_offline(dev, "unregistered");
        device_mark_dirty(dev);
    }
    sig_count(SC_UNREGISTER);
    sig_reply(ep, msg, 200, "OK", "Expires: 0\r\n");
}

static void accept_registration(struct sip_endpoint *ep, const struct sip_msg *msg, const char *id,
                                uint32_t expires)
{
    bool created;
    struct device *dev = registry_get_or_create(id, &created);
    if (!dev) {
        sig_reply(ep, msg, 503, "Service Unavailable (registry full)", NULL);
        return;
    }
    bool moved = !sa_cmp(&dev->addr, &msg->src, SA_ALL) || dev->transport != msg->tp || dev->ep != ep;
    bool was_online = dev->online;
    dev->ep = ep;
    dev->addr = msg->src;
    dev->transport = msg->tp;
    device_set_tcp_conn(dev, msg->tp == SIP_TRANSP_TCP ? msg->sock : NULL);
    const struct sip_hdr *ua = sip_msg_hdr(msg, SIP_HDR_USER_AGENT);
    if (ua) pl_strcpy(&ua->val, dev->user_agent, sizeof(dev->user_agent));
    uint64_t now = clock_wall_ms();
    dev->registered = true;
    dev->registered_at = now;
    dev->expires_at = now + (uint64_t)expires * 1000;
    dev->last_seen_mono = clock_mono_ms();

    char headers[256], date[40];
    const struct sip_hdr *contact = sip_msg_hdr(msg, SIP_HDR_CONTACT);
    int n = 0;
    if (contact && contact->val.l < 160)
        n = re_snprintf(headers, sizeof(headers), "Contact: %r\r\n", &contact->val);
    n += re_snprintf(headers + n, sizeof(headers) - n, "Expires: %u\r\n", expires);
    if (sig->cfg.sip.date_header)
        re_snprintf(headers + n, sizeof(headers) - n, "Date: %s\r\n",
                    clock_format_local(now, date, sizeof(date)));
    sig_count(SC_REGISTER_OK);
    sig_reply(ep, msg, 200, "OK", headers);

    if (created || !was_online || moved) {
        char src[64];
        log_info(LOG_MOD, "device %s registered from %s over %s, expires %u s%s", id,
                 sig_addr_str(&msg->src, src, sizeof(src)), sip_transp_name(msg->tp), expires,
                 created ? " (new)" : "");
    }
    sig_device_online(dev);
    device_mark_dirty(dev);
    if (created || !was_online || moved || (!dev->catalog_at && !dev->assembly)) query_after_register(dev);
}

void registrar_handle(struct sip_endpoint *ep, const struct sip_msg *msg)
{
    sig_count(SC_REGISTER);
    const struct pl *user = &msg->from.uri.user;
    if (!device_id_acceptable(user->p, user->l)) {
        sig_count(SC_INVALID_ID);
        sig_reply(ep, msg, 400, "Bad Request (device ID)", NULL);
        return;
    }
    char id[DEVICE_ID_MAX], idkey[AUTH_BAN_KEY_MAX], ipkey[AUTH_BAN_KEY_MAX];
    pl_strcpy(user, id, sizeof(id));
    snprintf(idkey, sizeof(idkey), "id:%s", id);
    re_snprintf(ipkey, sizeof(ipkey), "ip:%j", &msg->src);

    uint64_t now = clock_mono_ms();
    if (auth_ban_is_banned(sig->bans, idkey, now) || auth_ban_is_banned(sig->bans, ipkey, now)) {
        sig_count(SC_BANNED);
        sig_reply(ep, msg, 403, "Forbidden (banned)", NULL);
        return;
    }
    if (sig->cfg.sip.auth && !authenticate(ep, msg, id, idkey, ipkey)) return;

    uint32_t expires = requested_expires(msg);
    if (expires == 0)
        unregister(ep, msg, id);
    else
        accept_registration(ep, msg, id, expires);
}
