/*
 * What an RTP payload carries: MPEG-PS (GB/T 28181's normal PT 96), raw H.264 (RFC 6184, PT 98), raw H.265
 * (RFC 7798, PT 99) or MPEG-TS (RFC 2250, PT 33). Devices do not always use those numbers, so the stream
 * chooses its depacketizer by payload type AND by the bytes. Pure functions, bounded reads, no allocation.
 *
 * One packet (payload_sniff) can only be a guess: a PS stream's packets are mostly the middle of a PES
 * (arbitrary coded bytes), and arbitrary bytes look like an H.264 or H.265 header fairly often. So each
 * packet gives evidence per kind, strong or weak, and a payload_sniffer adds it up over consecutive packets:
 *
 *   strong PS   starts (after at most 8 zero bytes) with 00 00 01 and a pack header whose marker bits are
 *               right, a system header / PSM / private / padding start code, or a PES start (C0-EF) with the
 *               MPEG-2 '10' flags. A valid RFC 6184/7798 payload never starts with a zero byte (forbidden
 *               NAL types) and a TS payload starts with 0x47, so this never misfires on them; on random bytes
 *               it needs 00 00 01 xx: about 1 in 2^26 per packet.
 *   strong TS   a non-zero multiple of 188 bytes with 0x47, transport_error_indicator 0 and an
 *               adaptation_field_control other than the reserved 00 at every 188: 1 in about 700 per TS
 *               packet for random bytes, times the odds of such a length (1 in 188).
 *   H.264       weak: forbidden bit 0 and a type a camera sends (1, 5-12, FU-A 28) with the nal_ref_idc its
 *               type requires (5/7/8 non-zero, 6/9-12 zero), a slice header that parses (first_mb_in_slice,
 *               slice_type <= 9 (I/SI for IDR), pps_id <= 255), an FU-A header that is not start+end.
 *               Strong: an SPS with a known profile_idc, reserved bits 0 and a real level; a STAP-A whose
 *               sizes cover the payload exactly; an AUD; an FU-A that continues the previous packet's FU-A
 *               (same indicator byte and type, no start bit).
 *   H.265       weak: forbidden bit 0, nuh_layer_id 0, nuh_temporal_id_plus1 != 0 and a type a camera
 *               sends (VCL 0-9 and 16-21 with a plausible slice_pic_parameter_set_id, PPS 34, SEI 39/40,
 *               FU 49 with a sane FU header). Strong: a VPS (its reserved 0xffff), an SPS (profile
 *               space 0, a known profile, max_sub_layers <= 7), an AUD, an AP whose sizes cover the payload
 *               exactly, an FU that continues the previous packet's FU.
 * Measured (test_media_payload_sniff): one uniformly random payload passes as H.264 4.6% of the time and as
 * H.265 0.2%; the mid-PES packets of a real Hikvision PS capture pass as H.264 3.8% of the time. Strong
 * evidence for either needs specific byte values in the first 2-4 bytes (an FU "continuation" needs the
 * same first two or three bytes as the previous packet): below 1 in 10^4 per random packet.
 *
 * Decision (payload_sniffer_add): PS or TS at the first strong packet. H.264 / H.265 when a run of
 * consecutive packets that all support it reaches 4 points (strong = 4, weak = 1) if the payload type is the
 * kind's usual one (98 / 99), 16 points otherwise, and the other codec's run is less than half of it. A
 * packet that does not support a kind resets that kind's run. For a PS stream whose first packets are all
 * mid-PES bytes, a false H.264 decision needs 16 weak passes in a row (0.05^16, about 10^-21) or four
 * strong ones (below 10^-16); the first packet of the next frame (a pack header) decides PS anyway (within
 * 26 packets from any start point of the real capture). A raw H.264/H.265 stream is decided within 1 to 4
 * packets with its usual PT, and within 4 to 16 otherwise (the packets of a fragmented picture after the
 * first are strong). After PAYLOAD_SNIFF_MAX_PACKETS undecided
 * packets the payload is none of these (payload_sniffer_exhausted): a vendor's private format.
 */
#ifndef GB_MEDIA_PAYLOAD_SNIFF_H
#define GB_MEDIA_PAYLOAD_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum payload_kind {
    PAYLOAD_UNKNOWN = 0,
    PAYLOAD_PS,   /* MPEG-2 program stream (GB/T 28181) -> ps_demux */
    PAYLOAD_H264, /* RFC 6184 -> rtp_h26x */
    PAYLOAD_H265, /* RFC 7798 -> rtp_h26x */
    PAYLOAD_TS,   /* RFC 2250 MPEG-2 transport stream -> ts_demux */
};

/* The payload types devices normally use for each kind (GB/T 28181 section C / RFC 3551 for MP2T). */
#define PAYLOAD_PT_PS   96
#define PAYLOAD_PT_H264 98
#define PAYLOAD_PT_H265 99
#define PAYLOAD_PT_TS   33

#define PAYLOAD_SNIFF_MAX_PACKETS 300 /* undecided after this many packets: none of the four */

/* "ps", "h264", "h265", "ts", "unknown". */
const char *payload_kind_name(enum payload_kind k);
/* The kind a payload type usually means (96, 98, 99, 33), else PAYLOAD_UNKNOWN. */
enum payload_kind payload_kind_from_pt(uint8_t pt);

/* One packet: the PT's kind when the bytes support it, otherwise the kind the bytes support best
 * (strong evidence first; weak evidence only when it names one codec). PAYLOAD_UNKNOWN when nothing fits or
 * H.264 and H.265 fit equally. A guess: see above for why a stream should use a payload_sniffer. */
enum payload_kind payload_sniff(uint8_t pt, const uint8_t *payload, size_t len);

/* Evidence over consecutive packets (in sequence order). Zero-initialise or payload_sniffer_init(). */
struct payload_sniffer {
    uint32_t packets;
    enum payload_kind decided;
    uint16_t run_h264, run_h265; /* points of the current runs */
    /* first bytes of the previous payload, to recognise a fragmentation unit that continues it */
    uint8_t prev[3];
    uint8_t prev_len;
};

void payload_sniffer_init(struct payload_sniffer *s);
/* Adds one packet. Returns the decided kind (from the deciding packet on, it never changes), or
 * PAYLOAD_UNKNOWN while undecided. */
enum payload_kind payload_sniffer_add(struct payload_sniffer *s, uint8_t pt, const uint8_t *payload,
                                      size_t len);
/* True when PAYLOAD_SNIFF_MAX_PACKETS packets left it undecided. */
bool payload_sniffer_exhausted(const struct payload_sniffer *s);

#endif
