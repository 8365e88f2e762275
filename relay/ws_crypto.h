/*
 * Private to relay/ws.c: the SHA-1 and base64 the WebSocket handshake needs (RFC 6455 section 4.2.2), and
 * nothing more. Small and self-contained so the relay does not link a crypto library for one hash of a
 * 60-byte string per viewer. SHA-1 is used here only as the RFC prescribes, not for any security property.
 */
#ifndef GB_RELAY_WS_CRYPTO_H
#define GB_RELAY_WS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define WS_SHA1_DIGEST_SIZE 20

struct ws_sha1 {
    uint32_t state[5];
    uint64_t total_bytes;
    uint8_t block[64];
    size_t block_used;
};

void ws_sha1_init(struct ws_sha1 *ctx);
void ws_sha1_update(struct ws_sha1 *ctx, const void *data, size_t len);
void ws_sha1_final(struct ws_sha1 *ctx, uint8_t digest[WS_SHA1_DIGEST_SIZE]);

/* Standard base64 (RFC 4648 section 4, with '=' padding) of len bytes into out, NUL-terminated.
 * Needs cap >= 4 * ceil(len / 3) + 1; returns the characters written (without the NUL), or 0 if cap is short.
 */
size_t ws_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
