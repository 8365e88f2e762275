/*
 * libFuzzer target: the WebSocket frame parser in both roles. The input (after a config byte) is parsed once
 * whole and once in input-chosen chunks, each in its own exact-size allocation; both runs must produce the
 * same events and the same final error. Also exercises the close payload parser on each close event and the
 * accept key on the first 24 bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/ws.h"

struct digest {
    uint64_t hash, events;
};

static void on_event(void *arg, const struct ws_event *ev)
{
    struct digest *d = arg;
    d->hash = d->hash * 31 + ev->type;
    for (size_t i = 0; i < ev->len; i++) d->hash = d->hash * 1099511628211ull + ev->data[i];
    d->hash = d->hash * 31 + ev->len;
    if (ev->type == WS_EV_CLOSE) {
        d->hash = d->hash * 31 + ev->close_code;
        if (ev->len > WS_MAX_CONTROL_PAYLOAD ||
            (ev->reason_len && ev->reason + ev->reason_len != ev->data + ev->len))
            abort();
    }
    if (ev->type == WS_EV_TEXT && !ws_utf8_valid(ev->data, ev->len)) abort();
    d->events++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    enum ws_role role = data[0] & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    size_t max_message = (data[0] & 2) ? 70000 : 1 + (data[0] >> 2) * 8;
    uint8_t seed = data[0];
    data++;
    size--;

    if (size >= 24) {
        char key[25], accept[WS_ACCEPT_KEY_LEN + 1];
        memcpy(key, data, 24);
        key[24] = '\0';
        if (ws_accept_key(key, accept) == 0 && strlen(accept) != WS_ACCEPT_KEY_LEN) abort();
    }

    struct digest whole = {0}, split = {0};
    struct ws_parser *a = ws_parser_create(role, max_message, on_event, &whole);
    struct ws_parser *b = ws_parser_create(role, max_message, on_event, &split);
    if (!a || !b) abort();

    uint8_t *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);
    enum ws_error ea = ws_parser_input(a, copy, size);
    free(copy);

    enum ws_error eb = WS_OK;
    uint32_t x = seed * 2654435761u + 7;
    for (size_t pos = 0; pos < size;) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % (seed & 4 ? 5 : 300);
        if (n > size - pos) n = size - pos;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, data + pos, n);
        eb = ws_parser_input(b, chunk, n);
        free(chunk);
        pos += n;
    }
    if (ea != eb || whole.hash != split.hash || whole.events != split.events) abort();
    if (ws_parser_closed(a) != ws_parser_closed(b)) abort();
    if (ea != WS_OK) {
        uint16_t code = ws_error_close_code(ea);
        if (code != 1002 && code != 1007 && code != 1009 && code != 1011) abort();
    }
    ws_parser_destroy(a);
    ws_parser_destroy(b);
    return 0;
}
