/*
 * The sink viewer and bounded queue between a stream's worker and a consumer thread (API and policy in
 * sink_feed.h). Worker side: take() queues references or refuses them; closed() records whether the stream
 * ended or only the sink went away. Consumer side: waits on a condition, takes batches, and posts a resume
 * task to the worker when it refused entries before (so the sink offers them again).
 */
#include "relay/sink_feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "media/stream.h"
#include "media/worker.h"
#include "relay/live.h"
#include "relay/viewer.h"

static void wait_ms(struct sink_feed *f, int ms)
{
    struct timespec ts = clock_realtime_after_ms(ms);
    pthread_cond_timedwait(&f->cond, &f->lock, &ts);
}

static struct sink_feed_item *slot(struct sink_feed *f, size_t i)
{
    return &f->q[(f->q_head + i) % f->cfg.queue_entries];
}

static void drop_queue_locked(struct sink_feed *f)
{
    for (size_t i = 0; i < f->q_count; i++) gbuf_unref(slot(f, i)->ref);
    f->q_head = f->q_count = f->q_bytes = 0;
}

int sink_feed_init(struct sink_feed *f, const struct sink_feed_config *cfg)
{
    memset(f, 0, sizeof *f);
    f->cfg = *cfg;
    snprintf(f->stream, sizeof f->stream, "%s", cfg->stream);
    snprintf(f->peer, sizeof f->peer, "%s", cfg->peer);
    snprintf(f->kind, sizeof f->kind, "%s", cfg->kind);
    f->cfg.stream = f->cfg.peer = f->cfg.kind = NULL;
    if (f->cfg.queue_entries == 0) f->cfg.queue_entries = 1024;
    f->q = calloc(f->cfg.queue_entries, sizeof *f->q);
    if (!f->q) return ENOMEM;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    return 0;
}

void sink_feed_destroy(struct sink_feed *f)
{
    if (!f->q) return;
    drop_queue_locked(f);
    free(f->q);
    f->q = NULL;
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->cond);
}

/* ---- worker side ---- */

static bool sink_take(struct viewer *v, struct gbuf *ref, uint32_t off, uint32_t len, bool key)
{
    struct sink_feed *f = v->ops_arg;
    (void)key;
    pthread_mutex_lock(&f->lock);
    f->dropped = v->tags_dropped;
    if (f->q_count == f->cfg.queue_entries || (f->q_count > 0 && f->q_bytes + len > f->cfg.queue_bytes)) {
        f->blocked = true;
        pthread_mutex_unlock(&f->lock);
        return false;
    }
    *slot(f, f->q_count++) = (struct sink_feed_item){ref, off, len};
    f->q_bytes += len;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    return true;
}

static void sink_closed(struct viewer *v)
{
    struct sink_feed *f = v->ops_arg;
    live_viewer_closed(v);
    f->sink = NULL;
    pthread_mutex_lock(&f->lock);
    f->attached = false;
    f->dropped = v->tags_dropped;
    if (v->finishing)
        f->ended = true;
    else
        f->detached = true;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    f->cfg.release(f->cfg.owner); /* the sink's reference */
}

static const struct viewer_ops sink_ops = {NULL, sink_closed, NULL, sink_take};

static void attach_task(void *arg)
{
    struct sink_feed *f = arg;
    struct worker *w = worker_current();
    struct live *l = live_find(w, f->stream);
    const struct stream_entry *e = l ? stream_entry(worker_find_stream(w, f->stream)) : NULL;
    bool same_stream = e && e->created_ms == f->cfg.stream_created_ms;
    struct viewer *v = NULL;
    if (same_stream && !atomic_load(&f->stop))
        v = viewer_create_sink(w, f->cfg.sink_budget, &sink_ops, f, f->peer, f->kind);
    pthread_mutex_lock(&f->lock);
    f->attach_pending = false;
    if (v)
        f->attached = true;
    else
        f->ended = true; /* the stream is gone (or the consumer stopped meanwhile) */
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
    if (v) {
        f->cfg.hold(f->cfg.owner); /* the sink's, released in sink_closed */
        f->sink = v;
        live_add_viewer(l, v);
    }
    f->cfg.release(f->cfg.owner); /* the task's */
}

static void detach_task(void *arg)
{
    struct sink_feed *f = arg;
    if (f->sink) viewer_close(f->sink, "finished");
    f->cfg.release(f->cfg.owner);
}

static void resume_task(void *arg)
{
    struct sink_feed *f = arg;
    if (f->sink) viewer_sink_resume(f->sink);
    f->cfg.release(f->cfg.owner);
}

static bool post_to_worker(struct sink_feed *f, task_fn fn)
{
    f->cfg.hold(f->cfg.owner);
    if (worker_post(f->cfg.worker, fn, f) == 0) return true;
    f->cfg.release(f->cfg.owner); /* the consumer still holds one: never the last */
    return false;
}

/* ---- consumer side ---- */

void sink_feed_attach(struct sink_feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->detached = false;
    f->attach_pending = true;
    pthread_mutex_unlock(&f->lock);
    if (!post_to_worker(f, attach_task)) {
        pthread_mutex_lock(&f->lock);
        f->attach_pending = false;
        f->ended = true;
        pthread_mutex_unlock(&f->lock);
    }
}

size_t sink_feed_take(struct sink_feed *f, struct sink_feed_item *out, size_t max)
{
    pthread_mutex_lock(&f->lock);
    while (f->q_count == 0 && !f->ended && !f->detached && !atomic_load(&f->stop)) wait_ms(f, 1000);
    size_t n = 0;
    while (n < max && f->q_count > 0) {
        out[n++] = *slot(f, 0);
        f->q_bytes -= f->q[f->q_head].len;
        f->q_head = (f->q_head + 1) % f->cfg.queue_entries;
        f->q_count--;
    }
    bool resume = n > 0 && f->blocked;
    if (resume) f->blocked = false;
    pthread_mutex_unlock(&f->lock);
    if (resume) post_to_worker(f, resume_task);
    return n;
}

void sink_feed_stop(struct sink_feed *f)
{
    atomic_store(&f->stop, true);
    pthread_mutex_lock(&f->lock);
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

bool sink_feed_detach(struct sink_feed *f, int wait_ms_max)
{
    post_to_worker(f, detach_task);
    pthread_mutex_lock(&f->lock);
    uint64_t until = clock_mono_ms() + (uint64_t)wait_ms_max;
    while ((f->attached || f->attach_pending) && clock_mono_ms() < until) wait_ms(f, 100);
    drop_queue_locked(f);
    bool ended = f->ended;
    pthread_mutex_unlock(&f->lock);
    return ended;
}

uint64_t sink_feed_dropped(struct sink_feed *f)
{
    pthread_mutex_lock(&f->lock);
    uint64_t d = f->dropped;
    pthread_mutex_unlock(&f->lock);
    return d;
}
