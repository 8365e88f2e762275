/*
 * Payload sniffing (see payload_sniff.h for the rules and their odds). Each check looks at the first bytes
 * of one payload only (a TS payload at every 188th byte), so a wrong guess costs nothing but a vote.
 */
#include "media/payload_sniff.h"

#include <string.h>

#include "media/h26x.h"
#include "media/rtp.h"

#define WEAK   1
#define STRONG 4

#define THRESHOLD_USUAL_PT 4
#define THRESHOLD_OTHER_PT 16
#define MAX_LEADING_ZEROS  8
#define TS_PACKET          188

struct evidence {
    uint8_t ps, ts, h264, h265; /* 0, WEAK or STRONG */
};

const char *payload_kind_name(enum payload_kind k)
{
    switch (k) {
    case PAYLOAD_PS: return "ps";
    case PAYLOAD_H264: return "h264";
    case PAYLOAD_H265: return "h265";
    case PAYLOAD_TS: return "ts";
    case PAYLOAD_UNKNOWN: break;
    }
    return "unknown";
}

enum payload_kind payload_kind_from_pt(uint8_t pt)
{
    switch (pt) {
    case PAYLOAD_PT_PS: return PAYLOAD_PS;
    case PAYLOAD_PT_H264: return PAYLOAD_H264;
    case PAYLOAD_PT_H265: return PAYLOAD_H265;
    case PAYLOAD_PT_TS: return PAYLOAD_TS;
    default: return PAYLOAD_UNKNOWN;
    }
}

/* ---- MPEG-PS and MPEG-TS ---- */

static uint8_t ps_evidence(const uint8_t *p, size_t len)
{
    size_t z = 0;
    while (z < len && z < MAX_LEADING_ZEROS + 2 && p[z] == 0) z++;
    if (z < 2 || z >= len || p[z] != 1) return 0;
    p += z - 2; /* now at 00 00 01 */
    len -= z - 2;
    if (len < 5) return 0;
    uint8_t id = p[3];
    if (id == 0xba) {
        if ((p[4] & 0xf1) == 0x21) return STRONG; /* MPEG-1 pack: '0010' and a marker bit */
        if ((p[4] & 0xc4) != 0x44) return 0;      /* MPEG-2: '01' and the first SCR marker bit */
        return len < 10 || ((p[6] & 0x04) && (p[8] & 0x04) && (p[9] & 0x01)) ? STRONG : 0;
    }
    if (id >= 0xbb && id <= 0xbf) return STRONG; /* system header, PSM, private 1, padding, private 2 */
    if (id >= 0xc0 && id <= 0xef) return len < 7 || (p[6] & 0xc0) == 0x80 ? STRONG : 0;
    return 0;
}

static uint8_t ts_evidence(const uint8_t *p, size_t len)
{
    if (len == 0 || len % TS_PACKET) return 0;
    for (size_t i = 0; i < len; i += TS_PACKET) {
        if (p[i] != 0x47 || (p[i + 1] & 0x80) || (p[i + 3] & 0x30) == 0) return 0;
    }
    return STRONG;
}

/* ---- a few Exp-Golomb reads over the first bytes of a slice header (no emulation prevention: a
 * plausibility check, not a parse) ---- */

struct bits {
    const uint8_t *p;
    size_t len, pos; /* pos in bits */
    bool error;
};

