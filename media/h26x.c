/*
 * H.264/H.265 helpers shared by both codecs (Annex-B start-code search, emulation-prevention removal) and the
 * H.264 SPS parser. The H.265 SPS parser lives in h26x_h265.c (it is twice as long).
 *
 * The SPS parser reads every syntax element up to the VUI timing information, including the ones a gateway
 * does not care about, because they are variable length and decide where the next fields are: the High
 * profiles' chroma format and scaling lists, the POC type 1 cycle, frame cropping.
 */
#include "media/h26x.h"

#include <errno.h>
#include <string.h>

#include "media/h26x_bitreader.h"

/* The search looks at every third byte, like FFmpeg's ff_avc_find_startcode: a start code ends with 01 and
 * is preceded by two zeros, so a byte greater than 1 rules out the three positions ending there. */
/* The hot loop of the data path (every byte of every video frame passes here once): a start code ends in 01,
 * which is rare in compressed data, so let libc's vectorised memchr find each 01 and only then look back for
 * the two zeros. About ten times faster than a byte loop skipping by three. */
const uint8_t *annexb_find_start_code(const uint8_t *p, const uint8_t *end, int *sc_len)
{
    if (!p || end - p < 3) return NULL;
    const uint8_t *q = p + 2; /* candidate position of the 01 */
    while (q < end) {
        q = memchr(q, 1, (size_t)(end - q));
        if (!q) return NULL;
        if (q[-1] == 0 && q[-2] == 0) {
            if (q - 3 >= p && q[-3] == 0) {
                if (sc_len) *sc_len = 4;
                return q - 3;
            }
            if (sc_len) *sc_len = 3;
            return q - 2;
        }
        q++;
    }
    return NULL;
}

size_t h26x_unescape(const uint8_t *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    unsigned zeros = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = in[i];
        if (zeros >= 2 && b == 3) {
            zeros = 0;
            continue;
        }
        zeros = b == 0 ? zeros + 1 : 0;
        out[o++] = b;
    }
    return o;
}

/* Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices (7.3.2.1.1). */
static bool h264_profile_has_chroma_info(uint8_t profile_idc)
{
    switch (profile_idc) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135: return true;
    default: return false;
    }
}

