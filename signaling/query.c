/*
 * Queries to devices and their answers: DeviceInfo and Catalog after a registration (and Catalog every
 * sip.catalog_interval_s), and query_send(): any Query or Control the API sends (DeviceStatus, PresetQuery,
 * ConfigDownload, DeviceControl) with a waiter for its one Response.
 *
 * A query is a MESSAGE whose 200 only says "received"; the answer comes later as the device's own MESSAGE
 * (a Response with our SN). So there are two things to follow: the MESSAGE transaction (an error or a
 * timeout fails the query at once) and the answer (matched by device and SN, or just by device and CmdType
 * for devices that do not echo SN). Catalog answers are assembled in catalog.c until SumNum items are in, or
 * kept partial when sip.catalog_timeout_s passes without a new part.
 *
 * A waiter (struct pending) ends on the first of: the answer, an error or timeout of the MESSAGE transaction,
 * sip.query_timeout_s, the device's deletion. Commands devices never answer (PTZ, TeleBoot, IFameCmd) are
 * waiters that end on the MESSAGE's 2xx instead. Answers without our SN (some devices send SN 0 or none) go
 * to the oldest waiter with the same CmdType and target DeviceID, else the same CmdType.
 *
 * Transaction callbacks carry a small heap context with the device ID, never a device pointer: the device
 * may be deleted through the API while its MESSAGE is in flight.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/sig_core.h"
#include "signaling/storage.h"

#define BODY_MAX                 2048
#define CATALOG_REPEAT_WINDOW_MS 64000 /* how long a finished catalog's SN is remembered (2 x Timer F) */

struct pending {
    struct le le;
    char device_id[DEVICE_ID_MAX];
    char target_id[DEVICE_ID_MAX]; /* the body's DeviceID */
    char cmdtype[32];
    uint32_t sn;
    bool no_answer; /* ends on the MESSAGE's 2xx */
    uint64_t deadline_mono;
    query_done_fn done;
    void *arg;
};

/* Context of one MESSAGE transaction. */
struct txn_ctx {
    char device_id[DEVICE_ID_MAX];
    char cmdtype[32];
    uint32_t sn;
};

static struct list pendings;

static enum manscdp_charset out_charset(void)
{
    return strcasecmp(sig->cfg.sip.charset, "UTF-8") == 0 ? MANSCDP_UTF8 : MANSCDP_GB2312;
}

static struct pending *pending_find(const char *device_id, const char *cmdtype, uint32_t sn)
{
    for (struct le *le = pendings.head; le; le = le->next) {
        struct pending *p = le->data;
        if (p->sn == sn && !strcmp(p->device_id, device_id) && !strcasecmp(p->cmdtype, cmdtype)) return p;
    }
    return NULL;
}

/* The waiter for an answer that did not carry our SN: same CmdType and target first, then same CmdType. */
static struct pending *pending_find_unechoed(const char *device_id, const char *cmdtype, const char *target)
{
    struct pending *fallback = NULL;
    for (struct le *le = pendings.head; le; le = le->next) {
        struct pending *p = le->data;
        if (p->no_answer || strcmp(p->device_id, device_id) || strcasecmp(p->cmdtype, cmdtype)) continue;
        if (!strcmp(p->target_id, target)) return p;
        if (!fallback) fallback = p;
    }
    return fallback;
}

static void pending_finish(struct pending *p, int err, const struct manscdp_msg *answer)
{
    list_unlink(&p->le);
    if (err) sig_count(SC_QUERIES_FAILED);
    p->done(p->arg, err, answer);
    free(p);
}

static void catalog_abandon(struct device *dev, uint32_t sn)
{
    if (dev->assembly && dev->assembly->sn == sn && dev->assembly->messages == 0) {
        catalog_assembly_destroy(dev->assembly);
        dev->assembly = NULL;
    }
}

static void txn_response(int err, const struct sip_msg *msg, void *arg)
{
    struct txn_ctx *ctx = arg;
    if (!err && msg && msg->scode < 200) return; /* provisional: wait for the final answer */
    if (!err && msg && msg->scode < 300) {
        struct pending *p = sig ? pending_find(ctx->device_id, ctx->cmdtype, ctx->sn) : NULL;
        if (p && p->no_answer) pending_finish(p, 0, NULL);
    }
    if (err || !msg || msg->scode >= 300) {
        int why = err ? err : EPROTO;
        struct pending *p = pending_find(ctx->device_id, ctx->cmdtype, ctx->sn);
        struct device *dev = registry_find(ctx->device_id);
        if (sig && why != ECONNABORTED) {
            static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 10);
            if (log_ratelimit_ok(&rl, clock_mono_ms()))
                log_warn(LOG_MOD, "%s query to %s failed: %s", ctx->cmdtype, ctx->device_id,
                         err ? strerror(err) : "error response");
        }
        if (p)
            pending_finish(p, why, NULL);
        else
            sig_count(SC_QUERIES_FAILED);
        if (dev && !strcmp(ctx->cmdtype, "Catalog")) catalog_abandon(dev, ctx->sn);
        if (dev && !strcmp(ctx->cmdtype, "DeviceInfo")) dev->info_pending = false;
    }
    free(ctx);
}

