/*
 * libFuzzer target for relay/rtmp_chunk's parser. The input is parsed twice, whole and cut into pieces whose
 * sizes come from the input itself; both runs must deliver the same messages (type, chunk stream, timestamp,
 * stream id, bytes) and end with the same result: the parser may not depend on how the bytes arrive. Every
 * command message is also run through the command decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "relay/rtmp_chunk.h"
#include "relay/rtmp_command.h"

struct digest {
    uint64_t hash, count;
};

static int on_message(void *arg, const struct rtmp_message *m)
{
    struct digest *d = arg;
    uint64_t h = d->hash ^ ((uint64_t)m->type << 56 | (uint64_t)m->csid << 32 | m->timestamp);
    h = h * 0x100000001b3ull ^ m->stream_id ^ ((uint64_t)m->len << 20);
    for (uint32_t i = 0; i < m->len; i++) h = (h ^ m->data[i]) * 0x100000001b3ull;
    d->hash = h;
    d->count++;
    if (m->type == RTMP_MSG_COMMAND_AMF0 || m->type == RTMP_MSG_COMMAND_AMF3) {
        struct rtmp_command c;
        rtmp_command_decode(m->data, m->len, m->type == RTMP_MSG_COMMAND_AMF3, &c);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t step_seed = data[0];
    data++;
    size--;
    struct rtmp_chunk_parser whole, split;
    struct digest dw = {0}, ds = {0};
    rtmp_chunk_parser_init(&whole, 65536, 65536, on_message, &dw);
    rtmp_chunk_parser_init(&split, 65536, 65536, on_message, &ds);
    size_t used;
    int rw = rtmp_chunk_input(&whole, data, size, &used);
    if (rw == 0 && used != size) __builtin_trap();
    int rs = 0;
    size_t pos = 0, step = (size_t)(step_seed % 17) + 1;
    while (pos < size && rs == 0) {
        size_t n = step < size - pos ? step : size - pos;
        rs = rtmp_chunk_input(&split, data + pos, n, &used);
        pos += n;
        step = (step * 7 + step_seed) % 29 + 1;
    }
    if (rw != rs || dw.count != ds.count || dw.hash != ds.hash) __builtin_trap();
    rtmp_chunk_parser_free(&whole);
    rtmp_chunk_parser_free(&split);
    return 0;
}
