/*
 * A stream's shared FLV tags handed, by reference, to a consumer on its own thread (recordings; the RTMP push
 * relays follow the same model in rtmp_relay.c):
 *
 *   owner worker: live -> sink viewer (relay/viewer.h FRAMING_SINK: GOP-cache start, byte budget,
 *   skip-to-keyframe) -> take() -> this bounded queue -> consumer thread (sink_feed_take)
 *
 * A full queue refuses entries; they pile up in the sink's budget and the sink skips to the next keyframe
 * (counted in sink_feed_dropped): a slow consumer costs the worker nothing but dropped frames. The consumer
 * asks for more once it made room. The feed lives inside an object of the consumer's (the owner), kept alive
 * by the owner's reference count while the sink or a task posted to the worker refers to it.
 */
#ifndef GB_RELAY_SINK_FEED_H
#define GB_RELAY_SINK_FEED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/directory.h"

struct viewer;
struct gbuf;

struct sink_feed_item {
    struct gbuf *ref; /* bytes ref->data[off, off+len): the FLV file header, then whole tags */
    uint32_t off, len;
};

struct sink_feed_config {
    const char *stream;         /* stream id */
    int worker;                 /* its owner worker */
    uint64_t stream_created_ms; /* tells the stream from a later one with the same id */
    const char *peer, *kind;    /* for the viewer's log lines ("recording rec3", "record") */
    size_t sink_budget;         /* the sink viewer's byte budget (stream.viewer_queue_kb) */
    size_t queue_bytes;         /* this queue's limit (an entry larger than it still passes an empty queue) */
    size_t queue_entries;
    void *owner;
    void (*hold)(void *owner), (*release)(void *owner); /* the owner's reference count */
};

struct sink_feed {
    struct sink_feed_config cfg;
    char stream[STREAM_ID_MAX + 1], peer[64], kind[8];
    atomic_bool stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock */
    struct sink_feed_item *q;
    size_t q_head, q_count, q_bytes;
    bool blocked;        /* an entry was refused: ask the sink for more once there is room */
    bool attach_pending; /* an attach task is on its way to the worker */
    bool attached;       /* a sink viewer exists */
    bool ended;          /* the stream ended (or was gone when attaching) */
    bool detached;       /* the sink went away without the stream ending */
    uint64_t dropped;    /* tags the sink skipped */

    struct viewer *sink; /* owner worker only */
};

/* Returns 0 or ENOMEM. */
int sink_feed_init(struct sink_feed *f, const struct sink_feed_config *cfg);
/* Releases what is still queued. */
void sink_feed_destroy(struct sink_feed *f);
/* Consumer thread: creates the sink on the stream's worker (at the stream's latest keyframe). */
void sink_feed_attach(struct sink_feed *f);
/* Consumer thread: waits for entries and moves up to max of them to out (the references move too). Returns 0
 * once the queue is empty and the stream ended, the sink went away, or sink_feed_stop() was called. */
size_t sink_feed_take(struct sink_feed *f, struct sink_feed_item *out, size_t max);
/* Any thread: makes sink_feed_take return what is queued, then 0. */
void sink_feed_stop(struct sink_feed *f);
/* Consumer thread: takes the sink away, waits (at most wait_ms) until it is gone, drops what is queued.
 * Returns true when the stream had ended. */
bool sink_feed_detach(struct sink_feed *f, int wait_ms);
uint64_t sink_feed_dropped(struct sink_feed *f);

#endif
