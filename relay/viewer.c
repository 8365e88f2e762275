/*
 * Viewer output queue and writer. Tags are shared; each entry only adds a reference and a few bytes of
 * framing. Writes are batched: pushing marks the viewer dirty, and the worker's flush hook (a uv_check
 * after each I/O round) writes every dirty viewer with one writev, so a burst of tags costs one syscall.
 * What a worker writes in one loop round is bounded (ROUND_WRITE_BUDGET): past it, viewers wait for the next
 * round with their sockets polled for writing, so the worker reads its RTP sockets in between. Without the
 * bound, a thousand viewers joining at once (each sent its GOP, ~250 KB) kept a worker writing for longer
 * than its UDP receive buffer lasts, and ingest lost packets (docs/PERFORMANCE.md).
 *
 * An entry is written as a sequence of pieces: HTTP/WebSocket: pre, tag, post. RTMP media: the type-0
 * chunk header, then the tag body cut at chunk_size with a type-3 header between the pieces. The partial
 * write accounting only counts bytes, so a write may stop anywhere, even inside a chunk header.
 */
#include "relay/viewer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "media/worker.h"
#include "relay/rtmp_chunk.h"

#define MODULE            "viewer"
#define IOV_BATCH         256
#define SKIPS_BEFORE_KICK 3
#define SKIP_WINDOW_MS    30000
/* Queue slots a viewer starts with (48 B each). The queue doubles when a join brings a longer GOP (audio
 * frames, say); starting at 256 cost 9 KB per viewer that most viewers never used. */
#define VIEWER_QUEUE_INITIAL 64
/* ~2 ms of copying: steady state writes a frame per viewer per round, far below it */
#define ROUND_WRITE_BUDGET (4u << 20)

/* Viewers to write at the end of the round, in the order their first tag of the round arrived: with batched
 * wakeups (media.rx_coalesce_us) a round completes several frames, and the oldest goes out first. */
static _Thread_local struct viewer *dirty_head, *dirty_last;
static _Thread_local struct viewer *all_head;
static _Thread_local size_t round_written; /* bytes written to viewers in this loop round */

static void viewer_mark_dirty(struct viewer *v)
{
    if (v->dirty || v->closing) return;
    v->dirty = true;
    v->dirty_next = NULL;
    if (dirty_last)
        dirty_last->dirty_next = v;
    else
        dirty_head = v;
    dirty_last = v;
}

static void on_poll(uv_poll_t *h, int status, int events);

static struct viewer *viewer_new(struct worker *w, int fd, enum viewer_framing framing, size_t budget,
                                 const struct viewer_ops *ops, void *ops_arg, const char *peer,
                                 const char *kind)
{
    struct viewer *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->w = w;
    v->fd = fd;
    v->framing = framing;
    v->budget = budget;
    v->ops = ops;
    v->ops_arg = ops_arg;
    v->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    v->q_cap = VIEWER_QUEUE_INITIAL; /* doubles on demand (grow_queue): a GOP of video fits at once */
    v->q = calloc(v->q_cap, sizeof *v->q);
    if (!v->q) {
        free(v);
        return NULL;
    }
    v->joined_ms = clock_mono_ms();
    snprintf(v->peer, sizeof v->peer, "%s", peer ? peer : "?");
    snprintf(v->kind, sizeof v->kind, "%s", kind);
    v->all_next = all_head;
    if (all_head) all_head->all_prev = v;
    all_head = v;
    return v;
}

struct viewer *viewer_create(struct worker *w, int fd, enum viewer_framing framing, size_t budget,
                             const struct viewer_ops *ops, void *ops_arg, const char *peer, const char *kind)
{
    struct viewer *v = viewer_new(w, fd, framing, budget, ops, ops_arg, peer, kind);
    if (!v) return NULL;
    uv_poll_init(worker_loop(w), &v->poll, fd);
    v->poll.data = v;
    uv_poll_start(&v->poll, UV_READABLE | UV_DISCONNECT, on_poll);
    return v;
}

