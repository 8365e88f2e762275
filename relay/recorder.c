/*
 * Recordings (API in recorder.h): one I/O thread per recording, fed like an RTMP push relay:
 *
 *   owner worker: live -> sink viewer -> bounded queue (relay/sink_feed.h, record.queue_kb)
 *                 -> I/O thread -> recorder_mux (FLV -> MP4) -> file
 *
 * A full queue refuses entries, they pile up in the sink's budget and the sink skips to the next keyframe
 * (counted as dropped): a slow disk costs the worker nothing. The thread ends when its stream ends (the sink
 * is finished: the queue is written out first), on recorder_stop(), at max_file_mb, on a write error, or at
 * shutdown; then it takes the sink away, writes the moov, renames ".name.part" to its final name and posts
 * done() to the control thread. Finished recordings stay visible (recorder_get, lists) for a while:
 * the last FINISHED_KEPT of them.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/control.h"
#include "common/log.h"
#include "media/directory.h"
#include "relay/recorder_mux.h"
#include "relay/recorder_priv.h"
#include "relay/sink_feed.h"

#define MODULE          "record"
#define FINISHED_KEPT   64
#define DETACH_WAIT_MS  5000
#define SHUTDOWN_WAIT_S 15
#define WRITE_BATCH     64

struct stop_waiter {
    struct stop_waiter *next;
    void (*fn)(void *arg, const struct recorder_status *st);
    void *arg;
};

struct recording {
    atomic_int refs;
    char id[32];
    char stream[STREAM_ID_MAX + 1];
    char path[512], part[600];
    recorder_done_fn done;
    void *done_arg;
    int err;                /* outcome for done() */
    struct recording *next; /* registry (running and finished, newest first) */
    bool running;           /* under registry_lock */
    struct sink_feed feed;  /* the stream's tags (relay/sink_feed.h) */

    pthread_mutex_t lock;
    /* under lock */
    bool finalized;
    struct stop_waiter *waiters;
    struct recorder_status st; /* what the API shows */
};

static const struct gb_config *cfg;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t threads_done = PTHREAD_COND_INITIALIZER;
static struct recording *registry;
static int nrunning, running_threads;
static unsigned next_id;
static bool shutting_down;

static void rec_unref(struct recording *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1) return;
    sink_feed_destroy(&r->feed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static void feed_hold(void *owner)
{
    atomic_fetch_add(&((struct recording *)owner)->refs, 1);
}

static void feed_release(void *owner)
{
    rec_unref(owner);
}

/* ---- the I/O thread ---- */

static void publish_stats(struct recording *r, const struct rec_mux *m)
{
    const struct rec_mux_stats *s = rec_mux_get_stats(m);
    pthread_mutex_lock(&r->lock);
    r->st.bytes = s->bytes;
    r->st.duration_ms = s->duration_ms;
    r->st.frames = s->video_frames + s->audio_frames;
    r->st.dropped = sink_feed_dropped(&r->feed);
    pthread_mutex_unlock(&r->lock);
}

/* Writes queued tags until the stream ends, the sink goes away or a stop (queue drained), or the muxer fails
 * (its return value: -EFBIG at the size limit). */
static int pump(struct recording *r, struct rec_mux *m, char *err, size_t errsize)
{
    struct sink_feed_item batch[WRITE_BATCH];
    for (;;) {
        size_t n = sink_feed_take(&r->feed, batch, WRITE_BATCH);
        if (n == 0) return 0;
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
            if (!rc) rc = rec_mux_input(m, batch[i].ref->data + batch[i].off, batch[i].len, err, errsize);
            gbuf_unref(batch[i].ref);
        }
        publish_stats(r, m);
        if (rc) return rc;
    }
}

static int errno_of(int rc)
{
    return rc < 0 && rc > -4096 ? -rc : EIO;
}

static void done_task(void *arg)
{
    struct recording *r = arg;
    if (r->done) r->done(r->done_arg, r->id, r->err);
    pthread_mutex_lock(&r->lock);
    struct stop_waiter *w = r->waiters;
    r->waiters = NULL;
    struct recorder_status st = r->st;
    pthread_mutex_unlock(&r->lock);
    while (w) {
        struct stop_waiter *next = w->next;
        w->fn(w->arg, &st);
        free(w);
        w = next;
    }
    rec_unref(r);
}

