/*
 * The stream directory: the only structure shared by all threads (DESIGN.md section 1). It maps a stream id,
 * a shared-port SSRC, or a per-stream port to the worker that owns the stream, and holds each stream's last
 * published stats. Read-mostly, behind one rwlock; nobody does I/O while holding it.
 */
#ifndef GB_MEDIA_DIRECTORY_H
#define GB_MEDIA_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/stream_stats.h"

#define STREAM_ID_MAX 64

enum stream_transport { TRANSPORT_UDP = 0, TRANSPORT_TCP_PASSIVE, TRANSPORT_TCP_ACTIVE };
const char *stream_transport_name(enum stream_transport t);
int stream_transport_parse(const char *s, enum stream_transport *out);

struct stream_entry {
    char id[STREAM_ID_MAX + 1];
    int worker;
    enum stream_transport transport;
    int port;        /* local port: per-stream, or the shared port */
    bool shared;     /* on the shared port (SSRC identifies it) */
    uint32_t ssrc;   /* expected SSRC; 0 = any (per-stream ports only) */
    char remote[64]; /* tcp-active: where we connect */
    char source[32]; /* "api", "gb" (live view), ... */
    bool on_demand;  /* started for viewers (GB live view): viewers wait until it is ready */
    bool ready;      /* on-demand stream: first keyframe seen, viewers may attach */
    uint64_t created_ms;
    struct stream_stats stats;
};

void directory_init(void);
void directory_destroy(void);
/* Adds an entry. EEXIST: id taken; EADDRINUSE: shared-port SSRC taken. */
int directory_add(const struct stream_entry *e);
void directory_remove(const char *id);
bool directory_get(const char *id, struct stream_entry *out);
/* Owner of a shared-port SSRC, or -1. */
int directory_owner_by_ssrc(uint32_t ssrc);
void directory_publish_stats(const char *id, const struct stream_stats *st);
void directory_set_ready(const char *id, bool ready);
/* Copies of every entry (malloc'd array, caller frees) sorted by id. */
size_t directory_list(struct stream_entry **out);
size_t directory_count(void);

#endif
