/*
 * RTP header parsing and writing (see rtp.h). Every length the header claims is checked against what is left
 * of the packet before it is used, in the order the fields appear: CSRC list, extension, padding.
 */
#include "media/rtp.h"

#include <errno.h>

int rtp_parse(const uint8_t *p, size_t len, struct rtp_packet *out)
{
    if (!p || !out) return EINVAL;
    if (len < RTP_HEADER_SIZE) return EBADMSG;

    out->data = p;
    out->size = len;
    out->version = p[0] >> 6;
    if (out->version != RTP_VERSION) return EPROTO;
    out->padding = (p[0] & 0x20) != 0;
    out->extension = (p[0] & 0x10) != 0;
    out->csrc_count = p[0] & 0x0f;
    out->marker = (p[1] & 0x80) != 0;
    out->payload_type = p[1] & 0x7f;
    out->seq = rtp_rd16(p + 2);
    out->timestamp = rtp_rd32(p + 4);
    out->ssrc = rtp_rd32(p + 8);

    size_t pos = RTP_HEADER_SIZE;
    size_t csrc_bytes = (size_t)out->csrc_count * 4;
    if (len - pos < csrc_bytes) return EBADMSG;
    out->csrc = p + pos;
    pos += csrc_bytes;

    out->ext_profile = 0;
    out->ext_data = NULL;
    out->ext_len = 0;
    if (out->extension) {
        if (len - pos < 4) return EBADMSG;
        out->ext_profile = rtp_rd16(p + pos);
        size_t ext_bytes = (size_t)rtp_rd16(p + pos + 2) * 4; /* length in 32-bit words, header excluded */
        pos += 4;
        if (len - pos < ext_bytes) return EBADMSG;
        out->ext_data = p + pos;
        out->ext_len = ext_bytes;
        pos += ext_bytes;
    }

    size_t end = len;
    out->padding_len = 0;
    if (out->padding) {
        uint8_t count = p[len - 1];
        /* The count includes itself, so 0 is malformed; it may not eat into the header. */
        if (count == 0 || count > len - pos) return EBADMSG;
        out->padding_len = count;
        end -= count;
    }
    out->payload = p + pos;
    out->payload_len = end - pos;
    return 0;
}

uint32_t rtp_packet_csrc(const struct rtp_packet *pkt, unsigned i)
{
    return i < pkt->csrc_count ? rtp_rd32(pkt->csrc + 4 * (size_t)i) : 0;
}

bool rtp_is_rtcp(const uint8_t *p, size_t len)
{
    return len >= 2 && (p[0] >> 6) == RTP_VERSION && p[1] >= 192 && p[1] <= 223;
}

size_t rtp_write_header(uint8_t out[RTP_HEADER_SIZE], uint8_t payload_type, bool marker, uint16_t seq,
                        uint32_t timestamp, uint32_t ssrc)
{
    out[0] = RTP_VERSION << 6;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (payload_type & 0x7f));
    rtp_wr16(out + 2, seq);
    rtp_wr32(out + 4, timestamp);
    rtp_wr32(out + 8, ssrc);
    return RTP_HEADER_SIZE;
}
