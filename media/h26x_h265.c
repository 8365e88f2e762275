/*
 * H.265 SPS parser (ITU-T H.265 7.3.2.2 and Annex E): the profile_tier_level fields for the hvcC record,
 * the picture size after the conformance window, and from the VUI the frame rate and
 * min_spatial_segmentation_idc. Reaching the VUI means walking every variable-length element before it:
 * sub-layer profile/level info, scaling lists, short-term reference picture sets (with inter-RPS
 * prediction), long-term reference pictures, and inside the VUI the HRD parameters.
 */
#include "media/h26x.h"

#include <errno.h>
#include <string.h>

#include "media/h26x_bitreader.h"

#define H265_MAX_SUB_LAYERS     7
#define H265_MAX_SHORT_TERM_RPS 64
#define H265_MAX_DELTA_POCS     32 /* num_negative_pics + num_positive_pics <= 16 each */

static void h265_parse_profile_tier_level(struct h26x_bitreader *br, uint32_t max_sub_layers_minus1,
                                          struct h265_sps_info *out)
{
    out->general_profile_space = (uint8_t)h26x_br_bits(br, 2);
    out->general_tier_flag = (uint8_t)h26x_br_bit(br);
    out->general_profile_idc = (uint8_t)h26x_br_bits(br, 5);
    out->general_profile_compatibility_flags = h26x_br_bits(br, 32);
    uint64_t constraints = (uint64_t)h26x_br_bits(br, 16) << 32;
    constraints |= h26x_br_bits(br, 32);
    out->general_constraint_indicator_flags = constraints;
    out->general_level_idc = (uint8_t)h26x_br_bits(br, 8);

    bool profile_present[H265_MAX_SUB_LAYERS] = {0}, level_present[H265_MAX_SUB_LAYERS] = {0};
    for (uint32_t i = 0; i < max_sub_layers_minus1; i++) {
        profile_present[i] = h26x_br_bit(br);
        level_present[i] = h26x_br_bit(br);
    }
    if (max_sub_layers_minus1 > 0)
        for (uint32_t i = max_sub_layers_minus1; i < 8; i++) h26x_br_skip(br, 2); /* reserved_zero_2bits */
    for (uint32_t i = 0; i < max_sub_layers_minus1; i++) {
        if (profile_present[i]) h26x_br_skip(br, 88); /* sub_layer profile space .. constraint flags */
        if (level_present[i]) h26x_br_skip(br, 8);    /* sub_layer_level_idc */
    }
}

/* 7.3.4 scaling_list_data() */
static void h265_skip_scaling_list_data(struct h26x_bitreader *br)
{
    for (int size_id = 0; size_id < 4; size_id++) {
        for (int matrix_id = 0; matrix_id < 6; matrix_id += size_id == 3 ? 3 : 1) {
            if (!h26x_br_bit(br)) {    /* scaling_list_pred_mode_flag */
                h26x_br_ue_max(br, 5); /* scaling_list_pred_matrix_id_delta */
                continue;
            }
            int coefs = 1 << (4 + (size_id << 1));
            if (coefs > 64) coefs = 64;
            if (size_id > 1) h26x_br_se(br); /* scaling_list_dc_coef_minus8 */
            for (int i = 0; i < coefs && !br->error; i++) h26x_br_se(br);
        }
    }
}

/* 7.3.7 st_ref_pic_set(idx) as it appears in the SPS (idx < num_short_term_ref_pic_sets). num_delta_pocs
 * keeps NumDeltaPocs of every set parsed so far: an inter-predicted set has one flag per delta POC of the
 * set it is predicted from, plus one. */
static void h265_skip_st_ref_pic_set(struct h26x_bitreader *br, uint32_t idx, uint8_t *num_delta_pocs)
{
    bool inter_rps_pred = idx != 0 && h26x_br_bit(br);
    if (inter_rps_pred) {
        h26x_br_skip(br, 1);       /* delta_rps_sign */
        h26x_br_ue_max(br, 32767); /* abs_delta_rps_minus1 */
        uint32_t ref = idx - 1;    /* delta_idx_minus1 is only coded in slice headers: 0 here */
        uint32_t count = 0;
        for (uint32_t j = 0; j <= num_delta_pocs[ref] && !br->error; j++) {
            bool used_by_curr_pic = h26x_br_bit(br);
            bool use_delta = used_by_curr_pic || h26x_br_bit(br);
            if (use_delta) count++;
        }
        if (count > H265_MAX_DELTA_POCS) br->error = true;
        num_delta_pocs[idx] = (uint8_t)count;
        return;
    }
    uint32_t negative = h26x_br_ue_max(br, 16), positive = h26x_br_ue_max(br, 16);
    for (uint32_t i = 0; i < negative + positive && !br->error; i++) {
        h26x_br_ue_max(br, 32767); /* delta_poc_s0/s1_minus1 */
        h26x_br_skip(br, 1);       /* used_by_curr_pic_s0/s1_flag */
    }
    num_delta_pocs[idx] = (uint8_t)(negative + positive);
}

