/*
 * libFuzzer target for media/aac: ADTS header and AudioSpecificConfig parsing, and the ADTS write/parse
 * round trip for whatever the parser accepted.
 */
#include <stdio.h>
#include <stdlib.h>

#include "media/aac.h"

#define FUZZ_CHECK(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                        \
            abort();                                                                                         \
        }                                                                                                    \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct adts_header h;
    if (adts_parse_header(data, size, &h) == 0) {
        FUZZ_CHECK(h.frame_len >= h.header_len && h.sample_rate_index <= 12 && h.object_type >= 1);
        FUZZ_CHECK(aac_sample_rate_from_index(h.sample_rate_index) > 0);
        uint8_t out[ADTS_HEADER_LEN], asc[AAC_ASC_LEN];
        if (h.object_type <= 4 && h.frame_len >= ADTS_HEADER_LEN) {
            FUZZ_CHECK(adts_write_header(out, h.object_type, h.sample_rate_index, h.channel_config,
                                         (size_t)h.frame_len - ADTS_HEADER_LEN) == ADTS_HEADER_LEN);
            struct adts_header again;
            FUZZ_CHECK(adts_parse_header(out, sizeof out, &again) == 0);
            FUZZ_CHECK(again.object_type == h.object_type && again.sample_rate_index == h.sample_rate_index &&
                       again.channel_config == h.channel_config && again.frame_len == h.frame_len);
        }
        FUZZ_CHECK(aac_build_asc(h.object_type, h.sample_rate_index, h.channel_config, asc, sizeof asc) == 2);
        struct aac_config cfg;
        FUZZ_CHECK(aac_parse_asc(asc, sizeof asc, &cfg) == 0);
        FUZZ_CHECK(cfg.object_type == h.object_type && cfg.channel_config == h.channel_config);
        FUZZ_CHECK(cfg.sample_rate == aac_sample_rate_from_index(h.sample_rate_index));
    }
    struct aac_config cfg;
    if (aac_parse_asc(data, size, &cfg) == 0) FUZZ_CHECK(cfg.sample_rate > 0 && cfg.object_type > 0);
    return 0;
}
