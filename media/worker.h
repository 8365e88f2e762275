/*
 * Media workers: one libuv loop per thread (DESIGN.md section 1). A worker owns its sockets, its streams and
 * its viewers; other threads reach it only through worker_post(). The shared RTP port is bound by every
 * worker with SO_REUSEPORT and a classic BPF program that picks socket `ssrc % nworkers`, so a shared-port
 * stream is owned by worker `ssrc % nworkers` and its packets land there directly, without forwarding.
 */
#ifndef GB_MEDIA_WORKER_H
#define GB_MEDIA_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/config.h"
#include "common/control.h"

struct worker;
struct stream;

/* Counters of one worker, read by /metrics from any thread (relaxed atomics would be pedantic for
 * monotonically increasing 64-bit counters on x86-64; they are written by the owner only). */
struct worker_counters {
    uint64_t udp_packets, udp_bytes, udp_batches, udp_truncated;
    uint64_t udp_gro_reads, udp_gro_packets; /* coalesced reads (UDP_GRO) and the datagrams they carried */
    uint64_t unknown_ssrc, forwarded, not_rtp;
    uint64_t tcp_connections, tcp_bytes;
    uint64_t tasks;
    uint64_t rounds, paced_rounds; /* loop rounds; rounds that waited for media.rx_coalesce_us */
    uint64_t rt_priority;          /* SCHED_FIFO priority obtained (media.rt_priority), 0 = SCHED_OTHER */
};

/* Binds the shared sockets (in worker order, so BPF index i is worker i) and starts the threads.
 * Returns 0, or an errno with a message naming the config key in err. */
int workers_start(const struct gb_config *cfg, char *err, size_t errsize);
/* Stops every loop and joins the threads (streams and viewers are closed first by their owners). */
void workers_stop(void);
int workers_count(void);
struct worker *worker_get(int index);
int worker_index(const struct worker *w);
uv_loop_t *worker_loop(struct worker *w);
const struct worker_counters *worker_counters(const struct worker *w);
/* The worker running on the calling thread, or NULL. */
struct worker *worker_current(void);
const struct gb_config *worker_config(void);
/* Owner of a shared-port SSRC. */
static inline int worker_for_ssrc(uint32_t ssrc, int nworkers)
{
    return (int)(ssrc % (uint32_t)nworkers);
}

/* Runs fn(arg) on worker `index`. Thread-safe. */
int worker_post(int index, task_fn fn, void *arg);
/* Runs fn(arg) on every worker. */
void workers_post_all(task_fn fn, void *arg_per_worker[]);

/* Per-worker stream tables (owner thread only). */
void worker_add_stream(struct worker *w, struct stream *s, const char *id, bool shared, uint32_t ssrc);
void worker_remove_stream(struct worker *w, struct stream *s, const char *id, bool shared, uint32_t ssrc);
struct stream *worker_find_stream(struct worker *w, const char *id);
int worker_stream_count(const struct worker *w);
/* Calls fn for every stream of the worker (fn may not add/remove streams). */
void worker_foreach_stream(struct worker *w, void (*fn)(struct stream *s, void *arg), void *arg);

/* Hooks for the layers above media (relay): state hung on each worker, and work run after every I/O round
 * (flushing viewers that got new data: one writev per viewer per round instead of one per tag). */
void worker_set_ext(struct worker *w, void *ext);
void *worker_get_ext(struct worker *w);
void worker_set_flush_hook(void (*fn)(struct worker *w));
/* Runs on every worker when it stops, after its streams closed: release everything left (viewers, conns). */
void worker_set_stop_hook(void (*fn)(struct worker *w));
/* Runs once a second on every worker (stats, timeouts), after the media layer's own tick. */
void worker_set_tick_hook(void (*fn)(struct worker *w, uint64_t now_ms));

/* Receive buffer for recvmmsg shared by all sockets of the worker (only used inside one callback). */
struct worker_rx {
    unsigned n;
    struct mmsghdr *msgs;
};
struct worker_rx *worker_rx(struct worker *w);

/* Asks the kernel to coalesce bursts of datagrams on an RTP socket (media.udp_gro; warns once if refused). */
void worker_enable_udp_gro(int fd);
/* Drains a UDP socket with recvmmsg into the worker's receive buffer, calling deliver per datagram
 * (data valid only during the call; a coalesced read is split back into its datagrams). Returns the number of
 * datagrams. */
int worker_recv_udp(struct worker *w, int fd,
                    void (*deliver)(void *arg, const uint8_t *p, size_t len, const struct sockaddr *from,
                                    uint64_t now),
                    void *arg);

#endif
