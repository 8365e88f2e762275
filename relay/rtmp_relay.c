/*
 * RTMP push relays. A relay is one I/O thread that connects to an outside RTMP server with FFmpeg's rtmp://
 * protocol (avio_open2(AVIO_FLAG_WRITE) takes raw FLV bytes: the 13-byte file header, then tags) and
 * writes the stream's shared FLV tags, which reach it by reference:
 *
 *   owner worker: live -> sink viewer (relay/viewer.h FRAMING_SINK: the same GOP-cache start, byte budget
 *   and skip-to-keyframe policy as a player) -> bounded queue (relay.queue_kb) -> I/O thread
 *
 * That part is relay/sink_feed.h, shared with the MP4 recorder: a full queue refuses entries, so they pile
 * up in the sink's budget and the sink skips to the next keyframe: a slow or dead server costs the worker
 * nothing but dropped frames. The sink exists only while a connection is up; each (re)connection attaches a
 * new one, which starts at the latest keyframe with the metadata and sequence headers, as a new RTMP
 * publisher must. Failures reconnect with exponential backoff
 * (1 s doubling up to relay.reconnect_max_s); the relay ends when its stream ends (the sink is finished:
 * the queue is written out first), on DELETE, or at shutdown.
 *
 * Rules ([relay] ruleN = pattern=url) are in rtmp_relay_rules.c.
 */
#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "relay/live.h"
#include "relay/rtmp_priv.h"
#include "relay/rtmp_relay_priv.h"
#include "relay/sink_feed.h"
#include "relay/viewer.h"

#define MODULE           "relay"
#define BACKOFF_START_MS 1000
#define STABLE_MS        30000 /* a connection up this long resets the backoff */
#define DETACH_WAIT_MS   5000
#define WRITE_BATCH      64

enum relay_state { RELAY_CONNECTING = 0, RELAY_LIVE, RELAY_RETRYING, RELAY_STOPPED };
static const char *const state_names[] = {"connecting", "live", "retrying", "stopped"};

struct rtmp_relay {
    atomic_int refs;
    atomic_bool abort; /* DELETE or shutdown: give up at once (FFmpeg's interrupt callback reads it) */
    char rid[16];
    char stream[STREAM_ID_MAX + 1];
    char url[RELAY_URL_MAX];
    char source[8];
    int worker;
    uint64_t stream_created_ms;
    struct rtmp_relay *next; /* registry */

    struct sink_feed feed; /* the stream's tags, by reference (relay/sink_feed.h) */