struct viewer *viewer_create_sink(struct worker *w, size_t budget, const struct viewer_ops *ops,
                                  void *ops_arg, const char *peer, const char *kind)
{
    struct viewer *v = viewer_new(w, -1, FRAMING_SINK, budget, ops, ops_arg, peer, kind);
    if (v) v->never_kick = true;
    return v;
}

static struct viewer_out_entry *entry_at(struct viewer *v, uint32_t i)
{
    return &v->q[(v->q_head + i) & (v->q_cap - 1)];
}

/* Bytes the entry takes on the wire. */
static uint32_t entry_wire_len(const struct viewer *v, const struct viewer_out_entry *e)
{
    uint32_t n = e->pre_len + e->len + e->post_len;
    if (e->chunked && e->len > v->chunk_size) n += (e->len - 1) / v->chunk_size * e->sep_len;
    return n;
}

/* Piece i of the entry on the wire; false past the last one. Pieces may be empty. */
static bool entry_piece(const struct viewer *v, const struct viewer_out_entry *e, uint32_t i,
                        const uint8_t **p, uint32_t *len)
{
    const uint8_t *body = e->ref->data + e->off;
    if (i == 0) {
        *p = e->pre;
        *len = e->pre_len;
        return true;
    }
    if (!e->chunked) {
        if (i > 2) return false;
        *p = i == 1 ? body : e->post;
        *len = i == 1 ? e->len : e->post_len;
        return true;
    }
    /* pre, chunk 0, sep, chunk 1, sep, chunk 2, ...: odd pieces are chunks, even ones the separators */
    uint32_t k = i & 1 ? (i - 1) / 2 : i / 2;
    uint64_t start = (uint64_t)k * v->chunk_size;
    if (start >= e->len) return false;
    if (i & 1) {
        *p = body + start;
        *len = e->len - (uint32_t)start < v->chunk_size ? e->len - (uint32_t)start : v->chunk_size;
    } else {
        *p = e->sep;
        *len = e->sep_len;
    }
    return true;
}

static bool grow_queue(struct viewer *v)
{
    uint32_t ncap = v->q_cap * 2;
    struct viewer_out_entry *n = malloc(ncap * sizeof *n);
    if (!n) return false;
    for (uint32_t i = 0; i < v->q_count; i++) n[i] = *entry_at(v, i);
    free(v->q);
    v->q = n;
    v->q_cap = ncap;
    v->q_head = 0;
    return true;
}

/* "<len in hex>\r\n": per tag per viewer, so by hand rather than snprintf (0.5% of gbgate's samples). */
static uint8_t chunk_size_line(uint8_t out[16], uint32_t len)
{
    static const char digits[] = "0123456789abcdef";
    int n = 1;
    while (n < 8 && (len >> (4 * n))) n++;
    for (int i = 0; i < n; i++) out[i] = (uint8_t)digits[(len >> (4 * (n - 1 - i))) & 0xf];
    out[n] = '\r';
    out[n + 1] = '\n';
    return (uint8_t)(n + 2);
}

static void set_framing(struct viewer *v, struct viewer_out_entry *e, bool frame)
{
    e->pre_len = e->post_len = 0;
    if (!frame) return;
    if (v->framing == FRAMING_HTTP_CHUNKED) {
        e->pre_len = chunk_size_line(e->pre, e->len);
        memcpy(e->post, "\r\n", 2);
        e->post_len = 2;
    } else if (v->framing == FRAMING_WEBSOCKET) {
        /* binary frame, FIN, server frames are not masked */
        e->pre[0] = 0x82;
        if (e->len < 126) {
            e->pre[1] = (uint8_t)e->len;
            e->pre_len = 2;
        } else if (e->len < 65536) {
            e->pre[1] = 126;
            e->pre[2] = (uint8_t)(e->len >> 8);
            e->pre[3] = (uint8_t)e->len;
            e->pre_len = 4;
        } else {
            e->pre[1] = 127;
            for (int i = 0; i < 8; i++) e->pre[2 + i] = (uint8_t)((uint64_t)e->len >> (56 - 8 * i));
            e->pre_len = 10;
        }
    }
}

