/* libFuzzer target for media/timescale: any sequence of timestamps (raw 33-bit or not), speed changes and
 * discontinuities. What must hold: no overflow (UBSan), and a frame mapped right after a discontinuity never
 * lands at or before the highest output so far. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/timescale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct timescale t;
    timescale_init(&t);
    int64_t highest = INT64_MIN;
    bool jump = false;
    for (size_t i = 0; i + 5 <= size; i += 5) {
        uint8_t op = data[i];
        uint32_t v;
        memcpy(&v, data + i + 1, 4);
        if (op < 16) {
            timescale_set_speed(&t, v % 10000);
        } else if (op < 32) {
            timescale_discontinuity(&t);
            jump = true;
        } else {
            int64_t in = (int64_t)v << (op & 1); /* up to 33 bits */
            bool started = t.started;
            int64_t out = timescale_map(&t, in);
            if (started && jump && out <= highest) abort();
            jump = false;
            if (out > highest) highest = out;
            (void)timescale_duration(&t, (int64_t)(v & 0xffff));
        }
    }
    return 0;
}
