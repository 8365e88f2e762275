/*
 * RTMP handshake (see rtmp_handshake.h). The digest layout, shared by C1 and S1:
 *
 *   scheme 8:   bytes 8..11 hold 4 bytes whose sum mod 728, plus 12, is the digest position
 *   scheme 772: bytes 772..775 hold 4 bytes whose sum mod 728, plus 776, is the digest position
 *
 * and the digest is HMAC-SHA256 over the 1536 bytes minus the 32 digest bytes, keyed with the first 30
 * bytes of the player key (C1) or the first 36 of the server key (S1). S2 is 1504 random bytes followed by
 * HMAC-SHA256(key = HMAC-SHA256(full server key, C1 digest), S2[0..1504)).
 */
#include "relay/rtmp_handshake.h"

#include <errno.h>
#include <string.h>

#include "relay/rtmp_crypto.h"

#define DIGEST_LEN      SHA256_DIGEST_LEN
#define PLAYER_KEY_PART 30
#define SERVER_KEY_PART 36

/* "Genuine Adobe Flash Player 001" and "Genuine Adobe Flash Media Server 001", each followed by the same
 * 32 constant bytes: public values every RTMP implementation carries. */
#define KEY_TAIL                                                                                             \
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E,    \
        0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE
static const uint8_t player_key[] = {'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A',     'd', 'o',
                                     'b', 'e', ' ', 'F', 'l', 'a', 's', 'h', ' ',     'P', 'l',
                                     'a', 'y', 'e', 'r', ' ', '0', '0', '1', KEY_TAIL};
static const uint8_t server_key[] = {'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o',     'b', 'e',
                                     ' ', 'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i',     'a', ' ',
                                     'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1', KEY_TAIL};

static uint64_t next_random(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void fill_random(uint64_t *rng, uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((i & 7) == 0) next_random(rng);
        p[i] = (uint8_t)(*rng >> (8 * (i & 7)));
    }
}

static size_t digest_pos(const uint8_t *block, int scheme_offset)
{
    const uint8_t *b = block + scheme_offset;
    return (size_t)((b[0] + b[1] + b[2] + b[3]) % 728 + scheme_offset + 4);
}

/* HMAC of the block without its 32 digest bytes at pos. */
static void block_digest(const uint8_t *block, size_t pos, const uint8_t *key, size_t keylen,
                         uint8_t out[DIGEST_LEN])
{
    hmac_sha256_2(key, keylen, block, pos, block + pos + DIGEST_LEN, RTMP_HANDSHAKE_SIZE - pos - DIGEST_LEN,
                  out);
}

static bool digest_valid(const uint8_t *block, int scheme_offset, const uint8_t *key, size_t keylen)
{
    uint8_t d[DIGEST_LEN];
    size_t pos = digest_pos(block, scheme_offset);
    block_digest(block, pos, key, keylen, d);
    return memcmp(d, block + pos, DIGEST_LEN) == 0;
}

static void sign_block(uint8_t *block, int scheme_offset, const uint8_t *key, size_t keylen)
{
    size_t pos = digest_pos(block, scheme_offset);
    block_digest(block, pos, key, keylen, block + pos);
}

/* S2 (or C2) for a peer whose handshake block carried `peer_digest`. */
static void sign_response(uint8_t *block, const uint8_t peer_digest[DIGEST_LEN], const uint8_t *full_key,
                          size_t full_keylen)
{
    uint8_t temp_key[DIGEST_LEN];
    hmac_sha256(full_key, full_keylen, peer_digest, DIGEST_LEN, temp_key);
    hmac_sha256(temp_key, DIGEST_LEN, block, RTMP_HANDSHAKE_SIZE - DIGEST_LEN,
                block + RTMP_HANDSHAKE_SIZE - DIGEST_LEN);
}

void rtmp_handshake_init(struct rtmp_handshake *h, uint64_t seed)
{
    h->state = RTMP_HS_WAIT_C0C1;
    h->digest = false;
    h->scheme_offset = 0;
    h->rng = seed ^ 0x5deece66dull;
    h->have = 0;
}

