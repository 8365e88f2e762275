/*
 * The pacing loop of `gbsim send`: all streams in one thread, one timer. A min-heap orders the streams by the
 * due time of their next frame; the loop sleeps (clock_nanosleep, absolute) until the earliest one, then
 * sends every due frame of every stream, each frame as one sendmmsg batch. Stream start times are spread
 * evenly over one frame interval so that hundreds of streams do not burst together.
 *
 * Per packet the work is: patch seq/timestamp/SSRC into a 12-byte copy of the header, and (on --loop passes
 * after the first, only for packets holding PS timestamps) copy and patch the payload. Impairments (loss,
 * reorder with the next packet of the frame, duplication) are drawn per stream from a seeded generator, so
 * the same --seed gives the same damage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "media/rtp.h"
#include "sim_send.h"

#define NS_PER_S        1000000000ll
#define STAMP_LINES_MAX 4000000 /* --stamp-log bound: ~100 MB */

volatile sig_atomic_t sim_stop_requested; /* set by the SIGINT/SIGTERM handler */

struct stream {
    struct sim_sock sock;
    unsigned index;
    uint32_t ssrc;
    uint16_t seq_base;
    uint32_t ts_base;
    size_t next_frame;
    uint64_t pass;
    int64_t start_ns; /* monotonic time of clip time 0 on pass 0 */
    int64_t due_ns;
    bool active, done;
    uint64_t rng;
};

struct sender {
    const struct sim_options *o;
    const struct sim_clip *clip;
    struct sim_stats *st;
    struct stream *streams;
    unsigned count;
    unsigned *heap;
    unsigned heap_len;
    struct sim_listener *listeners;
    unsigned listener_count, waiting; /* waiting: streams not yet accepted */
    struct pollfd *pfds;
    struct sim_out_packet *out;
    const struct sim_packet **out_src;
    uint8_t *scratch; /* max_frame_packets patched copies of packets */
    FILE *stamp, *dump;
    unsigned stamp_lines;
    bool clip_has_video;
    double ns_per_tick;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

/* splitmix64: small, fast, and good enough to decide which packets to damage */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static bool chance(uint64_t *s, double pct)
{
    return pct > 0 && (double)(rng_next(s) >> 11) * (100.0 / 9007199254740992.0) < pct;
}

/* ---- the heap of streams by due time ---- */

static bool heap_less(const struct sender *x, unsigned a, unsigned b)
{
    return x->streams[x->heap[a]].due_ns < x->streams[x->heap[b]].due_ns;
}

static void heap_swap(struct sender *x, unsigned a, unsigned b)
{
    unsigned t = x->heap[a];
    x->heap[a] = x->heap[b];
    x->heap[b] = t;
}

static void heap_push(struct sender *x, unsigned stream)
{
    unsigned i = x->heap_len++;
    x->heap[i] = stream;
    while (i && heap_less(x, i, (i - 1) / 2)) heap_swap(x, i, (i - 1) / 2), i = (i - 1) / 2;
}

static unsigned heap_pop(struct sender *x)
{
    unsigned top = x->heap[0];
    x->heap[0] = x->heap[--x->heap_len];
    for (unsigned i = 0;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < x->heap_len && heap_less(x, l, m)) m = l;
        if (r < x->heap_len && heap_less(x, r, m)) m = r;
        if (m == i) break;
        heap_swap(x, i, m);
        i = m;
    }
    return top;
}

/* ---- one frame of one stream ---- */

static void schedule(struct sender *x, struct stream *s)
{
    const struct sim_clip *c = x->clip;
    int64_t ticks = (int64_t)s->pass * c->period + c->frames[s->next_frame].send_ts;
    s->due_ns = s->start_ns + (int64_t)((double)ticks * x->ns_per_tick);
}

static void fill_packet(struct sender *x, struct stream *s, const struct sim_packet *p, uint32_t ts,
                        size_t slot, struct sim_out_packet *e)
{
    const struct sim_clip *c = x->clip;
    const uint8_t *pkt = c->data + p->off;
    uint16_t rtp_len = p->len;
    rtp_wr16(e->head, rtp_len);
    memcpy(e->head + 2, pkt, RTP_HEADER_SIZE);
    rtp_wr16(e->head + 4, (uint16_t)(s->seq_base + s->pass * c->seq_span + p->seq_offset));
    rtp_wr32(e->head + 6, ts);
    rtp_wr32(e->head + 10, s->ssrc);
    e->rest_len = p->len - RTP_HEADER_SIZE;
    if (s->pass && p->field_count) { /* later pass: the PS timestamps inside move forward too */
        uint8_t *copy = x->scratch + slot * c->max_packet_len;
        sim_clip_patch_packet(c, p, (int64_t)s->pass * c->period, copy);
        e->rest = copy;
    } else {
        e->rest = pkt + RTP_HEADER_SIZE;
    }
}

