/* Private to relay/rtmp_relay*.c: one RTMP push relay and the registry of all of them. */
#ifndef GB_RELAY_RTMP_RELAY_PRIV_H
#define GB_RELAY_RTMP_RELAY_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "media/directory.h"

#define RELAY_URL_MAX 512
#define RELAY_MAX     256 /* relays at most, all streams together */

/* Starts a relay of stream `stream` (owned by worker `worker`, opened at `stream_created_ms`) to url.
 * source: "api" or "rule". Thread-safe. Returns 0 and the relay id ("r12") in rid, or ENOSPC / ENOMEM /
 * EAGAIN (no thread). */
int rtmp_relay_start(const char *stream, const char *url, const char *source, int worker,
                     uint64_t stream_created_ms, char rid[16]);
/* Stops and forgets a relay. Returns 0 or ENOENT. Thread-safe. */
int rtmp_relay_delete(const char *stream, const char *rid);
/* Stops every relay and waits (bounded) for their threads; later starts are refused. */
void rtmp_relays_shutdown(void);
/* rtmp_relay_rules.c: loads the [relay] rules (control thread, before the workers use them). */
void rtmp_relay_rules_init(const struct gb_config *cfg);

#endif
