/* Per-stream port allocator: even ports of media.rtp_port_range (RTP on even, RTCP on the odd above it),
 * handed out round-robin so a just-released port (whose late packets may still be in flight) is reused last.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

static int port_min, port_max, next_port;
static uint8_t *used; /* one byte per even port */

void ports_init(int min, int max)
{
    port_min = min + (min & 1);
    port_max = max;
    next_port = port_min;
    free(used);
    used = calloc((size_t)(port_max - port_min) / 2 + 1, 1);
}

bool ports_in_range(int port)
{
    return port >= port_min && port <= port_max;
}

int ports_alloc(void)
{
    int count = (port_max - port_min) / 2 + 1;
    for (int i = 0; i < count; i++) {
        int p = next_port;
        next_port += 2;
        if (next_port > port_max - 1) next_port = port_min;
        if (p + 1 > port_max) continue;
        int idx = (p - port_min) / 2;
        if (!used[idx]) {
            used[idx] = 1;
            return p;
        }
    }
    return -1;
}

void ports_release(int port)
{
    if (!used || port < port_min || port > port_max || (port - port_min) % 2) return;
    used[(port - port_min) / 2] = 0;
}
