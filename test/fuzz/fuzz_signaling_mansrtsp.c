/* libFuzzer target for signaling/mansrtsp: the parser on any bytes (bounded, no read past the input, every
 * accepted request within the documented ranges), and the builder on what was accepted: its text must parse
 * back to the same request (positions to the millisecond) and building that again gives the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/mansrtsp.h"

static void check_ranges(const struct mansrtsp_request *r)
{
    if (r->method < MANSRTSP_PLAY || r->method > MANSRTSP_TEARDOWN) abort();
    if (r->has_scale && !(r->scale >= MANSRTSP_SCALE_MIN && r->scale <= MANSRTSP_SCALE_MAX)) abort();
    if (r->range >= MANSRTSP_RANGE_FROM && !(r->range_start >= 0 && r->range_start <= MANSRTSP_NPT_MAX))
        abort();
    if (r->range == MANSRTSP_RANGE_SPAN && !(r->range_end > r->range_start)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a heap copy of exactly `size` bytes, so ASan catches any read past the end */
    char *body = malloc(size ? size : 1);
    if (!body) return 0;
    memcpy(body, data, size);
    struct mansrtsp_request r;
    const char *why = NULL;
    int err = mansrtsp_parse(body, size, &r, &why);
    free(body);
    if (!why) abort();
    if (err) return 0;
    check_ranges(&r);

    char a[512], b[512];
    size_t alen, blen;
    if (mansrtsp_build(a, sizeof(a), &r, &alen)) return 0; /* a span shorter than 1 ms: refused, fine */
    struct mansrtsp_request back;
    if (mansrtsp_parse(a, alen, &back, &why)) abort();
    check_ranges(&back);
    if (back.method != r.method || back.cseq != r.cseq || back.range != r.range ||
        back.has_scale != r.has_scale || back.has_pause_time != r.has_pause_time ||
        back.pause_now != r.pause_now)
        abort();
    if (r.has_scale && fabs(back.scale - r.scale) > 0.0005 + 1e-6) abort();
    if (r.range >= MANSRTSP_RANGE_FROM && fabs(back.range_start - r.range_start) > 0.0005 + 1e-6) abort();
    if (mansrtsp_build(b, sizeof(b), &back, &blen) || blen != alen || memcmp(a, b, alen)) abort();
    return 0;
}