/* Builds and sends a Query or Control (DeviceID target, or the device itself); returns 0 and the SN used. */
static int send_request(struct device *dev, const struct query_spec *spec, uint32_t *sn_out)
{
    char body[BODY_MAX];
    size_t len;
    uint32_t sn = sig_next_sn();
    const char *cmdtype = spec->cmdtype;
    int err = manscdp_build(body, sizeof(body), &len, out_charset(), spec->root, cmdtype, sn,
                            spec->target_id ? spec->target_id : dev->id, spec->fields, spec->nfields);
    if (err) return err;
    struct txn_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return ENOMEM;
    strcpy(ctx->device_id, dev->id);
    snprintf(ctx->cmdtype, sizeof(ctx->cmdtype), "%s", cmdtype);
    ctx->sn = sn;
    err = sig_send_message(dev, body, len, txn_response, ctx);
    if (err) {
        free(ctx);
        return err;
    }
    *sn_out = sn;
    return 0;
}

static int send_query(struct device *dev, const char *cmdtype, uint32_t *sn_out)
{
    struct query_spec spec = {.root = MANSCDP_QUERY, .cmdtype = cmdtype};
    return send_request(dev, &spec, sn_out);
}

int query_device_info(struct device *dev)
{
    uint32_t sn;
    int err = send_query(dev, "DeviceInfo", &sn);
    if (!err) dev->info_pending = true;
    return err;
}

int query_catalog(struct device *dev)
{
    uint64_t now = clock_mono_ms();
    if (dev->assembly && now - dev->assembly->updated_ms < (uint64_t)sig->cfg.sip.catalog_timeout_s * 1000)
        return EALREADY;
    uint32_t sn;
    int err = send_query(dev, "Catalog", &sn);
    if (err) return err;
    catalog_assembly_destroy(dev->assembly);
    dev->assembly = catalog_assembly_create(sn, SIG_MAX_CHANNELS, now);
    dev->catalog_sn = sn;
    dev->catalog_due_mono = 0;
    return dev->assembly ? 0 : ENOMEM;
}

void query_after_register(struct device *dev)
{
    int err = query_device_info(dev);
    if (!err) err = query_catalog(dev);
    if (err && err != EALREADY) log_warn(LOG_MOD, "device %s: cannot query it: %s", dev->id, strerror(err));
}

int query_send(struct device *dev, const struct query_spec *spec, query_done_fn done, void *arg)
{
    const char *target = spec->target_id ? spec->target_id : dev->id;
    if (strlen(spec->cmdtype) >= sizeof(((struct pending *)0)->cmdtype) || strlen(target) >= DEVICE_ID_MAX)
        return EINVAL;
    struct pending *p = calloc(1, sizeof(*p));
    if (!p) return ENOMEM;
    uint32_t sn;
    int err = send_request(dev, spec, &sn);
    if (err) {
        free(p);
        return err;
    }
    strcpy(p->device_id, dev->id);
    strcpy(p->target_id, target);
    strcpy(p->cmdtype, spec->cmdtype);
    p->no_answer = spec->no_answer;
    p->sn = sn;
    p->deadline_mono = clock_mono_ms() + (uint64_t)sig->cfg.sip.query_timeout_s * 1000;
    p->done = done;
    p->arg = arg;
    list_append(&pendings, &p->le, p);
    return 0;
}

int query_device_status(struct device *dev, query_done_fn done, void *arg)
{
    struct query_spec spec = {.root = MANSCDP_QUERY, .cmdtype = "DeviceStatus"};
    return query_send(dev, &spec, done, arg);
}

/* ---- answers ---- */

