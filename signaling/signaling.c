/*
 * Signaling plane lifecycle and housekeeping: start/shutdown/close, the once-a-second sweep (keepalive
 * timeouts, registration expiry, catalog timeouts and refreshes, query timeouts), the delayed batch flush of
 * dirty devices to SQLite, online/offline transitions (a device going offline ends its media sessions), and
 * the counters for /metrics. Shutdown BYEs every media session before it reports done.
 */
#include "signaling/signaling.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/invite.h"
#include "signaling/sig_core.h"
#include "signaling/storage.h"

/* re_dbg.h wants these defined by its includer (they set the level of DEBUG_* macros we do not use). */
#define DEBUG_MODULE "gbgate"
#define DEBUG_LEVEL  0
#include <re_dbg.h>

struct signaling *sig;
static struct tmr done_tmr;
static void (*done_fn)(void *arg);
static void *done_arg;

uint32_t sig_next_sn(void)
{
    uint32_t sn = sig->next_sn++;
    if (sig->next_sn > 999999999u) sig->next_sn = 1;
    return sn;
}

/* ---- state transitions ---- */

void sig_device_online(struct device *dev)
{
    if (dev->online) return;
    dev->online = true;
    device_mark_dirty(dev);
}

void sig_device_offline(struct device *dev, const char *why)
{
    if (!dev->online) return;
    dev->online = false;
    log_info(LOG_MOD, "device %s offline: %s", dev->id, why);
    device_mark_dirty(dev);
    invite_device_gone(dev->id, why);
    subscribe_device_gone(dev->id); /* subscribed anew when it comes back */
}

/* ---- storage flush ---- */

static void flush_handler(void *arg)
{
    (void)arg;
    storage_flush_dirty();
}

void sig_schedule_flush(void)
{
    if (sig && !tmr_isrunning(&sig->flush_tmr))
        tmr_start(&sig->flush_tmr, SIG_STORAGE_FLUSH_MS, flush_handler, NULL);
}

/* ---- sweep ---- */

struct sweep_ctx {
    uint64_t mono, wall;
};

static bool sweep_device(struct device *dev, void *arg)
{
    struct sweep_ctx *c = arg;
    if (dev->registered && dev->expires_at && c->wall >= dev->expires_at) {
        dev->registered = false;
        sig_device_offline(dev, "registration expired");
        device_mark_dirty(dev);
    }
    if (dev->online && c->mono - dev->last_seen_mono > (uint64_t)sig->cfg.sip.keepalive_timeout_s * 1000)
        sig_device_offline(dev, "no keepalive");
    return false;
}

static void sweep_handler(void *arg)
{
    (void)arg;
    struct sweep_ctx c = {clock_mono_ms(), clock_wall_ms()};
    registry_foreach(sweep_device, &c);
    query_sweep(c.mono);
    records_sweep(c.mono);
    subscribe_sweep(c.mono);
    tmr_start(&sig->sweep_tmr, SIG_SWEEP_MS, sweep_handler, NULL);
}

/* ---- lifecycle ---- */