/* Writes the file; returns the outcome for done() and sets the status. */
static void record(struct recording *r)
{
    char err[160] = "", name[STREAM_ID_MAX + 40];
    snprintf(name, sizeof name, "[%s] %s", r->stream, r->id);
    struct rec_mux_options o = {
        .faststart = cfg->record.faststart,
        .max_bytes = (uint64_t)cfg->record.max_file_mb << 20,
        .max_tag = (uint32_t)cfg->media.max_frame_kb * 1024 + 64 * 1024,
        .log_name = name,
        .title = r->stream,
    };
    struct rec_mux *m = rec_mux_create(r->part, &o, err, sizeof err);
    int rc = m ? 0 : -EIO, in_rc = 0;
    if (m) {
        sink_feed_attach(&r->feed);
        in_rc = pump(r, m, err, sizeof err);
        /* take the sink away and wait until it is gone: nothing may reference this recording's queue after */
        sink_feed_detach(&r->feed, DETACH_WAIT_MS);
        char ferr[160] = "";
        rc = rec_mux_finish(m, ferr, sizeof ferr);
        publish_stats(r, m);
        if (rc) snprintf(err, sizeof err, "%s", ferr);
        rec_mux_destroy(m);
    }
    if (!rc && rename(r->part, r->path) != 0) {
        rc = -errno;
        snprintf(err, sizeof err, "cannot rename the .part file: %s", strerror(errno));
    }
    if (rc) unlink(r->part);
    struct stat sb;
    pthread_mutex_lock(&r->lock);
    r->err = rc ? errno_of(rc) : 0;
    snprintf(r->st.state, sizeof r->st.state, "%s", rc ? "failed" : "done");
    if (!rc && in_rc == -EFBIG) snprintf(err, sizeof err, "record.max_file_mb reached");
    if (err[0]) snprintf(r->st.error, sizeof r->st.error, "%s", err);
    if (!rc && stat(r->path, &sb) == 0) r->st.bytes = (uint64_t)sb.st_size;
    r->st.ended_ms = clock_wall_ms();
    r->finalized = true;
    pthread_mutex_unlock(&r->lock);
    if (rc)
        log_warn(MODULE, "[%s] recording %s failed: %s", r->stream, r->id, err);
    else
        log_info(MODULE, "[%s] recording %s done: %s (%llu bytes, %llu ms, %llu frames, %llu tags dropped)",
                 r->stream, r->id, r->path, (unsigned long long)r->st.bytes,
                 (unsigned long long)r->st.duration_ms, (unsigned long long)r->st.frames,
                 (unsigned long long)r->st.dropped);
}

static void *rec_main(void *arg)
{
    struct recording *r = arg;
    pthread_setname_np(pthread_self(), "gbgate-rec");
    record(r);
    pthread_mutex_lock(&registry_lock);
    r->running = false;
    nrunning--;
    /* keep the newest FINISHED_KEPT finished ones */
    int kept = 0;
    for (struct recording **pp = &registry; *pp;) {
        struct recording *x = *pp;
        if (!x->running && ++kept > FINISHED_KEPT) {
            *pp = x->next;
            rec_unref(x);
            continue;
        }
        pp = &x->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (control_post(done_task, r) != 0) rec_unref(r); /* no control thread any more: nobody to tell */
    gbuf_pool_drain();
    pthread_mutex_lock(&registry_lock);
    running_threads--;
    pthread_cond_broadcast(&threads_done);
    pthread_mutex_unlock(&registry_lock);
    return NULL;
}

/* ---- API ---- */

bool recorder_valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 5 || len > RECORDER_NAME_MAX || strcmp(name + len - 4, ".mp4") != 0 || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

const char *recorder_dir(void)
{
    return cfg ? cfg->record.dir : "var/records";
}

bool recorder_file_path(const char *name, char *out, size_t size)
{
    return (size_t)snprintf(out, size, "%s/%s", recorder_dir(), name) < size;
}

/* Splits path into its directory part (with the slash) and file name; builds the final and part paths. */
static int resolve_paths(const char *path, struct recording *r)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!recorder_valid_name(name)) return EINVAL;
    if (!slash) {
        if (!recorder_file_path(name, r->path, sizeof r->path)) return EINVAL;
        snprintf(r->st.file, sizeof r->st.file, "%s", name);
    } else if ((size_t)snprintf(r->path, sizeof r->path, "%s", path) >= sizeof r->path) {
        return EINVAL;
    }
    size_t dir_len = strlen(r->path) - strlen(name);
    snprintf(r->part, sizeof r->part, "%.*s.%s.part", (int)dir_len, r->path, name);
    return 0;
}

