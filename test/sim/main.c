/*
 * gbsim: the camera simulator used by the integration tests and the benchmark.
 *   gbsim send ...     media sender: PS over RTP (UDP/TCP) from H.264/H.265/G.711/AAC files, PS files or RTP
 *                      captures, for one or hundreds of streams (sim_send_main.c, docs/GBSIM.md)
 *   gbsim device ...   a GB28181 SIP device (sim_device_main, in device*.c)
 * The device mode is linked in when its sources are present; the weak fallback below keeps `gbsim send`
 * buildable and usable without them.
 */
#include <stdio.h>
#include <string.h>

#include "sim_device.h"
#include "sim_send.h"

__attribute__((weak)) int sim_device_main(int argc, char **argv)
{
    fputs("gbsim: device mode not built\n", stderr);
    return 2;
}

static void usage(FILE *out)
{
    fputs("usage: gbsim send [options]     send PS/RTP media (gbsim send --help)\n"
          "       gbsim device [options]   run a simulated GB28181 device (gbsim device --help)\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* each mode sees its own name as argv[0], so getopt messages and usage read naturally */
    if (strcmp(argv[1], "send") == 0) return sim_send_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "device") == 0) return sim_device_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "gbsim: unknown mode '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
