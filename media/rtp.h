/*
 * RTP fixed header (RFC 3550 section 5.1): parse and write.
 *
 * rtp_parse() is a pure view over the caller's bytes: it copies nothing, points `payload` (and the CSRC list
 * and header extension) into the input, and bounds-checks every length the header claims (CSRC count,
 * extension length, padding count) against the real packet size, so that no later stage can read past the
 * packet. It runs once per received packet on the media worker, hence no allocation and no logging here:
 * the caller counts and logs (rate-limited) what it rejects.
 */
#ifndef GB_MEDIA_RTP_H
#define GB_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_VERSION     2
#define RTP_HEADER_SIZE 12    /* fixed header, without CSRCs or extension */
#define RTP_MAX_PACKET  65535 /* the RFC 4571 length field bounds a packet; UDP does too */
#define RTP_TYPICAL_MTU 1500  /* what senders normally stay under */

struct rtp_packet {
    /* The whole packet as given to rtp_parse() (lets the reorder buffer copy and re-point it). */
    const uint8_t *data;
    size_t size;

    uint8_t version;      /* always 2 after a successful parse */
    bool padding;         /* P bit; padding_len bytes at the end were removed from the payload */
    bool extension;       /* X bit; ext_profile/ext_data describe the extension */
    uint8_t csrc_count;   /* CC, 0..15 */
    bool marker;          /* M bit: GB28181 senders set it on the last packet of a frame */
    uint8_t payload_type; /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;

    const uint8_t *csrc;     /* csrc_count big-endian 32-bit words (read with rtp_packet_csrc()) */
    uint16_t ext_profile;    /* "defined by profile" 16 bits of the extension header */
    const uint8_t *ext_data; /* extension body (after its 4-byte header), ext_len bytes */
    size_t ext_len;
    uint8_t padding_len; /* 0 when !padding */

    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Parses one RTP packet of `len` bytes. Returns 0 and fills *out, or:
 *   EINVAL  NULL argument
 *   EPROTO  version is not 2
 *   EBADMSG shorter than the fixed header, or the CSRC list, extension or padding count overruns the packet
 *           (a padding count of 0 with the P bit set is also invalid: the count includes its own byte)
 * On error *out is left in an unspecified state.
 */
int rtp_parse(const uint8_t *p, size_t len, struct rtp_packet *out);

/* CSRC number `i` (< csrc_count) of a parsed packet. */
uint32_t rtp_packet_csrc(const struct rtp_packet *pkt, unsigned i);

/* True when the bytes look like RTCP rather than RTP (RFC 5761 section 4: second byte 192..223, version 2),
 * for the senders that multiplex RTCP onto the RTP port or TCP connection. Needs at least 2 bytes. */
bool rtp_is_rtcp(const uint8_t *p, size_t len);

/* Writes a 12-byte fixed header (V=2, no padding, no extension, no CSRC). payload_type is masked to 7 bits.
 * Returns RTP_HEADER_SIZE. Used by the camera simulator and tests. */
size_t rtp_write_header(uint8_t out[RTP_HEADER_SIZE], uint8_t payload_type, bool marker, uint16_t seq,
                        uint32_t timestamp, uint32_t ssrc);

/* Big-endian helpers shared by the RTP, RTCP and RFC 4571 code. */
static inline uint16_t rtp_rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t rtp_rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline void rtp_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void rtp_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
