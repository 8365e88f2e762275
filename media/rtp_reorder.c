/*
 * RTP reorder window (see rtp_reorder.h for the behaviour).
 *
 * State: `next_ext` is the extended sequence number the caller gets next; packets in
 * [next_ext, next_ext + window) may be held, in slot (ext % window). Invariant after every public call: the
 * slot of next_ext is empty (whatever could be delivered was), so `held > 0` means a gap is being waited on,
 * since `gap_since_ms`. `held` is the number of slots in use (place() fills one and counts it, drain_ready()
 * is the only place that empties one), so with held == 0 no slot needs looking at. Extended numbers start at
 * 2^32 + first seq so that a packet a little behind the first one never underflows, and their low 32 bits are
 * exactly RFC 3550's "cycles << 16 | seq".
 *
 * A 128-bit history remembers, for the 128 numbers below next_ext, which were delivered (1) and which were
 * declared lost (0): that is what tells a duplicate from a late packet.
 */
#include "media/rtp_reorder.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DROPOUT  3000 /* RFC 3550 A.1: further ahead than this is a jump, not loss */
#define MAX_MISORDER 100  /* RFC 3550 A.1: further behind than this is a jump, not a late packet */
#define HISTORY_BITS 128  /* >= MAX_MISORDER */
/* This many packets in sequence, all behind us, mean the sender restarted a little behind its old numbers. */
#define BEHIND_RESYNC_RUN 16
#define EXT_START         (UINT64_C(1) << 32)

struct reorder_slot {
    uint8_t *buf;
    size_t cap;
    bool used;
    uint64_t ext;
    uint64_t arrival_ms;
    struct rtp_packet pkt; /* pointers re-based into buf */
};

struct rtp_reorder {
    uint32_t window, max_hold_ms, clock_rate;
    rtp_reorder_deliver_fn deliver;
    void *arg;
    struct reorder_slot *slots; /* window of them */
    struct reorder_slot probe;  /* restart candidate */

    bool started, ever_started;
    uint64_t next_ext, max_ext, base_ext;
    uint64_t expected_before; /* "expected" of earlier runs */
    uint32_t held;
    uint64_t gap_since_ms;
    uint32_t pending_lost; /* attached to the next delivered packet */
    bool pending_resync;
    uint64_t history[HISTORY_BITS / 64];
    uint32_t behind_run;
    uint16_t behind_run_next_seq;

    bool have_transit;
    uint32_t last_transit;
    uint64_t jitter_q4; /* jitter * 16, RFC 3550 A.8 integer form */

    struct rtp_reorder_stats st;
};

struct rtp_reorder *rtp_reorder_create(const struct rtp_reorder_config *cfg, rtp_reorder_deliver_fn deliver,
                                       void *arg)
{
    struct rtp_reorder *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->window = cfg && cfg->window ? cfg->window : RTP_REORDER_DEFAULT_WINDOW;
    if (r->window > RTP_REORDER_MAX_WINDOW) r->window = RTP_REORDER_MAX_WINDOW;
    r->max_hold_ms = cfg && cfg->max_hold_ms ? cfg->max_hold_ms : RTP_REORDER_DEFAULT_HOLD_MS;
    r->clock_rate = cfg && cfg->clock_rate ? cfg->clock_rate : RTP_REORDER_DEFAULT_CLOCK;
    r->deliver = deliver;
    r->arg = arg;
    /* Slot buffers are allocated the first time a slot holds a packet (slot_store grows them) and then kept:
     * a stream that never reorders never pays the window's memory, one that does allocates once per slot. */
    r->slots = calloc(r->window, sizeof *r->slots);
    if (!r->slots) goto fail;
    return r;
fail:
    rtp_reorder_destroy(r);
    return NULL;
}

void rtp_reorder_destroy(struct rtp_reorder *r)
{
    if (!r) return;
    if (r->slots)
        for (uint32_t i = 0; i < r->window; i++) free(r->slots[i].buf);
    free(r->slots);
    free(r->probe.buf);
    free(r);
}

/* Copies a packet into a slot (growing it for a rare big packet) and points the parsed view at the copy. */
static bool slot_store(struct reorder_slot *s, const struct rtp_packet *pkt, uint64_t ext, uint64_t now_ms)
{
    if (pkt->size > s->cap) {
        uint8_t *bigger = realloc(s->buf, pkt->size);
        if (!bigger) return false;
        s->buf = bigger;
        s->cap = pkt->size;
    }
    memcpy(s->buf, pkt->data, pkt->size);
    s->pkt = *pkt;
    s->pkt.data = s->buf;
    s->pkt.csrc = s->buf + (pkt->csrc - pkt->data);
    s->pkt.payload = s->buf + (pkt->payload - pkt->data);
    if (pkt->ext_data) s->pkt.ext_data = s->buf + (pkt->ext_data - pkt->data);
    s->used = true;
    s->ext = ext;
    s->arrival_ms = now_ms;
    return true;
}