/* E.2.3 sub_layer_hrd_parameters() */
static void h265_skip_sub_layer_hrd(struct h26x_bitreader *br, uint32_t cpb_cnt, bool sub_pic_params)
{
    for (uint32_t k = 0; k < cpb_cnt && !br->error; k++) {
        h26x_br_ue(br); /* bit_rate_value_minus1 */
        h26x_br_ue(br); /* cpb_size_value_minus1 */
        if (sub_pic_params) {
            h26x_br_ue(br); /* cpb_size_du_value_minus1 */
            h26x_br_ue(br); /* bit_rate_du_value_minus1 */
        }
        h26x_br_skip(br, 1); /* cbr_flag */
    }
}

/* E.2.2 hrd_parameters(commonInfPresentFlag = 1, maxNumSubLayersMinus1) */
static void h265_skip_hrd_parameters(struct h26x_bitreader *br, uint32_t max_sub_layers_minus1)
{
    bool nal_hrd = h26x_br_bit(br), vcl_hrd = h26x_br_bit(br), sub_pic_params = false;
    if (nal_hrd || vcl_hrd) {
        sub_pic_params = h26x_br_bit(br);
        if (sub_pic_params) h26x_br_skip(br, 8 + 5 + 1 + 5); /* tick divisor, du delay length, ... */
        h26x_br_skip(br, 4 + 4);                             /* bit_rate_scale, cpb_size_scale */
        if (sub_pic_params) h26x_br_skip(br, 4);             /* cpb_size_du_scale */
        h26x_br_skip(br, 5 + 5 + 5);                         /* initial/au/dpb delay lengths */
    }
    for (uint32_t i = 0; i <= max_sub_layers_minus1 && !br->error; i++) {
        bool fixed_rate_general = h26x_br_bit(br);
        bool fixed_rate_within_cvs = fixed_rate_general || h26x_br_bit(br);
        bool low_delay = false;
        if (fixed_rate_within_cvs)
            h26x_br_ue_max(br, 2047); /* elemental_duration_in_tc_minus1 */
        else
            low_delay = h26x_br_bit(br);
        uint32_t cpb_cnt = 1;
        if (!low_delay) cpb_cnt = h26x_br_ue_max(br, 31) + 1;
        if (nal_hrd) h265_skip_sub_layer_hrd(br, cpb_cnt, sub_pic_params);
        if (vcl_hrd) h265_skip_sub_layer_hrd(br, cpb_cnt, sub_pic_params);
    }
}

/* E.2.1 vui_parameters() */
static void h265_parse_vui(struct h26x_bitreader *br, uint32_t max_sub_layers_minus1,
                           struct h265_sps_info *out)
{
    if (h26x_br_bit(br)) { /* aspect_ratio_info_present_flag */
        if (h26x_br_bits(br, 8) == 255) h26x_br_skip(br, 32);
    }
    if (h26x_br_bit(br)) h26x_br_skip(br, 1); /* overscan_info_present -> overscan_appropriate */
    if (h26x_br_bit(br)) {                    /* video_signal_type_present_flag */
        h26x_br_skip(br, 4);
        if (h26x_br_bit(br)) h26x_br_skip(br, 24); /* colour_description_present_flag */
    }
    if (h26x_br_bit(br)) { /* chroma_loc_info_present_flag */
        h26x_br_ue(br);
        h26x_br_ue(br);
    }
    h26x_br_skip(br, 3);   /* neutral_chroma_indication, field_seq, frame_field_info_present */
    if (h26x_br_bit(br)) { /* default_display_window_flag */
        for (int i = 0; i < 4; i++) h26x_br_ue(br);
    }
    if (h26x_br_bit(br)) { /* vui_timing_info_present_flag */
        uint32_t num_units_in_tick = h26x_br_bits(br, 32);
        uint32_t time_scale = h26x_br_bits(br, 32);
        if (!br->error && num_units_in_tick && time_scale) {
            out->fps_num = time_scale;
            out->fps_den = num_units_in_tick;
        }
        if (h26x_br_bit(br)) h26x_br_ue(br); /* poc_proportional -> num_ticks_poc_diff_one_minus1 */
        if (h26x_br_bit(br)) h265_skip_hrd_parameters(br, max_sub_layers_minus1);
    }
    if (h26x_br_bit(br)) {   /* bitstream_restriction_flag */
        h26x_br_skip(br, 3); /* tiles_fixed, mvs_over_pic_bounds, restricted_ref_lists */
        uint32_t idc = h26x_br_ue_max(br, 4095);
        if (!br->error) out->min_spatial_segmentation_idc = (uint16_t)idc;
    }
}