static bool path_in_use_locked(const char *path)
{
    for (struct recording *x = registry; x; x = x->next)
        if (x->running && !strcmp(x->path, path)) return true;
    return false;
}

static void make_dirs(const char *path);

/* Reserves the name: the .part file, created exclusively. record.dir is made again if someone removed it. */
static int create_part(const struct recording *r)
{
    int fd = open(r->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT && r->st.file[0]) {
        make_dirs(cfg->record.dir);
        fd = open(r->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    return fd;
}

int recorder_start(const char *stream_id, const char *path, recorder_done_fn done, void *arg, char rec_id[32])
{
    struct stream_entry e;
    if (!cfg) return ENOSPC;
    if (!stream_id || !directory_get(stream_id, &e)) return ENOENT;
    struct recording *r = calloc(1, sizeof *r);
    if (!r) return ENOMEM;
    int rc = resolve_paths(path ? path : "", r);
    char peer[48];
    snprintf(peer, sizeof peer, "recording %u", next_id + 1); /* a name for the log; the id comes later */
    struct sink_feed_config fc = {
        .stream = stream_id,
        .worker = e.worker,
        .stream_created_ms = e.created_ms,
        .peer = peer,
        .kind = "record",
        .sink_budget = (size_t)cfg->stream.viewer_queue_kb * 1024,
        .queue_bytes = (size_t)cfg->record.queue_kb * 1024,
        .queue_entries = RECORDER_QUEUE_ENTRIES,
        .owner = r,
        .hold = feed_hold,
        .release = feed_release,
    };
    if (!rc) rc = sink_feed_init(&r->feed, &fc);
    if (rc) {
        sink_feed_destroy(&r->feed);
        free(r);
        return rc;
    }
    atomic_init(&r->refs, 2); /* registry + thread */
    snprintf(r->stream, sizeof r->stream, "%s", stream_id);
    r->done = done;
    r->done_arg = arg;
    pthread_mutex_init(&r->lock, NULL);

    pthread_mutex_lock(&registry_lock);
    int fd = -1;
    if (shutting_down || nrunning >= cfg->record.max_concurrent)
        rc = ENOSPC;
    else if (path_in_use_locked(r->path) || access(r->path, F_OK) == 0)
        rc = EEXIST;
    else if ((fd = create_part(r)) < 0)
        rc = errno == ENOENT || errno == ENOTDIR ? EINVAL : errno;
    if (fd >= 0) close(fd);
    if (!rc) {
        snprintf(r->id, sizeof r->id, "rec%u", ++next_id);
        snprintf(r->feed.peer, sizeof r->feed.peer, "recording %s", r->id);
        snprintf(r->st.id, sizeof r->st.id, "%s", r->id);
        snprintf(r->st.stream, sizeof r->st.stream, "%s", stream_id);
        snprintf(r->st.path, sizeof r->st.path, "%s", r->path);
        snprintf(r->st.state, sizeof r->st.state, "recording");
        r->st.started_ms = clock_wall_ms();
        r->running = true;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        if (pthread_create(&t, &attr, rec_main, r) != 0) {
            rc = EAGAIN;
            unlink(r->part);
        }
        pthread_attr_destroy(&attr);
    }
    if (rc) {
        pthread_mutex_unlock(&registry_lock);
        atomic_store(&r->refs, 1);
        rec_unref(r);
        return rc;
    }
    r->next = registry;
    registry = r;
    nrunning++;
    running_threads++;
    pthread_mutex_unlock(&registry_lock);
    snprintf(rec_id, 32, "%s", r->id);
    log_info(MODULE, "[%s] recording %s to %s started", stream_id, r->id, r->path);
    return 0;
}

static void request_stop(struct recording *r)
{
    sink_feed_stop(&r->feed);
}

/* The running recording rec_id with a reference taken, or NULL. */
static struct recording *find_running(const char *rec_id)
{
    struct recording *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (struct recording *x = registry; x; x = x->next)
        if (x->running && !strcmp(x->id, rec_id)) {
            found = x;
            atomic_fetch_add(&found->refs, 1);
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

int recorder_stop(const char *rec_id)
{
    struct recording *r = find_running(rec_id);
    if (!r) return ENOENT;
    request_stop(r);
    rec_unref(r);
    return 0;
}

int recorder_stop_notify(const char *rec_id, void (*fn)(void *arg, const struct recorder_status *st),
                         void *arg)
{
    struct recording *r = find_running(rec_id);
    if (!r) return ENOENT;
    struct stop_waiter *w = calloc(1, sizeof *w);
    int rc = w ? 0 : ENOMEM;
    pthread_mutex_lock(&r->lock);
    if (w && r->finalized) { /* done() is already on its way: too late to wait for it */
        free(w);
        rc = ENOENT;
    } else if (w) {
        *w = (struct stop_waiter){r->waiters, fn, arg};
        r->waiters = w;
    }
    pthread_mutex_unlock(&r->lock);
    if (!rc) request_stop(r);
    rec_unref(r);
    return rc;
}

int recorder_get(const char *rec_id, struct recorder_status *out)
{
    int rc = ENOENT;
    pthread_mutex_lock(&registry_lock);
    for (struct recording *x = registry; x; x = x->next)
        if (!strcmp(x->id, rec_id)) {
            pthread_mutex_lock(&x->lock);
            *out = x->st;
            pthread_mutex_unlock(&x->lock);
            rc = 0;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

bool recorder_file_active(const char *name)
{
    bool active = false;
    pthread_mutex_lock(&registry_lock);
    for (struct recording *x = registry; x && !active; x = x->next)
        active = x->running && !strcmp(x->st.file, name);
    pthread_mutex_unlock(&registry_lock);
    return active;
}

json_t *recorder_status_json(const struct recorder_status *st)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "id", st->id, "stream", st->stream, "path",
                          st->path, "state", st->state, "bytes", (json_int_t)st->bytes, "duration_ms",
                          (json_int_t)st->duration_ms, "frames", (json_int_t)st->frames, "dropped",
                          (json_int_t)st->dropped, "started_ms", (json_int_t)st->started_ms);
    if (!o) return json_object();
    if (st->file[0]) {
        json_object_set_new(o, "file", json_string(st->file));
        char url[RECORDER_NAME_MAX + 16];
        snprintf(url, sizeof url, "/records/%s", st->file);
        if (!strcmp(st->state, "done")) json_object_set_new(o, "url", json_string(url));
    }
    if (st->error[0]) json_object_set_new(o, "error", json_string(st->error));
    if (st->ended_ms) json_object_set_new(o, "ended_ms", json_integer((json_int_t)st->ended_ms));
    return o;
}

json_t *recorder_list_json(const char *stream_or_null)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&registry_lock);
    for (struct recording *x = registry; x; x = x->next) {
        if (stream_or_null && strcmp(x->stream, stream_or_null) != 0) continue;
        pthread_mutex_lock(&x->lock);
        struct recorder_status st = x->st;
        pthread_mutex_unlock(&x->lock);
        json_array_append_new(arr, recorder_status_json(&st));
    }
    pthread_mutex_unlock(&registry_lock);
    return arr;
}

/* ---- life ---- */

static void make_dirs(const char *path)
{
    char dir[CFG_STR_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        log_warn(MODULE, "cannot create record.dir %s: %s (recordings there will fail)", dir,
                 strerror(errno));
}

/* ".name.mp4.part" files are what a crash left: without their moov they cannot be played. */
static void remove_stale_parts(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] != '.' || len < 10 || strcmp(de->d_name + len - 9, ".mp4.part") != 0) continue;
        char p[CFG_STR_MAX + 300];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (unlink(p) == 0) log_info(MODULE, "removed %s left by an interrupted recording", p);
    }
    closedir(d);
}

