/*
 * A viewer: one client connection receiving a stream's shared FLV tags. The queue holds references to the
 * tags (never copies) plus a few framing bytes per entry (HTTP chunk header/trailer, WebSocket frame header),
 * and is written with writev once per loop round. Over its byte budget (stream.viewer_queue_kb) a viewer
 * drops what it has not started writing and skips to the next keyframe; one that keeps falling behind is
 * closed. Runs on the stream's owning worker only.
 *
 * Framings: HTTP chunked and WebSocket wrap each tag; RTMP (FRAMING_RTMP) sends each tag's body as one RTMP
 * message: the entry's `pre` holds the type-0 chunk header and the body goes out in chunk_size pieces, each
 * after the first preceded by a type-3 header, all as iovecs straight from the shared tag buffer (no
 * re-muxing per player). A sink (FRAMING_SINK, no socket) hands its entries, by reference, to a consumer on
 * another thread (RTMP push relays) instead of writing them.
 */
#ifndef GB_RELAY_VIEWER_H
#define GB_RELAY_VIEWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "relay/flv.h"

enum viewer_framing { FRAMING_RAW = 0, FRAMING_HTTP_CHUNKED, FRAMING_WEBSOCKET, FRAMING_RTMP, FRAMING_SINK };

/* RTMP chunk stream ids of the media messages (all type-0 headers on message stream 1). */
#define VIEWER_RTMP_CSID_AUDIO 4
#define VIEWER_RTMP_CSID_DATA  5
#define VIEWER_RTMP_CSID_VIDEO 6
#define VIEWER_RTMP_STREAM_ID  1

struct viewer;
struct live;

struct viewer_out_entry {
    struct gbuf *ref; /* tag bytes: ref->data[off, off+len) (RTMP: the tag body only) */
    uint32_t off, len;
    uint8_t pre[16], post[2]; /* framing around the tag (RTMP: pre = type-0 chunk header) */
    uint8_t pre_len, post_len;
    uint8_t sep[5], sep_len; /* RTMP: the type-3 header before each chunk after the first */
    bool chunked;            /* RTMP media message: the body goes out in chunk_size pieces separated by sep */
    bool tag; /* a media tag (may be dropped when behind); other entries (headers, control) never are */
    bool key; /* starts a keyframe: a safe place to resume after skipping */
};

struct viewer_ops {
    /* bytes arrived from the client (WebSocket frames, RTMP messages); return false to close the viewer */
    bool (*on_read)(struct viewer *v, const uint8_t *p, size_t len);
    void (*on_close)(struct viewer *v);
    /* the stream ended: queue the protocol's goodbye (RTMP onStatus) before the queue drains; optional */
    void (*on_finish)(struct viewer *v);
    /* FRAMING_SINK: offered each queued entry in order (bytes ref->data[off, off+len)); returns true when it
     * took the reference, false when it is full (the entry stays queued and is offered again later) */
    bool (*take)(struct viewer *v, struct gbuf *ref, uint32_t off, uint32_t len, bool key);
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
    char kind[8];        /* "flv", "ws-flv", "rtmp", "relay" */
    uint32_t chunk_size; /* FRAMING_RTMP: outgoing chunk size */
    bool never_kick;     /* keeps skipping to keyframes instead of being closed when it falls behind */

    struct viewer_out_entry *q;
    uint32_t q_head, q_count, q_cap; /* ring */
    uint32_t head_sent;              /* bytes of the head entry already written */
    size_t queued_bytes, budget;

    bool started;     /* header and sequence headers sent */
    bool waiting_key; /* skipping until the next keyframe */
    bool dirty;       /* has data to flush this round */
    bool want_write;  /* blocked: waiting for POLLOUT */
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
/* A viewer without a socket whose entries go to ops->take (FRAMING_SINK). It never kicks itself out: the
 * consumer has its own failure detection. */
struct viewer *viewer_create_sink(struct worker *w, size_t budget, const struct viewer_ops *ops,
                                  void *ops_arg, const char *peer, const char *kind);
/* Queues raw bytes (response headers, FLV file header) owned by a new small buffer. `frame`: wrap them like
 * a tag (HTTP chunk, WebSocket frame). RTMP has no FLV file header: framed bytes are not sent to an RTMP
 * viewer (they are only ever the FLV file header), unframed ones are complete RTMP chunks. */
void viewer_push_bytes(struct viewer *v, const void *p, size_t len, bool frame);
/* Sink viewers: offer what is queued to ops->take again (the consumer made room). */
void viewer_sink_resume(struct viewer *v);
/* Queues a tag by reference (applies the budget policy). */
void viewer_push_tag(struct viewer *v, const struct flv_tag *tag);
/* Queues a metadata or codec sequence-header tag: outside the budget policy, never dropped by a skip and
 * never held back while waiting for a keyframe (the frames after it cannot be decoded without it). */
void viewer_push_header(struct viewer *v, const struct flv_tag *tag);
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