static void build_reply(struct rtmp_handshake *h)
{
    const uint8_t *c1 = h->c0c1 + 1;
    uint8_t *s1 = h->reply + 1, *s2 = s1 + RTMP_HANDSHAKE_SIZE;
    h->reply[0] = RTMP_VERSION;
    bool client_versioned = c1[4] | c1[5] | c1[6] | c1[7];
    if (client_versioned) {
        /* Flash and FFmpeg use scheme 8; Flash Player 10+ may use 772 */
        if (digest_valid(c1, 772, player_key, PLAYER_KEY_PART))
            h->scheme_offset = 772;
        else if (digest_valid(c1, 8, player_key, PLAYER_KEY_PART))
            h->scheme_offset = 8;
        h->digest = h->scheme_offset != 0;
    }
    memset(s1, 0, 8); /* time 0 */
    fill_random(&h->rng, s1 + 8, RTMP_HANDSHAKE_SIZE - 8);
    if (!h->digest) {
        memcpy(s2, c1, RTMP_HANDSHAKE_SIZE); /* plain: S2 echoes C1 */
        return;
    }
    static const uint8_t server_version[4] = {4, 5, 0, 1}; /* >= 3 tells clients to check our digests */
    memcpy(s1 + 4, server_version, 4);
    sign_block(s1, h->scheme_offset, server_key, SERVER_KEY_PART);
    fill_random(&h->rng, s2, RTMP_HANDSHAKE_SIZE);
    sign_response(s2, c1 + digest_pos(c1, h->scheme_offset), server_key, sizeof server_key);
}

int rtmp_handshake_input(struct rtmp_handshake *h, const uint8_t *p, size_t len, const uint8_t **reply,
                         size_t *reply_len)
{
    size_t used = 0;
    *reply_len = 0;
    if (len == 0) return 0;
    if (h->state == RTMP_HS_WAIT_C0C1) {
        if (h->have == 0 && len > 0 && p[0] != RTMP_VERSION) return -EPROTO;
        size_t n = sizeof h->c0c1 - h->have;
        if (n > len) n = len;
        memcpy(h->c0c1 + h->have, p, n);
        h->have += n;
        used = n;
        if (h->have < sizeof h->c0c1) return (int)used;
        build_reply(h);
        *reply = h->reply;
        *reply_len = sizeof h->reply;
        h->state = RTMP_HS_WAIT_C2;
        h->have = 0;
    }
    if (h->state == RTMP_HS_WAIT_C2) {
        size_t n = RTMP_HANDSHAKE_SIZE - h->have;
        if (n > len - used) n = len - used;
        h->have += n;
        used += n;
        if (h->have == RTMP_HANDSHAKE_SIZE) h->state = RTMP_HS_DONE;
    }
    return (int)used;
}

void rtmp_handshake_client_c0c1(uint8_t out[1 + RTMP_HANDSHAKE_SIZE], bool digest, uint64_t seed)
{
    uint64_t rng = seed ^ 0x2545f4914f6cdd1dull;
    uint8_t *c1 = out + 1;
    out[0] = RTMP_VERSION;
    memset(c1, 0, 8);
    fill_random(&rng, c1 + 8, RTMP_HANDSHAKE_SIZE - 8);
    if (!digest) return;
    static const uint8_t client_version[4] = {9, 0, 124, 2};
    memcpy(c1 + 4, client_version, 4);
    sign_block(c1, 8, player_key, PLAYER_KEY_PART);
}

int rtmp_handshake_client_check(const uint8_t c0c1[1 + RTMP_HANDSHAKE_SIZE],
                                const uint8_t s0s1s2[1 + 2 * RTMP_HANDSHAKE_SIZE])
{
    const uint8_t *c1 = c0c1 + 1, *s1 = s0s1s2 + 1, *s2 = s1 + RTMP_HANDSHAKE_SIZE;
    if (s0s1s2[0] != RTMP_VERSION) return -EPROTO;
    if (s1[4] < 3) return 0; /* plain server: nothing to check (FFmpeg does the same) */
    if (!digest_valid(s1, 772, server_key, SERVER_KEY_PART) &&
        !digest_valid(s1, 8, server_key, SERVER_KEY_PART))
        return -EPROTO;
    uint8_t expect[RTMP_HANDSHAKE_SIZE];
    memcpy(expect, s2, RTMP_HANDSHAKE_SIZE);
    sign_response(expect, c1 + digest_pos(c1, 8), server_key, sizeof server_key);
    return memcmp(expect + RTMP_HANDSHAKE_SIZE - DIGEST_LEN, s2 + RTMP_HANDSHAKE_SIZE - DIGEST_LEN,
                  DIGEST_LEN)
               ? -EPROTO
               : 0;
}