static void send_frame(struct sender *x, struct stream *s)
{
    const struct sim_options *o = x->o;
    const struct sim_clip *c = x->clip;
    const struct sim_frame *f = &c->frames[s->next_frame];
    int64_t ts64 = (int64_t)s->ts_base + (int64_t)s->pass * c->period + f->rtp_ts;
    uint32_t ts = (uint32_t)ts64;
    size_t n = 0;
    bool holding = false;
    struct sim_out_packet held = {0};
    const struct sim_packet *held_src = NULL;
    for (uint32_t j = 0; j < f->count; j++) {
        const struct sim_packet *p = &c->packets[f->first + j];
        if (chance(&s->rng, o->loss_pct)) {
            x->st->dropped++;
            continue;
        }
        struct sim_out_packet *e = &x->out[n];
        fill_packet(x, s, p, ts, j, e);
        if (!holding && j + 1 < f->count && chance(&s->rng, o->reorder_pct)) {
            held = *e, held_src = p, holding = true; /* goes out after the next packet */
            continue;
        }
        x->out_src[n++] = p;
        if (chance(&s->rng, o->dup_pct)) {
            x->out[n] = *e, x->out_src[n++] = p;
            x->st->duplicated++;
        }
        if (holding) {
            x->out[n] = held, x->out_src[n++] = held_src;
            holding = false;
            x->st->reordered++;
        }
    }
    if (holding) x->out[n] = held, x->out_src[n++] = held_src; /* its successor was lost: not reordered */

    size_t sent = sim_sock_send(&s->sock, x->out, n);
    x->st->packets += sent;
    x->st->send_errors += n - sent;
    for (size_t i = 0; i < sent; i++) x->st->bytes += RTP_HEADER_SIZE + x->out[i].rest_len;
    x->st->frames++;
    if (f->video)
        x->st->video_frames++;
    else
        x->st->audio_frames++;
    /* the time the frame's last packet was handed to the kernel: the benchmark's latency starts here */
    if (x->stamp && s->index < o->stamp_streams && (f->video || !x->clip_has_video) &&
        x->stamp_lines < STAMP_LINES_MAX) {
        x->stamp_lines++;
        fprintf(x->stamp, "%lld %lld %u\n", (long long)ts64, (long long)wall_us(), s->index);
    }
    if (s->index != 0) return;
    for (size_t i = 0; x->dump && i < sent; i++) {
        const struct sim_packet *p = x->out_src[i];
        fwrite(x->out[i].rest + p->payload_off - RTP_HEADER_SIZE, 1, p->payload_len, x->dump);
    }
}

/* Sends the stream's due frame and schedules the next one; false when the stream has finished. */
static bool stream_step(struct sender *x, struct stream *s)
{
    send_frame(x, s);
    if (s->sock.dead) {
        fprintf(stderr, "gbsim send: stream %u: connection closed by the receiver\n", s->index);
        s->done = true;
        return false;
    }
    if (++s->next_frame == x->clip->frame_count) {
        if (!x->o->loop) {
            s->done = true;
            return false;
        }
        s->next_frame = 0;
        s->pass++;
    }
    schedule(x, s);
    return true;
}

static void stream_start(struct sender *x, struct stream *s, int64_t start_ns)
{
    s->active = true;
    s->start_ns = start_ns;
    schedule(x, s);
    heap_push(x, s->index);
}

/* ---- waiting: timers, accepts, TCP backlog ---- */

static void accept_waiting(struct sender *x, int64_t now)
{
    for (unsigned i = 0; i < x->listener_count; i++) {
        struct sim_listener *l = &x->listeners[i];
        while (l->accepted < l->stream_count) {
            struct stream *s = &x->streams[l->first_stream + l->accepted];
            if (sim_listener_accept(l, &s->sock) != 0) break;
            l->accepted++;
            x->waiting--;
            stream_start(x, s, now);
        }
    }
}

static bool flush_pending(struct sender *x)
{
    bool any = false;
    for (unsigned i = 0; i < x->count; i++) {
        struct stream *s = &x->streams[i];
        if (!s->sock.pending_len || s->sock.dead) continue;
        sim_sock_flush(&s->sock);
        any |= s->sock.pending_len != 0 && !s->sock.dead;
    }
    return any;
}

static void wait_until(struct sender *x, int64_t wake_ns, bool tcp_backlog)
{
    if (!x->waiting && !tcp_backlog) {
        struct timespec ts = {wake_ns / NS_PER_S, wake_ns % NS_PER_S};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
                        NULL); /* EINTR: a signal, checked by the caller */
        return;
    }
    nfds_t n = 0;
    for (unsigned i = 0; i < x->listener_count; i++)
        if (x->listeners[i].accepted < x->listeners[i].stream_count)
            x->pfds[n++] = (struct pollfd){.fd = x->listeners[i].fd, .events = POLLIN};
    for (unsigned i = 0; tcp_backlog && i < x->count; i++)
        if (x->streams[i].sock.pending_len && !x->streams[i].sock.dead)
            x->pfds[n++] = (struct pollfd){.fd = x->streams[i].sock.fd, .events = POLLOUT};
    int64_t left = wake_ns - mono_ns();
    if (left < 0) left = 0;
    struct timespec ts = {left / NS_PER_S, left % NS_PER_S};
    ppoll(x->pfds, n, wake_ns == INT64_MAX ? NULL : &ts, NULL);
}

