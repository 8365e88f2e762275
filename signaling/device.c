/*
 * Device registry: a libre hash of struct device by ID plus the channel list helpers (see device.h).
 * The count of online devices and channels is kept incrementally so /metrics does not walk the registry.
 */
#include "signaling/device.h"

#include <stdlib.h>
#include <string.h>

#include "signaling/sig_core.h"

static struct hash *devices_ht;
static size_t ndevices;

bool device_id_acceptable(const char *id, size_t len)
{
    if (len == 0 || len >= DEVICE_ID_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    }
    return true;
}

int registry_init(void)
{
    ndevices = 0;
    return hash_alloc(&devices_ht, 4096);
}

static void device_free(struct device *dev)
{
    hash_unlink(&dev->he);
    mem_deref(dev->tcp_conn);
    catalog_assembly_destroy(dev->assembly);
    free(dev->channels);
    free(dev);
}

static bool free_handler(struct le *le, void *arg)
{
    (void)arg;
    device_free(le->data);
    return false;
}

void registry_close(void)
{
    if (!devices_ht) return;
    hash_apply(devices_ht, free_handler, NULL);
    devices_ht = mem_deref(devices_ht);
    ndevices = 0;
}

static bool id_cmp_handler(struct le *le, void *arg)
{
    const struct device *dev = le->data;
    return strcmp(dev->id, arg) == 0;
}

struct device *registry_find(const char *id)
{
    if (!devices_ht || !id) return NULL;
    struct le *le = hash_lookup(devices_ht, hash_joaat_str(id), id_cmp_handler, (void *)id);
    return le ? le->data : NULL;
}

struct device *registry_get_or_create(const char *id, bool *created)
{
    *created = false;
    struct device *dev = registry_find(id);
    if (dev) return dev;
    if (!devices_ht || strlen(id) >= DEVICE_ID_MAX || ndevices >= SIG_MAX_DEVICES) return NULL;
    dev = calloc(1, sizeof(*dev));
    if (!dev) return NULL;
    strcpy(dev->id, id);
    dev->reported_channels = -1;
    dev->media_transport = -1;
    dev->subscribe_mask = -1;
    dev->transport = SIP_TRANSP_UDP;
    hash_append(devices_ht, hash_joaat_str(dev->id), &dev->he, dev);
    ndevices++;
    *created = true;
    return dev;
}

void registry_remove(struct device *dev)
{
    device_free(dev);
    ndevices--;
}

size_t registry_count(void)
{
    return ndevices;
}

struct count_ctx {
    size_t online, channels;
};

static bool count_handler(struct le *le, void *arg)
{
    const struct device *dev = le->data;
    struct count_ctx *c = arg;
    c->online += dev->online;
    c->channels += dev->nchannels;
    return false;
}

size_t registry_count_online(void)
{
    struct count_ctx c = {0, 0};
    if (devices_ht) hash_apply(devices_ht, count_handler, &c);
    return c.online;
}

size_t registry_count_channels(void)
{
    struct count_ctx c = {0, 0};
    if (devices_ht) hash_apply(devices_ht, count_handler, &c);
    return c.channels;
}

struct foreach_ctx {
    bool (*fn)(struct device *dev, void *arg);
    void *arg;
};

static bool foreach_handler(struct le *le, void *arg)
{
    struct foreach_ctx *c = arg;
    return c->fn(le->data, c->arg);
}

void registry_foreach(bool (*fn)(struct device *dev, void *arg), void *arg)
{
    struct foreach_ctx c = {fn, arg};
    if (devices_ht) hash_apply(devices_ht, foreach_handler, &c);
}

struct collect_ctx {
    struct device **out;
    size_t n;
};

static bool collect(struct device *dev, void *arg)
{
    struct collect_ctx *c = arg;
    c->out[c->n++] = dev;
    return false;
}

static int device_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(struct device *const *)a)->id, (*(struct device *const *)b)->id);
}

struct device **registry_sorted(size_t *count)
{
    struct collect_ctx c = {malloc((ndevices ? ndevices : 1) * sizeof(struct device *)), 0};
    *count = 0;
    if (!c.out) return NULL;
    registry_foreach(collect, &c);
    qsort(c.out, c.n, sizeof(c.out[0]), device_ptr_cmp);
    *count = c.n;
    return c.out;
}

/* ---- channels ---- */

void device_set_channels(struct device *dev, struct manscdp_catalog_item *items, size_t n)
{
    free(dev->channels);
    dev->channels = items;
    dev->nchannels = items ? n : 0;
}

static size_t channel_search(const struct device *dev, const char *id, bool *found)
{
    size_t lo = 0, hi = dev->nchannels;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dev->channels[mid].device_id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

int device_merge_channels(struct device *dev, const struct manscdp_catalog_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool found;
        size_t pos = channel_search(dev, items[i].device_id, &found);
        if (found) {
            dev->channels[pos] = items[i];
            continue;
        }
        if (dev->nchannels >= SIG_MAX_CHANNELS) continue;
        struct manscdp_catalog_item *grown = realloc(dev->channels, (dev->nchannels + 1) * sizeof(*grown));
        if (!grown) return ENOMEM;
        dev->channels = grown;
        memmove(&dev->channels[pos + 1], &dev->channels[pos], (dev->nchannels - pos) * sizeof(*grown));
        dev->channels[pos] = items[i];
        dev->nchannels++;
    }
    return 0;
}

const struct manscdp_catalog_item *device_find_channel(const struct device *dev, const char *channel_id)
{
    bool found;
    size_t pos = channel_search(dev, channel_id, &found);
    return found ? &dev->channels[pos] : NULL;
}

const char *device_display_name(const struct device *dev)
{
    return dev->name[0] ? dev->name : dev->device_name;
}

void device_set_tcp_conn(struct device *dev, void *conn)
{
    if (dev->tcp_conn == conn) return;
    mem_deref(dev->tcp_conn);
    dev->tcp_conn = conn ? mem_ref(conn) : NULL;
}

bool device_reachable(const struct device *dev)
{
    if (!dev->ep || !sa_isset(&dev->addr, SA_ALL)) return false;
    if (dev->transport != SIP_TRANSP_TCP) return true;
    if (!dev->tcp_conn) return false;
    /* libre clears a connection's tcp_conn when it closes; sip_msg_tcpconn() reads exactly that. */
    struct sip_msg probe;
    memset(&probe, 0, sizeof(probe));
    probe.sock = dev->tcp_conn;
    probe.tp = SIP_TRANSP_TCP;
    return sip_msg_tcpconn(&probe) != NULL;
}

void device_mark_dirty(struct device *dev)
{
    dev->dirty = true;
    sig_schedule_flush();
}
