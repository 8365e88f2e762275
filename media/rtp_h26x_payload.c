/*
 * RTP H.264/H.265 depacketizer, payload level: the structure of one packet under RFC 6184 (H.264) and
 * RFC 7798 (H.265), and whether a packet visibly starts a picture (used to recover after a loss).
 *
 *   H.264 payload header = the NAL header (F | NRI | type). 1-23 single NAL unit; 24 STAP-A:
 *         { 16-bit size, NAL unit }+; 28 FU-A: FU indicator (F | NRI | 28), FU header (S | E | R | type),
 *         fragment. The fragmented unit's header is rebuilt from the indicator's F/NRI and the FU type.
 *   H.265 payload header = a NAL header (F | type:6 | layer id:6 | tid+1:3). 0-47 single NAL unit;
 *         48 AP: [DONL] { 16-bit size, NAL unit } then { [DOND] size, NAL unit }*; 49 FU: FU header
 *         (S | E | type:6), [DONL in the first fragment], fragment; the unit's header is the payload header
 *         with the FU type put back.
 *
 * Aggregation packets are walked twice: once to check that every size fits (a lie would make NAL units out
 * of the next unit's bytes), then to feed the units; a packet that fails is rejected whole. A fragment that
 * does not continue the fragmented unit in progress (no start seen, another type, a start or a single unit
 * while one is open) means fragments were lost: the unit being built is damaged.
 */
#include "media/rtp_h26x_internal.h"

#include <errno.h>

#include "media/h26x.h"

enum {
    H264_STAP_A = 24,
    H264_STAP_B = 25,
    H264_MTAP16 = 26,
    H264_MTAP24 = 27,
    H264_FU_A = 28,
    H264_FU_B = 29,
    H265_AP = 48,
    H265_FU = 49,
    H265_PACI = 50,
};

static int malformed(struct rtp_h26x *d)
{
    d->stats.malformed++;
    rtp_h26x_damage(d);
    return -EINVAL;
}

static int unsupported(struct rtp_h26x *d)
{
    d->stats.unsupported++;
    rtp_h26x_damage(d);
    return -ENOTSUP;
}

static int fragments_lost(struct rtp_h26x *d)
{
    d->stats.fu_broken++;
    rtp_h26x_damage(d);
    return 0;
}

/* ---- H.264 (RFC 6184) ---- */

static bool h264_nal_header_ok(uint8_t b)
{
    uint8_t type = h264_nal_type(b);
    return !(b & 0x80) && type >= 1 && type <= 23;
}

static int h264_stap_a(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    size_t pos = 1, units = 0;
    while (pos < len) {
        if (len - pos < 2) return malformed(d);
        size_t n = rtp_rd16(p + pos);
        pos += 2;
        if (n == 0 || n > len - pos || !h264_nal_header_ok(p[pos])) return malformed(d);
        pos += n;
        units++;
    }
    if (units == 0) return malformed(d);
    for (pos = 1; pos < len;) {
        size_t n = rtp_rd16(p + pos);
        rtp_h26x_nal_begin(d, p + pos + 2, 1, p + pos + 3, n - 1);
        pos += 2 + n;
    }
    return 0;
}

static int h264_fu_a(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    if (len < 2) return malformed(d);
    uint8_t fu = p[1];
    bool start = fu & 0x80, end = fu & 0x40;
    uint8_t type = fu & 0x1f;
    if ((start && end) || type == 0 || type > 23) return malformed(d);
    if (start) {
        if (d->fu_open) return fragments_lost(d); /* the previous unit's end is missing */
        uint8_t hdr = (uint8_t)((p[0] & 0xe0) | type);
        rtp_h26x_nal_begin(d, &hdr, 1, p + 2, len - 2);
        d->fu_open = true;
        d->fu_type = type;
        return 0;
    }
    if (!d->fu_open || type != d->fu_type) return fragments_lost(d);
    rtp_h26x_nal_more(d, p + 2, len - 2);
    if (end) d->fu_open = false;
    return 0;
}

int rtp_h264_depacketize(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    if (len < 1 || (p[0] & 0x80)) return malformed(d);
    uint8_t type = h264_nal_type(p[0]);
    if (type == 0 || type >= 30) { /* undefined: RFC 6184 5.2 says ignore */
        d->stats.ignored++;
        return 1;
    }
    if (type == H264_STAP_B || type == H264_MTAP16 || type == H264_MTAP24 || type == H264_FU_B)
        return unsupported(d);
    if (type == H264_FU_A) return h264_fu_a(d, p, len);
    if (d->fu_open) return fragments_lost(d);
    if (type == H264_STAP_A) return h264_stap_a(d, p, len);
    rtp_h26x_nal_begin(d, p, 1, p + 1, len - 1);
    return 0;
}

/* ---- H.265 (RFC 7798) ---- */

static bool h265_nal_header_ok(const uint8_t *h)
{
    return !(h[0] & 0x80) && (h[1] & 0x07) != 0 && h265_nal_type(h[0]) < H265_AP;
}

