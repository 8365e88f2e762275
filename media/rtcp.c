/*
 * RTCP writing and parsing (see rtcp.h). Every packet starts with the common 4-byte header
 * (V=2, P, count:5, PT:8, length:16 in 32-bit words minus one); writers fill it last, once the size is known,
 * and the parser walks the compound by it, checking each count against the packet's own length.
 */
#include "media/rtcp.h"

#include <errno.h>
#include <string.h>

#include "media/rtp.h"

#define HEADER_SIZE  4
#define BLOCK_SIZE   24
#define SENDER_INFO  20 /* NTP (8), RTP timestamp, packet count, octet count */
#define MAX_COUNT    31 /* the 5-bit count field */
#define SDES_CNAME   1
#define CUM_LOST_MAX 0x7fffff
#define CUM_LOST_MIN (-0x800000)

static void write_header(uint8_t *p, unsigned count, uint8_t type, size_t size)
{
    p[0] = (uint8_t)((RTP_VERSION << 6) | (count & 0x1f));
    p[1] = type;
    rtp_wr16(p + 2, (uint16_t)(size / 4 - 1));
}

static void write_block(uint8_t *p, const struct rtcp_report_block *b)
{
    int32_t cum = b->cumulative_lost;
    if (cum > CUM_LOST_MAX) cum = CUM_LOST_MAX;
    if (cum < CUM_LOST_MIN) cum = CUM_LOST_MIN;
    rtp_wr32(p, b->ssrc);
    rtp_wr32(p + 4, ((uint32_t)b->fraction_lost << 24) | ((uint32_t)cum & 0xffffff));
    rtp_wr32(p + 8, b->ext_highest_seq);
    rtp_wr32(p + 12, b->jitter);
    rtp_wr32(p + 16, b->lsr);
    rtp_wr32(p + 20, b->dlsr);
}

static void read_block(const uint8_t *p, struct rtcp_report_block *b)
{
    b->ssrc = rtp_rd32(p);
    b->fraction_lost = p[4];
    uint32_t cum = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    b->cumulative_lost = (cum & 0x800000) ? (int32_t)cum - 0x1000000 : (int32_t)cum;
    b->ext_highest_seq = rtp_rd32(p + 8);
    b->jitter = rtp_rd32(p + 12);
    b->lsr = rtp_rd32(p + 16);
    b->dlsr = rtp_rd32(p + 20);
}

size_t rtcp_write_rr(uint8_t *out, size_t cap, uint32_t reporter_ssrc, const struct rtcp_report_block *blocks,
                     unsigned n_blocks)
{
    size_t size = RTCP_RR_SIZE((size_t)n_blocks);
    if (n_blocks > MAX_COUNT || size > cap || (n_blocks && !blocks)) return 0;
    write_header(out, n_blocks, RTCP_RR, size);
    rtp_wr32(out + 4, reporter_ssrc);
    for (unsigned i = 0; i < n_blocks; i++) write_block(out + 8 + BLOCK_SIZE * (size_t)i, &blocks[i]);
    return size;
}

size_t rtcp_write_sr(uint8_t *out, size_t cap, const struct rtcp_sender_info *sender,
                     const struct rtcp_report_block *blocks, unsigned n_blocks)
{
    size_t size = HEADER_SIZE + 4 + SENDER_INFO + BLOCK_SIZE * (size_t)n_blocks;
    if (n_blocks > MAX_COUNT || size > cap || (n_blocks && !blocks)) return 0;
    write_header(out, n_blocks, RTCP_SR, size);
    rtp_wr32(out + 4, sender->ssrc);
    rtp_wr32(out + 8, (uint32_t)(sender->ntp >> 32));
    rtp_wr32(out + 12, (uint32_t)sender->ntp);
    rtp_wr32(out + 16, sender->rtp_timestamp);
    rtp_wr32(out + 20, sender->packet_count);
    rtp_wr32(out + 24, sender->octet_count);
    for (unsigned i = 0; i < n_blocks; i++) write_block(out + 28 + BLOCK_SIZE * (size_t)i, &blocks[i]);
    return size;
}

size_t rtcp_write_sdes_cname(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname)
{
    size_t n = cname ? strlen(cname) : 0;
    if (n == 0 || n > RTCP_CNAME_MAX) return 0;
    /* header, SSRC, item type + length + text, then at least one zero byte ending the item list, padded to 4
     */
    size_t size = (HEADER_SIZE + 4 + 2 + n + 1 + 3) & ~(size_t)3;
    if (size > cap) return 0;
    write_header(out, 1, RTCP_SDES, size);
    rtp_wr32(out + 4, ssrc);
    out[8] = SDES_CNAME;
    out[9] = (uint8_t)n;
    memcpy(out + 10, cname, n);
    memset(out + 10 + n, 0, size - 10 - n);
    return size;
}

size_t rtcp_write_bye(uint8_t *out, size_t cap, uint32_t ssrc)
{
    if (cap < 8) return 0;
    write_header(out, 1, RTCP_BYE, 8);
    rtp_wr32(out + 4, ssrc);
    return 8;
}

size_t rtcp_build_receiver_report(uint8_t *out, size_t cap, uint32_t reporter_ssrc, const char *cname,
                                  const struct rtcp_report_block *block)
{
    size_t rr = rtcp_write_rr(out, cap, reporter_ssrc, block, block ? 1 : 0);
    if (rr == 0) return 0;
    size_t sdes = rtcp_write_sdes_cname(out + rr, cap - rr, reporter_ssrc, cname);
    return sdes ? rr + sdes : 0;
}

