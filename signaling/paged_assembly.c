/* Paged answer assembly (see paged_assembly.h). */
#include "signaling/paged_assembly.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct paged_assembly *paged_assembly_create(uint32_t sn, size_t item_size, size_t max_items,
                                             paged_cmp_fn cmp, uint64_t now_ms)
{
    if (!item_size || !cmp) return NULL;
    struct paged_assembly *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->sn = sn;
    a->sum_num = -1;
    a->item_size = item_size;
    a->max_items = max_items ? max_items : 1;
    if (a->max_items > UINT32_MAX) a->max_items = UINT32_MAX;
    a->cmp = cmp;
    a->started_ms = a->updated_ms = now_ms;
    return a;
}

void paged_assembly_destroy(struct paged_assembly *a)
{
    if (!a) return;
    free(a->items);
    free(a->index);
    free(a);
}

void paged_assembly_part(struct paged_assembly *a, int64_t sum_num, uint64_t now_ms)
{
    a->messages++;
    a->updated_ms = now_ms;
    if (sum_num >= 0 && sum_num > a->sum_num) a->sum_num = sum_num;
}

static void *item_at(const struct paged_assembly *a, size_t pos)
{
    return a->items + pos * a->item_size;
}

const void *paged_assembly_at(const struct paged_assembly *a, size_t i)
{
    return i < a->count ? item_at(a, a->index[i]) : NULL;
}

/* Position in the sorted index where item is or would go; *found tells which. */
static size_t index_search(const struct paged_assembly *a, const void *item, bool *found)
{
    size_t lo = 0, hi = a->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = a->cmp(item_at(a, a->index[mid]), item);
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

static int grow(struct paged_assembly *a)
{
    size_t cap = a->cap ? a->cap * 2 : 16;
    if (cap > a->max_items) cap = a->max_items;
    uint8_t *items = realloc(a->items, cap * a->item_size);
    if (!items) return ENOMEM;
    a->items = items;
    uint32_t *index = realloc(a->index, cap * sizeof(*index));
    if (!index) return ENOMEM;
    a->index = index;
    a->cap = cap;
    return 0;
}

int paged_assembly_add(struct paged_assembly *a, const void *item)
{
    bool found;
    size_t pos = index_search(a, item, &found);
    if (found) {
        memcpy(item_at(a, a->index[pos]), item, a->item_size);
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
    memcpy(item_at(a, a->count), item, a->item_size);
    memmove(&a->index[pos + 1], &a->index[pos], (a->count - pos) * sizeof(a->index[0]));
    a->index[pos] = (uint32_t)a->count;
    a->count++;
    return 0;
}

bool paged_assembly_complete(const struct paged_assembly *a)
{
    if (a->sum_num < 0) return false;
    size_t want = (uint64_t)a->sum_num > a->max_items ? a->max_items : (size_t)a->sum_num;
    return a->count >= want;
}

void *paged_assembly_take(struct paged_assembly *a, size_t *count)
{
    *count = 0;
    if (!a->count) return NULL;
    uint8_t *sorted = malloc(a->count * a->item_size);
    if (!sorted) return NULL;
    for (size_t i = 0; i < a->count; i++)
        memcpy(sorted + i * a->item_size, item_at(a, a->index[i]), a->item_size);
    *count = a->count;
    a->count = 0;
    return sorted;
}
