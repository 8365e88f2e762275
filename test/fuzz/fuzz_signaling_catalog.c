/* libFuzzer target for signaling/catalog: arbitrary bytes as MANSCDP bodies fed to a SumNum assembly. The
 * input is split at 0xFF bytes into several MESSAGE bodies (one answer in parts), the assembly is bounded at
 * 64 items, and what it hands over must be sorted, unique and within the bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/catalog.h"
#include "signaling/manscdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct catalog_assembly *a = catalog_assembly_create(1, 64, 0);
    if (!a) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0xFF) continue;
        struct manscdp_msg *m = NULL;
        if (i > start && manscdp_parse(data + start, i - start, &m) == 0) {
            struct manscdp_catalog cat;
            if (manscdp_decode_catalog(m, &cat) == 0) (void)catalog_assembly_add(a, &cat, i);
            manscdp_free(m);
        }
        start = i + 1;
    }
    (void)catalog_assembly_complete(a);
    size_t n;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    if (n > 64) abort();
    for (size_t i = 1; i < n; i++)
        if (strcmp(items[i - 1].device_id, items[i].device_id) >= 0) abort();
    free(items);
    catalog_assembly_destroy(a);
    return 0;
}