void recorder_init(const struct gb_config *c)
{
    cfg = c;
    make_dirs(c->record.dir);
    remove_stale_parts(c->record.dir);
    recorder_api_register();
}

void recorder_shutdown(void)
{
    pthread_mutex_lock(&registry_lock);
    shutting_down = true;
    int n = nrunning;
    for (struct recording *x = registry; x; x = x->next)
        if (x->running) request_stop(x);
    if (n) log_info(MODULE, "finishing %d recording(s)", n);
    struct timespec ts = clock_realtime_after_ms(SHUTDOWN_WAIT_S * 1000);
    while (running_threads > 0)
        if (pthread_cond_timedwait(&threads_done, &registry_lock, &ts) == ETIMEDOUT) break;
    if (running_threads > 0)
        log_error(MODULE, "%d recording(s) still finishing after %d s: giving up on them", running_threads,
                  SHUTDOWN_WAIT_S);
    /* the registry's references (a done() still queued for the control thread holds its own) */
    struct recording *keep = NULL;
    while (registry) {
        struct recording *x = registry;
        registry = x->next;
        if (x->running) { /* its thread still uses the list */
            x->next = keep;
            keep = x;
            continue;
        }
        rec_unref(x);
    }
    registry = keep;
    pthread_mutex_unlock(&registry_lock);
}