/* Creates the storage file's directory when it is missing (one level: "var/" of the default path). */
static void ensure_parent_dir(const char *path)
{
    char dir[CFG_STR_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = 0;
    if (mkdir(dir, 0750) && errno != EEXIST) log_warn(LOG_MOD, "cannot create %s: %s", dir, strerror(errno));
}

/* libre's own warnings (DEBUG_WARNING: TCP resets, transaction oddities...) go through dbg_printf, straight
 * to stderr, once per event: a scanner or a broken device could flood the log. Routed here they become our
 * lines (module "libre"), rate-limited like every other per-packet complaint. One message escapes:
 * libre 1.1.0's SIP transport prints "sip: msg decode err" for an undecodable datagram with a bare
 * re_fprintf(stderr), and the socket is libre's, so it cannot be filtered before that (docs/SIP.md "Known
 * limits"). */
static void libre_log(int level, const char *p, size_t len, void *arg)
{
    (void)arg;
    static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r')) len--;
    if (!log_ratelimit_ok(&rl, clock_mono_ms())) return;
    if (level <= DBG_ERR)
        log_warn("libre", "%.*s", (int)len, p);
    else
        log_info("libre", "%.*s", (int)len, p);
}

int signaling_start(const struct gb_config *cfg)
{
    if (sig) return EALREADY;
    sig = calloc(1, sizeof(*sig));
    if (!sig) return ENOMEM;
    sig->cfg = *cfg;
    dbg_init(DBG_WARNING, DBG_NONE);
    dbg_handler_set(libre_log, NULL);
    rand_bytes(sig->nonce_secret, sizeof(sig->nonce_secret));
    sig->next_sn =
        (uint32_t)(clock_wall_ms() / 1000 % 100000000u) + 1; /* no SN reuse across quick restarts */
    tmr_init(&sig->sweep_tmr);
    tmr_init(&sig->flush_tmr);
    tmr_init(&done_tmr);

    int err = registry_init();
    sig->bans = auth_ban_create(SIG_BAN_TABLE_SLOTS, (uint32_t)cfg->sip.auth_ban_failures,
                                (uint64_t)cfg->sip.auth_ban_s * 1000);
    if (err || !sig->bans) {
        err = err ? err : ENOMEM;
        goto out;
    }
    ensure_parent_dir(cfg->storage.path);
    err = storage_open(cfg->storage.path);
    if (err) goto out;
    int loaded = storage_load();
    if (loaded < 0) {
        err = EIO;
        goto out;
    }
    err = events_open();
    if (err) goto out;
    err = endpoints_open();
    if (err) goto out;
    api_devices_register();
    records_api_register();
    events_api_register();
    tmr_start(&sig->sweep_tmr, SIG_SWEEP_MS, sweep_handler, NULL);
    sig->started = true;
    log_info(LOG_MOD,
             "signaling up: platform %s, domain %s, port %d, auth %s, %d devices and %zu channels loaded",
             cfg->sip.id, cfg->sip.domain, cfg->sip.port, cfg->sip.auth ? "on" : "off", loaded,
             registry_count_channels());
out:
    if (err) signaling_close();
    return err;
}

static void done_handler(void *arg)
{
    (void)arg;
    if (done_fn) done_fn(done_arg);
}

/* every media session got its BYE (answered or timed out) */
static void sessions_ended(void *arg)
{
    (void)arg;
    tmr_start(&done_tmr, 0, done_handler, NULL);
}

/* every subscription got its Expires: 0 (answered or timed out) */
static void subscriptions_ended(void *arg)
{
    (void)arg;
    invite_bye_all(sessions_ended, NULL);
}

void signaling_shutdown(void (*done)(void *arg), void *arg)
{
    done_fn = done;
    done_arg = arg;
    if (sig) {
        sig->shutting_down = true;
        tmr_cancel(&sig->sweep_tmr);
        tmr_cancel(&sig->flush_tmr);
        storage_flush_dirty();
        subscribe_shutdown(subscriptions_ended, NULL); /* then BYE the media sessions */
        return;
    }
    tmr_start(&done_tmr, 0, done_handler, NULL);
}

void signaling_close(void)
{
    tmr_cancel(&done_tmr);
    if (!sig) return;
    tmr_cancel(&sig->sweep_tmr);
    tmr_cancel(&sig->flush_tmr);
    query_close();
    records_close();
    invite_close();
    endpoints_close();
    subscribe_close(); /* after the endpoints: their transactions' callbacks look subscriptions up */
    events_close();
    if (storage_is_open()) storage_flush_dirty();
    registry_close();
    storage_close();
    auth_ban_destroy(sig->bans);
    free(sig);
    sig = NULL;
}

/* ---- metrics ---- */

void signaling_metrics(void (*emit)(void *arg, const char *name, double value), void *arg)
{
    static const char *const names[SC_COUNT] = {
        [SC_REQUESTS] = "gbgate_sip_requests_total",
        [SC_REGISTER] = "gbgate_sip_register_total",
        [SC_REGISTER_OK] = "gbgate_sip_register_ok_total",
        [SC_UNREGISTER] = "gbgate_sip_unregister_total",
        [SC_CHALLENGE] = "gbgate_sip_auth_challenges_total",
        [SC_STALE_NONCE] = "gbgate_sip_auth_stale_nonce_total",
        [SC_AUTH_FAILED] = "gbgate_sip_auth_failures_total",
        [SC_BANNED] = "gbgate_sip_banned_requests_total",
        [SC_BANS] = "gbgate_sip_bans_total",
        [SC_MESSAGE] = "gbgate_sip_message_total",
        [SC_KEEPALIVE] = "gbgate_sip_keepalive_total",
        [SC_KEEPALIVE_UNKNOWN] = "gbgate_sip_keepalive_refused_total",
        [SC_UNKNOWN_CMDTYPE] = "gbgate_sip_unknown_cmdtype_total",
        [SC_BAD_SIP] = "gbgate_sip_bad_requests_total",
        [SC_BAD_BODY] = "gbgate_sip_bad_bodies_total",
        [SC_INVALID_ID] = "gbgate_sip_invalid_ids_total",
        [SC_QUERIES_SENT] = "gbgate_sip_queries_sent_total",
        [SC_QUERIES_FAILED] = "gbgate_sip_queries_failed_total",
        [SC_CATALOG_COMPLETE] = "gbgate_sip_catalogs_complete_total",
        [SC_CATALOG_PARTIAL] = "gbgate_sip_catalogs_partial_total",
        [SC_STORAGE_ERRORS] = "gbgate_storage_errors_total",
        [SC_INVITE_SENT] = "gbgate_sip_invites_total",
        [SC_INVITE_OK] = "gbgate_sip_invites_ok_total",
        [SC_INVITE_FAILED] = "gbgate_sip_invites_failed_total",
        [SC_BYE_SENT] = "gbgate_sip_bye_sent_total",
        [SC_BYE_RECEIVED] = "gbgate_sip_bye_received_total",
        [SC_PTZ_SENT] = "gbgate_sip_ptz_sent_total",
        [SC_CONTROL_SENT] = "gbgate_sip_controls_sent_total",
        [SC_CONTROL_FAILED] = "gbgate_sip_controls_failed_total",
        [SC_CONTROL_BAD_REQUEST] = "gbgate_api_control_bad_requests_total",
        [SC_ALARMS] = "gbgate_sip_alarms_total",
        [SC_POSITIONS] = "gbgate_sip_positions_total",
        [SC_EVENTS_DROPPED] = "gbgate_sip_events_dropped_total",
        [SC_SUBSCRIBE_SENT] = "gbgate_sip_subscribe_sent_total",
        [SC_SUBSCRIBE_FAILED] = "gbgate_sip_subscribe_failed_total",
        [SC_NOTIFY] = "gbgate_sip_notify_total",
    };
    if (!sig) return;
    for (int i = 0; i < SC_COUNT; i++) emit(arg, names[i], (double)sig->counters[i]);
    emit(arg, "gbgate_devices", (double)registry_count());
    emit(arg, "gbgate_devices_online", (double)registry_count_online());
    emit(arg, "gbgate_channels", (double)registry_count_channels());
    emit(arg, "gbgate_sip_banned_keys", (double)auth_ban_count_banned(sig->bans, clock_mono_ms()));
    emit(arg, "gbgate_sip_media_sessions", (double)invite_count());
}

/* ---- lookup ---- */

bool signaling_device_get(const char *device_id, struct signaling_device_info *out)
{
    struct device *dev = sig ? registry_find(device_id) : NULL;
    if (!dev) return false;
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", dev->id);
    snprintf(out->name, sizeof(out->name), "%s", device_display_name(dev));
    out->online = dev->online;
    out->registered = dev->registered;
    out->transport = dev->transport == SIP_TRANSP_TCP ? SIGNALING_TCP : SIGNALING_UDP;
    if (sa_isset(&dev->addr, SA_ALL)) sig_addr_str(&dev->addr, out->address, sizeof(out->address));
    out->media_transport = dev->media_transport >= 0 ? dev->media_transport : sig->cfg.sip.media_transport;
    out->channel_count = dev->nchannels;
    return true;
}

bool signaling_channel_exists(const char *device_id, const char *channel_id)
{
    struct device *dev = sig ? registry_find(device_id) : NULL;
    if (!dev) return false;
    return device_find_channel(dev, channel_id) != NULL || strcmp(device_id, channel_id) == 0;
}
