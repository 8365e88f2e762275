/*
 * Worker threads and their inboxes. Each worker runs one libuv loop; the shared RTP sockets are created by
 * the starting thread in worker order so that the reuseport BPF program's socket index equals the worker
 * index. Tasks from other threads queue under a mutex and wake the loop through one coalescing uv_async.
 */
#include "media/worker.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "media/stream.h"

#define RX_BATCH  32
#define RX_SLOT   65536
#define RX_ROUNDS 16 /* recvmmsg calls per readiness event before yielding to other sockets */

/* Room for one UDP_GRO control message (an int), aligned as cmsg(3) requires. */
union rx_control {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
};

struct task {
    struct task *next;
    task_fn fn;
    void *arg;
};

struct stream_slot {
    struct stream *s;
    char id[STREAM_ID_MAX + 1];
    bool shared;
    uint32_t ssrc;
};

struct ssrc_entry {
    uint32_t ssrc;
    struct stream *s; /* NULL: empty */
};

struct worker {
    int index;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    uv_check_t flush;
    pthread_mutex_t lock;
    struct task *head, *tail;
    bool stopping;

    int udp_fd;
    uv_poll_t udp_poll;
    int tcp_fd;
    uv_poll_t tcp_poll;

    struct stream_slot *streams;
    int nstreams, cap;
    struct ssrc_entry *by_ssrc; /* shared-port streams by SSRC: open addressing, rebuilt on add/remove */
    uint32_t by_ssrc_bits;

    struct worker_rx rx;
    struct iovec *rx_iov;
    struct sockaddr_storage *rx_addr;
    uint8_t *rx_mem;
    union rx_control *rx_ctl; /* per message: the UDP_GRO datagram size, when the kernel coalesced */

    struct worker_counters counters;
    uint64_t round_end_us; /* when the previous loop round ended (media.rx_coalesce_us) */
    void *ext;
};

static struct worker *workers;
static int nworkers;
static const struct gb_config *config;
static _Thread_local struct worker *current;
static void (*flush_hook)(struct worker *w);
static void (*tick_hook)(struct worker *w, uint64_t now_ms);
static void (*stop_hook)(struct worker *w);

int workers_count(void)
{
    return nworkers;
}
struct worker *worker_get(int index)
{
    return index >= 0 && index < nworkers ? &workers[index] : NULL;
}
int worker_index(const struct worker *w)
{
    return w->index;
}
uv_loop_t *worker_loop(struct worker *w)
{
    return &w->loop;
}
const struct worker_counters *worker_counters(const struct worker *w)
{
    return &w->counters;
}
struct worker *worker_current(void)
{
    return current;
}
const struct gb_config *worker_config(void)
{
    return config;
}
void worker_set_ext(struct worker *w, void *ext)
{
    w->ext = ext;
}
void *worker_get_ext(struct worker *w)
{
    return w->ext;
}
void worker_set_flush_hook(void (*fn)(struct worker *w))
{
    flush_hook = fn;
}
void worker_set_stop_hook(void (*fn)(struct worker *w))
{
    stop_hook = fn;
}
void worker_set_tick_hook(void (*fn)(struct worker *w, uint64_t now_ms))
{
    tick_hook = fn;
}
struct worker_rx *worker_rx(struct worker *w)
{
    return &w->rx;
}

int worker_post(int index, task_fn fn, void *arg)
{
    struct worker *w = worker_get(index);
    if (!w) return EINVAL;
    struct task *t = malloc(sizeof *t);
    if (!t) return ENOMEM;
    *t = (struct task){NULL, fn, arg};
    pthread_mutex_lock(&w->lock);
    if (w->stopping && fn) {
        pthread_mutex_unlock(&w->lock);
        free(t);
        return ESHUTDOWN;
    }
    if (w->tail)
        w->tail->next = t;
    else
        w->head = t;
    w->tail = t;
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->wake);
    return 0;
}

void workers_post_all(task_fn fn, void *arg_per_worker[])
{
    for (int i = 0; i < nworkers; i++) worker_post(i, fn, arg_per_worker ? arg_per_worker[i] : NULL);
}

static void on_wake(uv_async_t *h)
{
    struct worker *w = h->data;
    pthread_mutex_lock(&w->lock);
    struct task *t = w->head;
    w->head = w->tail = NULL;
    pthread_mutex_unlock(&w->lock);
    while (t) {
        struct task *next = t->next;
        w->counters.tasks++;
        if (t->fn) t->fn(t->arg);
        free(t);
        t = next;
    }
}