int h265_parse_sps(const uint8_t *nal, size_t len, struct h265_sps_info *out)
{
    if (!nal || len < 5 || !out || h265_nal_type(nal[0]) != H265_NAL_SPS) return -EINVAL;
    memset(out, 0, sizeof *out);
    struct h26x_bitreader br;
    h26x_br_init(&br, nal + 2, len - 2);

    h26x_br_skip(&br, 4); /* sps_video_parameter_set_id */
    uint32_t max_sub_layers_minus1 = h26x_br_bits(&br, 3);
    if (max_sub_layers_minus1 >= H265_MAX_SUB_LAYERS) return -EINVAL;
    out->max_sub_layers = (uint8_t)(max_sub_layers_minus1 + 1);
    out->temporal_id_nesting = h26x_br_bit(&br);
    h265_parse_profile_tier_level(&br, max_sub_layers_minus1, out);
    h26x_br_ue_max(&br, 15); /* sps_seq_parameter_set_id */
    out->chroma_format_idc = (uint8_t)h26x_br_ue_max(&br, 3);
    bool separate_colour_plane = out->chroma_format_idc == 3 && h26x_br_bit(&br);
    uint32_t width = h26x_br_ue_max(&br, 16888), height = h26x_br_ue_max(&br, 16888);
    uint32_t win_left = 0, win_right = 0, win_top = 0, win_bottom = 0;
    if (h26x_br_bit(&br)) { /* conformance_window_flag */
        win_left = h26x_br_ue_max(&br, 16888);
        win_right = h26x_br_ue_max(&br, 16888);
        win_top = h26x_br_ue_max(&br, 16888);
        win_bottom = h26x_br_ue_max(&br, 16888);
    }
    out->bit_depth_luma = (uint8_t)(8 + h26x_br_ue_max(&br, 8));
    out->bit_depth_chroma = (uint8_t)(8 + h26x_br_ue_max(&br, 8));
    if (br.error || width == 0 || height == 0) return -EINVAL;

    uint32_t sub_width = 1, sub_height = 1; /* Table 6-1 */
    if (!separate_colour_plane && out->chroma_format_idc == 1) sub_width = sub_height = 2;
    if (!separate_colour_plane && out->chroma_format_idc == 2) sub_width = 2;
    uint32_t crop_w = (win_left + win_right) * sub_width, crop_h = (win_top + win_bottom) * sub_height;
    if (crop_w >= width || crop_h >= height) return -EINVAL;
    out->width = width - crop_w;
    out->height = height - crop_h;

    /* Everything below only leads to the VUI: an SPS cut short here still gives the size. */
    uint32_t log2_max_poc_lsb = h26x_br_ue_max(&br, 12) + 4;
    bool ordering_info_all = h26x_br_bit(&br);
    for (uint32_t i = ordering_info_all ? 0 : max_sub_layers_minus1; i <= max_sub_layers_minus1; i++) {
        h26x_br_ue(&br); /* sps_max_dec_pic_buffering_minus1 */
        h26x_br_ue(&br); /* sps_max_num_reorder_pics */
        h26x_br_ue(&br); /* sps_max_latency_increase_plus1 */
    }
    for (int i = 0; i < 6; i++) h26x_br_ue(&br); /* coding block, transform block sizes and depths */
    if (h26x_br_bit(&br) && h26x_br_bit(&br))    /* scaling_list_enabled, sps_scaling_list_data_present */
        h265_skip_scaling_list_data(&br);
    h26x_br_skip(&br, 2);     /* amp_enabled_flag, sample_adaptive_offset_enabled_flag */
    if (h26x_br_bit(&br)) {   /* pcm_enabled_flag */
        h26x_br_skip(&br, 8); /* pcm sample bit depths */
        h26x_br_ue(&br);
        h26x_br_ue(&br);
        h26x_br_skip(&br, 1); /* pcm_loop_filter_disabled_flag */
    }
    uint32_t num_st_rps = h26x_br_ue_max(&br, H265_MAX_SHORT_TERM_RPS);
    uint8_t num_delta_pocs[H265_MAX_SHORT_TERM_RPS] = {0};
    for (uint32_t i = 0; i < num_st_rps && !br.error; i++) h265_skip_st_ref_pic_set(&br, i, num_delta_pocs);
    if (h26x_br_bit(&br)) { /* long_term_ref_pics_present_flag */
        uint32_t num_lt = h26x_br_ue_max(&br, 32);
        for (uint32_t i = 0; i < num_lt && !br.error; i++) h26x_br_skip(&br, (int)log2_max_poc_lsb + 1);
    }
    h26x_br_skip(&br, 2); /* sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag */
    if (!br.error && h26x_br_bit(&br)) h265_parse_vui(&br, max_sub_layers_minus1, out);
    if (br.error) { /* the optional VUI values are only trusted when everything before them parsed */
        out->fps_num = out->fps_den = 0;
        out->min_spatial_segmentation_idc = 0;
    }
    return 0;
}
