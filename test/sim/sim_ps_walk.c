/*
 * A tolerant walk over an MPEG-PS byte stream in memory, unit by unit, for the simulator's two needs: cutting
 * a PS file at its pack headers (sim_input_ps.c) and finding every SCR/PTS/DTS field of a clip so --loop can
 * move them forward on each pass (sim_clip_ts.c). Units are followed by their lengths, so a fake
 * 00 00 01 BA inside a payload is never taken for a pack; where the structure is broken (garbage, a cut PES)
 * the walk scans for the next pack start. This runs once per clip at start-up, never per packet.
 */
#include <string.h>

#include "sim_send.h"

static size_t find_pack_start(const uint8_t *d, size_t len, size_t from)
{
    static const uint8_t pack_code[4] = {0, 0, 1, 0xBA};
    if (from >= len) return len;
    const uint8_t *p = memmem(d + from, len - from, pack_code, 4);
    return p ? (size_t)(p - d) : len;
}

/* End of a PES with PES_packet_length 0: the next start code of a PS unit (pack, system header, PSM, PES). */
static size_t find_unit_start(const uint8_t *d, size_t len, size_t from)
{
    for (size_t i = from; i + 4 <= len; i++)
        if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1 && d[i + 3] >= 0xBA) return i;
    return len;
}

void sim_ps_walk(const uint8_t *d, size_t len, sim_ps_unit_fn unit, void *arg)
{
    size_t pos = 0;
    while (pos + 4 <= len) {
        if (d[pos] != 0 || d[pos + 1] != 0 || d[pos + 2] != 1 || d[pos + 3] < 0xBA) {
            pos = find_pack_start(d, len, pos + 1);
            continue;
        }
        uint8_t id = d[pos + 3];
        size_t end;
        if (id == 0xBA) {
            end = pos + 14 <= len ? pos + 14 + (d[pos + 13] & 7) : len;
        } else if (pos + 6 > len) {
            end = len;
        } else {
            size_t unit_len = ((size_t)d[pos + 4] << 8) | d[pos + 5];
            end = unit_len ? pos + 6 + unit_len : find_unit_start(d, len, pos + 6);
        }
        if (end > len) end = len;
        unit(arg, d, id, pos, end);
        pos = end;
    }
}

int64_t sim_ps_read_ts(const uint8_t *p)
{
    return ((int64_t)(p[0] & 0x0E) << 29) | ((int64_t)p[1] << 22) | ((int64_t)(p[2] >> 1) << 15) |
           ((int64_t)p[3] << 7) | (p[4] >> 1);
}

bool sim_ps_is_pes(uint8_t id)
{
    return (id & 0xF0) == 0xE0 || (id & 0xE0) == 0xC0;
}

unsigned sim_pes_ts_fields(const uint8_t *d, size_t pos, size_t end, size_t *pts_at, size_t *dts_at)
{
    if (pos + 9 > end || (d[pos + 6] >> 6) != 2) return 0; /* MPEG-1 PES headers: not seen from cameras */
    uint8_t flags = d[pos + 7];
    unsigned n = 0;
    if ((flags & 0x80) && pos + 14 <= end) *pts_at = pos + 9, n = 1;
    if ((flags & 0xC0) == 0xC0 && pos + 19 <= end) *dts_at = pos + 14, n = 2;
    return n;
}
