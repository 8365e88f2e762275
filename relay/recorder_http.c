/*
 * GET/HEAD /records/{file}: serves finished recordings from record.dir with Content-Length, video/mp4 and
 * single byte ranges (206 / 416, relay/http_range.h) so that browsers can seek. Open like the live stream
 * URLs (no token; docs/API.md), names restricted to recorder_valid_name() so nothing outside record.dir
 * (no '/', no "..", no hidden ".part" file) can be named: anything else is a 404.
 *
 * Why libuv's threadpool (uv_fs_read) and not sendfile(): sendfile on a non-blocking socket still reads the
 * file synchronously in the calling thread when the pages are not cached, which would stall the media worker
 * (every stream it owns) on the disk. Here the worker only ever writes a buffer it already has: the file is
 * read in CHUNK pieces on the threadpool, one piece in flight per transfer, the next read issued when the
 * socket took the previous one (so a slow client holds one chunk of memory, not the file). The cost is one
 * copy through user space, negligible next to the disk. open() and fstat() run on the worker: metadata, not
 * data. The connection leaves the HTTP keep-alive machinery (like an FLV viewer) and is closed after the
 * response ("Connection: close"); a transfer that makes no progress for STALL_MS is cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "relay/http_priv.h"
#include "relay/http_range.h"
#include "relay/recorder_priv.h"

#define MODULE      "record"
#define CHUNK       (256 * 1024)
#define STALL_MS    60000
#define TIMER_MS    5000
#define MAX_SENDERS 256

struct file_send {
    struct file_send *next, *prev;
    struct sender_list *list;
    int sock;
    uv_file file;
    uv_poll_t poll;
    uv_timer_t timer;
    uv_fs_t req;
    int handles_open;
    bool reading, closing, want_write;
    uint64_t pos, end; /* next file offset to read; end of the range (exclusive) */
    char *buf;
    size_t buf_len, buf_off;
    char head[640];
    size_t head_len, head_off;
    uint64_t last_progress_ms;
};

/* The transfers of one worker; freed with the thread if the loop closed their handles at shutdown. */
struct sender_list {
    struct file_send *head;
};

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t list_key;
static _Thread_local struct sender_list *my_list;
static atomic_int nsenders;

static void free_sender(struct file_send *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->list->head = s->next;
    if (s->next) s->next->prev = s->prev;
    if (s->sock >= 0) close(s->sock);
    if (s->file >= 0) close(s->file);
    free(s->buf);
    free(s);
    atomic_fetch_sub(&nsenders, 1);
}

/* Worker thread exit: the loop is gone; whatever is left had its handles closed by the worker's stop. */
static void release_list(void *arg)
{
    struct sender_list *l = arg;
    while (l->head) free_sender(l->head);
    free(l);
}

static void make_key(void)
{
    pthread_key_create(&list_key, release_list);
}

static void maybe_free(struct file_send *s)
{
    if (s->handles_open == 0 && !s->reading) free_sender(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct file_send *s = h->data;
    s->handles_open--;
    maybe_free(s);
}

static void sender_close(struct file_send *s)
{
    if (s->closing) return;
    s->closing = true;
    if (uv_is_closing((uv_handle_t *)&s->poll)) return; /* the worker is stopping: its loop closes them */
    uv_poll_stop(&s->poll);
    close(s->sock);
    s->sock = -1;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}

static void on_poll(uv_poll_t *h, int status, int events);
static void on_read(uv_fs_t *req);

static void set_want_write(struct file_send *s, bool want)
{
    if (s->want_write == want) return;
    s->want_write = want;
    uv_poll_start(&s->poll, UV_READABLE | UV_DISCONNECT | (want ? UV_WRITABLE : 0), on_poll);
}

/* Writes what is buffered; reads the next chunk when the buffer is empty; closes at the end. */
static void send_more(struct file_send *s)
{
    while (!s->closing) {
        const char *p;
        size_t *off, len;
        if (s->head_off < s->head_len) {
            p = s->head, off = &s->head_off, len = s->head_len;
        } else if (s->buf_off < s->buf_len) {
            p = s->buf, off = &s->buf_off, len = s->buf_len;
        } else if (s->pos < s->end) {
            set_want_write(s, false);
            if (s->reading) return;
            uint64_t left = s->end - s->pos;
            uv_buf_t b = uv_buf_init(s->buf, left < CHUNK ? (unsigned)left : CHUNK);
            s->reading = true;
            if (uv_fs_read(s->poll.loop, &s->req, s->file, &b, 1, (int64_t)s->pos, on_read) != 0) {
                s->reading = false;
                sender_close(s);
            }
            return;
        } else {
            sender_close(s); /* all sent; the kernel delivers the rest before the FIN */
            return;
        }
        ssize_t n = write(s->sock, p + *off, len - *off);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_want_write(s, true);
                return;
            }
            sender_close(s);
            return;
        }
        *off += (size_t)n;
        s->last_progress_ms = clock_mono_ms();
    }
}