static void catalog_finish(struct device *dev, bool complete)
{
    struct catalog_assembly *a = dev->assembly;
    dev->catalog_done_sn = a->sn;
    dev->catalog_done_mono = clock_mono_ms();
    size_t n;
    uint32_t messages = a->messages;
    int64_t sum_num = a->sum_num;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    dev->assembly = NULL;
    catalog_assembly_destroy(a);
    if (complete) {
        device_set_channels(dev, items, n);
    } else {
        if (n) device_merge_channels(dev, items, n);
        free(items);
    }
    if (complete || n) {
        storage_save_channels(dev, complete);
        dev->catalog_at = clock_wall_ms();
        device_mark_dirty(dev);
    }
    sig_count(complete ? SC_CATALOG_COMPLETE : SC_CATALOG_PARTIAL);
    if (complete)
        log_info(LOG_MOD, "device %s: catalog of %zu channels (%u messages)", dev->id, n, messages);
    else
        log_warn(LOG_MOD, "device %s: catalog timed out with %zu of %lld items (%u messages); kept", dev->id,
                 n, (long long)sum_num, messages);
    if (sig->cfg.sip.catalog_interval_s > 0)
        dev->catalog_due_mono = clock_mono_ms() + (uint64_t)sig->cfg.sip.catalog_interval_s * 1000;
}

static void handle_catalog(struct device *dev, const struct manscdp_msg *m)
{
    struct manscdp_catalog cat;
    if (manscdp_decode_catalog(m, &cat)) return;
    uint64_t now = clock_mono_ms();
    if (!dev->assembly) { /* unsolicited, or after the timeout: start a new answer */
        uint32_t sn = 0;
        manscdp_sn(m, &sn);
        /* replies are stateless, so a MESSAGE retransmitted after its answer completed comes in again */
        if (sn == dev->catalog_done_sn && now - dev->catalog_done_mono < CATALOG_REPEAT_WINDOW_MS) return;
        dev->assembly = catalog_assembly_create(sn, SIG_MAX_CHANNELS, now);
        if (!dev->assembly) return;
    }
    if (catalog_assembly_add(dev->assembly, &cat, now)) {
        catalog_finish(dev, false);
        return;
    }
    if (catalog_assembly_complete(dev->assembly)) catalog_finish(dev, true);
}

static void handle_device_info(struct device *dev, const struct manscdp_msg *m)
{
    struct manscdp_device_info info;
    if (manscdp_decode_device_info(m, &info)) return;
    dev->info_pending = false;
    if (strcasecmp(info.result, "ERROR") == 0) return;
#define KEEP(field, value)                                                                                   \
    if ((value)[0]) snprintf(dev->field, sizeof(dev->field), "%s", value)
    KEEP(device_name, info.device_name);
    KEEP(manufacturer, info.manufacturer);
    KEEP(model, info.model);
    KEEP(firmware, info.firmware);
#undef KEEP
    if (info.channel >= 0) dev->reported_channels = info.channel;
    device_mark_dirty(dev);
}

void query_handle_response(struct device *dev, const struct manscdp_msg *m)
{
    const char *cmd = manscdp_cmdtype(m);
    if (!strcasecmp(cmd, "Catalog")) {
        handle_catalog(dev, m);
    } else if (!strcasecmp(cmd, "DeviceInfo")) {
        handle_device_info(dev, m);
    } else {
        uint32_t sn = 0;
        bool has_sn = manscdp_sn(m, &sn);
        struct pending *p = has_sn ? pending_find(dev->id, cmd, sn) : NULL;
        if (!p) p = pending_find_unechoed(dev->id, cmd, manscdp_device_id(m));
        if (p) pending_finish(p, 0, m);
    }
}

/* ---- timers ---- */

struct sweep_ctx {
    uint64_t now;
};

static bool sweep_device(struct device *dev, void *arg)
{
    struct sweep_ctx *c = arg;
    if (dev->assembly &&
        c->now - dev->assembly->updated_ms >= (uint64_t)sig->cfg.sip.catalog_timeout_s * 1000)
        catalog_finish(dev, false);
    if (dev->online && !dev->assembly && dev->catalog_due_mono && c->now >= dev->catalog_due_mono)
        (void)query_catalog(dev);
    return false;
}

void query_sweep(uint64_t now_mono)
{
    struct sweep_ctx c = {now_mono};
    registry_foreach(sweep_device, &c);
    struct le *le = pendings.head;
    while (le) {
        struct pending *p = le->data;
        le = le->next;
        if (now_mono >= p->deadline_mono) pending_finish(p, ETIMEDOUT, NULL);
    }
}

void query_forget_device(const char *device_id)
{
    struct le *le = pendings.head;
    while (le) {
        struct pending *p = le->data;
        le = le->next;
        if (!strcmp(p->device_id, device_id)) pending_finish(p, ENOENT, NULL);
    }
}

void query_close(void)
{
    struct le *le;
    while ((le = pendings.head)) pending_finish(le->data, ESHUTDOWN, NULL);
}
