/*
 * Stream directory. Small (streams number in the thousands at most) and read far more often than written:
 * a linear array with an id index by open addressing would be overkill next to a plain array + rwlock;
 * lookups by id scan at most max_streams short strings and happen per viewer/API call, never per packet (the
 * per-packet path uses the worker's own tables; the directory is only consulted for strays).
 */
#include "media/directory.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct stream_entry *entries;
static size_t count, capacity;

const char *stream_transport_name(enum stream_transport t)
{
    switch (t) {
    case TRANSPORT_UDP: return "udp";
    case TRANSPORT_TCP_PASSIVE: return "tcp-passive";
    case TRANSPORT_TCP_ACTIVE: return "tcp-active";
    }
    return "udp";
}

int stream_transport_parse(const char *s, enum stream_transport *out)
{
    if (!strcasecmp(s, "udp"))
        *out = TRANSPORT_UDP;
    else if (!strcasecmp(s, "tcp-passive") || !strcasecmp(s, "tcp"))
        *out = TRANSPORT_TCP_PASSIVE;
    else if (!strcasecmp(s, "tcp-active"))
        *out = TRANSPORT_TCP_ACTIVE;
    else
        return EINVAL;
    return 0;
}

void directory_init(void)
{
    pthread_rwlock_wrlock(&lock);
    count = 0;
    pthread_rwlock_unlock(&lock);
}

void directory_destroy(void)
{
    pthread_rwlock_wrlock(&lock);
    free(entries);
    entries = NULL;
    count = capacity = 0;
    pthread_rwlock_unlock(&lock);
}

static struct stream_entry *find_locked(const char *id)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].id, id) == 0) return &entries[i];
    return NULL;
}

int directory_add(const struct stream_entry *e)
{
    int rc = 0;
    pthread_rwlock_wrlock(&lock);
    if (find_locked(e->id)) {
        rc = EEXIST;
        goto out;
    }
    for (size_t i = 0; e->shared && i < count; i++) {
        if (entries[i].shared && entries[i].ssrc == e->ssrc) {
            rc = EADDRINUSE;
            goto out;
        }
    }
    if (count == capacity) {
        size_t ncap = capacity ? capacity * 2 : 64;
        struct stream_entry *n = realloc(entries, ncap * sizeof *n);
        if (!n) {
            rc = ENOMEM;
            goto out;
        }
        entries = n;
        capacity = ncap;
    }
    entries[count++] = *e;
out:
    pthread_rwlock_unlock(&lock);
    return rc;
}

void directory_remove(const char *id)
{
    pthread_rwlock_wrlock(&lock);
    struct stream_entry *e = find_locked(id);
    if (e) *e = entries[--count];
    pthread_rwlock_unlock(&lock);
}

bool directory_get(const char *id, struct stream_entry *out)
{
    pthread_rwlock_rdlock(&lock);
    struct stream_entry *e = find_locked(id);
    if (e && out) *out = *e;
    pthread_rwlock_unlock(&lock);
    return e != NULL;
}

int directory_owner_by_ssrc(uint32_t ssrc)
{
    int owner = -1;
    pthread_rwlock_rdlock(&lock);
    for (size_t i = 0; i < count; i++) {
        if (entries[i].shared && entries[i].ssrc == ssrc) {
            owner = entries[i].worker;
            break;
        }
    }
    pthread_rwlock_unlock(&lock);
    return owner;
}

void directory_publish_stats(const char *id, const struct stream_stats *st)
{
    pthread_rwlock_wrlock(&lock);
    struct stream_entry *e = find_locked(id);
    if (e) e->stats = *st;
    pthread_rwlock_unlock(&lock);
}

void directory_set_ready(const char *id, bool ready)
{
    pthread_rwlock_wrlock(&lock);
    struct stream_entry *e = find_locked(id);
    if (e) e->ready = ready;
    pthread_rwlock_unlock(&lock);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct stream_entry *)a)->id, ((const struct stream_entry *)b)->id);
}

size_t directory_list(struct stream_entry **out)
{
    pthread_rwlock_rdlock(&lock);
    size_t n = count;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (*out && n) memcpy(*out, entries, n * sizeof **out);
    pthread_rwlock_unlock(&lock);
    if (!*out) return 0;
    qsort(*out, n, sizeof **out, by_id);
    return n;
}

size_t directory_count(void)
{
    pthread_rwlock_rdlock(&lock);
    size_t n = count;
    pthread_rwlock_unlock(&lock);
    return n;
}