    pthread_mutex_t lock; /* what the API shows, and the backoff wait */
    pthread_cond_t cond;
    enum relay_state state;
    uint64_t bytes, reconnects, connected_since_ms;
    char error[128];
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_done = PTHREAD_COND_INITIALIZER;
static struct rtmp_relay *registry;
static int nrelays, running_threads;
static unsigned next_id;
static bool shutting_down;
static atomic_uint_fast64_t relay_bytes_total, relay_reconnects_total;

static size_t queue_max_bytes, sink_budget_bytes;
static int reconnect_max_ms, io_timeout_s;

static void relay_unref(struct rtmp_relay *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    sink_feed_destroy(&r->feed);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
}

static void relay_hold(void *owner)
{
    atomic_fetch_add(&((struct rtmp_relay *)owner)->refs, 1);
}

static void relay_release(void *owner)
{
    relay_unref(owner);
}

static void set_state(struct rtmp_relay *r, enum relay_state st, const char *error)
{
    pthread_mutex_lock(&r->lock);
    r->state = st;
    if (error) snprintf(r->error, sizeof r->error, "%s", error);
    if (st == RELAY_LIVE) r->connected_since_ms = clock_wall_ms();
    pthread_mutex_unlock(&r->lock);
}

/* ---- the I/O thread ---- */

static int interrupt_cb(void *arg)
{
    struct rtmp_relay *r = arg;
    return atomic_load(&r->abort);
}

/* Waits on the relay's condition for at most ms (or until signalled). Lock held. */
static void wait_ms(struct rtmp_relay *r, int ms)
{
    struct timespec ts = clock_realtime_after_ms(ms);
    pthread_cond_timedwait(&r->cond, &r->lock, &ts);
}

/* Writes queued tags until the connection fails, the sink goes away or the stream ends (queue drained).
 * Returns true when the relay is over (ended or aborted). */
static bool pump(struct rtmp_relay *r, AVIOContext *pb)
{
    struct sink_feed_item batch[WRITE_BATCH];
    for (;;) {
        size_t n = sink_feed_take(&r->feed, batch, WRITE_BATCH);
        if (atomic_load(&r->abort)) {
            for (size_t i = 0; i < n; i++) gbuf_unref(batch[i].ref);
            return true;
        }
        if (n == 0) {
            pthread_mutex_lock(&r->feed.lock);
            bool over = r->feed.ended;
            pthread_mutex_unlock(&r->feed.lock);
            return over;
        }
        uint64_t written = 0;
        for (size_t i = 0; i < n; i++) {
            avio_write(pb, batch[i].ref->data + batch[i].off, (int)batch[i].len);
            written += batch[i].len;
            gbuf_unref(batch[i].ref);
        }
        avio_flush(pb);
        atomic_fetch_add_explicit(&relay_bytes_total, written, memory_order_relaxed);
        pthread_mutex_lock(&r->lock);
        r->bytes += written;
        pthread_mutex_unlock(&r->lock);
        if (pb->error < 0) {
            char msg[96];
            av_strerror(pb->error, msg, sizeof msg);
            set_state(r, RELAY_RETRYING, msg);
            return false;
        }
    }
}

/* Has the stream this relay belongs to gone (ended, or replaced by a new one with the same id)? */
static bool stream_gone(struct rtmp_relay *r)
{
    struct stream_entry e;
    return !directory_get(r->stream, &e) || e.created_ms != r->stream_created_ms;
}

/* One connection: open, attach the sink, pump, detach, close. Returns true when the relay is over. */
static bool run_connection(struct rtmp_relay *r)
{
    set_state(r, RELAY_CONNECTING, NULL);
    AVIOContext *pb = NULL;
    AVDictionary *opts = NULL;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%lld", (long long)io_timeout_s * 1000000);
    av_dict_set(&opts, "rw_timeout", timeout, 0);
    AVIOInterruptCB icb = {interrupt_cb, r};
    int rc = avio_open2(&pb, r->url, AVIO_FLAG_WRITE, &icb, &opts);
    av_dict_free(&opts);
    if (rc < 0) {
        char msg[96];
        av_strerror(rc, msg, sizeof msg);
        set_state(r, RELAY_RETRYING, msg);
        log_info(MODULE, "[%s] relay %s to %s: cannot connect: %s", r->stream, r->rid, r->url, msg);
        return atomic_load(&r->abort) || stream_gone(r);
    }
    sink_feed_attach(&r->feed);
    set_state(r, RELAY_LIVE, "");
    log_info(MODULE, "[%s] relay %s to %s: connected", r->stream, r->rid, r->url);
    bool over = pump(r, pb);
    /* take the sink away and wait until it is gone, so that nothing of this connection reaches the next */
    over = sink_feed_detach(&r->feed, DETACH_WAIT_MS) || over;
    avio_closep(&pb);
    return over || atomic_load(&r->abort);
}

static void *relay_main(void *arg)
{
    struct rtmp_relay *r = arg;
    pthread_setname_np(pthread_self(), "gbgate-relay");
    int backoff = BACKOFF_START_MS;
    for (;;) {
        uint64_t started = clock_mono_ms();
        if (run_connection(r)) break;
        if (clock_mono_ms() - started > STABLE_MS) backoff = BACKOFF_START_MS;
        pthread_mutex_lock(&r->lock);
        r->reconnects++;
        r->state = RELAY_RETRYING;
        wait_ms(r, backoff); /* woken early by abort */
        pthread_mutex_unlock(&r->lock);
        atomic_fetch_add_explicit(&relay_reconnects_total, 1, memory_order_relaxed);
        if (atomic_load(&r->abort) || stream_gone(r)) break;
        backoff = backoff * 2 > reconnect_max_ms ? reconnect_max_ms : backoff * 2;
    }
    set_state(r, RELAY_STOPPED, NULL);
    log_info(MODULE, "[%s] relay %s to %s stopped (%llu bytes, %llu reconnects)", r->stream, r->rid, r->url,
             (unsigned long long)r->bytes, (unsigned long long)r->reconnects);
    /* leave the registry (if DELETE did not already) */
    pthread_mutex_lock(&registry_lock);
    for (struct rtmp_relay **pp = &registry; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            nrelays--;
            relay_unref(r);
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    relay_unref(r); /* the thread's */
    gbuf_pool_drain();
    pthread_mutex_lock(&registry_lock);
    running_threads--;
    pthread_cond_broadcast(&threads_done);
    pthread_mutex_unlock(&registry_lock);
    return NULL;
}

int rtmp_relay_start(const char *stream, const char *url, const char *source, int worker,
                     uint64_t stream_created_ms, char rid[16])
{
    struct rtmp_relay *r = calloc(1, sizeof *r);
    if (!r) return ENOMEM;
    atomic_init(&r->refs, 2); /* registry + thread */
    snprintf(r->stream, sizeof r->stream, "%s", stream);
    snprintf(r->url, sizeof r->url, "%s", url);
    snprintf(r->source, sizeof r->source, "%s", source);
    r->worker = worker;
    r->stream_created_ms = stream_created_ms;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    pthread_mutex_lock(&registry_lock);
    /* the relay id names the sink viewer in the log, so it is taken before the feed exists */
    snprintf(r->rid, sizeof r->rid, "r%u", ++next_id);
    pthread_mutex_unlock(&registry_lock);
    char peer[64];
    snprintf(peer, sizeof peer, "relay %s", r->rid);
    struct sink_feed_config fc = {.stream = stream,
                                  .worker = worker,
                                  .stream_created_ms = stream_created_ms,
                                  .peer = peer,
                                  .kind = "relay",
                                  .sink_budget = sink_budget_bytes,
                                  .queue_bytes = queue_max_bytes,
                                  .queue_entries = 1024,
                                  .owner = r,
                                  .hold = relay_hold,
                                  .release = relay_release};
    if (sink_feed_init(&r->feed, &fc) != 0) {
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r);
        return ENOMEM;
    }
    pthread_mutex_lock(&registry_lock);
    if (shutting_down || nrelays >= RELAY_MAX) {
        pthread_mutex_unlock(&registry_lock);
        atomic_store(&r->refs, 1);
        relay_unref(r);
        return ENOSPC;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = pthread_create(&t, &attr, relay_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_unlock(&registry_lock);
        atomic_store(&r->refs, 1);
        relay_unref(r);
        return EAGAIN;
    }
    r->next = registry;
    registry = r;
    nrelays++;
    running_threads++;
    pthread_mutex_unlock(&registry_lock);
    rtmp_count(&rtmp_counters.relay_starts);
    snprintf(rid, 16, "%s", r->rid);
    log_info(MODULE, "[%s] relay %s to %s started (%s)", stream, r->rid, url, source);
    return 0;
}

static void request_abort(struct rtmp_relay *r)
{
    atomic_store(&r->abort, true);
    sink_feed_stop(&r->feed);
    pthread_mutex_lock(&r->lock);
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

int rtmp_relay_delete(const char *stream, const char *rid)
{
    struct rtmp_relay *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (struct rtmp_relay **pp = &registry; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->rid, rid) && !strcmp((*pp)->stream, stream)) {
            found = *pp;
            *pp = found->next;
            nrelays--;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    if (!found) return ENOENT;
    request_abort(found);
    relay_unref(found); /* the registry's */
    return 0;
}

void rtmp_relays_shutdown(void)
{
    pthread_mutex_lock(&registry_lock);
    if (shutting_down) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    shutting_down = true;
    for (struct rtmp_relay *r = registry; r; r = r->next) request_abort(r);
    struct timespec ts = clock_realtime_after_ms(10000);
    while (running_threads > 0)
        if (pthread_cond_timedwait(&threads_done, &registry_lock, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&registry_lock);
}

/* ---- API views ---- */

static json_t *relay_json(struct rtmp_relay *r)
{
    pthread_mutex_lock(&r->lock);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:s?}", "id", r->rid, "url", r->url, "source",
                          r->source, "state", state_names[r->state], "bytes", (json_int_t)r->bytes,
                          "reconnects", (json_int_t)r->reconnects, "dropped_tags",
                          (json_int_t)sink_feed_dropped(&r->feed), "error", r->error[0] ? r->error : NULL);
    if (r->state == RELAY_LIVE)
        json_object_set_new(o, "connected_s",
                            json_integer((json_int_t)((clock_wall_ms() - r->connected_since_ms) / 1000)));
    pthread_mutex_unlock(&r->lock);
    return o;
}

json_t *rtmp_relays_json(const char *stream_id)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&registry_lock);
    for (struct rtmp_relay *r = registry; r; r = r->next)
        if (!strcmp(r->stream, stream_id)) json_array_append_new(arr, relay_json(r));
    pthread_mutex_unlock(&registry_lock);
    return arr;
}

