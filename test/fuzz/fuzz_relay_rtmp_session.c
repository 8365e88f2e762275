/*
 * libFuzzer target for relay/rtmp_session: a plain handshake is done first (so the fuzzer's bytes reach the
 * chunk parser and the command handling, not just C0), then the input is fed in pieces; a play is answered
 * with rtmp_session_play_start (or not found, by the input) and the rest is fed on, as the server does
 * after the hand-off. The session may end or fault, never misbehave.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "relay/rtmp_session.h"

static size_t sent;

static void on_send(void *arg, const uint8_t *p, size_t len)
{
    sent += len;
    if (len) sent += p[len - 1] & 1; /* touch the bytes */
}

static void on_pause(void *arg, bool pause) {}

static const struct rtmp_session_ops ops = {on_send, on_pause};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t hello[1 + 2 * RTMP_HANDSHAKE_SIZE];
    if (size < 1) return 0;
    struct rtmp_session *s = rtmp_session_create(128 + (data[0] & 0x3f) * 64, 1);
    if (!s) return 0;
    rtmp_session_set_ops(s, &ops, NULL);
    rtmp_handshake_client_c0c1(hello, data[0] & 0x40, 3);
    size_t used;
    rtmp_session_input(s, hello, sizeof hello, &used);
    bool not_found = data[0] & 0x80;
    data++;
    size--;
    size_t pos = 0, step = 1;
    while (pos < size) {
        size_t n = step < size - pos ? step : size - pos;
        int rc = rtmp_session_input(s, data + pos, n, &used);
        if (used > n) __builtin_trap();
        if (rc < 0 || rc == RTMP_SESSION_CLOSE) break;
        if (rc == RTMP_SESSION_PLAY) {
            if (strlen(s->stream) == 0 || strlen(s->stream) > 64) __builtin_trap();
            if (not_found)
                rtmp_session_play_not_found(s, "fuzz");
            else
                rtmp_session_play_start(s);
        }
        pos += used;
        step = step % 61 + 1;
    }
    rtmp_session_destroy(s);
    return 0;
}
