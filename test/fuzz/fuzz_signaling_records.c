/* libFuzzer target for signaling/record_list: arbitrary bytes as RecordInfo response bodies (split at 0xFF
 * into several pages of one answer) assembled with a bound of 64 recordings; what comes out must be within
 * the bound and in order. The first line of each part is also tried as a GB time (parse, format, parse back
 * must give the same seconds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/manscdp.h"
#include "signaling/record_list.h"

static void check_time(const uint8_t *data, size_t size)
{
    char text[40];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = 0;
    int64_t s, back;
    if (!record_time_parse(text, &s)) return;
    char out[RECORD_TIME_SIZE];
    record_time_format(s, out);
    if (!record_time_parse(out, &back) || back != s) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct paged_assembly *a = record_list_create(1, 64, 0);
    if (!a) return 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != 0xFF) continue;
        check_time(data + start, i - start);
        struct manscdp_msg *m = NULL;
        if (i > start && manscdp_parse(data + start, i - start, &m) == 0) {
            struct manscdp_record_info page;
            if (manscdp_decode_record_info(m, &page) == 0) (void)record_list_add(a, &page, i);
            manscdp_free(m);
        }
        start = i + 1;
    }
    (void)paged_assembly_complete(a);
    if (a->count > 64) abort();
    for (size_t i = 1; i < a->count; i++) {
        const struct record_entry *p = paged_assembly_at(a, i - 1), *q = paged_assembly_at(a, i);
        if (p->start_s > q->start_s) abort();
    }
    size_t n;
    free(paged_assembly_take(a, &n));
    paged_assembly_destroy(a);
    return 0;
}
