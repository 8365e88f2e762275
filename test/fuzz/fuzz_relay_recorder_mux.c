/*
 * libFuzzer target for relay/recorder_mux: arbitrary FLV bytes (fed in pieces whose sizes come from the first
 * byte) through the FLV -> MP4 path into /dev/null: tag decoding, the hold-before-header logic, timestamp
 * rebasing and the mp4 muxer's own checks must never crash, leak or misbehave under the sanitizers.
 */
#include <libavutil/log.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "relay/recorder_mux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        av_log_set_level(AV_LOG_QUIET);
        log_set_level(LL_ERROR);
    }
    if (size < 1) return 0;
    size_t step = (size_t)data[0] * 13 + 1;
    data++, size--;
    char err[160];
    struct rec_mux_options o = {.max_bytes = 4u << 20, .max_tag = 1u << 20, .log_name = "fuzz"};
    struct rec_mux *m = rec_mux_create("/dev/null", &o, err, sizeof err);
    if (!m) return 0;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < step ? size - off : step;
        if (rec_mux_input(m, data + off, n, err, sizeof err) != 0) break;
        off += n;
    }
    rec_mux_finish(m, err, sizeof err);
    rec_mux_destroy(m);
    return 0;
}