/* A new entry at the tail (its fields are the caller's to fill), or NULL when the viewer had to close. */
static struct viewer_out_entry *enqueue_slot(struct viewer *v, struct gbuf *ref)
{
    if (v->q_count == v->q_cap && !grow_queue(v)) {
        gbuf_unref(ref);
        viewer_close(v, "out of memory");
        return NULL;
    }
    struct viewer_out_entry *e = entry_at(v, v->q_count++);
    memset(e, 0, sizeof *e);
    e->ref = ref;
    return e;
}

static void enqueue_done(struct viewer *v, struct viewer_out_entry *e)
{
    v->queued_bytes += entry_wire_len(v, e);
    viewer_mark_dirty(v);
}

static void enqueue(struct viewer *v, struct gbuf *ref, uint32_t off, uint32_t len, bool key, bool frame,
                    bool tag)
{
    struct viewer_out_entry *e = enqueue_slot(v, ref);
    if (!e) return;
    e->off = off;
    e->len = len;
    e->key = key;
    e->tag = tag;
    set_framing(v, e, frame);
    enqueue_done(v, e);
}

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* An FLV tag as one RTMP message: type-0 header from the tag header, body = the tag minus its 11-byte header
 * and 4-byte PreviousTagSize. */
static void enqueue_rtmp_tag(struct viewer *v, const struct flv_tag *tag, bool key, bool droppable)
{
    const uint8_t *t = tag->buf->data + tag->off;
    uint8_t type = t[0] & 0x1f;
    uint32_t body_len = be24(t + 1), ts = be24(t + 4) | (uint32_t)t[7] << 24;
    if (tag->len < 15 || body_len != tag->len - 15) return; /* not a tag we built: never sent half */
    uint32_t csid = type == FLV_TAG_AUDIO   ? VIEWER_RTMP_CSID_AUDIO
                    : type == FLV_TAG_VIDEO ? VIEWER_RTMP_CSID_VIDEO
                                            : VIEWER_RTMP_CSID_DATA;
    struct viewer_out_entry *e = enqueue_slot(v, gbuf_ref(tag->buf));
    if (!e) return;
    uint8_t h0[RTMP_CHUNK_HEADER_MAX], h3[7];
    e->off = tag->off + 11;
    e->len = body_len;
    e->key = key;
    e->tag = droppable;
    e->chunked = true;
    e->pre_len = (uint8_t)rtmp_chunk_header0(h0, csid, ts, body_len, type, VIEWER_RTMP_STREAM_ID);
    memcpy(e->pre, h0, e->pre_len);
    e->sep_len = (uint8_t)rtmp_chunk_header3(h3, csid, ts);
    memcpy(e->sep, h3, e->sep_len);
    enqueue_done(v, e);
}

void viewer_push_bytes(struct viewer *v, const void *p, size_t len, bool frame)
{
    if (v->closing) return;
    if (frame && v->framing == FRAMING_RTMP) return; /* the FLV file header: RTMP has none */
    struct gbuf *b = gbuf_alloc(len);
    memcpy(b->data, p, len);
    enqueue(v, b, 0, (uint32_t)len, false, frame, false);
}

/* Drops every tag not yet started (the head entry may be half written: it must finish, or the byte stream
 * would be corrupt). Headers and protocol messages stay, in order. */
static void drop_unsent(struct viewer *v)
{
    uint32_t keep = v->head_sent > 0 ? 1 : 0, out = keep;
    for (uint32_t i = keep; i < v->q_count; i++) {
        struct viewer_out_entry *e = entry_at(v, i);
        if (!e->tag) {
            *entry_at(v, out++) = *e;
            continue;
        }
        v->queued_bytes -= entry_wire_len(v, e);
        gbuf_unref(e->ref);
        v->tags_dropped++;
    }
    v->q_count = out;
}

/* A tag in the viewer's framing; `droppable`: a media tag the skip policy may drop. */
static void enqueue_tag(struct viewer *v, const struct flv_tag *tag, bool key, bool droppable)
{
    if (v->framing == FRAMING_RTMP)
        enqueue_rtmp_tag(v, tag, key, droppable);
    else
        enqueue(v, gbuf_ref(tag->buf), tag->off, tag->len, key, true, droppable);
}