/* ---- stream tables ---- */

static uint32_t ssrc_hash(uint32_t ssrc, uint32_t bits)
{
    return (ssrc * 2654435769u) >> (32 - bits); /* Fibonacci hashing: consecutive SSRCs spread out */
}

/* Rebuilds the SSRC table from the slots (streams come and go a few times a second at most; packets arrive
 * tens of thousands of times a second). In slot order, the first stream with an SSRC wins, as a scan would.
 */
static void rebuild_ssrc_table(struct worker *w)
{
    int shared = 0;
    for (int i = 0; i < w->nstreams; i++) shared += w->streams[i].shared;
    uint32_t bits = 6;
    while ((1u << bits) < 2u * (uint32_t)shared) bits++;
    struct ssrc_entry *t = calloc((size_t)1 << bits, sizeof *t);
    if (!t) abort();
    uint32_t mask = (1u << bits) - 1;
    for (int i = 0; i < w->nstreams; i++) {
        const struct stream_slot *slot = &w->streams[i];
        if (!slot->shared) continue;
        uint32_t h = ssrc_hash(slot->ssrc, bits);
        while (t[h].s && t[h].ssrc != slot->ssrc) h = (h + 1) & mask;
        if (!t[h].s) t[h] = (struct ssrc_entry){slot->ssrc, slot->s};
    }
    free(w->by_ssrc);
    w->by_ssrc = t;
    w->by_ssrc_bits = bits;
}

/* The buffer pool carries a stream's freed GOP chunks over to its next GOP: sized by the streams here. */
static void size_buffer_pool(const struct worker *w)
{
    size_t limit = (size_t)w->nstreams * GBUF_POOL_BYTES_PER_STREAM;
    if (limit < GBUF_POOL_BYTES_PER_STREAM * 8) limit = GBUF_POOL_BYTES_PER_STREAM * 8;
    if (limit > GBUF_POOL_DEFAULT_LIMIT) limit = GBUF_POOL_DEFAULT_LIMIT;
    gbuf_pool_set_limit(limit);
}

void worker_add_stream(struct worker *w, struct stream *s, const char *id, bool shared, uint32_t ssrc)
{
    if (w->nstreams == w->cap) {
        int ncap = w->cap ? w->cap * 2 : 32;
        struct stream_slot *n = realloc(w->streams, (size_t)ncap * sizeof *n);
        if (!n) abort();
        w->streams = n;
        w->cap = ncap;
    }
    struct stream_slot *slot = &w->streams[w->nstreams++];
    slot->s = s;
    snprintf(slot->id, sizeof slot->id, "%s", id);
    slot->shared = shared;
    slot->ssrc = ssrc;
    if (shared) rebuild_ssrc_table(w);
    size_buffer_pool(w);
}

void worker_remove_stream(struct worker *w, struct stream *s, const char *id, bool shared, uint32_t ssrc)
{
    for (int i = 0; i < w->nstreams; i++) {
        if (w->streams[i].s == s) {
            bool was_shared = w->streams[i].shared;
            w->streams[i] = w->streams[--w->nstreams];
            if (was_shared) rebuild_ssrc_table(w);
            size_buffer_pool(w);
            return;
        }
    }
}

struct stream *worker_find_stream(struct worker *w, const char *id)
{
    for (int i = 0; i < w->nstreams; i++)
        if (strcmp(w->streams[i].id, id) == 0) return w->streams[i].s;
    return NULL;
}

/* Per packet on the shared port: one multiplication and, at a load factor of at most 1/2, about one probe
 * (a linear scan over 80-byte slots cost a cache line per stream: ~100 per packet at 200 streams). */
static struct stream *find_shared(struct worker *w, uint32_t ssrc)
{
    if (!w->by_ssrc) return NULL;
    uint32_t mask = (1u << w->by_ssrc_bits) - 1;
    for (uint32_t h = ssrc_hash(ssrc, w->by_ssrc_bits); w->by_ssrc[h].s; h = (h + 1) & mask)
        if (w->by_ssrc[h].ssrc == ssrc) return w->by_ssrc[h].s;
    return NULL;
}

int worker_stream_count(const struct worker *w)
{
    return w->nstreams;
}

void worker_foreach_stream(struct worker *w, void (*fn)(struct stream *s, void *arg), void *arg)
{
    for (int i = w->nstreams - 1; i >= 0; i--)
        if (i < w->nstreams) fn(w->streams[i].s, arg);
}

/* ---- shared UDP port ---- */

