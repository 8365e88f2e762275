/*
 * libFuzzer target for relay/flv_reader: the incremental parser fed the input in pieces whose sizes come from
 * the first bytes (so the fuzzer explores splits too), and every tag body through the video/audio tag
 * decoders, the avcC/hvcC/ASC decoders and the NAL walker.
 */
#include <stddef.h>
#include <stdint.h>

#include "relay/flv_reader.h"

static volatile uint8_t sink; /* keeps the reads that check bounds from being optimised away */

static int on_tag(void *arg, const struct flv_reader_tag *tag)
{
    (void)arg;
    for (uint32_t i = 0; i < tag->size; i += 97) sink ^= tag->data[i]; /* the whole body must be readable */
    if (tag->size) sink ^= tag->data[tag->size - 1];
    struct media_track track;
    if (tag->type == 9) {
        struct flv_video_tag v;
        if (flv_parse_video_tag(tag->data, tag->size, &v) != 0) return 0;
        if (v.packet == FLV_VIDEO_SEQUENCE_HEADER) {
            uint8_t ls = 0;
            flv_video_config_decode(v.codec, v.data, v.len, &track, &ls);
            flv_video_config_decode(CODEC_H264, v.data, v.len, &track, &ls);
            flv_video_config_decode(CODEC_H265, v.data, v.len, &track, &ls);
        }
        for (uint8_t ls = 1; ls <= 4; ls++) {
            size_t pos = 0;
            const uint8_t *nal;
            uint32_t len;
            while (flv_nal_next(v.data, v.len, ls, &pos, &nal, &len) == 1)
                if (len) sink ^= nal[len - 1];
        }
    } else if (tag->type == 8) {
        struct flv_audio_tag a;
        if (flv_parse_audio_tag(tag->data, tag->size, &a) == 0) flv_audio_config_decode(&a, &track);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t mode = data[0], split_seed = data[1];
    data += 2;
    size -= 2;
    struct flv_reader_config cfg = {.on_tag = on_tag,
                                    .no_file_header = mode & 1,
                                    .no_prev_tag_size = (mode & 2) != 0,
                                    .max_tag_size = (mode & 4) ? 4096 : 0};
    struct flv_reader *r = flv_reader_create(&cfg);
    if (!r) return 0;
    size_t pos = 0, step = split_seed ? split_seed : size;
    while (pos < size) {
        size_t n = step < size - pos ? step : size - pos;
        if (flv_reader_input(r, data + pos, n) != 0) break;
        pos += n;
        step = (step * 5 + split_seed) % 257 + 1;
    }
    flv_reader_finish(r);
    flv_reader_destroy(r);
    return 0;
}
