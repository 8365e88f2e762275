/*
 * libFuzzer target for relay/rtmp_command: decodes the input as an AMF0 (or, by the first byte, AMF3-wrapped)
 * command, reads connect's fields and every argument as string and boolean, and runs the stream name rules
 * on two strings cut from the input. The reply encoders are run with decoded strings into small buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "relay/rtmp_command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    bool amf3 = data[0] & 1;
    struct rtmp_command c;
    char app[64], tc[128], arg[64], out[65];
    uint8_t reply[256];
    if (rtmp_command_decode(data + 1, size - 1, amf3, &c) == 0) {
        double enc;
        if (c.name[RTMP_COMMAND_NAME_MAX - 1] != 0) __builtin_trap(); /* always NUL-terminated */
        if (rtmp_command_connect_info(&c, app, sizeof app, tc, sizeof tc, &enc) == 0)
            rtmp_reply_error(reply, sizeof reply, c.txn, app, tc);
        for (int i = 0; i < c.nargs; i++) {
            bool b;
            if (rtmp_command_arg_string(&c, i, arg, sizeof arg) == 0)
                rtmp_reply_on_status(reply, sizeof reply, "status", arg, c.name, arg);
            rtmp_command_arg_bool(&c, i, &b);
        }
        rtmp_reply_connect_result(reply, sizeof reply, c.txn, enc);
    }
    /* stream names: input split at its first NUL into app and name (bounded copies) */
    char a[300], n[300];
    size_t i = 1, o = 0;
    while (i < size && data[i] && o + 1 < sizeof a) a[o++] = (char)data[i++];
    a[o] = 0;
    i++;
    o = 0;
    while (i < size && o + 1 < sizeof n) n[o++] = data[i] ? (char)data[i] : 'x', i++;
    n[o] = 0;
    if (rtmp_stream_name(a, n, out, sizeof out) == 0) {
        size_t len = strlen(out);
        if (len == 0 || len > 64) __builtin_trap();
        for (size_t k = 0; k < len; k++)
            if (out[k] == '/' || out[k] == '?' || out[k] == ':') __builtin_trap();
    }
    return 0;
}
