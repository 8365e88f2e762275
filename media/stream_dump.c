/*
 * Debug dump of a stream's raw RTP (issue 3 item 8) in ZLMediaKit's test_rtp format (2-byte big-endian length
 * + packet), so a field problem can be replayed with `gbsim send --rtp FILE`. Bounded in bytes and seconds.
 * The worker only appends to a memory buffer (its size is the bound); when the dump ends, a detached thread
 * writes the file, so disk I/O never blocks a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "media/stream_priv.h"

#define MODULE "dump"

struct stream_dump {
    char path[512];
    uint8_t *buf;
    size_t len, cap;
    uint64_t until_ms;
    uint64_t packets;
};

static void *write_file(void *arg)
{
    struct stream_dump *d = arg;
    int fd = open(d->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t off = 0;
    while (fd >= 0 && off < d->len) {
        ssize_t n = write(fd, d->buf + off, d->len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    if (fd >= 0) close(fd);
    if (off == d->len)
        log_info(MODULE, "wrote %s: %llu packets, %zu bytes", d->path, (unsigned long long)d->packets,
                 d->len);
    else
        log_warn(MODULE, "could not write %s: %s", d->path, strerror(errno));
    free(d->buf);
    free(d);
    return NULL;
}

void stream_dump_stop(struct stream *s, const char *why)
{
    struct stream_dump *d = s->dump;
    if (!d) return;
    s->dump = NULL;
    log_info(MODULE, "[%s] dump ends (%s): %llu packets", s->e.id, why, (unsigned long long)d->packets);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, write_file, d) != 0) write_file(d); /* no thread: write here, once */
    pthread_attr_destroy(&attr);
}

int stream_dump_start(struct stream *s, const char *path, size_t max_bytes, int seconds)
{
    if (s->dump) return EBUSY;
    struct stream_dump *d = calloc(1, sizeof *d);
    if (!d) return ENOMEM;
    d->buf = malloc(max_bytes);
    if (!d->buf) {
        free(d);
        return ENOMEM;
    }
    d->cap = max_bytes;
    d->until_ms = clock_mono_ms() + (uint64_t)seconds * 1000;
    snprintf(d->path, sizeof d->path, "%s", path);
    s->dump = d;
    log_info(MODULE, "[%s] dumping raw RTP to %s (at most %zu bytes, %d s)", s->e.id, path, max_bytes,
             seconds);
    return 0;
}

void stream_dump_packet(struct stream *s, const uint8_t *p, size_t len, uint64_t now_ms)
{
    struct stream_dump *d = s->dump;
    if (now_ms >= d->until_ms) {
        stream_dump_stop(s, "time limit");
        return;
    }
    if (len > 65535 || d->len + 2 + len > d->cap) {
        stream_dump_stop(s, "size limit");
        return;
    }
    d->buf[d->len] = (uint8_t)(len >> 8);
    d->buf[d->len + 1] = (uint8_t)len;
    memcpy(d->buf + d->len + 2, p, len);
    d->len += 2 + len;
    d->packets++;
}

bool stream_dump_active(const struct stream *s)
{
    return s->dump != NULL;
}
