/*
 * H.264 / H.265 bitstream helpers: NAL unit types, emulation-prevention removal, Annex-B start-code search,
 * and SPS parsing for what a gateway needs (size for the API and onMetaData, profile fields for the
 * avcC/hvcC decoder configuration records, frame rate from VUI timing). Pure functions, bounded reads.
 */
#ifndef GB_MEDIA_H26X_H
#define GB_MEDIA_H26X_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* NAL unit types (first header byte). */
static inline uint8_t h264_nal_type(uint8_t b0)
{
    return b0 & 0x1f;
}
static inline uint8_t h265_nal_type(uint8_t b0)
{
    return (b0 >> 1) & 0x3f;
}
enum {
    H264_NAL_SLICE = 1,
    H264_NAL_IDR = 5,
    H264_NAL_SEI = 6,
    H264_NAL_SPS = 7,
    H264_NAL_PPS = 8,
    H264_NAL_AUD = 9
};
enum {
    H265_NAL_IRAP_FIRST = 16, /* BLA_W_LP */
    H265_NAL_IRAP_LAST = 23,  /* RSV_IRAP_VCL23 */
    H265_NAL_VPS = 32,
    H265_NAL_SPS = 33,
    H265_NAL_PPS = 34,
    H265_NAL_AUD = 35,
    H265_NAL_SEI_PREFIX = 39,
};

/* Finds the next Annex-B start code (00 00 01 or 00 00 00 01) in [p, end). Returns a pointer to its first
 * byte and sets *sc_len to 3 or 4, or returns NULL. */
const uint8_t *annexb_find_start_code(const uint8_t *p, const uint8_t *end, int *sc_len);

/* Removes emulation-prevention bytes (00 00 03 -> 00 00). out must hold len bytes. Returns the new length. */
size_t h26x_unescape(const uint8_t *in, size_t len, uint8_t *out);

struct h264_sps_info {
    uint8_t profile_idc, constraint_flags, level_idc;
    uint8_t chroma_format_idc, bit_depth_luma, bit_depth_chroma;
    uint32_t width, height;    /* after frame cropping */
    uint32_t fps_num, fps_den; /* from VUI timing_info (num_units_in_tick, time_scale/2), 0 when absent */
};
/* nal: the SPS NAL unit including its 1-byte header. Returns 0 or -EINVAL. */
int h264_parse_sps(const uint8_t *nal, size_t len, struct h264_sps_info *out);

struct h265_sps_info {
    uint8_t general_profile_space, general_tier_flag, general_profile_idc;
    uint32_t general_profile_compatibility_flags;
    uint64_t general_constraint_indicator_flags; /* 48 bits */
    uint8_t general_level_idc;
    uint8_t chroma_format_idc, bit_depth_luma, bit_depth_chroma;
    uint8_t max_sub_layers; /* sps_max_sub_layers_minus1 + 1 */
    bool temporal_id_nesting;
    uint16_t min_spatial_segmentation_idc; /* from VUI, 0 when absent */
    uint32_t width, height;                /* after the conformance window */
    uint32_t fps_num, fps_den;             /* from VUI timing, 0 when absent */
};
/* nal: the SPS NAL unit including its 2-byte header. Returns 0 or -EINVAL. */
int h265_parse_sps(const uint8_t *nal, size_t len, struct h265_sps_info *out);

#endif