void rtmp_relays_metrics(struct sbuf *b)
{
    pthread_mutex_lock(&registry_lock);
    int n = nrelays;
    pthread_mutex_unlock(&registry_lock);
    sbuf_printf(b,
                "# HELP gbgate_rtmp_relays RTMP push relays\n# TYPE gbgate_rtmp_relays gauge\n"
                "gbgate_rtmp_relays %d\n",
                n);
    sbuf_printf(b,
                "# HELP gbgate_rtmp_relay_bytes_total bytes pushed by RTMP relays\n"
                "# TYPE gbgate_rtmp_relay_bytes_total counter\ngbgate_rtmp_relay_bytes_total %llu\n",
                (unsigned long long)atomic_load(&relay_bytes_total));
    sbuf_printf(
        b,
        "# HELP gbgate_rtmp_relay_reconnects_total RTMP relay reconnections\n"
        "# TYPE gbgate_rtmp_relay_reconnects_total counter\ngbgate_rtmp_relay_reconnects_total %llu\n",
        (unsigned long long)atomic_load(&relay_reconnects_total));
}

/* ---- limits ---- */

void rtmp_relays_init(const struct gb_config *cfg)
{
    queue_max_bytes = (size_t)cfg->relay.queue_kb * 1024;
    sink_budget_bytes = (size_t)cfg->stream.viewer_queue_kb * 1024;
    reconnect_max_ms = cfg->relay.reconnect_max_s * 1000;
    io_timeout_s = cfg->relay.timeout_s;
    rtmp_relay_rules_init(cfg);
}