static uint32_t read_ue(struct bits *b)
{
    int zeros = 0;
    for (;;) {
        if (b->pos >= b->len * 8 || zeros > 20) {
            b->error = true;
            return 0;
        }
        bool bit = (b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1;
        b->pos++;
        if (bit) break;
        zeros++;
    }
    uint32_t v = 0;
    for (int i = 0; i < zeros; i++) {
        if (b->pos >= b->len * 8) {
            b->error = true;
            return 0;
        }
        v = (v << 1) | ((b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1);
        b->pos++;
    }
    return (1u << zeros) - 1 + v;
}

/* ---- H.264 ---- */

static bool h264_nri_fits(uint8_t type, uint8_t nri)
{
    switch (type) {
    case H264_NAL_SLICE: return true;
    case H264_NAL_IDR:
    case H264_NAL_SPS:
    case H264_NAL_PPS: return nri != 0;
    case H264_NAL_SEI:
    case H264_NAL_AUD:
    case 10: /* end of sequence */
    case 11: /* end of stream */
    case 12: /* filler */ return nri == 0;
    default: return false;
    }
}

static bool h264_profile_known(uint8_t idc)
{
    static const uint8_t known[] = {66, 77, 88, 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135};
    return memchr(known, idc, sizeof known) != NULL;
}

static bool h264_level_known(uint8_t idc)
{
    static const uint8_t known[] = {9,  10, 11, 12, 13, 20, 21, 22, 30, 31,
                                    32, 40, 41, 42, 50, 51, 52, 60, 61, 62};
    return memchr(known, idc, sizeof known) != NULL;
}

/* One NAL unit (header + body) of n bytes: 0, WEAK or STRONG. */
static uint8_t h264_unit_evidence(const uint8_t *p, size_t n)
{
    if (n < 2 || (p[0] & 0x80)) return 0;
    uint8_t type = h264_nal_type(p[0]), nri = (p[0] >> 5) & 3;
    if (!h264_nri_fits(type, nri)) return 0;
    if (type == H264_NAL_SPS)
        return n >= 4 && h264_profile_known(p[1]) && (p[2] & 0x03) == 0 && h264_level_known(p[3]) ? STRONG
                                                                                                  : 0;
    if (type == H264_NAL_AUD) return n == 2 && (p[1] & 0x1f) == 0x10 ? STRONG : 0;
    if (type == H264_NAL_SLICE || type == H264_NAL_IDR) {
        struct bits b = {p + 1, n - 1 < 8 ? n - 1 : 8, 0, false};
        read_ue(&b); /* first_mb_in_slice */
        uint32_t slice_type = read_ue(&b);
        uint32_t pps_id = read_ue(&b);
        if (b.error || slice_type > 9 || pps_id > 255) return 0;
        if (type == H264_NAL_IDR && slice_type % 5 != 2 && slice_type % 5 != 4) return 0; /* I or SI */
    }
    return WEAK;
}

static uint8_t h264_evidence(const uint8_t *p, size_t len, const struct payload_sniffer *prev)
{
    if (len < 2 || (p[0] & 0x80)) return 0;
    uint8_t type = h264_nal_type(p[0]);
    if (type == 24) { /* STAP-A: sizes must cover the payload exactly */
        size_t pos = 1;
        while (pos < len) {
            if (len - pos < 2) return 0;
            size_t n = rtp_rd16(p + pos);
            pos += 2;
            if (n == 0 || n > len - pos || !h264_unit_evidence(p + pos, n)) return 0;
            pos += n;
        }
        return STRONG;
    }
    if (type == 28) { /* FU-A */
        uint8_t fu = p[1], inner = fu & 0x1f;
        if ((fu & 0xc0) == 0xc0 || !h264_nri_fits(inner, (p[0] >> 5) & 3)) return 0;
        if (prev && prev->prev_len >= 2 && prev->prev[0] == p[0] && !(prev->prev[1] & 0x40) &&
            (prev->prev[1] & 0x1f) == inner && !(fu & 0x80))
            return STRONG; /* continues the previous packet's unit */
        return WEAK;
    }
    return h264_unit_evidence(p, len);
}

/* ---- H.265 ---- */

static bool h265_type_sent(uint8_t type)
{
    return type <= 9 || (type >= 16 && type <= 21) || (type >= H265_NAL_VPS && type <= H265_NAL_AUD) ||
           type == H265_NAL_SEI_PREFIX || type == 40;
}

static uint8_t h265_unit_evidence(const uint8_t *p, size_t n)
{
    if (n < 3 || (p[0] & 0x80) || (p[0] & 0x01) || (p[1] & 0xf8) || (p[1] & 0x07) == 0) return 0;
    uint8_t type = h265_nal_type(p[0]);
    if (!h265_type_sent(type)) return 0;
    if (type == H265_NAL_VPS) return n >= 6 && p[4] == 0xff && p[5] == 0xff ? STRONG : 0;
    if (type == H265_NAL_SPS) {
        if (n < 4) return 0;
        uint8_t profile = p[3] & 0x1f;
        bool known = profile >= 1 && profile <= 4;
        return ((p[2] >> 1) & 7) != 7 && (p[3] >> 6) == 0 && known ? STRONG : 0;
    }
    if (type == H265_NAL_AUD) return n == 3 && (p[2] & 0x1f) == 0x10 ? STRONG : 0;
    if (type <=
        21) { /* slice segment: first_slice_segment_in_pic_flag, [no_output_of_prior_pics_flag], pps id */
        struct bits b = {p + 2, n - 2 < 8 ? n - 2 : 8, type >= 16 ? 2 : 1, false};
        if (read_ue(&b) > 63 || b.error) return 0;
    }
    return WEAK;
}

static uint8_t h265_evidence(const uint8_t *p, size_t len, const struct payload_sniffer *prev)
{
    if (len < 3 || (p[0] & 0x80) || (p[0] & 0x01) || (p[1] & 0xf8) || (p[1] & 0x07) == 0) return 0;
    uint8_t type = h265_nal_type(p[0]);
    if (type == 48) { /* AP, without DONL */
        size_t pos = 2;
        while (pos < len) {
            if (len - pos < 2) return 0;
            size_t n = rtp_rd16(p + pos);
            pos += 2;
            if (n == 0 || n > len - pos || !h265_unit_evidence(p + pos, n)) return 0;
            pos += n;
        }
        return STRONG;
    }
    if (type == 49) { /* FU */
        uint8_t fu = p[2], inner = fu & 0x3f;
        if ((fu & 0xc0) == 0xc0 || !h265_type_sent(inner)) return 0;
        if (prev && prev->prev_len >= 3 && prev->prev[0] == p[0] && prev->prev[1] == p[1] &&
            !(prev->prev[2] & 0x40) && (prev->prev[2] & 0x3f) == inner && !(fu & 0x80))
            return STRONG;
        return WEAK;
    }
    return h265_unit_evidence(p, len);
}

/* ---- verdicts ---- */

static void gather(const uint8_t *p, size_t len, const struct payload_sniffer *prev, struct evidence *e)
{
    memset(e, 0, sizeof *e);
    if (!p || len == 0) return;
    e->ps = ps_evidence(p, len);
    e->ts = ts_evidence(p, len);
    if (e->ps || e->ts) return; /* their first bytes are not NAL headers a sender would write */
    e->h264 = h264_evidence(p, len, prev);
    e->h265 = h265_evidence(p, len, prev);
}

enum payload_kind payload_sniff(uint8_t pt, const uint8_t *payload, size_t len)
{
    struct evidence e;
    gather(payload, len, NULL, &e);
    if (e.ps) return PAYLOAD_PS;
    if (e.ts) return PAYLOAD_TS;
    enum payload_kind usual = payload_kind_from_pt(pt);
    if (usual == PAYLOAD_H264 && e.h264) return PAYLOAD_H264;
    if (usual == PAYLOAD_H265 && e.h265) return PAYLOAD_H265;
    if (e.h264 > e.h265) return PAYLOAD_H264;
    if (e.h265 > e.h264) return PAYLOAD_H265;
    return PAYLOAD_UNKNOWN;
}

void payload_sniffer_init(struct payload_sniffer *s)
{
    memset(s, 0, sizeof *s);
}

static uint16_t add_run(uint16_t run, uint8_t points)
{
    if (!points) return 0;
    return run > UINT16_MAX - STRONG ? UINT16_MAX : (uint16_t)(run + points);
}

enum payload_kind payload_sniffer_add(struct payload_sniffer *s, uint8_t pt, const uint8_t *payload,
                                      size_t len)
{
    if (s->decided != PAYLOAD_UNKNOWN) return s->decided;
    if (s->packets < UINT32_MAX) s->packets++;
    struct evidence e;
    gather(payload, len, s, &e);
    s->prev_len = (uint8_t)(len < sizeof s->prev ? len : sizeof s->prev);
    if (s->prev_len) memcpy(s->prev, payload, s->prev_len);
    if (e.ps) return s->decided = PAYLOAD_PS;
    if (e.ts) return s->decided = PAYLOAD_TS;
    s->run_h264 = add_run(s->run_h264, e.h264);
    s->run_h265 = add_run(s->run_h265, e.h265);
    enum payload_kind usual = payload_kind_from_pt(pt);
    uint16_t need264 = usual == PAYLOAD_H264 ? THRESHOLD_USUAL_PT : THRESHOLD_OTHER_PT;
    uint16_t need265 = usual == PAYLOAD_H265 ? THRESHOLD_USUAL_PT : THRESHOLD_OTHER_PT;
    if (s->run_h264 >= need264 && s->run_h265 * 2 < s->run_h264) return s->decided = PAYLOAD_H264;
    if (s->run_h265 >= need265 && s->run_h264 * 2 < s->run_h265) return s->decided = PAYLOAD_H265;
    return PAYLOAD_UNKNOWN;
}

bool payload_sniffer_exhausted(const struct payload_sniffer *s)
{
    return s->decided == PAYLOAD_UNKNOWN && s->packets >= PAYLOAD_SNIFF_MAX_PACKETS;
}