static struct reorder_slot *slot_of(struct rtp_reorder *r, uint64_t ext)
{
    return &r->slots[ext % r->window];
}

static void history_set(struct rtp_reorder *r, uint64_t ext, bool delivered)
{
    uint64_t bit = UINT64_C(1) << (ext % 64);
    uint64_t *word = &r->history[(ext % HISTORY_BITS) / 64];
    *word = delivered ? (*word | bit) : (*word & ~bit);
}

static bool history_get(const struct rtp_reorder *r, uint64_t ext)
{
    return (r->history[(ext % HISTORY_BITS) / 64] >> (ext % 64)) & 1;
}

/* RFC 3550 A.8 interarrival jitter, for every packet that is accepted, in arrival order. */
static void update_jitter(struct rtp_reorder *r, uint32_t timestamp, uint64_t arrival_ms)
{
    uint32_t arrival_units = (uint32_t)(arrival_ms * r->clock_rate / 1000);
    uint32_t transit = arrival_units - timestamp;
    if (r->have_transit) {
        int32_t d = (int32_t)(transit - r->last_transit);
        uint64_t abs_d = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
        r->jitter_q4 = r->jitter_q4 + abs_d - ((r->jitter_q4 + 8) >> 4);
    }
    r->last_transit = transit;
    r->have_transit = true;
}

/* Bookkeeping for a packet that takes its place in the sequence (delivered now or held). */
static void accept(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t ext, uint64_t arrival_ms)
{
    if (ext < r->max_ext) r->st.reordered++;
    if (ext > r->max_ext) r->max_ext = ext;
    r->behind_run = 0;
    update_jitter(r, pkt->timestamp, arrival_ms);
}

static void emit(struct rtp_reorder *r, const struct rtp_packet *pkt)
{
    uint32_t lost_before = r->pending_resync ? RTP_REORDER_RESYNC : r->pending_lost;
    r->pending_lost = 0;
    r->pending_resync = false;
    history_set(r, r->next_ext, true);
    r->next_ext++;
    r->st.delivered++;
    r->deliver(r->arg, pkt, lost_before);
}

static void declare_lost(struct rtp_reorder *r, uint64_t count)
{
    if (count >= HISTORY_BITS) {
        memset(r->history, 0, sizeof r->history);
    } else {
        for (uint64_t i = 0; i < count; i++) history_set(r, r->next_ext + i, false);
    }
    r->next_ext += count;
    r->st.lost += count;
    uint64_t pending = (uint64_t)r->pending_lost + count;
    r->pending_lost = pending >= RTP_REORDER_RESYNC ? RTP_REORDER_RESYNC - 1 : (uint32_t)pending;
}

/* Delivers the held packets that are now in order; then, if a gap remains, restarts its hold clock at the
 * arrival of the oldest packet still waiting behind it. */
static void drain_ready(struct rtp_reorder *r)
{
    while (r->held > 0) {
        struct reorder_slot *s = slot_of(r, r->next_ext);
        if (!s->used) break;
        r->held--;
        emit(r, &s->pkt);
        s->used = false;
    }
    if (r->held == 0) return;
    uint64_t oldest = UINT64_MAX;
    for (uint32_t i = 0; i < r->window; i++)
        if (r->slots[i].used && r->slots[i].arrival_ms < oldest) oldest = r->slots[i].arrival_ms;
    r->gap_since_ms = oldest;
}

/* Gives up on the gap at next_ext: counts it lost and delivers the held packets after it. */
static void skip_gap(struct rtp_reorder *r)
{
    uint64_t missing = 0;
    while (missing < r->window && !slot_of(r, r->next_ext + missing)->used) missing++;
    declare_lost(r, missing);
    drain_ready(r);
}

/* Moves next_ext up to at least `target` (the window overflowed), delivering the held packets below it and
 * declaring the rest lost. Numbers at or above `target` are still in the new window: they keep waiting. */
static void advance_to(struct rtp_reorder *r, uint64_t target)
{
    while (r->next_ext < target) {
        uint64_t missing = 0;
        while (r->held > 0 && missing < r->window && !slot_of(r, r->next_ext + missing)->used) missing++;
        if (r->held == 0 || r->next_ext + missing > target) {
            declare_lost(r, target - r->next_ext);
            break;
        }
        declare_lost(r, missing);
        drain_ready(r);
    }
}

static void flush_held(struct rtp_reorder *r)
{
    while (r->held > 0) skip_gap(r);
}

static void expire(struct rtp_reorder *r, uint64_t now_ms)
{
    while (r->held > 0 && now_ms >= r->gap_since_ms && now_ms - r->gap_since_ms >= r->max_hold_ms)
        skip_gap(r);
}

