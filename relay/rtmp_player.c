/*
 * An RTMP player on the worker that owns its stream: a viewer with RTMP framing (relay/viewer.h) whose read
 * side feeds the moved session (acknowledgements, pings, pause, deleteStream), and whose replies go into
 * the viewer's queue between whole media messages. Also the players-per-stream table the API reads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "relay/live.h"
#include "relay/rtmp_priv.h"
#include "relay/viewer.h"

#define MODULE "rtmp"

struct rtmp_player {
    struct rtmp_session *s;
    struct viewer *v;
    char stream[STREAM_ID_MAX + 1];
};

/* ---- players per stream: a short table under a mutex, touched when a player starts or leaves ---- */

struct stream_count {
    char id[STREAM_ID_MAX + 1];
    int players;
};
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stream_count *counts;
static size_t ncounts, counts_cap;

static void players_add(const char *id, int delta)
{
    pthread_mutex_lock(&counts_lock);
    size_t i = 0;
    while (i < ncounts && strcmp(counts[i].id, id) != 0) i++;
    if (i == ncounts && delta > 0) {
        if (ncounts == counts_cap) {
            size_t ncap = counts_cap ? counts_cap * 2 : 16;
            struct stream_count *n = realloc(counts, ncap * sizeof *n);
            if (!n) goto out;
            counts = n;
            counts_cap = ncap;
        }
        snprintf(counts[ncounts].id, sizeof counts[ncounts].id, "%s", id);
        counts[ncounts++].players = 0;
    }
    if (i < ncounts) {
        counts[i].players += delta;
        if (counts[i].players <= 0) counts[i] = counts[--ncounts];
    }
out:
    pthread_mutex_unlock(&counts_lock);
}

int rtmp_players_of(const char *id)
{
    int n = 0;
    pthread_mutex_lock(&counts_lock);
    for (size_t i = 0; i < ncounts; i++)
        if (!strcmp(counts[i].id, id)) n = counts[i].players;
    pthread_mutex_unlock(&counts_lock);
    return n;
}

/* ---- the player ---- */

static void player_send(void *arg, const uint8_t *p, size_t len)
{
    struct rtmp_player *pl = arg;
    viewer_push_bytes(pl->v, p, len, false);
}

/* Pausing leaves the stream (a paused player is not watching); resuming joins again at the latest keyframe
 * with fresh metadata and sequence headers, as players expect after Unpause. */
static void player_pause(void *arg, bool pause)
{
    struct rtmp_player *pl = arg;
    struct viewer *v = pl->v;
    if (pause) {
        if (v->live) live_remove_viewer(v->live, v);
        return;
    }
    struct live *l = live_find(v->w, pl->stream);
    if (!l) {
        rtmp_session_play_end(pl->s);
        viewer_finish(v, "the stream ended while paused");
        return;
    }
    if (!v->live) {
        v->started = v->waiting_key = false;
        live_add_viewer(l, v);
    }
}

static const struct rtmp_session_ops player_session_ops = {player_send, player_pause};

static bool player_on_read(struct viewer *v, const uint8_t *p, size_t len)
{
    struct rtmp_player *pl = v->ops_arg;
    size_t used;
    int rc = rtmp_session_input(pl->s, p, len, &used);
    if (rc < 0) {
        rtmp_report_fault(v->peer, pl->s);
        return false;
    }
    if (rc == RTMP_SESSION_CLOSE && !v->finishing) viewer_finish(v, "the player stopped");
    return true;
}

static void player_on_finish(struct viewer *v)
{
    struct rtmp_player *pl = v->ops_arg;
    if (pl->s->state == RTMP_SESSION_PLAYING || pl->s->state == RTMP_SESSION_PAUSED)
        rtmp_session_play_end(pl->s);
}

static void player_on_close(struct viewer *v)
{
    struct rtmp_player *pl = v->ops_arg;
    live_viewer_closed(v);
    players_add(pl->stream, -1);
    atomic_fetch_sub_explicit(&rtmp_counters.players, 1, memory_order_relaxed);
    rtmp_session_destroy(pl->s);
    free(pl);
}

static const struct viewer_ops player_viewer_ops = {player_on_read, player_on_close, player_on_finish, NULL};

/* Collects the few bytes of a refusal, written straight to the socket (no viewer for a player we refuse). */
struct refusal {
    uint8_t buf[1024];
    size_t len;
};

static void refusal_send(void *arg, const uint8_t *p, size_t len)
{
    struct refusal *r = arg;
    if (r->len + len <= sizeof r->buf) {
        memcpy(r->buf + r->len, p, len);
        r->len += len;
    }
}

static const struct rtmp_session_ops refusal_ops = {refusal_send, NULL};

/* The stream closed while the player was on its way: StreamNotFound, best effort, and close. */
static void refuse(struct rtmp_handoff *h)
{
    struct refusal r = {.len = 0};
    rtmp_session_set_ops(h->s, &refusal_ops, &r);
    rtmp_session_play_not_found(h->s, "the stream closed");
    h->s->fault = RTMP_FAULT_NOT_FOUND;
    snprintf(h->s->fault_detail, sizeof h->s->fault_detail, "play %.64s: the stream closed", h->s->stream);
    rtmp_report_fault(h->peer, h->s);
    struct iovec iov[2] = {{h->out, h->out_len}, {r.buf, r.len}};
    ssize_t w = writev(h->fd, iov, 2); /* a few hundred bytes into an idle socket: they fit */
    (void)w;
    close(h->fd);
    rtmp_session_destroy(h->s);
}

void rtmp_player_start(void *arg)
{
    struct rtmp_handoff *h = arg;
    struct worker *w = worker_current();
    struct live *l = live_find(w, h->s->stream);
    if (!l) {
        refuse(h);
        goto out;
    }
    struct rtmp_player *pl = calloc(1, sizeof *pl);
    struct viewer *v = NULL;
    if (pl) {
        pl->s = h->s;
        memcpy(pl->stream, h->s->stream, sizeof pl->stream);
        v = viewer_create(w, h->fd, FRAMING_RTMP, (size_t)rtmp_cfg->stream.viewer_queue_kb * 1024,
                          &player_viewer_ops, pl, h->peer, "rtmp");
    }
    if (!v) {
        close(h->fd);
        rtmp_session_destroy(h->s);
        free(pl);
        goto out;
    }
    pl->v = v;
    v->chunk_size = pl->s->out_chunk_size; /* fixed for the viewer's life: the queue accounting uses it */
    rtmp_session_set_ops(pl->s, &player_session_ops, pl);
    if (h->out_len) viewer_push_bytes(v, h->out, h->out_len, false);
    players_add(pl->stream, 1);
    atomic_fetch_add_explicit(&rtmp_counters.players, 1, memory_order_relaxed);
    rtmp_count(&rtmp_counters.plays);
    rtmp_session_play_start(pl->s);
    live_add_viewer(l, v);
    if (h->in_len && !player_on_read(v, h->in, h->in_len)) viewer_close(v, "protocol error");
out:
    free(h->out);
    free(h);
}
