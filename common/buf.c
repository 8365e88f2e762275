/*
 * gbuf pools: one free list per size class per thread, so a frame buffer freed by a GOP cache is often reused
 * by the next frame of that size without a malloc (never more than one allocation per frame, none per
 * packet). The pools are small (see POOL_MAX_BYTES_TOTAL): glibc's malloc is cheap at these sizes, memory
 * held in free lists is not. Classes are quarter octaves (256, 320, 384, 448, 512, 640, ...) rather than
 * powers of two: the GOP cache holds these buffers, so their slack is memory per stream (at most 25% instead
 * of 100%). Each class keeps at most POOL_MAX_BYTES_PER_CLASS so a burst (a viewer backlog released at once)
 * does not pin memory forever. Process-wide counters (gbuf_global_stats) feed /metrics.
 */
#include "common/buf.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASS_MIN_SHIFT          8  /* 256 B */
#define CLASS_MAX_SHIFT          23 /* 8 MiB */
#define STEPS_PER_OCTAVE         4
#define NUM_CLASSES              ((CLASS_MAX_SHIFT - CLASS_MIN_SHIFT) * STEPS_PER_OCTAVE + 1)
#define POOL_MAX_BYTES_PER_CLASS (1u << 20)
/* Per thread, over all classes (gbuf_pool_set_limit). Small on purpose: a pool only ever grows (a class that
 * runs dry mallocs, one that overflows keeps), so at 32 MB it sat full at 200 streams (64 MB on two workers)
 * for no measurable CPU saving over malloc; below ~40 KiB per stream, page faults for fresh chunks cost CPU
 * (docs/PERFORMANCE.md, memory). */
static _Thread_local size_t pool_limit = GBUF_POOL_DEFAULT_LIMIT;
#define NOT_POOLED 0xff

struct free_node {
    struct free_node *next;
};

struct pool_class {
    struct free_node *head;
    size_t bytes;
};

static _Thread_local struct pool_class pool[NUM_CLASSES];
static _Thread_local struct gbuf_pool_stats stats;
/* process-wide, for /metrics: what the memory of RSS is doing (docs/PERFORMANCE.md, memory) */
static atomic_uint_fast64_t all_in_use, all_pooled, all_pool_hits, all_mallocs;

static void count(atomic_uint_fast64_t *c, int64_t delta)
{
    atomic_fetch_add_explicit(c, (uint_fast64_t)delta, memory_order_relaxed);
}

/* Size of class c: 2^(8 + c/4) * (1 + (c%4)/4). */
static size_t class_size(int c)
{
    size_t base = (size_t)1 << (CLASS_MIN_SHIFT + c / STEPS_PER_OCTAVE);
    return base + base / STEPS_PER_OCTAVE * (size_t)(c % STEPS_PER_OCTAVE);
}

static int class_for(size_t total)
{
    if (total > ((size_t)1 << CLASS_MAX_SHIFT)) return -1;
    int shift = CLASS_MIN_SHIFT;
    while (((size_t)1 << shift) < total) shift++;
    if (shift == CLASS_MIN_SHIFT) return 0;
    /* total lies in (2^(shift-1), 2^shift]: pick the first quarter step of the octave below that holds it */
    int c = (shift - 1 - CLASS_MIN_SHIFT) * STEPS_PER_OCTAVE;
    while (class_size(c) < total) c++;
    return c;
}

/* Takes the first free buffer of class cls off the calling thread's pool (which must have one). */
static struct free_node *pool_pop(int cls)
{
    struct free_node *n = pool[cls].head;
    size_t sz = class_size(cls);
    pool[cls].head = n->next;
    pool[cls].bytes -= sz;
    stats.bytes_pooled -= sz;
    count(&all_pooled, -(int64_t)sz);
    return n;
}

/* Frees pooled buffers until at most `keep` bytes are pooled, largest classes first (most bytes per node). */
static void pool_trim(size_t keep)
{
    for (int i = NUM_CLASSES - 1; i >= 0 && stats.bytes_pooled > keep; i--)
        while (pool[i].head && stats.bytes_pooled > keep) free(pool_pop(i));
}

struct gbuf *gbuf_alloc(size_t cap)
{
    size_t total = sizeof(struct gbuf) + cap;
    int cls = class_for(total);
    struct gbuf *b = NULL;
    stats.allocs++;
    if (cls >= 0 && pool[cls].head) {
        stats.pool_hits++;
        count(&all_pool_hits, 1);
        b = (struct gbuf *)pool_pop(cls);
    } else {
        size_t alloc = cls >= 0 ? class_size(cls) : total;
        b = malloc(alloc);
        if (!b) {
            fprintf(stderr, "gbgate: out of memory allocating %zu bytes\n", alloc);
            abort();
        }
        count(&all_mallocs, 1);
    }
    count(&all_in_use, cls >= 0 ? (int64_t)class_size(cls) : (int64_t)total);
    atomic_init(&b->refs, 1);
    b->size_class = cls >= 0 ? (uint8_t)cls : NOT_POOLED;
    b->cap = cls >= 0 ? (uint32_t)(class_size(cls) - sizeof(struct gbuf)) : (uint32_t)cap;
    return b;
}

void gbuf_unref(struct gbuf *b)
{
    if (!b) return;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
    stats.frees++;
    if (b->size_class == NOT_POOLED) {
        count(&all_in_use, -(int64_t)(sizeof(struct gbuf) + b->cap));
        free(b);
        return;
    }
    size_t sz = class_size(b->size_class);
    count(&all_in_use, -(int64_t)sz);
    struct pool_class *pc = &pool[b->size_class];
    if (pc->bytes + sz > POOL_MAX_BYTES_PER_CLASS || stats.bytes_pooled + sz > pool_limit) {
        free(b);
        return;
    }
    struct free_node *n = (struct free_node *)b;
    n->next = pc->head;
    pc->head = n;
    pc->bytes += sz;
    stats.bytes_pooled += sz;
    count(&all_pooled, (int64_t)sz);
}

struct gbuf *gbuf_grow(struct gbuf *b, size_t used, size_t cap)
{
    if (cap <= b->cap) return b;
    size_t want = (size_t)b->cap * 2;
    if (want < cap) want = cap;
    struct gbuf *nb = gbuf_alloc(want);
    memcpy(nb->data, b->data, used);
    gbuf_unref(b);
    return nb;
}

void gbuf_pool_stats(struct gbuf_pool_stats *out)
{
    *out = stats;
}

void gbuf_global_stats(struct gbuf_global_stats *out)
{
    out->in_use = atomic_load_explicit(&all_in_use, memory_order_relaxed);
    out->pooled = atomic_load_explicit(&all_pooled, memory_order_relaxed);
    out->pool_hits = atomic_load_explicit(&all_pool_hits, memory_order_relaxed);
    out->mallocs = atomic_load_explicit(&all_mallocs, memory_order_relaxed);
}

void gbuf_process_init(void)
{
    /* Measured (docs/PERFORMANCE.md, memory): at 200 x 2 Mbit/s the heap kept ~23 MB free at its high-water
     * mark; with chunks mapped, RSS fell by 25 MB for ~3,000 page faults/s. A threshold set by hand also
     * stops glibc from raising it (and the trim threshold) each time a mapped block is freed. */
    mallopt(M_MMAP_THRESHOLD, (int)GBUF_MMAP_BYTES);
}

bool gbuf_heap_trim(void)
{
    return malloc_trim(0) != 0;
}

void gbuf_pool_set_limit(size_t bytes)
{
    pool_limit = bytes;
    pool_trim(pool_limit);
}

void gbuf_pool_drain(void)
{
    pool_trim(0);
}
