/*
 * Paged answer assembly: a device answers one query (Catalog, RecordInfo...) with any number of MESSAGEs,
 * each carrying some items and (normally) SumNum, the item count of the whole answer. Parts may come out of
 * order, twice (retransmissions, devices that resend), or never. This collects the items of one answer,
 * de-duplicated by the caller's comparison (a later copy replaces an earlier one), until SumNum distinct
 * items are in; the caller decides what a timeout means.
 *
 * Generic over the item type (fixed-size structs, copied in) so that every paged answer shares one
 * implementation. Pure and bounded: no I/O, no clock (times are parameters), at most `max_items` items (a
 * SumNum of a billion does not allocate a billion). Items are kept in arrival order with a side index sorted
 * by the comparison, so a duplicate is found by binary search and an insertion moves 4-byte indices, not
 * kilobyte items, even when the parts arrive in reverse order.
 */
#ifndef GB_SIGNALING_PAGED_ASSEMBLY_H
#define GB_SIGNALING_PAGED_ASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Orders two items; 0 means "the same item" (the later copy replaces the earlier one). */
typedef int (*paged_cmp_fn)(const void *a, const void *b);

struct paged_assembly {
    uint32_t sn;
    int64_t sum_num; /* the largest SumNum seen; -1 while none was sent */
    size_t item_size, max_items;
    paged_cmp_fn cmp;
    uint8_t *items;  /* arrival order, item_size bytes each */
    uint32_t *index; /* positions in items, sorted by cmp */
    size_t count, cap;
    uint32_t messages;   /* parts added */
    uint32_t duplicates; /* items replaced by a later copy */
    uint32_t dropped;    /* items refused by the caller or over max_items */
    uint64_t started_ms, updated_ms;
};

struct paged_assembly *paged_assembly_create(uint32_t sn, size_t item_size, size_t max_items,
                                             paged_cmp_fn cmp, uint64_t now_ms);
void paged_assembly_destroy(struct paged_assembly *a);

/* Notes one part: its SumNum (-1 when absent; the largest seen wins) and the time. Call once per part, then
 * add its items. */
void paged_assembly_part(struct paged_assembly *a, int64_t sum_num, uint64_t now_ms);
/* Adds (copies) one item, or replaces its earlier copy. Returns 0 or ENOMEM; over max_items it is dropped. */
int paged_assembly_add(struct paged_assembly *a, const void *item);
/* True once SumNum is known and that many distinct items (capped at max_items) are in. SumNum 0 counts. */
bool paged_assembly_complete(const struct paged_assembly *a);
/* The i-th item in sorted order (i < count). */
const void *paged_assembly_at(const struct paged_assembly *a, size_t i);
/* Hands the items over sorted (caller frees with free()); the assembly is left empty. NULL when none. */
void *paged_assembly_take(struct paged_assembly *a, size_t *count);

#endif
