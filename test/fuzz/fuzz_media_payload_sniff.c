/*
 * libFuzzer target for media/payload_sniff: every payload through payload_sniff() with the usual payload
 * types and an unusual one, then the input cut into packets (lengths from the input) through a
 * payload_sniffer, checking that verdicts are in range and that a decision, once made, never changes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "media/payload_sniff.h"

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t pts[] = {96, 98, 99, 33, 0, 127};
    for (size_t i = 0; i < sizeof pts; i++) {
        enum payload_kind k = payload_sniff(pts[i], data, size);
        FUZZ_CHECK(k >= PAYLOAD_UNKNOWN && k <= PAYLOAD_TS);
    }
    if (size < 1) return 0;
    uint8_t pt = pts[data[0] % sizeof pts];
    data++;
    size--;
    struct payload_sniffer s;
    payload_sniffer_init(&s);
    enum payload_kind decided = PAYLOAD_UNKNOWN;
    uint32_t packets = 0;
    while (size >= 2) {
        size_t n = ((size_t)data[0] << 8 | data[1]) % 1500;
        data += 2;
        size -= 2;
        if (n > size) n = size;
        enum payload_kind k = payload_sniffer_add(&s, pt, data, n);
        packets++;
        FUZZ_CHECK(k >= PAYLOAD_UNKNOWN && k <= PAYLOAD_TS);
        if (decided != PAYLOAD_UNKNOWN) FUZZ_CHECK(k == decided);
        decided = k;
        FUZZ_CHECK(!payload_sniffer_exhausted(&s) ||
                   (k == PAYLOAD_UNKNOWN && packets >= PAYLOAD_SNIFF_MAX_PACKETS));
        data += n;
        size -= n;
    }
    return 0;
}
