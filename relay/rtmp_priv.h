/* Private to relay/rtmp_*.c: what the RTMP server, its players and the push relays share. */
#ifndef GB_RELAY_RTMP_PRIV_H
#define GB_RELAY_RTMP_PRIV_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "media/directory.h"
#include "media/worker.h"
#include "relay/rtmp.h"
#include "relay/rtmp_session.h"

/* Counters for /metrics (relaxed atomics: several workers add to them). */
struct rtmp_counters {
    atomic_uint_fast64_t connections, digest_handshakes, plays, relay_starts;
    atomic_uint_fast64_t faults[RTMP_FAULT_COUNT];
    atomic_int_fast64_t players; /* gauge */
};
extern struct rtmp_counters rtmp_counters;
extern const struct gb_config *rtmp_cfg;

static inline void rtmp_count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Counts a fault and logs it, rate-limited per worker. */
void rtmp_report_fault(const char *peer, const struct rtmp_session *s);

/* rtmp_player.c: a player whose `play` was accepted somewhere, handed to the stream's owner worker. */
struct rtmp_handoff {
    int fd;
    struct rtmp_session *s;
    char peer[64];
    uint8_t *out; /* replies not yet written by the accepting worker */
    size_t out_len;
    uint8_t in[4096]; /* input after the play command, not yet parsed */
    size_t in_len;
};
/* Runs on the owner worker: becomes a viewer of the stream (or answers StreamNotFound). Frees h. */
void rtmp_player_start(void *handoff);
/* Players per stream (for the API). */
int rtmp_players_of(const char *id);

/* rtmp_relay.c */
void rtmp_relays_init(const struct gb_config *cfg);
/* On each worker's timer: starts the rule relays of streams that opened there. */
void rtmp_relays_scan(struct worker *w, uint64_t now_ms);
/* A worker thread is exiting (shutdown): stop every relay (once) and free this worker's rule state. */
void rtmp_relays_worker_exit(void);
json_t *rtmp_relays_json(const char *stream_id);
void rtmp_relays_metrics(struct sbuf *out);
/* rtmp_relay_api.c */
void rtmp_relay_api_register(void);

#endif
