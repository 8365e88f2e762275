/*
 * libFuzzer target for relay/http_range: any header value (NUL-terminated copy of the input after the first
 * 8 bytes, which give the file size) must parse without reading past its end, and an accepted range must lie
 * inside the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t file_size = 0;
    if (size >= 8) {
        memcpy(&file_size, data, 8);
        data += 8;
        size -= 8;
        if (file_size & 1) file_size &= 0xffff; /* small files half of the time: ends and clamps get hit */
    }
    char *value = malloc(size + 1);
    if (!value) return 0;
    memcpy(value, data, size);
    value[size] = 0;
    uint64_t first = 0, last = 0;
    enum http_range_result r = http_range_parse(value, file_size, &first, &last);
    if (r == HTTP_RANGE_OK && !(first <= last && last < file_size)) abort();
    if (r != HTTP_RANGE_OK && r != HTTP_RANGE_NONE && r != HTTP_RANGE_UNSATISFIABLE) abort();
    free(value);
    return 0;
}
