/*
 * The device registry: every device the platform knows (registered now, or remembered from storage) and its
 * channels, by device ID. Owned by the control thread; nothing here is locked.
 *
 * A device carries what later requests need to reach it - the local SIP endpoint it registered to, its source
 * address and transport (requests go there, over the same TCP connection while it is open: devices sit behind
 * NAT) - plus what the API shows. Channels are the catalog items, kept sorted by ID (binary search for live
 * view lookups, stable API order).
 *
 * Persisted fields are written through storage.c: changes mark the device dirty and the registry flushes
 * dirty devices in one transaction a little later (see signaling.c), so a burst of registrations costs one
 * commit, not one per device.
 */
#ifndef GB_SIGNALING_DEVICE_H
#define GB_SIGNALING_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/libre.h"

#include "signaling/catalog.h"
#include "signaling/manscdp.h"

#define DEVICE_ID_MAX       33 /* 20 digits in practice; up to 32 accepted (see device_id_acceptable) */
#define DEVICE_TEXT_MAX     MANSCDP_TEXT_SIZE
#define DEVICE_PASSWORD_MAX 128

struct sip_endpoint; /* sip_endpoint.c: one local address with its libre SIP stack */

struct device {
    struct le he; /* in the registry hash */
    char id[DEVICE_ID_MAX];

    /* identity, from DeviceInfo (device_name) or the API (name) */
    char name[DEVICE_TEXT_MAX];        /* set through the API; wins over device_name when not empty */
    char device_name[DEVICE_TEXT_MAX]; /* DeviceInfo DeviceName */
    char manufacturer[DEVICE_TEXT_MAX];
    char model[DEVICE_TEXT_MAX];
    char firmware[DEVICE_TEXT_MAX];
    int reported_channels; /* DeviceInfo Channel, -1 unknown */

    /* settings from the API */
    char password[DEVICE_PASSWORD_MAX]; /* "" = sip.password */
    int media_transport;                /* enum cfg_media_transport, -1 = sip.media_transport */
    int subscribe_mask; /* subscriptions wanted, a bit per kind (subscribe.c), -1 = sip.subscribe */

    /* where it is */
    struct sip_endpoint *ep;   /* local endpoint it last talked to; NULL before it talks after a restart */
    enum sip_transp transport; /* SIP_TRANSP_UDP / SIP_TRANSP_TCP */
    struct sa addr;            /* source address of its last REGISTER/keepalive */
    void *tcp_conn;            /* libre connection it used (referenced), TCP only */
    char user_agent[64];

    /* state; wall-clock ms for what is shown and stored, monotonic ms for timeouts */
    bool registered; /* a registration that has not expired or been withdrawn */
    bool online;
    uint64_t registered_at, keepalive_at, expires_at, catalog_at;
    uint64_t last_seen_mono;

    /* channels (sorted by id) and the catalog being assembled */
    struct manscdp_catalog_item *channels;
    size_t nchannels;
    struct catalog_assembly *assembly;
    uint32_t catalog_sn;
    uint32_t catalog_done_sn; /* SN of the last finished answer: a late retransmission of it is ignored */
    uint64_t catalog_done_mono;
    uint64_t catalog_due_mono; /* next periodic refresh, 0 = none planned */
    bool info_pending;         /* a DeviceInfo answer is still expected */

    bool dirty; /* persisted fields changed since the last flush */
};

/* Device IDs are 1-32 characters of [0-9A-Za-z] (GB IDs are 20 digits; older Hikvision platforms use 18). */
bool device_id_acceptable(const char *id, size_t len);

int registry_init(void);
void registry_close(void);

struct device *registry_find(const char *id);
/* Finds or creates (offline, unregistered) a device. NULL on ENOMEM. */
struct device *registry_get_or_create(const char *id, bool *created);
/* Unlinks and frees the device (the caller deletes it from storage). */
void registry_remove(struct device *dev);
size_t registry_count(void);
size_t registry_count_online(void);
size_t registry_count_channels(void);
/* Calls fn for every device until it returns true (which stops the walk). */
void registry_foreach(bool (*fn)(struct device *dev, void *arg), void *arg);
/* The devices sorted by ID into a malloc'd array (caller frees the array only). */
struct device **registry_sorted(size_t *count);

/* Replaces the channel list with items (taken over; sorted by id, no duplicates). */
void device_set_channels(struct device *dev, struct manscdp_catalog_item *items, size_t n);
/* Updates or inserts channels by id, keeping the others (partial catalogs). items is not taken over. */
int device_merge_channels(struct device *dev, const struct manscdp_catalog_item *items, size_t n);
const struct manscdp_catalog_item *device_find_channel(const struct device *dev, const char *channel_id);
/* The name to show: the API name, else DeviceInfo's. */
const char *device_display_name(const struct device *dev);
/* Remembers the libre connection of a TCP message (NULL/UDP drops the reference). */
void device_set_tcp_conn(struct device *dev, void *conn);
/* True when requests can reach the device now (UDP, or TCP with its connection still open). */
bool device_reachable(const struct device *dev);
void device_mark_dirty(struct device *dev);

#endif
