/* Catalog assembly across MESSAGEs (see catalog.h). */
#include "signaling/catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct catalog_assembly *catalog_assembly_create(uint32_t sn, size_t max_items, uint64_t now_ms)
{
    struct catalog_assembly *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->sn = sn;
    a->sum_num = -1;
    a->max_items = max_items ? max_items : 1;
    a->started_ms = a->updated_ms = now_ms;
    return a;
}

void catalog_assembly_destroy(struct catalog_assembly *a)
{
    if (!a) return;
    free(a->items);
    free(a->index);
    free(a);
}

/* Position in the sorted index where id is or would go; *found tells which. */
static size_t index_search(const struct catalog_assembly *a, const char *id, bool *found)
{
    size_t lo = 0, hi = a->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->items[a->index[mid]].device_id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static int grow(struct catalog_assembly *a)
{
    size_t cap = a->cap ? a->cap * 2 : 16;
    if (cap > a->max_items) cap = a->max_items;
    struct manscdp_catalog_item *items = realloc(a->items, cap * sizeof(*items));
    if (!items) return ENOMEM;
    a->items = items;
    uint32_t *index = realloc(a->index, cap * sizeof(*index));
    if (!index) return ENOMEM;
    a->index = index;
    a->cap = cap;
    return 0;
}

int catalog_assembly_add_item(struct catalog_assembly *a, const struct manscdp_catalog_item *item)
{
    if (!item->device_id[0]) {
        a->dropped++;
        return 0;
    }
    bool found;
    size_t pos = index_search(a, item->device_id, &found);
    if (found) {
        a->items[a->index[pos]] = *item;
        a->duplicates++;
        return 0;
    }
    if (a->count >= a->max_items) {
        a->dropped++;
        return 0;
    }
    if (a->count == a->cap) {
        int err = grow(a);
        if (err) return err;
    }
    a->items[a->count] = *item;
    memmove(&a->index[pos + 1], &a->index[pos], (a->count - pos) * sizeof(a->index[0]));
    a->index[pos] = (uint32_t)a->count;
    a->count++;
    return 0;
}

int catalog_assembly_add(struct catalog_assembly *a, const struct manscdp_catalog *cat, uint64_t now_ms)
{
    a->messages++;
    a->updated_ms = now_ms;
    if (cat->sum_num >= 0 && cat->sum_num > a->sum_num) a->sum_num = cat->sum_num;
    struct manscdp_catalog_item item;
    for (const struct manscdp_node *n = cat->first_item; n; n = manscdp_next(n)) {
        manscdp_decode_catalog_item(n, &item);
        int err = catalog_assembly_add_item(a, &item);
        if (err) return err;
    }
    return 0;
}

bool catalog_assembly_complete(const struct catalog_assembly *a)
{
    if (a->sum_num < 0) return false;
    size_t want = (uint64_t)a->sum_num > a->max_items ? a->max_items : (size_t)a->sum_num;
    return a->count >= want;
}

struct manscdp_catalog_item *catalog_assembly_take(struct catalog_assembly *a, size_t *count)
{
    *count = 0;
    if (!a->count) return NULL;
    struct manscdp_catalog_item *sorted = malloc(a->count * sizeof(*sorted));
    if (!sorted) return NULL;
    for (size_t i = 0; i < a->count; i++) sorted[i] = a->items[a->index[i]];
    *count = a->count;
    a->count = 0;
    return sorted;
}
