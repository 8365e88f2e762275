/*
 * Incremental WebSocket frame parser (see ws.h for the contract).
 *
 * Two states per frame: HEADER gathers the 2..14 header bytes in a small array (validating what it can as
 * soon as the first two bytes are in, so garbage is refused without waiting), PAYLOAD copies and unmasks
 * bytes into the control area or the message buffer as they arrive. Room for a data frame is made (and the
 * message size limit checked) when its header is complete, so the payload loop never allocates.
 */
#include "relay/ws.h"

#include <stdlib.h>
#include <string.h>

enum parser_state { ST_HEADER, ST_PAYLOAD, ST_CLOSED, ST_FAILED };

struct ws_parser {
    enum ws_role role;
    size_t max_message;
    ws_event_fn on_event;
    void *arg;
    enum parser_state state;
    enum ws_error error;
    bool in_input;        /* inside ws_parser_input(), so possibly inside the callback */
    bool destroy_pending; /* ws_parser_destroy() was called from the callback: free on the way out */

    /* frame being parsed */
    uint8_t header[WS_CLIENT_HEADER_MAX];
    size_t header_have, header_need;
    bool fin, masked;
    uint8_t opcode;
    uint8_t mask[4];
    uint64_t payload_len, payload_done;

    /* data message being reassembled */
    bool in_message;
    uint8_t message_opcode;
    uint8_t *message;
    size_t message_len, message_cap;

    uint8_t control[WS_MAX_CONTROL_PAYLOAD];
};

struct ws_parser *ws_parser_create(enum ws_role role, size_t max_message, ws_event_fn on_event, void *arg)
{
    struct ws_parser *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->role = role;
    p->max_message = max_message ? max_message : 1;
    p->on_event = on_event;
    p->arg = arg;
    p->state = ST_HEADER;
    p->header_need = 2;
    return p;
}

void ws_parser_destroy(struct ws_parser *p)
{
    if (!p) return;
    if (p->in_input) {
        p->destroy_pending = true;
        return;
    }
    free(p->message);
    free(p);
}

bool ws_parser_closed(const struct ws_parser *p)
{
    return p->state == ST_CLOSED;
}

static bool is_control(uint8_t opcode)
{
    return opcode & 0x8;
}

static enum ws_error fail(struct ws_parser *p, enum ws_error err)
{
    p->state = ST_FAILED;
    p->error = err;
    return err;
}

/* Checks the first two header bytes and works out the full header size. */
static enum ws_error check_first_bytes(struct ws_parser *p)
{
    uint8_t b0 = p->header[0], b1 = p->header[1];
    p->fin = b0 & 0x80;
    p->opcode = b0 & 0x0f;
    p->masked = b1 & 0x80;
    if (b0 & 0x70) return WS_ERR_RESERVED_BITS;
    switch (p->opcode) {
    case WS_OP_CONTINUATION:
        if (!p->in_message) return WS_ERR_CONTINUATION;
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (p->in_message) return WS_ERR_CONTINUATION;
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!p->fin) return WS_ERR_CONTROL_FRAGMENTED;
        if ((b1 & 0x7f) > WS_MAX_CONTROL_PAYLOAD) return WS_ERR_CONTROL_TOO_BIG;
        break;
    default: return WS_ERR_OPCODE;
    }
    if (p->masked != (p->role == WS_ROLE_SERVER)) return WS_ERR_MASKING;
    uint8_t len7 = b1 & 0x7f;
    p->header_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (p->masked ? 4 : 0);
    return WS_OK;
}

/* Grows the message buffer to hold `need` bytes (need <= max_message). */
static bool reserve_message(struct ws_parser *p, size_t need)
{
    if (need <= p->message_cap) return true;
    size_t cap = p->message_cap ? p->message_cap : 4096;
    while (cap < need && cap <= SIZE_MAX / 2) cap *= 2;
    if (cap > p->max_message) cap = p->max_message;
    uint8_t *bigger = realloc(p->message, cap);
    if (!bigger) return false;
    p->message = bigger;
    p->message_cap = cap;
    return true;
}

