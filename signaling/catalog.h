/*
 * Catalog assembly: a device answers one Catalog query with any number of MESSAGEs, each carrying some
 * DeviceList items and (normally) the total SumNum. This collects the items of one answer, de-duplicated by
 * channel ID (a later copy replaces an earlier one: devices resend), until SumNum distinct items are in.
 *
 * It is the generic paged answer assembly (paged_assembly.h, shared with RecordInfo) with catalog items
 * ordered by channel ID: pure and bounded (at most `max_items` items), the caller decides what a timeout
 * means (keep the partial result). `struct catalog_assembly` is another name of `struct paged_assembly`, so
 * its counters (sn, sum_num, count, messages, duplicates, dropped, updated_ms...) read the same.
 */
#ifndef GB_SIGNALING_CATALOG_H
#define GB_SIGNALING_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/manscdp.h"
#include "signaling/paged_assembly.h"

#define catalog_assembly paged_assembly

struct catalog_assembly *catalog_assembly_create(uint32_t sn, size_t max_items, uint64_t now_ms);
void catalog_assembly_destroy(struct catalog_assembly *a);

/* Adds one decoded Catalog message (its items are decoded from cat->first_item). Returns 0 or ENOMEM. */
int catalog_assembly_add(struct catalog_assembly *a, const struct manscdp_catalog *cat, uint64_t now_ms);
/* Adds one already decoded item (tests, and the merge path); an item without an ID is dropped. */
int catalog_assembly_add_item(struct catalog_assembly *a, const struct manscdp_catalog_item *item);
/* True once SumNum is known and that many distinct items (capped at max_items) are in. SumNum 0 counts. */
bool catalog_assembly_complete(const struct catalog_assembly *a);
/* Hands the items over sorted by ID (caller frees with free()); the assembly is left empty. */
struct manscdp_catalog_item *catalog_assembly_take(struct catalog_assembly *a, size_t *count);

#endif
