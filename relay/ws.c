/*
 * WebSocket handshake key, frame headers, close payloads, UTF-8 check and error names (see ws.h). The
 * incremental frame parser is in ws_parser.c.
 */
#include "relay/ws.h"

#include <errno.h>
#include <string.h>

#include "relay/ws_crypto.h"

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define CLIENT_KEY_LEN 24 /* base64 of 16 bytes */

static bool is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int ws_accept_key(const char *client_key, char out[WS_ACCEPT_KEY_LEN + 1])
{
    if (!client_key || !out) return EINVAL;
    /* 16 bytes encode to 22 characters and "==". */
    if (strlen(client_key) != CLIENT_KEY_LEN || client_key[22] != '=' || client_key[23] != '=') return EINVAL;
    for (int i = 0; i < 22; i++)
        if (!is_base64_char(client_key[i])) return EINVAL;

    struct ws_sha1 sha;
    uint8_t digest[WS_SHA1_DIGEST_SIZE];
    ws_sha1_init(&sha);
    ws_sha1_update(&sha, client_key, CLIENT_KEY_LEN);
    ws_sha1_update(&sha, WS_GUID, sizeof WS_GUID - 1);
    ws_sha1_final(&sha, digest);
    return ws_base64_encode(digest, sizeof digest, out, WS_ACCEPT_KEY_LEN + 1) == WS_ACCEPT_KEY_LEN ? 0
                                                                                                    : EINVAL;
}

/* Writes the first byte and the (minimal) length encoding; returns the bytes written. */
static size_t write_header(uint8_t *out, uint8_t opcode, uint64_t len, bool fin, bool masked)
{
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    uint8_t mask_bit = masked ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(mask_bit | len);
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = mask_bit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = mask_bit | 127;
    len &= INT64_MAX; /* the top bit must be 0 */
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t ws_frame_header(uint8_t out[WS_SERVER_HEADER_MAX], uint8_t opcode, uint64_t payload_len, bool fin)
{
    return write_header(out, opcode, payload_len, fin, false);
}

size_t ws_frame_header_masked(uint8_t out[WS_CLIENT_HEADER_MAX], uint8_t opcode, uint64_t payload_len,
                              bool fin, const uint8_t mask[4])
{
    size_t n = write_header(out, opcode, payload_len, fin, true);
    memcpy(out + n, mask, 4);
    return n + 4;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++) data[i] ^= mask[(offset + i) & 3];
}

size_t ws_close_payload(uint8_t out[WS_MAX_CONTROL_PAYLOAD], uint16_t code, const char *reason)
{
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t n = reason ? strlen(reason) : 0;
    if (n > WS_MAX_CONTROL_PAYLOAD - 2) {
        n = WS_MAX_CONTROL_PAYLOAD - 2;
        /* Do not cut a multi-byte character: back off over continuation bytes (10xxxxxx). */
        while (n > 0 && ((uint8_t)reason[n] & 0xc0) == 0x80) n--;
    }
    if (n) memcpy(out + 2, reason, n);
    return 2 + n;
}

/* Codes an endpoint may put in a close frame (RFC 6455 7.4, IANA registry): not 1004-1006, 1015, <1000. */
static bool close_code_sendable(uint16_t code)
{
    if (code >= 3000 && code <= 4999) return true;
    if (code < 1000 || code > 1014) return false;
    return code != 1004 && code != 1005 && code != 1006;
}

enum ws_error ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code, const uint8_t **reason,
                             size_t *reason_len)
{
    *code = WS_CLOSE_NO_STATUS;
    *reason = NULL;
    *reason_len = 0;
    if (len == 0) return WS_OK;
    if (len == 1) return WS_ERR_CLOSE_PAYLOAD;
    uint16_t c = (uint16_t)((payload[0] << 8) | payload[1]);
    if (!close_code_sendable(c)) return WS_ERR_CLOSE_PAYLOAD;
    if (!ws_utf8_valid(payload + 2, len - 2)) return WS_ERR_UTF8;
    *code = c;
    *reason = payload + 2;
    *reason_len = len - 2;
    return WS_OK;
}

uint16_t ws_error_close_code(enum ws_error err)
{
    switch (err) {
    case WS_OK: return WS_CLOSE_NORMAL;
    case WS_ERR_MESSAGE_TOO_BIG: return WS_CLOSE_TOO_BIG;
    case WS_ERR_UTF8: return WS_CLOSE_INVALID_DATA;
    case WS_ERR_NO_MEMORY: return WS_CLOSE_INTERNAL_ERROR;
    default: return WS_CLOSE_PROTOCOL_ERROR;
    }
}

const char *ws_error_str(enum ws_error err)
{
    switch (err) {
    case WS_OK: return "ok";
    case WS_ERR_MASKING: return "wrong masking for the sender's role";
    case WS_ERR_RESERVED_BITS: return "reserved bits set";
    case WS_ERR_OPCODE: return "reserved opcode";
    case WS_ERR_CONTROL_TOO_BIG: return "control frame over 125 bytes";
    case WS_ERR_CONTROL_FRAGMENTED: return "fragmented control frame";
    case WS_ERR_CONTINUATION: return "bad continuation order";
    case WS_ERR_LENGTH: return "invalid payload length encoding";
    case WS_ERR_MESSAGE_TOO_BIG: return "message too big";
    case WS_ERR_UTF8: return "invalid UTF-8";
    case WS_ERR_CLOSE_PAYLOAD: return "invalid close frame";
    case WS_ERR_NO_MEMORY: return "out of memory";
    }
    return "unknown error";
}

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i - 1 < n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}
