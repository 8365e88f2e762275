/*
 * libFuzzer target: the RFC 4571 splitter. The input (after a small config prefix) is fed once whole and
 * once in input-chosen chunks, each chunk in its own exact-size allocation so any read past a chunk is
 * caught; both runs must deliver exactly the same packets and counters (the output may not depend on the
 * split).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rfc4571.h"
#include "media/rtp.h"

struct digest {
    uint64_t hash, count;
};

static void on_packet(void *arg, const uint8_t *pkt, size_t len)
{
    struct digest *d = arg;
    if (len < 8 || len > 65535) abort();
    for (size_t i = 0; i < len; i++) d->hash = d->hash * 1099511628211ull + pkt[i];
    d->hash = d->hash * 31 + len;
    d->count++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6) return 0;
    bool expect = data[0] & 1;
    uint32_t ssrc = rtp_rd32(data + 1);
    uint8_t chunk_seed = data[5];
    data += 6;
    size -= 6;

    struct digest whole = {0}, split = {0};
    struct rfc4571 *a = rfc4571_create(on_packet, &whole);
    struct rfc4571 *b = rfc4571_create(on_packet, &split);
    if (!a || !b) abort();
    rfc4571_expect_ssrc(a, expect, ssrc);
    rfc4571_expect_ssrc(b, expect, ssrc);

    uint8_t *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);
    rfc4571_input(a, copy, size);
    free(copy);

    uint32_t x = chunk_seed * 2654435761u + 1;
    for (size_t pos = 0; pos < size;) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % (chunk_seed % 4 == 0 ? 3 : 64 + chunk_seed * 4);
        if (n > size - pos) n = size - pos;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, data + pos, n);
        rfc4571_input(b, chunk, n);
        free(chunk);
        pos += n;
    }

    const struct rfc4571_stats *sa = rfc4571_get_stats(a), *sb = rfc4571_get_stats(b);
    if (whole.hash != split.hash || whole.count != split.count) abort();
    if (sa->packets != sb->packets || sa->resyncs != sb->resyncs || sa->skipped_bytes != sb->skipped_bytes)
        abort();
    if (sa->packets_copied != 0) abort(); /* one read holds every complete packet: nothing copied */
    if (sa->bytes_in != size || sb->bytes_in != size) abort();
    rfc4571_destroy(a);
    rfc4571_destroy(b);
    return 0;
}