static int h265_ap(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    size_t pos = 2, units = 0;
    while (pos < len) {
        if (d->donl) pos += units == 0 ? 2 : 1; /* DONL before the first unit, DOND before the others */
        if (pos > len || len - pos < 2) return malformed(d);
        size_t n = rtp_rd16(p + pos);
        pos += 2;
        if (n < 2 || n > len - pos || !h265_nal_header_ok(p + pos)) return malformed(d);
        pos += n;
        units++;
    }
    if (units == 0) return malformed(d);
    units = 0;
    for (pos = 2; pos < len; units++) {
        if (d->donl) pos += units == 0 ? 2 : 1;
        size_t n = rtp_rd16(p + pos);
        rtp_h26x_nal_begin(d, p + pos + 2, 2, p + pos + 4, n - 2);
        pos += 2 + n;
    }
    return 0;
}

static int h265_fu(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    if (len < 3) return malformed(d);
    uint8_t fu = p[2];
    bool start = fu & 0x80, end = fu & 0x40;
    uint8_t type = fu & 0x3f;
    if ((start && end) || type >= H265_AP) return malformed(d);
    if (start) {
        size_t body = 3 + (d->donl ? 2 : 0);
        if (len < body) return malformed(d);
        if (d->fu_open) return fragments_lost(d);
        uint8_t hdr[2] = {(uint8_t)((p[0] & 0x81) | (type << 1)), p[1]};
        rtp_h26x_nal_begin(d, hdr, 2, p + body, len - body);
        d->fu_open = true;
        d->fu_type = type;
        return 0;
    }
    if (!d->fu_open || type != d->fu_type) return fragments_lost(d);
    rtp_h26x_nal_more(d, p + 3, len - 3);
    if (end) d->fu_open = false;
    return 0;
}

int rtp_h265_depacketize(struct rtp_h26x *d, const uint8_t *p, size_t len)
{
    if (len < 2 || (p[0] & 0x80) || (p[1] & 0x07) == 0) return malformed(d);
    uint8_t type = h265_nal_type(p[0]);
    if (type > H265_PACI) { /* unspecified: RFC 7798 4.4 says ignore */
        d->stats.ignored++;
        return 1;
    }
    if (type == H265_PACI) return unsupported(d);
    if (type == H265_FU) return h265_fu(d, p, len);
    if (d->fu_open) return fragments_lost(d);
    if (type == H265_AP) return h265_ap(d, p, len);
    size_t body = 2 + (d->donl ? 2 : 0);
    if (len < body) return malformed(d);
    rtp_h26x_nal_begin(d, p, 2, p + body, len - body);
    return 0;
}

/* ---- recovery: does this packet start a picture? ---- */

/* body: the bytes after the NAL header (the slice header for a VCL unit), n of them. */
static bool h264_unit_starts_picture(uint8_t type, const uint8_t *body, size_t n)
{
    switch (type) {
    case H264_NAL_SEI:
    case H264_NAL_SPS:
    case H264_NAL_PPS:
    case H264_NAL_AUD: return true;
    case H264_NAL_SLICE:
    case H264_NAL_IDR: return n > 0 && (body[0] & 0x80); /* first_mb_in_slice ue(v) == 0 is the bit 1 */
    default: return false;
    }
}

static bool h265_unit_starts_picture(uint8_t type, const uint8_t *body, size_t n)
{
    if (type <= 31) return n > 0 && (body[0] & 0x80); /* first_slice_segment_in_pic_flag */
    return type == H265_NAL_VPS || type == H265_NAL_SPS || type == H265_NAL_PPS || type == H265_NAL_AUD ||
           type == H265_NAL_SEI_PREFIX;
}

bool rtp_h26x_starts_picture(enum codec_id codec, bool donl, const uint8_t *p, size_t len)
{
    if (codec == CODEC_H264) {
        if (len < 1) return false;
        uint8_t type = h264_nal_type(p[0]);
        if (type == H264_STAP_A)
            return len >= 4 && h264_unit_starts_picture(h264_nal_type(p[3]), p + 4, len - 4);
        if (type == H264_FU_A)
            return len >= 2 && (p[1] & 0x80) && h264_unit_starts_picture(p[1] & 0x1f, p + 2, len - 2);
        return h264_unit_starts_picture(type, p + 1, len - 1);
    }
    if (len < 2) return false;
    uint8_t type = h265_nal_type(p[0]);
    size_t dl = donl ? 2 : 0;
    if (type == H265_AP) {
        size_t at = 2 + dl + 2; /* first unit's header */
        return len >= at + 2 && h265_unit_starts_picture(h265_nal_type(p[at]), p + at + 2, len - at - 2);
    }
    if (type == H265_FU)
        return len >= 3 + dl && (p[2] & 0x80) &&
               h265_unit_starts_picture(p[2] & 0x3f, p + 3 + dl, len - 3 - dl);
    return len >= 2 + dl && h265_unit_starts_picture(type, p + 2 + dl, len - 2 - dl);
}