struct forwarded_packet {
    uint32_t ssrc;
    size_t len;
    struct sockaddr_storage from;
    uint8_t data[];
};

static void on_forwarded_packet(void *arg)
{
    struct forwarded_packet *fp = arg;
    struct worker *w = current;
    struct stream *s = find_shared(w, fp->ssrc);
    if (s) stream_input_packet(s, fp->data, fp->len, (struct sockaddr *)&fp->from, clock_mono_ms());
    free(fp);
}

static void dispatch_shared(struct worker *w, const uint8_t *p, size_t len, const struct sockaddr *from,
                            uint64_t now)
{
    if (len < 12 || (p[0] >> 6) != 2) {
        w->counters.not_rtp++;
        return;
    }
    uint32_t ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
    struct stream *s = find_shared(w, ssrc);
    if (s) {
        stream_input_packet(s, p, len, from, now);
        return;
    }
    int owner = directory_owner_by_ssrc(ssrc);
    if (owner >= 0 && owner != w->index) {
        /* Only when the kernel could not steer: no BPF support, or a coalesced run (UDP_GRO) that mixes
         * SSRCs and was steered by its first packet. One copy and a hop to the owner. */
        struct forwarded_packet *fp = malloc(sizeof *fp + len);
        if (!fp) return;
        fp->ssrc = ssrc;
        fp->len = len;
        memcpy(&fp->from, from,
               from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
        memcpy(fp->data, p, len);
        if (worker_post(owner, on_forwarded_packet, fp) != 0)
            free(fp);
        else
            w->counters.forwarded++;
        return;
    }
    if (config->media.shared_port_any_ssrc && (s = stream_find_waiting_shared(w))) {
        stream_input_packet(s, p, len, from, now);
        return;
    }
    w->counters.unknown_ssrc++;
}

void worker_enable_udp_gro(int fd)
{
    static atomic_bool warned;
    if (!config->media.udp_gro) return;
    int e = net_set_udp_gro(fd);
    if (e && !atomic_exchange(&warned, true))
        log_warn("media", "UDP_GRO unavailable (%s): RTP datagrams are read one by one", strerror(e));
}

/* The datagram size of a read the kernel coalesced (UDP_GRO), or 0 for a single datagram. */
static size_t gro_segment_size(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
            int size;
            memcpy(&size, CMSG_DATA(c), sizeof size);
            return size > 0 ? (size_t)size : 0;
        }
    }
    return 0;
}