/* Starts a run of sequence numbers at `seq` (first packet, or a sender restart). */
static void begin_run(struct rtp_reorder *r, uint16_t seq)
{
    uint64_t ext = EXT_START + seq;
    if (r->ever_started) {
        r->expected_before += r->max_ext - r->base_ext + 1;
        /* Keep extended numbers increasing so the RR's extended highest sequence never goes back. */
        ext = (r->max_ext & ~UINT64_C(0xffff)) + seq;
        if (ext <= r->max_ext) ext += 0x10000;
        r->pending_resync = true;
        r->st.resyncs++;
    }
    r->started = r->ever_started = true;
    r->next_ext = r->base_ext = r->max_ext = ext;
    r->pending_lost = 0;
    r->behind_run = 0;
    r->have_transit = false;
    memset(r->history, 0, sizeof r->history);
}

/* Places an accepted packet at `ext` (>= next_ext): delivers it now or holds it. */
static void place(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t ext, uint64_t now_ms)
{
    if (ext - r->next_ext >= r->window) advance_to(r, ext - r->window + 1);
    if (ext == r->next_ext) {
        emit(r, pkt);
        drain_ready(r);
        return;
    }
    struct reorder_slot *s = slot_of(r, ext);
    if (!slot_store(s, pkt, ext, now_ms)) return; /* out of memory: it will count as lost */
    if (r->held++ == 0) r->gap_since_ms = now_ms;
}

/* A packet far from the window: a sender restart when the next one follows it in sequence. */
static void on_jump(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t now_ms)
{
    struct reorder_slot *p = &r->probe;
    if (p->used && (uint16_t)(p->pkt.seq + 1) == pkt->seq) {
        flush_held(r);
        begin_run(r, p->pkt.seq);
        accept(r, &p->pkt, r->next_ext, p->arrival_ms);
        emit(r, &p->pkt);
        p->used = false;
        accept(r, pkt, r->next_ext, now_ms);
        emit(r, pkt);
        return;
    }
    if (p->used) r->st.stray++;
    p->used = false;
    slot_store(p, pkt, 0, now_ms);
}

/* A packet up to MAX_MISORDER behind next_ext: a duplicate (its number was delivered) or late (declared
 * lost). Many of them in sequence mean the sender restarted its numbering a little behind ours. */
static void on_behind(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t ext, uint64_t now_ms)
{
    if (r->behind_run > 0 && pkt->seq == r->behind_run_next_seq) {
        r->behind_run++;
    } else {
        r->behind_run = 1;
    }
    r->behind_run_next_seq = (uint16_t)(pkt->seq + 1);
    if (r->behind_run < BEHIND_RESYNC_RUN) {
        if (history_get(r, ext)) {
            r->st.duplicates++;
        } else {
            r->st.late++;
        }
        return;
    }
    flush_held(r);
    begin_run(r, pkt->seq);
    accept(r, pkt, r->next_ext, now_ms);
    emit(r, pkt);
}

void rtp_reorder_input(struct rtp_reorder *r, const struct rtp_packet *pkt, uint64_t now_ms)
{
    r->st.received++;
    if (!r->started) {
        begin_run(r, pkt->seq);
        accept(r, pkt, r->next_ext, now_ms);
        emit(r, pkt);
        return;
    }
    expire(r, now_ms);

    int32_t delta = (int16_t)(uint16_t)(pkt->seq - (uint16_t)r->next_ext);
    if (delta > MAX_DROPOUT || delta < -MAX_MISORDER) {
        on_jump(r, pkt, now_ms);
        return;
    }
    uint64_t ext = r->next_ext + (uint64_t)(int64_t)delta;
    if (delta < 0) {
        on_behind(r, pkt, ext, now_ms);
        return;
    }
    /* a duplicate of a held packet; with nothing held (the common case) no slot is looked at, which spares
     * a division and a cache miss per packet */
    if (r->held && delta < (int32_t)r->window && slot_of(r, ext)->used) {
        r->st.duplicates++;
        return;
    }
    accept(r, pkt, ext, now_ms);
    place(r, pkt, ext, now_ms);
}

void rtp_reorder_tick(struct rtp_reorder *r, uint64_t now_ms)
{
    expire(r, now_ms);
}

void rtp_reorder_flush(struct rtp_reorder *r)
{
    flush_held(r);
    if (r->probe.used) r->st.stray++;
    r->probe.used = false;
}

void rtp_reorder_restart(struct rtp_reorder *r)
{
    rtp_reorder_flush(r);
    r->started = false;
}

int64_t rtp_reorder_next_timeout(const struct rtp_reorder *r, uint64_t now_ms)
{
    if (r->held == 0) return -1;
    uint64_t deadline = r->gap_since_ms + r->max_hold_ms;
    return deadline > now_ms ? (int64_t)(deadline - now_ms) : 0;
}

void rtp_reorder_get_stats(const struct rtp_reorder *r, struct rtp_reorder_stats *out)
{
    *out = r->st;
    out->expected = r->expected_before + (r->ever_started ? r->max_ext - r->base_ext + 1 : 0);
    out->ext_highest_seq = r->ever_started ? (uint32_t)r->max_ext : 0;
    uint64_t jitter = r->jitter_q4 >> 4;
    out->jitter = jitter > UINT32_MAX ? UINT32_MAX : (uint32_t)jitter;
    out->held = r->held;
}
