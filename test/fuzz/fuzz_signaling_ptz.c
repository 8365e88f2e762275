/* libFuzzer target for signaling/ptz: the raw PTZCmd parser the API runs on operator input. Whatever it
 * accepts must encode back to the same command (case aside), and the action/preset builders must accept
 * every speed/index in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signaling/ptz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ptz_cmd cmd;
    const char *why = NULL;
    if (ptz_decode((const char *)data, size, &cmd, &why) == 0) {
        char hex[PTZ_HEX_LEN + 1];
        if (ptz_encode(&cmd, hex) || strncasecmp(hex, (const char *)data, PTZ_HEX_LEN)) abort();
        (void)ptz_command_name(cmd.command);
    } else if (!why || !why[0]) {
        abort(); /* every refusal says why */
    }
    if (size >= 2) {
        static const char *const actions[] = {"up", "zoomin", "focusnear", "irisclose", "upleft", "stop"};
        if (ptz_from_action(actions[data[0] % 6], data[1], &cmd) ||
            ptz_from_preset("call", data[1] ? data[1] : 1, &cmd))
            abort();
    }
    return 0;
}