static void h264_skip_scaling_list(struct h26x_bitreader *br, int size)
{
    int32_t last = 8, next = 8;
    for (int j = 0; j < size && !br->error; j++) {
        if (next != 0) {
            int32_t delta = h26x_br_se(br);
            if (delta < -128 || delta > 127) { /* out of the spec's range: stop before using it */
                br->error = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

/* VUI up to timing_info (E.1.1); what follows (HRD, bitstream restriction) is not needed. */
static void h264_parse_vui_timing(struct h26x_bitreader *br, struct h264_sps_info *out)
{
    if (h26x_br_bit(br)) {              /* aspect_ratio_info_present_flag */
        if (h26x_br_bits(br, 8) == 255) /* aspect_ratio_idc == Extended_SAR */
            h26x_br_skip(br, 32);       /* sar_width, sar_height */
    }
    if (h26x_br_bit(br)) h26x_br_skip(br, 1);      /* overscan_info_present -> overscan_appropriate */
    if (h26x_br_bit(br)) {                         /* video_signal_type_present_flag */
        h26x_br_skip(br, 4);                       /* video_format, video_full_range_flag */
        if (h26x_br_bit(br)) h26x_br_skip(br, 24); /* colour primaries, transfer, matrix */
    }
    if (h26x_br_bit(br)) { /* chroma_loc_info_present_flag */
        h26x_br_ue(br);
        h26x_br_ue(br);
    }
    if (h26x_br_bit(br)) { /* timing_info_present_flag */
        uint32_t num_units_in_tick = h26x_br_bits(br, 32);
        uint32_t time_scale = h26x_br_bits(br, 32);
        if (!br->error && num_units_in_tick && time_scale && num_units_in_tick <= UINT32_MAX / 2) {
            out->fps_num = time_scale;
            out->fps_den = num_units_in_tick * 2; /* a frame is two fields' worth of ticks */
        }
    }
}

int h264_parse_sps(const uint8_t *nal, size_t len, struct h264_sps_info *out)
{
    if (!nal || len < 4 || !out || h264_nal_type(nal[0]) != H264_NAL_SPS) return -EINVAL;
    memset(out, 0, sizeof *out);
    struct h26x_bitreader br;
    h26x_br_init(&br, nal + 1, len - 1);

    out->profile_idc = (uint8_t)h26x_br_bits(&br, 8);
    out->constraint_flags = (uint8_t)h26x_br_bits(&br, 8);
    out->level_idc = (uint8_t)h26x_br_bits(&br, 8);
    h26x_br_ue_max(&br, 31); /* seq_parameter_set_id */
    out->chroma_format_idc = 1;
    out->bit_depth_luma = out->bit_depth_chroma = 8;
    bool separate_colour_plane = false;
    if (h264_profile_has_chroma_info(out->profile_idc)) {
        out->chroma_format_idc = (uint8_t)h26x_br_ue_max(&br, 3);
        if (out->chroma_format_idc == 3) separate_colour_plane = h26x_br_bit(&br);
        out->bit_depth_luma = (uint8_t)(8 + h26x_br_ue_max(&br, 6));
        out->bit_depth_chroma = (uint8_t)(8 + h26x_br_ue_max(&br, 6));
        h26x_br_skip(&br, 1);   /* qpprime_y_zero_transform_bypass_flag */
        if (h26x_br_bit(&br)) { /* seq_scaling_matrix_present_flag */
            int lists = out->chroma_format_idc != 3 ? 8 : 12;
            for (int i = 0; i < lists && !br.error; i++)
                if (h26x_br_bit(&br)) h264_skip_scaling_list(&br, i < 6 ? 16 : 64);
        }
    }
    h26x_br_ue_max(&br, 12); /* log2_max_frame_num_minus4 */
    uint32_t poc_type = h26x_br_ue_max(&br, 2);
    if (poc_type == 0) {
        h26x_br_ue_max(&br, 12); /* log2_max_pic_order_cnt_lsb_minus4 */
    } else if (poc_type == 1) {
        h26x_br_skip(&br, 1); /* delta_pic_order_always_zero_flag */
        h26x_br_se(&br);      /* offset_for_non_ref_pic */
        h26x_br_se(&br);      /* offset_for_top_to_bottom_field */
        uint32_t cycle = h26x_br_ue_max(&br, 255);
        for (uint32_t i = 0; i < cycle && !br.error; i++) h26x_br_se(&br);
    }
    h26x_br_ue(&br);      /* max_num_ref_frames */
    h26x_br_skip(&br, 1); /* gaps_in_frame_num_value_allowed_flag */
    uint32_t width_mbs = h26x_br_ue_max(&br, 1023) + 1;
    uint32_t height_map_units = h26x_br_ue_max(&br, 1023) + 1;
    uint32_t frame_mbs_only = h26x_br_bit(&br);
    if (!frame_mbs_only) h26x_br_skip(&br, 1); /* mb_adaptive_frame_field_flag */
    h26x_br_skip(&br, 1);                      /* direct_8x8_inference_flag */
    uint32_t crop_left = 0, crop_right = 0, crop_top = 0, crop_bottom = 0;
    if (h26x_br_bit(&br)) { /* frame_cropping_flag */
        crop_left = h26x_br_ue_max(&br, 8192);
        crop_right = h26x_br_ue_max(&br, 8192);
        crop_top = h26x_br_ue_max(&br, 8192);
        crop_bottom = h26x_br_ue_max(&br, 8192);
    }
    if (br.error) return -EINVAL;

    /* Table 6-1: SubWidthC/SubHeightC; monochrome and separate planes crop in luma samples. */
    uint32_t crop_unit_x = 1, crop_unit_y = 2 - frame_mbs_only;
    if (out->chroma_format_idc != 0 && !separate_colour_plane) {
        crop_unit_x = out->chroma_format_idc == 3 ? 1 : 2;
        crop_unit_y *= out->chroma_format_idc == 1 ? 2 : 1;
    }
    uint32_t width = width_mbs * 16, height = (2 - frame_mbs_only) * height_map_units * 16;
    uint32_t crop_w = (crop_left + crop_right) * crop_unit_x, crop_h = (crop_top + crop_bottom) * crop_unit_y;
    if (crop_w >= width || crop_h >= height) return -EINVAL;
    out->width = width - crop_w;
    out->height = height - crop_h;

    if (h26x_br_bit(&br)) h264_parse_vui_timing(&br, out); /* vui_parameters_present_flag */
    /* A VUI cut short after the size is known is tolerated: the frame rate is optional. */
    if (br.error) out->fps_num = out->fps_den = 0;
    return 0;
}
