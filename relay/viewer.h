/*
 * A viewer: one client connection receiving a stream's shared FLV tags. The queue holds references to the
 * tags (never copies) plus a few framing bytes per entry (HTTP chunk header/trailer, WebSocket frame header),
 * and is written with writev once per loop round. Over its byte budget (stream.viewer_queue_kb) a viewer
 * drops what it has not started writing and skips to the next keyframe; one that keeps falling behind is
 * closed. Runs on the stream's owning worker only.
 */
#ifndef GB_RELAY_VIEWER_H
#define GB_RELAY_VIEWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "relay/flv.h"

enum viewer_framing { FRAMING_RAW = 0, FRAMING_HTTP_CHUNKED, FRAMING_WEBSOCKET };

struct viewer;
struct live;

struct viewer_out_entry {
    struct gbuf *ref; /* tag bytes: ref->data[off, off+len) */
    uint32_t off, len;
    uint8_t pre[14], post[2]; /* framing around the tag */
    uint8_t pre_len, post_len;
    bool key; /* starts a keyframe: a safe place to resume after skipping */
};

struct viewer_ops {
    /* bytes arrived from the client (WebSocket frames); return false to close the viewer */
    bool (*on_read)(struct viewer *v, const uint8_t *p, size_t len);
    void (*on_close)(struct viewer *v);
};

struct viewer {
    struct viewer *next, *prev; /* in the live stream's list */
    struct live *live;
    struct worker *w;
    int fd;
    uv_poll_t poll;
    enum viewer_framing framing;
    const struct viewer_ops *ops;
    void *ops_arg;
    char peer[64];
    char kind[8]; /* "flv", "ws-flv", "rtmp" */

    struct viewer_out_entry *q;
    uint32_t q_head, q_count, q_cap; /* ring */
    uint32_t head_sent;              /* bytes of the head entry already written */
    size_t queued_bytes, budget;

    bool started;      /* header and sequence headers sent */
    bool waiting_key;  /* skipping until the next keyframe */
    bool dirty;        /* has data to flush this round */
    bool want_write;   /* blocked: waiting for POLLOUT */
    bool closing;
    bool finishing; /* the stream ended: close once the queue has drained */
    char finish_reason[48];
    int skips_recent;
    uint64_t last_skip_ms;
    uint64_t bytes_sent, tags_dropped;
    uint64_t joined_ms;
    struct viewer *dirty_next;
    struct viewer *all_next, *all_prev; /* every viewer of this worker */
};

/* Takes over fd (non-blocking) on worker w. */
struct viewer *viewer_create(struct worker *w, int fd, enum viewer_framing framing, size_t budget,
                             const struct viewer_ops *ops, void *ops_arg, const char *peer, const char *kind);
/* Queues raw bytes (response headers, FLV file header) owned by a new small buffer. */
void viewer_push_bytes(struct viewer *v, const void *p, size_t len, bool frame);
/* Queues a tag by reference (applies the budget policy). */
void viewer_push_tag(struct viewer *v, const struct flv_tag *tag);
/* Writes what is queued now (called from the worker's flush hook for dirty viewers). */
void viewer_flush(struct viewer *v);
/* The stream ended: queues the end of the response (HTTP last chunk / WebSocket close), writes what is
 * queued and closes once drained (or at once if the client is gone). */
void viewer_finish(struct viewer *v, const char *reason);
/* Closes the connection; the memory goes when libuv is done with the handle. */
void viewer_close(struct viewer *v, const char *reason);
/* Closes every viewer of the calling worker (shutdown). */
void viewer_close_all(void);
/* Flushes every viewer marked dirty on this worker (the worker's flush hook calls this). */
void viewer_flush_dirty(struct worker *w);

#endif
