/*
 * WebSocket (RFC 6455) codec for WS-FLV: the handshake's accept key, server frame headers, and an incremental
 * parser for the frames a browser sends (pings, pongs, close, occasionally a text or binary message).
 *
 * Pure byte-in/event-out code like the other parsers: no sockets, no threads. The parser survives any split
 * of the input, unmasks as bytes arrive, reassembles fragmented messages into one buffer that is allocated on
 * the first data message and reused (grown up to max_message, never shrunk), keeps control frames in a fixed
 * 125-byte area (they may arrive between the fragments of a message), and enforces every MUST of RFC 6455
 * section 5 it can check: masking by role, reserved bits, known opcodes, control frames unfragmented and
 * <= 125 bytes, minimal length encoding, continuation order, UTF-8 text, and close codes. The first violation
 * stops it for good; ws_error_close_code() says which close code to answer with.
 *
 * The same parser in the client role reads server frames (unmasked), for tests and tools.
 */
#ifndef GB_RELAY_WS_H
#define GB_RELAY_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WS_ACCEPT_KEY_LEN      28 /* base64 of a SHA-1 digest */
#define WS_SERVER_HEADER_MAX   10 /* 2 + 8-byte length */
#define WS_CLIENT_HEADER_MAX   14 /* + 4-byte mask */
#define WS_MAX_CONTROL_PAYLOAD 125

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* never sent: reported when a close frame has no code */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

enum ws_error {
    WS_OK = 0,
    WS_ERR_MASKING,         /* client frame not masked (server role) or server frame masked (client role) */
    WS_ERR_RESERVED_BITS,   /* RSV1-3 set: we negotiate no extension */
    WS_ERR_OPCODE,          /* reserved opcode */
    WS_ERR_CONTROL_TOO_BIG, /* control frame payload over 125 bytes */
    WS_ERR_CONTROL_FRAGMENTED, /* control frame without FIN */
    WS_ERR_CONTINUATION,    /* continuation with no message started, or a new message before the last ended */
    WS_ERR_LENGTH,          /* non-minimal length encoding, or the 64-bit length's top bit set */
    WS_ERR_MESSAGE_TOO_BIG, /* message over max_message */
    WS_ERR_UTF8,            /* text message or close reason is not valid UTF-8 */
    WS_ERR_CLOSE_PAYLOAD,   /* close frame of 1 byte, or with a code that may not be sent */
    WS_ERR_NO_MEMORY,
};

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC 6455 GUID)), NUL-terminated.
 * Returns 0, or EINVAL when the key is not 24 base64 characters (16 bytes encoded, as the RFC requires). */
int ws_accept_key(const char *client_key, char out[WS_ACCEPT_KEY_LEN + 1]);

/* Header of an unmasked (server) frame; returns its size: 2, 4 or 10. */
size_t ws_frame_header(uint8_t out[WS_SERVER_HEADER_MAX], uint8_t opcode, uint64_t payload_len, bool fin);
/* Header of a masked (client) frame; returns its size: 6, 8 or 14. Tests and tools use it. */
size_t ws_frame_header_masked(uint8_t out[WS_CLIENT_HEADER_MAX], uint8_t opcode, uint64_t payload_len,
                              bool fin, const uint8_t mask[4]);
/* XORs data with the mask, `offset` being the position of data[0] within the frame payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset);

/* Close frame payload: 2-byte code + reason (cut at 123 bytes, on a UTF-8 character boundary).
 * Returns its size (2..125). */
size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code, const char *reason);
/* Parses a close frame payload. An empty payload gives WS_CLOSE_NO_STATUS and no reason. Returns WS_OK,
 * WS_ERR_CLOSE_PAYLOAD (1 byte, or a code not allowed on the wire) or WS_ERR_UTF8 (reason). */
enum ws_error ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code, const uint8_t **reason,
                             size_t *reason_len);

/* The close code to answer a parse error with (1002, 1007, 1009 or 1011). */
uint16_t ws_error_close_code(enum ws_error err);
const char *ws_error_str(enum ws_error err);
/* RFC 3629 UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool ws_utf8_valid(const uint8_t *s, size_t len);

enum ws_role {
    WS_ROLE_SERVER, /* parses client frames: they must be masked */
    WS_ROLE_CLIENT, /* parses server frames: they must not be */
};

enum ws_event_type { WS_EV_TEXT, WS_EV_BINARY, WS_EV_PING, WS_EV_PONG, WS_EV_CLOSE };

struct ws_event {
    enum ws_event_type type;
    const uint8_t *data; /* unmasked message or control payload; valid only during the callback */
    size_t len;
    uint16_t close_code;   /* WS_EV_CLOSE */
    const uint8_t *reason; /* WS_EV_CLOSE: UTF-8, not NUL-terminated */
    size_t reason_len;
};

typedef void (*ws_event_fn)(void *arg, const struct ws_event *ev);

struct ws_parser;

/* max_message bounds a reassembled data message (bytes, >= 1). Returns NULL only when out of memory. */
struct ws_parser *ws_parser_create(enum ws_role role, size_t max_message, ws_event_fn on_event, void *arg);
void ws_parser_destroy(struct ws_parser *p); /* NULL is fine */

/* Feeds bytes; events are delivered from inside. Returns WS_OK, or the error that stopped the parser (the
 * same error on every later call). After a close frame the parser ignores any further bytes.
 * The callback may call ws_parser_destroy() (e.g. on close): parsing stops and the parser is freed when
 * ws_parser_input() returns. */
enum ws_error ws_parser_input(struct ws_parser *p, const uint8_t *data, size_t len);

/* True once a close frame was parsed. */
bool ws_parser_closed(const struct ws_parser *p);

#endif
