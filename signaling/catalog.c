/* Catalog assembly across MESSAGEs (see catalog.h): paged_assembly with items ordered by channel ID. */
#include "signaling/catalog.h"

#include <string.h>

static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const struct manscdp_catalog_item *)a)->device_id,
                  ((const struct manscdp_catalog_item *)b)->device_id);
}

struct catalog_assembly *catalog_assembly_create(uint32_t sn, size_t max_items, uint64_t now_ms)
{
    return paged_assembly_create(sn, sizeof(struct manscdp_catalog_item), max_items, item_cmp, now_ms);
}

void catalog_assembly_destroy(struct catalog_assembly *a)
{
    paged_assembly_destroy(a);
}

int catalog_assembly_add_item(struct catalog_assembly *a, const struct manscdp_catalog_item *item)
{
    if (!item->device_id[0]) {
        a->dropped++;
        return 0;
    }
    return paged_assembly_add(a, item);
}

int catalog_assembly_add(struct catalog_assembly *a, const struct manscdp_catalog *cat, uint64_t now_ms)
{
    paged_assembly_part(a, cat->sum_num, now_ms);
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
    return paged_assembly_complete(a);
}

struct manscdp_catalog_item *catalog_assembly_take(struct catalog_assembly *a, size_t *count)
{
    return paged_assembly_take(a, count);
}
