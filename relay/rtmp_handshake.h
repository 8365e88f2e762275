/*
 * The RTMP handshake, server side, as a pure state machine: bytes in, the one reply (S0+S1+S2) out.
 *
 *   client: C0 (version 3) + C1 (1536 bytes)   ->   server: S0 + S1 + S2   ->   client: C2 (1536 bytes)
 *
 * Two flavours exist. The plain one (RTMP spec 5.2): S1 is time + zeros + random, S2 echoes C1. The digest
 * one that Flash Player, FFmpeg and most encoders send: C1 carries a version in bytes 4..7 and an
 * HMAC-SHA256 digest at an offset derived from C1 itself (scheme "772" or scheme "8"); such clients check
 * that S1 carries a digest keyed with the server key and that S2 is signed with a key derived from their C1
 * digest, and refuse the server otherwise. We validate C1's digest and answer in the same flavour and scheme;
 * a C1 without a valid digest gets the plain answer. C2 is read and ignored (clients differ in what they put
 * there; nothing in it matters to a play server).
 *
 * Bounded by construction: the state holds C0+C1 (1537 bytes) and the reply (3073 bytes), and never reads
 * more than the handshake needs; the caller feeds the rest to the chunk parser.
 */
#ifndef GB_RELAY_RTMP_HANDSHAKE_H
#define GB_RELAY_RTMP_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMP_HANDSHAKE_SIZE 1536
#define RTMP_VERSION        3

enum rtmp_handshake_state { RTMP_HS_WAIT_C0C1 = 0, RTMP_HS_WAIT_C2, RTMP_HS_DONE };

struct rtmp_handshake {
    enum rtmp_handshake_state state;
    bool digest;       /* C1 carried a valid digest: complex handshake */
    int scheme_offset; /* 772 or 8 when digest */
    uint64_t rng;      /* xorshift state for S1/S2 random bytes (not a secret) */
    size_t have;       /* bytes of C0+C1 (then of C2) received */
    uint8_t c0c1[1 + RTMP_HANDSHAKE_SIZE];
    uint8_t reply[1 + 2 * RTMP_HANDSHAKE_SIZE]; /* S0 S1 S2 */
};

/* seed: any value (a clock reading); it only makes S1/S2 look random. */
void rtmp_handshake_init(struct rtmp_handshake *h, uint64_t seed);
/* Consumes handshake bytes from p (never more than the handshake needs). Returns the number consumed, or
 * -EPROTO when C0 is not version 3 (RTMPE and garbage). When C0+C1 are complete, *reply / *reply_len are
 * set to S0+S1+S2 (3073 bytes, valid while h lives), once; otherwise *reply_len is 0. */
int rtmp_handshake_input(struct rtmp_handshake *h, const uint8_t *p, size_t len, const uint8_t **reply,
                         size_t *reply_len);
static inline bool rtmp_handshake_done(const struct rtmp_handshake *h)
{
    return h->state == RTMP_HS_DONE;
}

/* ---- client side, for the unit tests and test/tools/rtmpview ---- */

/* Writes C0+C1. digest: a Flash-style C1 (version 9.0.124.2, digest in scheme 8) instead of a plain one. */
void rtmp_handshake_client_c0c1(uint8_t out[1 + RTMP_HANDSHAKE_SIZE], bool digest, uint64_t seed);
/* Checks a server's S0+S1+S2 against the C0+C1 sent, the way FFmpeg's client does: S0 is 3; when S1's
 * version byte is >= 3, S1 must carry a server digest (either scheme) and S2 must be signed for our C1
 * digest. Returns 0, or -EPROTO. */
int rtmp_handshake_client_check(const uint8_t c0c1[1 + RTMP_HANDSHAKE_SIZE],
                                const uint8_t s0s1s2[1 + 2 * RTMP_HANDSHAKE_SIZE]);

#endif
