/*
 * RTCP (RFC 3550 section 6) for a media receiver: build Receiver Reports (+ SDES CNAME) from the reorder
 * statistics, and parse what senders send (SR, RR, SDES, BYE; other types skipped).
 *
 * GB28181 devices send to port+1 (or mix RTCP into the TCP connection) and some stop streaming when they get
 * no receiver reports, so the media worker sends one every few seconds per stream. The reports need the
 * last Sender Report's NTP time (LSR) and when it arrived (DLSR): struct rtcp_source keeps that, and the
 * counters of the previous report for the "fraction lost" of the interval.
 *
 * Writers return the bytes written, or 0 when `cap` is too small or the arguments are out of range: they
 * never write past `cap`. The parser copies what it finds into a fixed-size struct (no pointers into the
 * input, no allocation) and is bounded by the input length and RTCP_MAX_REPORT_BLOCKS.
 */
#ifndef GB_MEDIA_RTCP_H
#define GB_MEDIA_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/rtp_reorder.h"

#define RTCP_SR   200
#define RTCP_RR   201
#define RTCP_SDES 202
#define RTCP_BYE  203
#define RTCP_APP  204

#define RTCP_MAX_REPORT_BLOCKS 8   /* kept by the parser; a receiver of one stream needs 1 */
#define RTCP_CNAME_MAX         255 /* an SDES item's length is one byte */
#define RTCP_RR_SIZE(blocks)   (8 + 24 * (blocks))

struct rtcp_report_block {
    uint32_t ssrc;            /* the source this block is about */
    uint8_t fraction_lost;    /* lost / expected since the previous report, in 1/256 */
    int32_t cumulative_lost;  /* 24-bit signed on the wire */
    uint32_t ext_highest_seq; /* cycles << 16 | highest seq */
    uint32_t jitter;          /* timestamp units */
    uint32_t lsr;             /* middle 32 bits of the last SR's NTP time, 0 when none */
    uint32_t dlsr;            /* delay since that SR, in 1/65536 s, 0 when none */
};

struct rtcp_sender_info {
    uint32_t ssrc;
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_timestamp;
    uint32_t packet_count;
    uint32_t octet_count;
};

/* What one compound packet said. */
struct rtcp_compound {
    unsigned packets; /* RTCP packets walked, including skipped types */
    bool has_sr;
    struct rtcp_sender_info sr;
    bool has_rr;
    uint32_t rr_reporter_ssrc;
    unsigned block_count;    /* report blocks kept in blocks[], from SR and RR */
    unsigned blocks_dropped; /* beyond RTCP_MAX_REPORT_BLOCKS */
    struct rtcp_report_block blocks[RTCP_MAX_REPORT_BLOCKS];
    bool has_cname;
    uint32_t cname_ssrc;
    char cname[RTCP_CNAME_MAX + 1]; /* NUL-terminated; bytes are copied as sent */
    bool bye;
    uint32_t bye_ssrc; /* first SSRC the BYE names (0 when it names none) */
};

/*
 * Parses a compound RTCP packet. Returns 0, or:
 *   EINVAL  NULL argument
 *   EPROTO  the first packet is not RTCP version 2
 *   EBADMSG a packet's length, padding, or block/item counts overrun what is there; whatever was parsed
 *           before it is kept in *out
 */
int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_compound *out);

size_t rtcp_write_rr(uint8_t *out, size_t cap, uint32_t reporter_ssrc, const struct rtcp_report_block *blocks,
                     unsigned n_blocks);
size_t rtcp_write_sr(uint8_t *out, size_t cap, const struct rtcp_sender_info *sender,
                     const struct rtcp_report_block *blocks, unsigned n_blocks);
/* One chunk with one CNAME item (cname 1..255 bytes). */
size_t rtcp_write_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname);
size_t rtcp_write_bye(uint8_t *out, size_t cap, uint32_t ssrc);
/* The compound a receiver sends: RR (with `block`, or no block when NULL) followed by SDES CNAME. */
size_t rtcp_build_receiver_report(uint8_t *out, size_t cap, uint32_t reporter_ssrc, const char *cname,
                                  const struct rtcp_report_block *block);

/* Receiver-side state about one sender, turning rtp_reorder statistics into report blocks. */
struct rtcp_source {
    uint32_t ssrc;
    uint64_t expected_prior, lost_prior; /* at the previous report */
    bool have_sr;
    uint32_t lsr;
    uint64_t sr_arrival_ms;
};

void rtcp_source_init(struct rtcp_source *src, uint32_t ssrc);
/* A Sender Report from this source arrived at now_ms (monotonic). */
void rtcp_source_on_sr(struct rtcp_source *src, const struct rtcp_sender_info *sr, uint64_t now_ms);
/* Fills a report block for the interval since the previous call, and starts a new interval. */
void rtcp_source_report(struct rtcp_source *src, const struct rtp_reorder_stats *stats, uint64_t now_ms,
                        struct rtcp_report_block *out);

#endif