/* The header is complete: decode the length and mask, check limits, make room. */
static enum ws_error start_payload(struct ws_parser *p)
{
    const uint8_t *h = p->header;
    uint8_t len7 = h[1] & 0x7f;
    size_t pos = 2;
    uint64_t len = len7;
    if (len7 == 126) {
        len = ((uint64_t)h[2] << 8) | h[3];
        pos = 4;
        if (len < 126) return WS_ERR_LENGTH;
    } else if (len7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
        pos = 10;
        if (len >> 63) return WS_ERR_LENGTH;
        if (len <= 0xffff) return WS_ERR_LENGTH;
    }
    if (p->masked) memcpy(p->mask, h + pos, 4);
    p->payload_len = len;
    p->payload_done = 0;
    if (!is_control(p->opcode)) {
        if (len > p->max_message - p->message_len) return WS_ERR_MESSAGE_TOO_BIG;
        if (!reserve_message(p, p->message_len + (size_t)len)) return WS_ERR_NO_MEMORY;
        if (p->opcode != WS_OP_CONTINUATION) {
            p->in_message = true;
            p->message_opcode = p->opcode;
        }
    }
    p->state = ST_PAYLOAD;
    return WS_OK;
}

/* The whole frame payload is in: emit the event it completes, if any. */
static enum ws_error finish_frame(struct ws_parser *p)
{
    struct ws_event ev = {0};
    p->state = ST_HEADER;
    p->header_have = 0;
    p->header_need = 2;
    if (!is_control(p->opcode)) {
        p->message_len += (size_t)p->payload_len;
        if (!p->fin) return WS_OK;
        p->in_message = false;
        ev.type = p->message_opcode == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
        ev.data = p->message ? p->message : p->control;
        ev.len = p->message_len;
        p->message_len = 0;
        if (ev.type == WS_EV_TEXT && !ws_utf8_valid(ev.data, ev.len)) return WS_ERR_UTF8;
        p->on_event(p->arg, &ev);
        return WS_OK;
    }
    ev.data = p->control;
    ev.len = (size_t)p->payload_len;
    switch (p->opcode) {
    case WS_OP_PING: ev.type = WS_EV_PING; break;
    case WS_OP_PONG: ev.type = WS_EV_PONG; break;
    default: {
        ev.type = WS_EV_CLOSE;
        enum ws_error err = ws_close_parse(ev.data, ev.len, &ev.close_code, &ev.reason, &ev.reason_len);
        if (err) return err;
        p->state = ST_CLOSED;
        break;
    }
    }
    p->on_event(p->arg, &ev);
    return WS_OK;
}

static enum ws_error parse_bytes(struct ws_parser *p, const uint8_t *data, size_t len)
{
    if (p->state == ST_FAILED) return p->error;
    size_t pos = 0;
    while (p->state != ST_CLOSED && !p->destroy_pending) {
        if (p->state == ST_HEADER) {
            if (pos == len) break;
            size_t take = p->header_need - p->header_have;
            if (take > len - pos) take = len - pos;
            memcpy(p->header + p->header_have, data + pos, take);
            p->header_have += take;
            pos += take;
            if (p->header_have < p->header_need) break;
            enum ws_error err = WS_OK;
            if (p->header_need == 2) {
                err = check_first_bytes(p);
                if (err) return fail(p, err);
                if (p->header_need > 2) continue; /* length and/or mask bytes follow */
            }
            err = start_payload(p);
            if (err) return fail(p, err);
        }
        /* ST_PAYLOAD (possibly empty) */
        uint64_t left = p->payload_len - p->payload_done;
        size_t take = left < len - pos ? (size_t)left : len - pos;
        if (take > 0) {
            uint8_t *dst = is_control(p->opcode) ? p->control + p->payload_done
                                                 : p->message + p->message_len + p->payload_done;
            memcpy(dst, data + pos, take);
            if (p->masked) ws_mask(dst, take, p->mask, p->payload_done);
            p->payload_done += take;
            pos += take;
        }
        if (p->payload_done < p->payload_len) break;
        enum ws_error err = finish_frame(p);
        if (err) return fail(p, err);
    }
    return WS_OK;
}

enum ws_error ws_parser_input(struct ws_parser *p, const uint8_t *data, size_t len)
{
    p->in_input = true;
    enum ws_error err = parse_bytes(p, data, len);
    p->in_input = false;
    if (p->destroy_pending) ws_parser_destroy(p);
    return err;
}