static int parse_blocks(const uint8_t *p, size_t len, unsigned count, struct rtcp_compound *out)
{
    if (len < BLOCK_SIZE * (size_t)count) return EBADMSG;
    for (unsigned i = 0; i < count; i++) {
        if (out->block_count < RTCP_MAX_REPORT_BLOCKS) {
            read_block(p + BLOCK_SIZE * (size_t)i, &out->blocks[out->block_count++]);
        } else {
            out->blocks_dropped++;
        }
    }
    return 0;
}

/* SDES: `count` chunks of SSRC + items (type, length, text) ended by a zero type, each padded to 4 bytes.
 * Keeps the first CNAME. */
static int parse_sdes(const uint8_t *p, size_t len, unsigned count, struct rtcp_compound *out)
{
    size_t pos = 0;
    for (unsigned c = 0; c < count; c++) {
        if (len - pos < 4) return EBADMSG;
        uint32_t ssrc = rtp_rd32(p + pos);
        pos += 4;
        for (;;) {
            if (pos >= len) return EBADMSG;
            uint8_t type = p[pos];
            if (type == 0) break;
            if (len - pos < 2 || len - pos - 2 < p[pos + 1]) return EBADMSG;
            uint8_t n = p[pos + 1];
            if (type == SDES_CNAME && !out->has_cname) {
                out->has_cname = true;
                out->cname_ssrc = ssrc;
                memcpy(out->cname, p + pos + 2, n);
                out->cname[n] = '\0';
            }
            pos += 2 + (size_t)n;
        }
        pos = (pos + 4) & ~(size_t)3; /* the zero type byte, then padding to the next word */
        if (pos > len) return EBADMSG;
    }
    return 0;
}

static int parse_one(uint8_t type, unsigned count, const uint8_t *body, size_t len, struct rtcp_compound *out)
{
    switch (type) {
    case RTCP_SR:
        if (len < 4 + SENDER_INFO) return EBADMSG;
        out->has_sr = true;
        out->sr.ssrc = rtp_rd32(body);
        out->sr.ntp = ((uint64_t)rtp_rd32(body + 4) << 32) | rtp_rd32(body + 8);
        out->sr.rtp_timestamp = rtp_rd32(body + 12);
        out->sr.packet_count = rtp_rd32(body + 16);
        out->sr.octet_count = rtp_rd32(body + 20);
        return parse_blocks(body + 4 + SENDER_INFO, len - 4 - SENDER_INFO, count, out);
    case RTCP_RR:
        if (len < 4) return EBADMSG;
        out->has_rr = true;
        out->rr_reporter_ssrc = rtp_rd32(body);
        return parse_blocks(body + 4, len - 4, count, out);
    case RTCP_SDES: return parse_sdes(body, len, count, out);
    case RTCP_BYE:
        if (len < 4 * (size_t)count) return EBADMSG;
        out->bye = true;
        out->bye_ssrc = count ? rtp_rd32(body) : 0;
        return 0;
    default: return 0; /* APP, feedback, XR...: not needed by a receiver of PS streams */
    }
}

int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_compound *out)
{
    if (!p || !out) return EINVAL;
    memset(out, 0, sizeof *out);
    if (!rtp_is_rtcp(p, len)) return EPROTO;
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < HEADER_SIZE || (p[pos] >> 6) != RTP_VERSION) return EBADMSG;
        const uint8_t *h = p + pos;
        size_t size = ((size_t)rtp_rd16(h + 2) + 1) * 4;
        if (size > len - pos) return EBADMSG;
        size_t body_len = size - HEADER_SIZE;
        if (h[0] & 0x20) { /* padding: the last byte counts the padding bytes, itself included */
            uint8_t pad = h[size - 1];
            if (pad == 0 || pad > body_len) return EBADMSG;
            body_len -= pad;
        }
        out->packets++;
        int err = parse_one(h[1], h[0] & 0x1f, h + HEADER_SIZE, body_len, out);
        if (err) return err;
        pos += size;
    }
    return 0;
}

void rtcp_source_init(struct rtcp_source *src, uint32_t ssrc)
{
    memset(src, 0, sizeof *src);
    src->ssrc = ssrc;
}

void rtcp_source_on_sr(struct rtcp_source *src, const struct rtcp_sender_info *sr, uint64_t now_ms)
{
    src->have_sr = true;
    src->lsr = (uint32_t)(sr->ntp >> 16);
    src->sr_arrival_ms = now_ms;
}

void rtcp_source_report(struct rtcp_source *src, const struct rtp_reorder_stats *stats, uint64_t now_ms,
                        struct rtcp_report_block *out)
{
    memset(out, 0, sizeof *out);
    out->ssrc = src->ssrc;
    /* RFC 3550 A.3, with "lost" as the reorder buffer declared it (late arrivals do not undo a loss). */
    uint64_t expected_interval = stats->expected - src->expected_prior;
    uint64_t lost_interval = stats->lost - src->lost_prior;
    if (stats->expected < src->expected_prior || stats->lost < src->lost_prior) {
        expected_interval = lost_interval = 0; /* counters went back: a new reorder buffer; start over */
    }
    if (expected_interval > 0 && lost_interval > 0) {
        uint64_t fraction = (lost_interval << 8) / expected_interval;
        out->fraction_lost = fraction > 255 ? 255 : (uint8_t)fraction;
    }
    src->expected_prior = stats->expected;
    src->lost_prior = stats->lost;
    out->cumulative_lost = stats->lost > CUM_LOST_MAX ? CUM_LOST_MAX : (int32_t)stats->lost;
    out->ext_highest_seq = stats->ext_highest_seq;
    out->jitter = stats->jitter;
    if (src->have_sr) {
        out->lsr = src->lsr;
        uint64_t delay_ms = now_ms >= src->sr_arrival_ms ? now_ms - src->sr_arrival_ms : 0;
        uint64_t dlsr = delay_ms * 65536 / 1000;
        out->dlsr = dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr;
    }
}
