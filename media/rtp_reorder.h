/*
 * Per-stream RTP reorder window: puts UDP packets back in sequence order, declares gaps lost, and keeps the
 * RFC 3550 receiver statistics (loss, extended highest sequence, interarrival jitter) for RTCP reports.
 *
 * Zero copy on the common path: a packet that arrives in order is handed to the callback by pointer (the
 * caller's receive buffer) and never copied. Only a packet that arrives ahead of a gap is copied into a slot;
 * the slots (window + 1 of them, 1500 B each) are allocated once by rtp_reorder_create() and grown only for a
 * rare bigger packet. When the gap fills, the held packets follow in order. A gap is declared lost when the
 * window overflows (a packet arrives `window` or more ahead of the gap) or when the oldest held packet has
 * waited `max_hold_ms` (checked in rtp_reorder_input() and rtp_reorder_tick()).
 *
 * Sequence numbers are extended to 64 bits internally, so wraparound at 65535 is invisible. Classification of
 * an arriving packet relative to the next expected sequence number (RFC 3550 A.1 thresholds):
 *   in window           delivered or held; "reordered" when it arrived after a higher one
 *   up to 100 behind    duplicate (it was delivered) or late (its place was declared lost): dropped, counted
 *   further away        a possible sender restart: kept aside; the next packet in sequence with it confirms
 *                       the restart ("resync": held packets are flushed and numbering restarts there), any
 *                       other leaves it unconfirmed ("stray", dropped). A run of 16 packets in sequence that
 *                       are all behind (duplicate or late) also means a restart (a sender that restarted a
 *                       little behind its old numbers).
 *
 * The deliver callback must not call back into the same reorder buffer; the packet it gets is valid only
 * during the call.
 */
#ifndef GB_MEDIA_RTP_REORDER_H
#define GB_MEDIA_RTP_REORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "media/rtp.h"

#define RTP_REORDER_DEFAULT_WINDOW  32
#define RTP_REORDER_MAX_WINDOW      1024
#define RTP_REORDER_DEFAULT_HOLD_MS 100
#define RTP_REORDER_DEFAULT_CLOCK   90000
/* lost_before value of the first packet after a resync or rtp_reorder_restart(): the numbering restarted,
 * so the caller should treat it as a discontinuity (like a loss). */
#define RTP_REORDER_RESYNC UINT32_MAX

struct rtp_reorder_config {
    uint32_t window;      /* packets that may be held; 0 = default; clamped to RTP_REORDER_MAX_WINDOW */
    uint32_t max_hold_ms; /* 0 = default */
    uint32_t clock_rate;  /* RTP timestamp rate for the jitter (Hz); 0 = 90 kHz */
};

/* pkt is in sequence order. lost_before: sequence numbers declared lost just before it (0 normally), or
 * RTP_REORDER_RESYNC. */
typedef void (*rtp_reorder_deliver_fn)(void *arg, const struct rtp_packet *pkt, uint32_t lost_before);

struct rtp_reorder_stats {
    uint64_t received;        /* packets given to rtp_reorder_input() */
    uint64_t delivered;       /* packets passed to the callback */
    uint64_t lost;            /* sequence numbers declared lost */
    uint64_t duplicates;      /* already delivered or already held */
    uint64_t late;            /* arrived after their place had been declared lost */
    uint64_t reordered;       /* arrived after a higher sequence number, still in time */
    uint64_t resyncs;         /* sender restarts followed (and rtp_reorder_restart() calls) */
    uint64_t stray;           /* far outside the window and never confirmed as a restart: dropped */
    uint64_t expected;        /* RFC 3550 A.3 "expected", summed over every run since creation */
    uint32_t ext_highest_seq; /* RFC 3550 extended highest sequence number received (for RR) */
    uint32_t jitter;          /* RFC 3550 interarrival jitter, in timestamp units */
    uint32_t held;            /* packets waiting in the window now */
};

struct rtp_reorder;

/* cfg may be NULL (defaults). Returns NULL only when out of memory. */
struct rtp_reorder *rtp_reorder_create(const struct rtp_reorder_config *cfg, rtp_reorder_deliver_fn deliver,
                                       void *arg);
void rtp_reorder_destroy(struct rtp_reorder *r); /* NULL is fine; held packets are dropped */

/* One parsed packet (pkt->data/size must be the whole packet, as rtp_parse() sets them) that arrived at
 * now_ms (monotonic). Delivers whatever becomes deliverable, possibly several packets. */
void rtp_reorder_input(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t now_ms);

/* Timer: declares lost the gaps whose held packets have waited max_hold_ms, delivering what follows. */
void rtp_reorder_tick(struct rtp_reorder *r, uint64_t now_ms);

/* End of stream: delivers every held packet in order (gaps counted lost); an unconfirmed restart candidate
 * is dropped (stray). */
void rtp_reorder_flush(struct rtp_reorder *r);

/* The caller knows the sender restarted (e.g. a new SSRC): flush, then the next packet starts a new run and
 * is delivered with lost_before = RTP_REORDER_RESYNC. Statistics continue. */
void rtp_reorder_restart(struct rtp_reorder *r);

/* Milliseconds until rtp_reorder_tick() has something to do, or -1 when nothing is held (timer hint). */
int64_t rtp_reorder_next_timeout(const struct rtp_reorder *r, uint64_t now_ms);

void rtp_reorder_get_stats(const struct rtp_reorder *r, struct rtp_reorder_stats *out);

#endif