static void on_read(uv_fs_t *req)
{
    struct file_send *s = req->data;
    ssize_t got = req->result;
    uv_fs_req_cleanup(req);
    s->reading = false;
    if (uv_is_closing((uv_handle_t *)&s->poll)) s->closing = true; /* closed under us by the worker's stop */
    if (s->closing) {
        maybe_free(s);
        return;
    }
    if (got <= 0) { /* the file shrank or an I/O error: the response cannot be completed */
        log_warn(MODULE, "serving a recording: read failed: %s",
                 got < 0 ? uv_strerror((int)got) : "short file");
        sender_close(s);
        return;
    }
    s->buf_len = (size_t)got;
    s->buf_off = 0;
    s->pos += (uint64_t)got;
    send_more(s);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct file_send *s = h->data;
    if (s->closing) return;
    if (status < 0 || (events & UV_DISCONNECT)) {
        sender_close(s);
        return;
    }
    if (events & UV_READABLE) { /* a client says nothing during a response: EOF or garbage ends it */
        char junk[512];
        ssize_t n = read(s->sock, junk, sizeof junk);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            sender_close(s);
            return;
        }
    }
    if (events & UV_WRITABLE) send_more(s);
}

static void on_timer(uv_timer_t *t)
{
    struct file_send *s = t->data;
    if (!s->closing && clock_mono_ms() - s->last_progress_ms > STALL_MS) sender_close(s);
}

static void start_sender(struct http_conn *c, int file, uint64_t first, uint64_t end, const char *head,
                         size_t head_len)
{
    pthread_once(&key_once, make_key);
    if (!my_list) {
        my_list = calloc(1, sizeof *my_list);
        if (!my_list) abort();
        pthread_setspecific(list_key, my_list);
    }
    struct file_send *s = calloc(1, sizeof *s);
    char *buf = first < end ? malloc(CHUNK) : NULL;
    if (!s || (first < end && !buf)) {
        free(s);
        free(buf);
        close(file);
        http_respond_error(c, 503, "overloaded", "out of memory");
        return;
    }
    uv_loop_t *loop = worker_loop(c->w);
    s->sock = http_conn_detach(c);
    s->file = file;
    s->buf = buf;
    s->pos = first;
    s->end = end;
    memcpy(s->head, head, head_len);
    s->head_len = head_len;
    s->last_progress_ms = clock_mono_ms();
    s->list = my_list;
    s->next = my_list->head;
    if (my_list->head) my_list->head->prev = s;
    my_list->head = s;
    atomic_fetch_add(&nsenders, 1);
    s->req.data = s;
    uv_poll_init(loop, &s->poll, s->sock);
    uv_timer_init(loop, &s->timer);
    s->poll.data = s->timer.data = s;
    s->handles_open = 2;
    uv_poll_start(&s->poll, UV_READABLE | UV_DISCONNECT, on_poll);
    uv_timer_start(&s->timer, on_timer, TIMER_MS, TIMER_MS);
    send_more(s);
}

void recorder_http_serve(struct http_conn *c, const char *method, const char *name)
{
    bool head_only = !strcmp(method, "HEAD");
    if (!head_only && strcmp(method, "GET") != 0) {
        http_respond_error(c, 405, "method_not_allowed", "recordings are read with GET or HEAD");
        return;
    }
    char path[1024];
    int fd = -1;
    struct stat st;
    if (recorder_valid_name(name) && recorder_file_path(name, path, sizeof path))
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        http_respond_error(c, 404, "not_found", "no such recording");
        return;
    }
    uint64_t size = (uint64_t)st.st_size, first = 0, last = size ? size - 1 : 0;
    enum http_range_result rr = http_range_parse(c->range[0] ? c->range : NULL, size, &first, &last);
    if (rr == HTTP_RANGE_UNSATISFIABLE) {
        close(fd);
        char extra[80];
        snprintf(extra, sizeof extra, "Content-Range: bytes */%llu\r\nAccept-Ranges: bytes\r\n",
                 (unsigned long long)size);
        static const char body[] = "{\"error\":\"range not satisfiable\",\"code\":\"bad_range\"}";
        http_respond(c, 416, "application/json", body, sizeof body - 1, extra);
        return;
    }
    if (atomic_load(&nsenders) >= MAX_SENDERS) {
        close(fd);
        http_respond_error(c, 503, "too_many_downloads", "too many recordings being downloaded: retry later");
        return;
    }
    uint64_t end = rr == HTTP_RANGE_OK ? last + 1 : size;
    char range_line[96] = "";
    if (rr == HTTP_RANGE_OK)
        snprintf(range_line, sizeof range_line, "Content-Range: bytes %llu-%llu/%llu\r\n",
                 (unsigned long long)first, (unsigned long long)last, (unsigned long long)size);
    char head[640];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nServer: gbgate\r\nContent-Type: video/mp4\r\nContent-Length: %llu\r\n"
                     "%sAccept-Ranges: bytes\r\nAccess-Control-Allow-Origin: *\r\n"
                     "Access-Control-Expose-Headers: Content-Length, Content-Range, Accept-Ranges\r\n"
                     "Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
                     rr == HTTP_RANGE_OK ? 206 : 200, rr == HTTP_RANGE_OK ? "Partial Content" : "OK",
                     (unsigned long long)(end - first), range_line);
    start_sender(c, fd, head_only ? end : first, end, head, (size_t)n);
}