int worker_recv_udp(struct worker *w, int fd,
                    void (*deliver)(void *arg, const uint8_t *p, size_t len, const struct sockaddr *from,
                                    uint64_t now),
                    void *arg)
{
    int total = 0;
    for (int round = 0; round < RX_ROUNDS; round++) {
        for (unsigned i = 0; i < w->rx.n; i++) {
            w->rx.msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
            w->rx.msgs[i].msg_hdr.msg_controllen = sizeof w->rx_ctl[i];
            w->rx.msgs[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(fd, w->rx.msgs, w->rx.n, MSG_DONTWAIT, NULL);
        if (n <= 0) break;
        w->counters.udp_batches++;
        uint64_t now = clock_mono_ms();
        for (int i = 0; i < n; i++) {
            struct mmsghdr *m = &w->rx.msgs[i];
            const struct sockaddr *from = (struct sockaddr *)m->msg_hdr.msg_name;
            const uint8_t *p = w->rx_mem + (size_t)i * RX_SLOT;
            size_t len = m->msg_len;
            w->counters.udp_bytes += len;
            if (m->msg_hdr.msg_flags & MSG_TRUNC) {
                w->counters.udp_packets++;
                w->counters.udp_truncated++;
                total++;
                continue;
            }
            /* A coalesced read is a run of datagrams of one flow, each `seg` bytes but the last: delivered
             * one by one, in place, exactly as if they had been read separately. A plain read is a run of
             * one (an empty datagram included: it is delivered, and counted as not RTP). */
            size_t seg = gro_segment_size(&m->msg_hdr);
            bool coalesced = seg && seg < len;
            if (coalesced)
                w->counters.udp_gro_reads++;
            else
                seg = len;
            size_t off = 0;
            do {
                size_t dlen = len - off < seg ? len - off : seg;
                w->counters.udp_packets++;
                w->counters.udp_gro_packets += coalesced;
                deliver(arg, p + off, dlen, from, now);
                total++;
                off += dlen;
            } while (off < len);
        }
        if ((unsigned)n < w->rx.n) break;
    }
    return total;
}

static void deliver_shared(void *arg, const uint8_t *p, size_t len, const struct sockaddr *from, uint64_t now)
{
    dispatch_shared(arg, p, len, from, now);
}

static void on_shared_udp(uv_poll_t *h, int status, int events)
{
    struct worker *w = h->data;
    if (status < 0) return;
    worker_recv_udp(w, w->udp_fd, deliver_shared, w);
}

static void on_shared_tcp(uv_poll_t *h, int status, int events)
{
    struct worker *w = h->data;
    if (status < 0) return;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(w->tcp_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        w->counters.tcp_connections++;
        stream_accept_shared_tcp(w, fd, (struct sockaddr *)&ss);
    }
}

static void on_tick(uv_timer_t *h)
{
    struct worker *w = h->data;
    uint64_t now = clock_mono_ms();
    stream_tick_all(w, now);
    if (tick_hook) tick_hook(w, now);
}

/* Interrupt moderation in user space (media.rx_coalesce_us). A camera sends a frame as a burst of packets; a
 * worker that woke for each of them paid a context switch per packet, and at 200 streams that was the largest
 * single cost in the profile. So a round that comes sooner than the period after the previous one waits out
 * the rest of it first, and then reads everything that arrived meanwhile in recvmmsg batches. The first
 * packet after a quiet spell is read at once (the wait in epoll already exceeded the period), the wait comes
 * after the viewers were flushed, and a packet waits at most one period. A busy worker (rounds longer than
 * the period) never sleeps. */
static void pace_round(struct worker *w)
{
    w->counters.rounds++;
    uint64_t period = (uint64_t)config->media.rx_coalesce_us;
    if (!period) return;
    uint64_t now = clock_mono_us();
    if (now - w->round_end_us < period) {
        clock_sleep_until_mono_us(w->round_end_us + period);
        w->counters.paced_rounds++;
        now = clock_mono_us();
    }
    w->round_end_us = now;
}

static void on_check(uv_check_t *h)
{
    if (flush_hook) flush_hook(h->data);
    pace_round(h->data);
}

/* media.rt_priority (opt-in): a woken worker runs at once instead of queueing behind whatever holds its CPU.
 * On a shared machine that wait was most of the added latency's p99 (docs/PERFORMANCE.md, sixth round), but
 * more, smaller rounds cost CPU in some scenarios, so it is off by default (docs/DEPLOYMENT.md has the
 * trade). A worker sleeps between rounds and bounds what one round writes, and the kernel keeps a share of
 * every CPU for normal tasks, so the control thread still runs. Without the permission (no root, no
 * CAP_SYS_NICE, a cgroup without real-time time) it stays normal. */
static void set_rt_priority(struct worker *w)
{
    static atomic_bool reported;
    int prio = config->media.rt_priority;
    if (prio <= 0) return;
    struct sched_param sp = {.sched_priority = prio};
    int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (!e) w->counters.rt_priority = (uint64_t)prio;
    if (atomic_exchange(&reported, true)) return;
    if (e)
        log_warn("media", "media.rt_priority = %d not applied (%s): workers run at normal priority", prio,
                 strerror(e));
    else
        log_info("media", "workers run SCHED_FIFO at priority %d (media.rt_priority)", prio);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    current = w;
    char name[16];
    snprintf(name, sizeof name, "gbgate-w%d", w->index);
    pthread_setname_np(pthread_self(), name);
    if (config->media.pin_workers) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->index % CPU_SETSIZE, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    set_rt_priority(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    gbuf_pool_drain();
    return NULL;
}

static int attach_steering_bpf(int fd, int n)
{
    /* A = 32-bit word at UDP payload offset 8 (the RTP SSRC, loaded big-endian), A %= n, return A. */
    struct sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, 8},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, (uint32_t)n},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    struct sock_fprog prog = {.len = 3, .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0 ? errno : 0;
}

static void alloc_rx(struct worker *w)
{
    w->rx.n = RX_BATCH;
    w->rx_mem = malloc((size_t)RX_BATCH * RX_SLOT);
    w->rx.msgs = calloc(RX_BATCH, sizeof *w->rx.msgs);
    w->rx_iov = calloc(RX_BATCH, sizeof *w->rx_iov);
    w->rx_addr = calloc(RX_BATCH, sizeof *w->rx_addr);
    w->rx_ctl = calloc(RX_BATCH, sizeof *w->rx_ctl);
    if (!w->rx_mem || !w->rx.msgs || !w->rx_iov || !w->rx_addr || !w->rx_ctl) abort();
    for (int i = 0; i < RX_BATCH; i++) {
        w->rx_iov[i].iov_base = w->rx_mem + (size_t)i * RX_SLOT;
        w->rx_iov[i].iov_len = RX_SLOT;
        w->rx.msgs[i].msg_hdr.msg_iov = &w->rx_iov[i];
        w->rx.msgs[i].msg_hdr.msg_iovlen = 1;
        w->rx.msgs[i].msg_hdr.msg_name = &w->rx_addr[i];
        w->rx.msgs[i].msg_hdr.msg_control = w->rx_ctl[i].buf;
    }
}

int workers_start(const struct gb_config *cfg, char *err, size_t errsize)
{
    config = cfg;
    nworkers = cfg->media.workers > 0 ? cfg->media.workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nworkers < 1) nworkers = 1;
    workers = calloc((size_t)nworkers, sizeof *workers);
    if (!workers) return ENOMEM;
    const char *bind_ip = "0.0.0.0";
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        w->index = i;
        pthread_mutex_init(&w->lock, NULL);
        uv_loop_init(&w->loop);
        uv_async_init(&w->loop, &w->wake, on_wake);
        w->wake.data = w;
        uv_timer_init(&w->loop, &w->tick);
        w->tick.data = w;
        uv_check_init(&w->loop, &w->flush);
        w->flush.data = w;
        alloc_rx(w);
        /* bound in worker order: reuseport socket index i == worker i */
        w->udp_fd = net_bind(bind_ip, cfg->media.rtp_port, SOCK_DGRAM, true, 0);
        if (w->udp_fd < 0) {
            snprintf(err, errsize, "media.rtp_port %d (UDP): %s", cfg->media.rtp_port, strerror(-w->udp_fd));
            return -w->udp_fd;
        }
        net_set_rcvbuf(w->udp_fd, cfg->media.udp_rcvbuf_kb * 1024);
        worker_enable_udp_gro(w->udp_fd);
        w->tcp_fd = net_bind(bind_ip, cfg->media.rtp_port, SOCK_STREAM, true, 1024);
        if (w->tcp_fd < 0) {
            snprintf(err, errsize, "media.rtp_port %d (TCP): %s", cfg->media.rtp_port, strerror(-w->tcp_fd));
            return -w->tcp_fd;
        }
    }
    if (nworkers > 1) {
        int e = attach_steering_bpf(workers[0].udp_fd, nworkers);
        if (e)
            log_warn("media", "reuseport BPF steering unavailable (%s): shared-port packets are forwarded",
                     strerror(e));
    }
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        uv_poll_init(&w->loop, &w->udp_poll, w->udp_fd);
        w->udp_poll.data = w;
        uv_poll_start(&w->udp_poll, UV_READABLE, on_shared_udp);
        uv_poll_init(&w->loop, &w->tcp_poll, w->tcp_fd);
        w->tcp_poll.data = w;
        uv_poll_start(&w->tcp_poll, UV_READABLE, on_shared_tcp);
        uv_timer_start(&w->tick, on_tick, 500, 500);
        uv_check_start(&w->flush, on_check);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            snprintf(err, errsize, "cannot start media worker %d", i);
            return EAGAIN;
        }
    }
    log_info("media", "%d workers, shared RTP port %d (udp+tcp), per-stream ports %d-%d", nworkers,
             cfg->media.rtp_port, cfg->media.rtp_port_min, cfg->media.rtp_port_max);
    return 0;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void stop_task(void *arg)
{
    struct worker *w = current;
    stream_close_all(w, "shutdown");
    if (flush_hook) flush_hook(w);
    if (stop_hook) stop_hook(w);
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_mutex_unlock(&w->lock);
    on_wake(&w->wake); /* run what was queued before the stop */
    uv_walk(&w->loop, close_handle, NULL);
}

void workers_stop(void)
{
    for (int i = 0; i < nworkers; i++) worker_post(i, stop_task, NULL);
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        pthread_join(w->thread, NULL);
        uv_loop_close(&w->loop);
        close(w->udp_fd);
        close(w->tcp_fd);
        for (struct task *t = w->head, *n; t; t = n) {
            n = t->next;
            free(t);
        }
        free(w->streams);
        free(w->by_ssrc);
        free(w->rx_mem);
        free(w->rx.msgs);
        free(w->rx_iov);
        free(w->rx_ctl);
        free(w->rx_addr);
        pthread_mutex_destroy(&w->lock);
    }
    free(workers);
    workers = NULL;
    nworkers = 0;
}
