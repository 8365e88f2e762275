/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), just enough for the RTMP digest handshake that
 * Flash-era clients (and FFmpeg) send: the digest hides in C1/S1 and signs C2/S2. Written here because the
 * project links no crypto library and the handshake needs only these two functions; speed does not matter
 * (a few kilobytes per connection).
 */
#ifndef GB_RELAY_RTMP_CRYPTO_H
#define GB_RELAY_RTMP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN  64

struct sha256_ctx {
    uint32_t state[8];
    uint64_t total_len; /* bytes fed so far */
    uint8_t block[SHA256_BLOCK_LEN];
    size_t block_len;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

/* HMAC-SHA256 over the concatenation of up to two byte ranges (the handshake digests skip the 32 bytes
 * where the digest itself sits: part one is before it, part two after it). b may be NULL with blen 0. */
void hmac_sha256_2(const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen, const uint8_t *b,
                   size_t blen, uint8_t out[SHA256_DIGEST_LEN]);
static inline void hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                               uint8_t out[SHA256_DIGEST_LEN])
{
    hmac_sha256_2(key, keylen, data, len, NULL, 0, out);
}

#endif
