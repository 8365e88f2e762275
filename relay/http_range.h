/*
 * HTTP Range requests (RFC 9110 section 14): the parser of a `Range:` header value for one resource of known
 * size. Only single byte ranges are served; everything the RFC lets a server ignore (other units, several
 * ranges, bad syntax) is reported as HTTP_RANGE_NONE so the caller answers 200 with the whole file, as the
 * RFC allows. A syntactically valid range that does not overlap the file is HTTP_RANGE_UNSATISFIABLE (416).
 * Pure function of its input: no I/O, bounded, never reads past the terminating NUL.
 */
#ifndef GB_RELAY_HTTP_RANGE_H
#define GB_RELAY_HTTP_RANGE_H

#include <stdint.h>

enum http_range_result {
    HTTP_RANGE_NONE = 0,      /* no usable Range: serve the whole resource (200) */
    HTTP_RANGE_OK,            /* serve bytes [*first, *last] inclusive (206) */
    HTTP_RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * / size */
};

/* value: the header's value (NULL or "" = absent); size: the resource's length in bytes. On HTTP_RANGE_OK,
 * *first <= *last < size. */
enum http_range_result http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

#endif