void viewer_push_tag(struct viewer *v, const struct flv_tag *tag)
{
    if (v->closing || v->finishing) return;
    bool video_key = tag->type == FLV_TAG_VIDEO && tag->key;
    if (v->waiting_key) {
        if (!video_key) {
            v->tags_dropped++;
            return;
        }
        v->waiting_key = false;
    }
    if (v->queued_bytes + tag->len > v->budget) {
        uint64_t now = clock_mono_ms();
        if (now - v->last_skip_ms > SKIP_WINDOW_MS) v->skips_recent = 0;
        v->last_skip_ms = now;
        if (++v->skips_recent > SKIPS_BEFORE_KICK && !v->never_kick) {
            viewer_close(v, "too slow: kept falling behind");
            return;
        }
        log_info(MODULE, "%s viewer %s is %zu KiB behind: skipping to the next keyframe", v->kind, v->peer,
                 v->queued_bytes / 1024);
        drop_unsent(v);
        if (!video_key) {
            v->waiting_key = true;
            v->tags_dropped++;
            return;
        }
    }
    enqueue_tag(v, tag, video_key, true);
}

void viewer_push_header(struct viewer *v, const struct flv_tag *tag)
{
    if (v->closing || v->finishing) return;
    enqueue_tag(v, tag, false, false);
}

/* Removes the head entry once fully handed on; `release`: drop our reference (false when it moved). */
static void pop_head(struct viewer *v, bool release)
{
    struct viewer_out_entry *e = entry_at(v, 0);
    v->queued_bytes -= entry_wire_len(v, e);
    if (release) gbuf_unref(e->ref);
    v->q_head = (v->q_head + 1) & (v->q_cap - 1);
    v->q_count--;
    v->head_sent = 0;
}

static void flush_sink(struct viewer *v)
{
    while (v->q_count > 0 && !v->closing) {
        struct viewer_out_entry *e = entry_at(v, 0);
        if (!v->ops->take(v, e->ref, e->off, e->len, e->key)) return; /* full: offered again later */
        v->bytes_sent += e->len;
        pop_head(v, false);
    }
    if (v->finishing && v->q_count == 0 && !v->closing) viewer_close(v, v->finish_reason);
}

void viewer_flush(struct viewer *v)
{
    if (v->framing == FRAMING_SINK) {
        flush_sink(v);
        return;
    }
    while (v->q_count > 0 && !v->closing && round_written < ROUND_WRITE_BUDGET) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        uint32_t skip = v->head_sent;
        for (uint32_t i = 0; i < v->q_count && n < IOV_BATCH; i++) {
            struct viewer_out_entry *e = entry_at(v, i);
            const uint8_t *part;
            uint32_t len;
            for (uint32_t k = 0; n < IOV_BATCH && entry_piece(v, e, k, &part, &len); k++) {
                if (len <= skip) {
                    skip -= len;
                    continue;
                }
                iov[n].iov_base = (void *)(part + skip);
                iov[n].iov_len = len - skip;
                skip = 0;
                n++;
            }
        }
        ssize_t w = writev(v->fd, iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            viewer_close(v, errno == EPIPE || errno == ECONNRESET ? "client closed" : strerror(errno));
            return;
        }
        v->bytes_sent += (uint64_t)w;
        round_written += (size_t)w;
        size_t left = (size_t)w;
        while (left > 0 && v->q_count > 0) {
            uint32_t rest = entry_wire_len(v, entry_at(v, 0)) - v->head_sent;
            if (left >= rest) {
                left -= rest;
                pop_head(v, true);
            } else {
                v->head_sent += (uint32_t)left;
                left = 0;
            }
        }
    }
    if (v->finishing && v->q_count == 0 && !v->closing) {
        viewer_close(v, v->finish_reason);
        return;
    }
    bool need_write = v->q_count > 0;
    if (need_write != v->want_write && !v->closing) {
        v->want_write = need_write;
        uv_poll_start(&v->poll, UV_READABLE | UV_DISCONNECT | (need_write ? UV_WRITABLE : 0), on_poll);
    }
}

