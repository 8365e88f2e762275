/*
 * Signaling plane: the SIP side of gbgate (GB28181 registrar, keepalives, MANSCDP queries, the device and
 * channel registry in SQLite, and the /api/v1/devices endpoints). Everything here runs on the control thread
 * (the one running libre's re_main) and must only be called from it.
 *
 * Lifecycle (app/): libre_init(), raise RLIMIT_NOFILE, fd_setsize(), then signaling_start(); on SIGTERM
 * signaling_shutdown(done) and, once done ran and re_main returned, signaling_close().
 */
#ifndef GB_SIGNALING_SIGNALING_H
#define GB_SIGNALING_SIGNALING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

/* Opens storage (loading every device offline), binds SIP UDP+TCP on sip.listen:sip.port (each interface
 * address for 0.0.0.0), registers the device API routes. Returns 0 or an errno value (logged). */
int signaling_start(const struct gb_config *cfg);
/* Graceful stop: refuses new requests (503), flushes storage; calls done(arg) from the re loop when finished.
 */
void signaling_shutdown(void (*done)(void *arg), void *arg);
/* Frees everything (after re_main returned). Safe to call when start failed or was never called. */
void signaling_close(void);

/* Counters and gauges for /metrics: emit(arg, "gbgate_sip_register_total", 12) for each. */
void signaling_metrics(void (*emit)(void *arg, const char *name, double value), void *arg);

/* ---- device lookup for other planes and later features (plain copies, no pointers into the registry) ----
 */

enum signaling_transport { SIGNALING_UDP = 0, SIGNALING_TCP };

struct signaling_device_info {
    char id[33];
    char name[192]; /* UTF-8 */
    bool online, registered;
    enum signaling_transport transport;
    char address[64];    /* "ip:port" requests go to (the REGISTER's source) */
    int media_transport; /* enum cfg_media_transport chosen for this device (its own or sip.media_transport)
                          */
    size_t channel_count;
};

/* False when no such device. */
bool signaling_device_get(const char *device_id, struct signaling_device_info *out);
/* True when the device is known and has this channel in its catalog (a single-channel device may be asked
 * for with its own ID as the channel: that is accepted too). */
bool signaling_channel_exists(const char *device_id, const char *channel_id);

#endif
