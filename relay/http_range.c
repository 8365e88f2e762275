/*
 * Range header parser (API and policy in http_range.h). Grammar accepted (RFC 9110 14.1.1):
 *     "bytes" OWS "=" OWS ( first "-" [ last ] / "-" suffix ) OWS
 * with the unit matched case-insensitively. Numbers saturate instead of overflowing: a first position larger
 * than any file is simply unsatisfiable, a last position past the end is clamped to it.
 */
#include <stddef.h>
#include "relay/http_range.h"

#include <stdbool.h>
#include <strings.h>

#define DIGITS_MAX 32 /* longer numbers are not byte positions anyone means: the header is ignored */

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Reads 1..DIGITS_MAX decimal digits, saturating at UINT64_MAX. Returns the end, or NULL without digits. */
static const char *read_number(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
        if (++n > DIGITS_MAX) return NULL;
        unsigned d = (unsigned)(*p - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
        p++;
    }
    if (n == 0) return NULL;
    *out = v;
    return p;
}

enum http_range_result http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
    if (!value) return HTTP_RANGE_NONE;
    const char *p = skip_ows(value);
    if (strncasecmp(p, "bytes", 5) != 0) return HTTP_RANGE_NONE;
    p = skip_ows(p + 5);
    if (*p++ != '=') return HTTP_RANGE_NONE;
    p = skip_ows(p);
    uint64_t a = 0, b = 0;
    bool suffix = false, open_ended = false;
    if (*p == '-') {
        suffix = true;
        p = read_number(p + 1, &b);
        if (!p) return HTTP_RANGE_NONE;
    } else {
        p = read_number(p, &a);
        if (!p || *p++ != '-') return HTTP_RANGE_NONE;
        if (*p >= '0' && *p <= '9') {
            p = read_number(p, &b);
            if (!p) return HTTP_RANGE_NONE;
            if (b < a) return HTTP_RANGE_NONE; /* invalid range-spec: ignore the header */
        } else {
            open_ended = true;
        }
    }
    p = skip_ows(p);
    if (*p != 0) return HTTP_RANGE_NONE; /* several ranges, or trailing garbage: whole file */

    if (suffix) {
        if (b == 0 || size == 0) return HTTP_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return HTTP_RANGE_OK;
    }
    if (a >= size) return HTTP_RANGE_UNSATISFIABLE;
    *first = a;
    *last = open_ended || b >= size ? size - 1 : b;
    return HTTP_RANGE_OK;
}