void viewer_sink_resume(struct viewer *v)
{
    if (!v->closing && v->framing == FRAMING_SINK) flush_sink(v);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct viewer *v = h->data;
    if (v->closing) return;
    if (status < 0) { /* libuv reports POLLERR (a reset connection) as UV_EBADF */
        viewer_close(v, status == UV_EBADF ? "connection reset" : uv_strerror(status));
        return;
    }
    if (events & UV_READABLE) {
        uint8_t buf[4096];
        ssize_t n = read(v->fd, buf, sizeof buf);
        if (n == 0) {
            viewer_close(v, "client closed");
            return;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            viewer_close(v, "client closed");
            return;
        }
        if (n > 0 && v->ops && v->ops->on_read && !v->ops->on_read(v, buf, (size_t)n)) {
            viewer_close(v, "protocol error");
            return;
        }
        if (v->closing) return;
    }
    if (events & UV_DISCONNECT) {
        viewer_close(v, "client closed");
        return;
    }
    if (events & UV_WRITABLE) viewer_flush(v);
}

void viewer_finish(struct viewer *v, const char *reason)
{
    if (v->closing || v->finishing) return;
    if (v->ops && v->ops->on_finish) v->ops->on_finish(v);
    if (v->framing == FRAMING_HTTP_CHUNKED) {
        viewer_push_bytes(v, "0\r\n\r\n", 5, false);
    } else if (v->framing == FRAMING_WEBSOCKET) {
        static const uint8_t close_frame[] = {0x88, 0x02, 0x03, 0xe9}; /* close, 1001 going away */
        viewer_push_bytes(v, close_frame, sizeof close_frame, false);
    }
    v->finishing = true;
    snprintf(v->finish_reason, sizeof v->finish_reason, "%s", reason);
    viewer_flush(v);
}

static void viewer_free(struct viewer *v)
{
    free(v->q);
    free(v);
}

static void viewer_free_cb(uv_handle_t *h)
{
    viewer_free(h->data);
}

/* The memory goes now (sinks) or once libuv is done with the poll handle. */
static void viewer_release(struct viewer *v)
{
    if (v->framing == FRAMING_SINK)
        viewer_free(v);
    else
        uv_close((uv_handle_t *)&v->poll, viewer_free_cb);
}

void viewer_close(struct viewer *v, const char *reason)
{
    if (v->closing) return;
    v->closing = true;
    log_info(MODULE, "%s viewer %s left: %s (sent %llu bytes, dropped %llu tags)", v->kind, v->peer, reason,
             (unsigned long long)v->bytes_sent, (unsigned long long)v->tags_dropped);
    if (v->ops && v->ops->on_close) v->ops->on_close(v);
    if (v->all_prev)
        v->all_prev->all_next = v->all_next;
    else if (all_head == v)
        all_head = v->all_next;
    if (v->all_next) v->all_next->all_prev = v->all_prev;
    for (uint32_t i = 0; i < v->q_count; i++) gbuf_unref(entry_at(v, i)->ref);
    v->q_count = 0;
    if (v->framing != FRAMING_SINK) {
        uv_poll_stop(&v->poll);
        close(v->fd);
    }
    v->fd = -1;
    /* a dirty viewer stays on the dirty list until the next flush pass, which skips closing viewers */
    if (!v->dirty) viewer_release(v);
}

void viewer_close_all(void)
{
    while (all_head) viewer_close(all_head, "shutdown");
    viewer_flush_dirty(NULL); /* releases the ones that were waiting on the dirty list */
}

void viewer_flush_dirty(struct worker *w)
{
    struct viewer *v = dirty_head;
    dirty_head = dirty_last = NULL;
    while (v) {
        struct viewer *next = v->dirty_next;
        v->dirty = false;
        if (v->closing)
            viewer_release(v);
        else
            viewer_flush(v);
        v = next;
    }
    round_written = 0; /* the next round (its writable sockets, then this flush) starts a new budget */
}
