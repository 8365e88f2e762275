/*
 * RTP over TCP (RFC 4571: 2-byte big-endian length, then the packet), as GB28181 devices send it in TCP
 * passive and active modes (../shared/GB28181.md section 5).
 *
 * Fed whatever read() returned, in any split. A packet that lies entirely inside one input chunk is delivered
 * by pointer into that chunk (zero copy); only a packet that straddles two reads is assembled in the internal
 * buffer (allocated once: 64 KiB + 2, the largest length the field can carry plus the field itself).
 *
 * Each length is checked against the packet it announces: 0, a header that is not version 2, an RTP packet
 * under 12 bytes, or an RTP packet of another SSRC means the framing is lost. "Another SSRC": not the
 * expected one when one is set; otherwise not the one of the stream so far, unless that packet starts a PS
 * pack (a sender that restarted with a new SSRC is followed; a non-PS payload cannot change SSRC mid-stream).
 * RTCP (RFC 5761 payload types 192..223, a multiple of 4 bytes) is let through for the caller to tell apart.
 * To resynchronise, the splitter scans forward, from the byte after the bad length, for a length field
 * followed by an RTP header that carries the expected SSRC, or, with none expected, the SSRC of the last good
 * packet or a payload that starts a PS pack (00 00 01 BA). The scan needs 18 bytes (length + header + pack
 * start code) at each position. Resyncs and skipped bytes are counted.
 *
 * The output depends only on the bytes, never on how they were split into chunks.
 */
#ifndef GB_MEDIA_RFC4571_H
#define GB_MEDIA_RFC4571_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFC4571_BUFFER_SIZE (65535 + 2)

/* One packet of `len` bytes (>= 8), valid only during the call. The callback must not destroy the
 * splitter (defer that, e.g. with uv_close). */
typedef void (*rfc4571_packet_fn)(void *arg, const uint8_t *pkt, size_t len);

struct rfc4571_stats {
    uint64_t bytes_in;
    uint64_t packets;        /* delivered */
    uint64_t packets_copied; /* of which straddled reads and were assembled in the buffer */
    uint64_t resyncs;        /* times the framing was lost */
    uint64_t skipped_bytes;  /* bytes thrown away while resynchronising */
};

struct rfc4571;

/* Returns NULL only when out of memory. */
struct rfc4571 *rfc4571_create(rfc4571_packet_fn on_packet, void *arg);
void rfc4571_destroy(struct rfc4571 *s); /* NULL is fine */

/* Expect (and enforce) this SSRC on RTP packets; `expect` false accepts any SSRC. */
void rfc4571_expect_ssrc(struct rfc4571 *s, bool expect, uint32_t ssrc);

/* Feeds bytes as they were read. Delivers every packet completed by them. */
void rfc4571_input(struct rfc4571 *s, const uint8_t *data, size_t len);

const struct rfc4571_stats *rfc4571_get_stats(const struct rfc4571 *s);

#endif