static void run_loop(struct sender *x, int64_t deadline)
{
    while (!sim_stop_requested) {
        int64_t now = mono_ns();
        if (now >= deadline) break;
        if (x->waiting) accept_waiting(x, now);
        /* the clock is read again after every frame: with --speed 0 (or a sender that fell behind) frames are
         * always due, and the deadline and the signals must still end the run */
        while (x->heap_len && x->streams[x->heap[0]].due_ns <= now && now < deadline && !sim_stop_requested) {
            struct stream *s = &x->streams[heap_pop(x)];
            if (stream_step(x, s)) heap_push(x, s->index);
            now = mono_ns();
        }
        bool backlog = x->o->transport == SIM_TRANSPORT_TCP || x->o->transport == SIM_TRANSPORT_TCP_LISTEN
                           ? flush_pending(x)
                           : false;
        if (!x->heap_len && !x->waiting && !backlog) break; /* every stream has finished */
        int64_t wake = x->heap_len ? x->streams[x->heap[0]].due_ns : INT64_MAX;
        if (deadline < wake) wake = deadline;
        wait_until(x, wake, backlog);
    }
}

/* ---- setup ---- */

static int sender_init(struct sender *x)
{
    const struct sim_options *o = x->o;
    const struct sim_clip *c = x->clip;
    x->count = o->streams;
    size_t out_cap = 2 * (size_t)c->max_frame_packets + 1;
    x->streams = calloc(x->count, sizeof *x->streams);
    x->heap = calloc(x->count, sizeof *x->heap);
    x->pfds = calloc(x->count + x->count, sizeof *x->pfds);
    x->out = calloc(out_cap, sizeof *x->out);
    x->out_src = calloc(out_cap, sizeof *x->out_src);
    x->scratch = malloc((size_t)c->max_frame_packets * c->max_packet_len + 1);
    if (!x->streams || !x->heap || !x->pfds || !x->out || !x->out_src || !x->scratch) return -ENOMEM;
    for (size_t i = 0; i < c->frame_count && !x->clip_has_video; i++) x->clip_has_video = c->frames[i].video;
    x->ns_per_tick = o->speed > 0 ? 1e9 / SIM_CLOCK_HZ / o->speed : 0;
    for (unsigned i = 0; i < x->count; i++) {
        struct stream *s = &x->streams[i];
        s->index = i;
        s->sock.fd = -1;
        s->ssrc = (c->replay && !o->ssrc_given ? c->first_ssrc : o->ssrc) + i;
        s->seq_base = c->replay ? c->first_seq : 0;
        s->ts_base = c->replay ? c->first_ts : 0;
        s->rng = o->seed ^ (0xA0761D6478BD642Full * (i + 1));
        int err = sim_sock_open(&s->sock, o, i);
        if (err) return err;
    }
    if (o->transport == SIM_TRANSPORT_TCP_LISTEN) {
        int err = sim_listeners_open(o, &x->listeners, &x->listener_count);
        if (err) return err;
        x->waiting = x->count;
    }
    if (o->stamp_log && !(x->stamp = fopen(o->stamp_log, "w"))) {
        fprintf(stderr, "gbsim send: --stamp-log %s: %s\n", o->stamp_log, strerror(errno));
        return -errno;
    }
    if (o->dump_ps && !(x->dump = fopen(o->dump_ps, "wb"))) {
        fprintf(stderr, "gbsim send: --dump-ps %s: %s\n", o->dump_ps, strerror(errno));
        return -errno;
    }
    return 0;
}

static void sender_free(struct sender *x)
{
    for (unsigned i = 0; x->streams && i < x->count; i++) sim_sock_close(&x->streams[i].sock);
    for (unsigned i = 0; i < x->listener_count; i++) close(x->listeners[i].fd);
    if (x->stamp) fclose(x->stamp);
    if (x->dump) fclose(x->dump);
    free(x->listeners);
    free(x->streams);
    free(x->heap);
    free(x->pfds);
    free(x->out);
    free(x->out_src);
    free(x->scratch);
}

int sim_sender_run(const struct sim_options *o, const struct sim_clip *clip, struct sim_stats *st)
{
    struct sender x = {.o = o, .clip = clip, .st = st};
    memset(st, 0, sizeof *st);
    int64_t t0 = mono_ns();
    int err = sender_init(&x);
    if (!err) {
        /* spread the starts evenly over one frame interval (or --start-spread) */
        double spread_ns = o->start_spread_s > 0 ? o->start_spread_s * 1e9 / x.count
                                                 : (double)clip->frame_duration * x.ns_per_tick / x.count;
        for (unsigned i = 0; i < x.count && o->transport != SIM_TRANSPORT_TCP_LISTEN; i++)
            stream_start(&x, &x.streams[i], t0 + (int64_t)(spread_ns * i));
        int64_t deadline = o->duration_s > 0 ? t0 + (int64_t)(o->duration_s * 1e9) : INT64_MAX;
        run_loop(&x, deadline);
    }
    st->seconds = (double)(mono_ns() - t0) / 1e9;
    sender_free(&x);
    return err;
}
