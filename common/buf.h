/*
 * Reference-counted byte buffers with per-thread pools by size class.
 *
 * A media frame is copied exactly once, into a gbuf (video frames into a region of a shared chunk), and every
 * output (FLV tag for HTTP-FLV, WS-FLV, RTMP, relays) references that same gbuf. Buffers are recycled through
 * small thread-local free lists (quarter-octave classes from 256 B to 8 MiB): at most one allocation per
 * frame, never per packet, and the pools are kept small because memory per stream, not a malloc per frame, is
 * what costs (docs/PERFORMANCE.md). The reference count is atomic, so a buffer may be released on another
 * thread (relay I/O): it then simply joins that thread's pool.
 */
#ifndef GB_COMMON_BUF_H
#define GB_COMMON_BUF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gbuf {
    atomic_uint refs;
    uint32_t cap;       /* usable bytes in data[] */
    uint8_t size_class; /* pool class, 0xff = not pooled (too large) */
    uint8_t data[];
};

/* New buffer with at least `cap` bytes, refs = 1. Never returns NULL (aborts on out-of-memory). */
struct gbuf *gbuf_alloc(size_t cap);
static inline struct gbuf *gbuf_ref(struct gbuf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}
void gbuf_unref(struct gbuf *b); /* NULL is fine */
/* Grow to at least `cap` keeping the first `used` bytes; only valid while refs == 1. Returns the new buffer.
 */
struct gbuf *gbuf_grow(struct gbuf *b, size_t used, size_t cap);

/* Pool statistics of the calling thread (for /metrics and the leak checks in tests). */
struct gbuf_pool_stats {
    uint64_t allocs, pool_hits, frees, bytes_pooled;
};
void gbuf_pool_stats(struct gbuf_pool_stats *out);
/* Process-wide totals over every thread (relaxed atomics: a snapshot for /metrics, not a ledger):
 * in_use = class bytes of buffers handed out, pooled = bytes waiting in the per-thread free lists,
 * pool_hits / mallocs = where gbuf_alloc found its memory. */
struct gbuf_global_stats {
    uint64_t in_use, pooled, pool_hits, mallocs;
};
void gbuf_global_stats(struct gbuf_global_stats *out);
/* Process-wide allocator policy, once at startup: buffers of GBUF_MMAP_BYTES and more (frame chunks) get
 * their own mappings, so memory freed beyond the pools goes back to the system instead of staying in the
 * heap at its high-water mark (glibc's dynamic threshold would otherwise rise past every chunk size). */
#define GBUF_MMAP_BYTES (64u * 1024)
void gbuf_process_init(void);
/* Hands the free pages inside the C heap's arenas back to the kernel (malloc_trim). Called every few seconds
 * from the control thread; returns true when pages were released. */
bool gbuf_heap_trim(void);
/* Caps the calling thread's pool (default GBUF_POOL_DEFAULT_LIMIT), freeing what is over the new cap. A
 * worker sets it from its stream count: the pool's job is to carry freed GOP chunks over to the next GOPs,
 * which takes about GBUF_POOL_BYTES_PER_STREAM per stream; a fixed cap was memory a small gateway never used.
 */
#define GBUF_POOL_DEFAULT_LIMIT    (4u << 20)
#define GBUF_POOL_BYTES_PER_STREAM (48u << 10)
void gbuf_pool_set_limit(size_t bytes);
/* Frees the calling thread's pooled buffers (at thread exit). */
void gbuf_pool_drain(void);

#endif
