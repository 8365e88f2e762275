/*
 * Catalog assembly: a device answers one Catalog query with any number of MESSAGEs, each carrying some
 * DeviceList items and (normally) the total SumNum. This collects the items of one answer, de-duplicated by
 * channel ID (a later copy replaces an earlier one: devices resend), until SumNum distinct items are in.
 *
 * Pure and bounded: no I/O, no clock (times are parameters), at most `max_items` items (a SumNum of a
 * billion does not allocate a billion). The caller decides what a timeout means (keep the partial result).
 * Items are kept in arrival order with a side index sorted by ID, so a duplicate is found by binary search
 * and inserting moves 4-byte indices, not 2 KB items.
 */
#ifndef GB_SIGNALING_CATALOG_H
#define GB_SIGNALING_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/manscdp.h"

struct catalog_assembly {
    uint32_t sn;
    int64_t sum_num; /* the largest SumNum seen; -1 while none was sent */
    size_t max_items;
    struct manscdp_catalog_item *items; /* arrival order */
    uint32_t *index;                    /* positions in items, sorted by device_id */
    size_t count, cap;
    uint32_t messages;   /* MESSAGEs added */
    uint32_t duplicates; /* items replaced by a later copy */
    uint32_t dropped;    /* items without an ID, or over max_items */
    uint64_t started_ms, updated_ms;
};

struct catalog_assembly *catalog_assembly_create(uint32_t sn, size_t max_items, uint64_t now_ms);
void catalog_assembly_destroy(struct catalog_assembly *a);

/* Adds one decoded Catalog message (its items are decoded from cat->first_item). Returns 0 or ENOMEM. */
int catalog_assembly_add(struct catalog_assembly *a, const struct manscdp_catalog *cat, uint64_t now_ms);
/* Adds one already decoded item (tests, and the merge path). */
int catalog_assembly_add_item(struct catalog_assembly *a, const struct manscdp_catalog_item *item);
/* True once SumNum is known and that many distinct items (capped at max_items) are in. SumNum 0 counts. */
bool catalog_assembly_complete(const struct catalog_assembly *a);
/* Hands the items over sorted by ID (caller frees with free()); the assembly is left empty. */
struct manscdp_catalog_item *catalog_assembly_take(struct catalog_assembly *a, size_t *count);

#endif
