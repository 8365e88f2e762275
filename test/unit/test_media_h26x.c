/*
 * media/h26x: Annex-B start-code search, emulation-prevention removal, and H.264/H.265 SPS parsing on real
 * parameter sets (Hikvision cameras, libx264/libx265 at odd sizes) and on synthetic ones that reach every
 * variable-length branch before the fields we need (verified with FFmpeg's trace_headers bitstream filter).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/h26x.h"
#include "testutil.h"

/* Hikvision camera (samples/hik_704x576_h264.ps): Main, 704x576, 25 fps */
static const uint8_t sps_hik_704x576[] = {
    0x67, 0x4d, 0x00, 0x1e, 0x9d, 0xa8, 0x2c, 0x04, 0x9a, 0x6e, 0x02, 0x02,
    0x02, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x42,
};

/* Hikvision camera (samples/hik_1080p15_h264_headcut.ps): Main, 1920x1080, 15 fps */
static const uint8_t sps_hik_1080p15[] = {
    0x67, 0x4d, 0x00, 0x2a, 0x9e, 0x35, 0xc0, 0xf0, 0x04, 0x4f, 0xcb, 0x37,
    0x01, 0x01, 0x01, 0x40, 0x00, 0x02, 0xee, 0x00, 0x00, 0x57, 0xe4, 0x01,
};

/* libx264 1920x1080 30 fps High: 1088 coded lines cropped to 1080 */
static const uint8_t sps_x264_1080p30[] = {
    0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00,
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc6, 0x58,
};

/* libx264 1280x720 25 fps High */
static const uint8_t sps_x264_720p25[] = {
    0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00,
    0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60,
};

/* libx264 352x288 Constrained Baseline (no chroma_format_idc fields) */
static const uint8_t sps_x264_cif_baseline[] = {
    0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x60, 0x96, 0xc0, 0x44, 0x00, 0x00,
    0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x50, 0xa9, 0x20,
};

/* libx264 720x576 interlaced (frame_mbs_only 0) High 4:2:2 */
static const uint8_t sps_x264_576i_422[] = {
    0x67, 0x7a, 0x00, 0x1e, 0xbc, 0xd9, 0x40, 0xb4, 0x24, 0xd8, 0x08, 0x80,
    0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x0f, 0x8a, 0x14, 0xcb,
};

/* libx264 350x286 (cropped on both axes), cqm=jvt (scaling matrix flags) */
static const uint8_t sps_x264_350x286_cqm[] = {
    0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x60, 0x97, 0xaa, 0xc0, 0x44, 0x00,
    0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xc8, 0x3c, 0x50, 0xa6, 0x58,
};

/* synthetic High SPS: explicit 4x4 and 8x8 scaling lists and a use-default list, POC type 1
 * with a 3-entry cycle, field coding (1088 -> 1080 via crop_bottom 2 x 4), VUI with extended SAR, colour
 * description, chroma location and 60000/1001 timing. Checked with FFmpeg's trace_headers (CBS). */
static const uint8_t sps_synthetic_h264[] = {
    0x67, 0x64, 0x00, 0x28, 0xad, 0x84, 0x13, 0x69, 0xb4, 0xda, 0x6d, 0x36, 0x08, 0x46, 0xc8,
    0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8,
    0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8, 0xc8,
    0xc8, 0xd1, 0x90, 0x88, 0xa6, 0x28, 0x0f, 0x00, 0x89, 0xfb, 0xff, 0xc0, 0x01, 0x00, 0x00,
    0xed, 0x40, 0x40, 0x40, 0x69, 0x40, 0x00, 0x00, 0xfa, 0x40, 0x00, 0x3a, 0x98, 0x21,
};

/* libx265 640x360 25 fps Main */
static const uint8_t sps_x265_360p25[] = {
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00,
    0x00, 0x03, 0x00, 0x3f, 0xa0, 0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9a, 0x49, 0x32,
    0xbc, 0x05, 0xa0, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0x21,
};

/* libx265 642x362 30 fps: conformance window, 2 temporal sub-layers, VUI HRD */
static const uint8_t sps_x265_642x362_hrd[] = {
    0x42, 0x01, 0x02, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x3f, 0x00, 0x00, 0xa0, 0x05, 0x12, 0x01, 0x71, 0xc9, 0x26, 0x59, 0x59, 0x8a, 0xcd, 0x24, 0x9c, 0xaf,
    0x01, 0x68, 0x08, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x00, 0xf3, 0x00, 0xa4, 0xb3, 0x70,
    0x00, 0x7a, 0x12, 0x00, 0x0f, 0x42, 0x5c, 0x00, 0x1e, 0x84, 0x80, 0x03, 0xd0, 0x91,
};

/* synthetic SPS: 2 sub-layers with sub-layer profile/level, 1928x1088 with a conformance window,
 * explicit scaling lists, PCM, 3 short-term RPS (two inter-predicted), 2 long-term refs, full VUI with
 * default display window, 60000/1001 timing, NAL+VCL HRD with sub-picture params and 2 CPBs, bitstream
 * restriction with min_spatial_segmentation_idc 7. Checked with FFmpeg's trace_headers (CBS). */
static const uint8_t sps_synthetic_h265[] = {
    0x42, 0x01, 0x02, 0x21, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x78, 0xc0, 0x00, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
    0x5a, 0xa0, 0x03, 0xc4, 0x80, 0x11, 0x07, 0x2c, 0xb9, 0x65, 0x72, 0xbc, 0x92, 0x25, 0xa5, 0x08, 0x2f,
    0x5e, 0xbe, 0x10, 0x5e, 0xbd, 0x7c, 0x20, 0xbd, 0x7a, 0xf8, 0x41, 0x7a, 0xf5, 0xf0, 0x82, 0xf5, 0xeb,
    0xd7, 0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xac, 0xa1, 0x05, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x7a,
    0xf5, 0xeb, 0xd7, 0xaf, 0x5c, 0x20, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb,
    0x84, 0x17, 0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x70, 0x82, 0xf5, 0xeb, 0xd7,
    0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xae, 0x10, 0x08, 0x2f, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7,
    0xaf, 0x5e, 0xbd, 0x7a, 0xca, 0x10, 0x08, 0x2f, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd,
    0x7a, 0xe1, 0x00, 0x82, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xae, 0x10, 0x08,
    0x2f, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x7a, 0xe1, 0x00, 0x82, 0xf5, 0xeb, 0xd7,
    0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7, 0xae, 0x10, 0x08, 0x2f, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7,
    0xaf, 0x5e, 0xbd, 0x7a, 0xe1, 0x00, 0x82, 0xf5, 0xeb, 0xd7, 0xaf, 0x5e, 0xbd, 0x7a, 0xf5, 0xeb, 0xd7,
    0xad, 0xbb, 0xd0, 0x8d, 0x7f, 0x4b, 0xd6, 0x6c, 0x16, 0x12, 0xff, 0xf0, 0x00, 0x40, 0x00, 0x3f, 0x70,
    0x10, 0x10, 0x1e, 0x2d, 0xf0, 0x00, 0x00, 0x3e, 0x90, 0x00, 0x0e, 0xa6, 0x0a, 0xf1, 0x75, 0x54, 0x46,
    0x97, 0xbd, 0xf4, 0x00, 0xfa, 0x40, 0x0f, 0xa2, 0x01, 0x2d, 0x03, 0x28, 0x01, 0xf4, 0x80, 0x1f, 0x44,
    0x02, 0x5a, 0x06, 0x58, 0x03, 0xe9, 0x00, 0x3e, 0x88, 0x04, 0xb4, 0x0c, 0xa0, 0x07, 0xd2, 0x00, 0x7d,
    0x10, 0x09, 0x68, 0x19, 0x64, 0x01, 0xf4, 0x80, 0x1f, 0x44, 0x02, 0x5a, 0x06, 0x50, 0x03, 0xe9, 0x00,
    0x3e, 0x88, 0x04, 0xb4, 0x0c, 0xab, 0x10, 0xd0, 0x40, 0x20, 0x80,
};

START_TEST(test_find_start_code)
{
    int sc = 0;
    const uint8_t three[] = {0x11, 0x00, 0x00, 0x01, 0x65};
    ck_assert_ptr_eq(annexb_find_start_code(three, three + sizeof three, &sc), three + 1);
    ck_assert_int_eq(sc, 3);
    const uint8_t four[] = {0x00, 0x00, 0x00, 0x01, 0x67};
    ck_assert_ptr_eq(annexb_find_start_code(four, four + sizeof four, &sc), four);
    ck_assert_int_eq(sc, 4);
    /* a start code ending exactly at the end of the range is found */
    const uint8_t at_end[] = {0xaa, 0xbb, 0x00, 0x00, 0x01};
    ck_assert_ptr_eq(annexb_find_start_code(at_end, at_end + sizeof at_end, &sc), at_end + 2);
    ck_assert_int_eq(sc, 3);
    /* escaped content is no start code: 00 00 03 01, and 00 00 02 */
    const uint8_t none[] = {0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x02, 0x01, 0x00, 0x01, 0x00};
    ck_assert_ptr_null(annexb_find_start_code(none, none + sizeof none, &sc));
    /* too short, empty, or cut before the 01 */
    ck_assert_ptr_null(annexb_find_start_code(three, three + 2, &sc));
    ck_assert_ptr_null(annexb_find_start_code(three, three, &sc));
    ck_assert_ptr_null(annexb_find_start_code(three + 1, three + 3, &sc));
    /* many zeros before the 01: the 4-byte form starting at the last three zeros */
    const uint8_t zeros[] = {0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x41};
    ck_assert_ptr_eq(annexb_find_start_code(zeros, zeros + sizeof zeros, &sc), zeros + 3);
    ck_assert_int_eq(sc, 4);
    /* the search can begin with the range's first byte as the 4-byte form's leading zero only if it is */
    ck_assert_ptr_eq(annexb_find_start_code(zeros + 4, zeros + sizeof zeros, &sc), zeros + 4);
    ck_assert_int_eq(sc, 3);
}
END_TEST

/* The skip-by-3 search must agree with a naive byte-by-byte search on every position of random data that
 * is rich in 00 and 01 bytes. */
START_TEST(test_find_start_code_matches_naive)
{
    srand(7);
    uint8_t buf[4096];
    for (size_t i = 0; i < sizeof buf; i++) {
        int r = rand() % 8;
        buf[i] = r < 4 ? 0 : r < 6 ? 1 : (uint8_t)rand();
    }
    int found = 0;
    for (size_t from = 0; from < 300; from++) {
        const uint8_t *end = buf + sizeof buf;
        const uint8_t *naive = NULL;
        int naive_len = 0;
        for (const uint8_t *q = buf + from; q + 3 <= end; q++) {
            if (q[0] == 0 && q[1] == 0 && q[2] == 1) {
                naive = q;
                naive_len = 3;
                if (q > buf + from && q[-1] == 0) {
                    naive = q - 1;
                    naive_len = 4;
                }
                break;
            }
        }
        int sc = 0;
        const uint8_t *got = annexb_find_start_code(buf + from, end, &sc);
        ck_assert_ptr_eq(got, naive);
        if (got) {
            ck_assert_int_eq(sc, naive_len);
            found++;
        }
    }
    ck_assert_int_gt(found, 250);
}
END_TEST

START_TEST(test_unescape)
{
    const uint8_t in[] = {0x67, 0x00, 0x00, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x42, 0x03};
    const uint8_t want[] = {0x67, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x42, 0x03};
    uint8_t out[sizeof in];
    size_t n = h26x_unescape(in, sizeof in, out);
    ck_assert_uint_eq(n, sizeof want);
    ck_assert_mem_eq(out, want, sizeof want);
    /* a lone 03 after a single zero, and a trailing 00 00 03, follow the rule */
    const uint8_t in2[] = {0x00, 0x03, 0x00, 0x00, 0x03};
    const uint8_t want2[] = {0x00, 0x03, 0x00, 0x00};
    n = h26x_unescape(in2, sizeof in2, out);
    ck_assert_uint_eq(n, sizeof want2);
    ck_assert_mem_eq(out, want2, sizeof want2);
    ck_assert_uint_eq(h26x_unescape(in, 0, out), 0);
}
END_TEST

struct h264_case {
    const char *name;
    const uint8_t *sps;
    size_t len;
    uint8_t profile, constraints, level, chroma;
    uint32_t width, height, fps_num, fps_den;
};
#define H264_CASE(arr, ...)                                                                                  \
    {                                                                                                        \
#arr, arr, sizeof arr, __VA_ARGS__                                                                   \
    }

static const struct h264_case h264_cases[] = {
    H264_CASE(sps_hik_704x576, 77, 0x00, 30, 1, 704, 576, 50, 2),
    H264_CASE(sps_hik_1080p15, 77, 0x00, 42, 1, 1920, 1080, 90000, 6000),
    H264_CASE(sps_x264_1080p30, 100, 0x00, 40, 1, 1920, 1080, 60, 2),
    H264_CASE(sps_x264_720p25, 100, 0x00, 31, 1, 1280, 720, 50, 2),
    H264_CASE(sps_x264_cif_baseline, 66, 0xc0, 13, 1, 352, 288, 50, 2),
    H264_CASE(sps_x264_576i_422, 122, 0x00, 30, 2, 720, 576, 50, 2),
    H264_CASE(sps_x264_350x286_cqm, 100, 0x00, 13, 1, 350, 286, 50, 2),
    H264_CASE(sps_synthetic_h264, 100, 0x00, 40, 1, 1920, 1080, 60000, 2002),
};

START_TEST(test_h264_sps)
{
    const struct h264_case *c = &h264_cases[_i];
    struct h264_sps_info info;
    ck_assert_msg(h264_parse_sps(c->sps, c->len, &info) == 0, "%s", c->name);
    ck_assert_uint_eq(info.profile_idc, c->profile);
    ck_assert_uint_eq(info.constraint_flags, c->constraints);
    ck_assert_uint_eq(info.level_idc, c->level);
    ck_assert_uint_eq(info.chroma_format_idc, c->chroma);
    ck_assert_uint_eq(info.bit_depth_luma, 8);
    ck_assert_uint_eq(info.bit_depth_chroma, 8);
    ck_assert_uint_eq(info.width, c->width);
    ck_assert_uint_eq(info.height, c->height);
    ck_assert_uint_eq(info.fps_num, c->fps_num);
    ck_assert_uint_eq(info.fps_den, c->fps_den);
}
END_TEST

/* Every truncation of a real SPS: no read past the end (ASan), and either an error or, once the size
 * fields are in, the right size (a VUI cut short only loses the frame rate). */
START_TEST(test_h264_sps_truncated)
{
    const struct h264_case *c = &h264_cases[_i];
    for (size_t len = 0; len < c->len; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact-size heap copy so ASan sees any overread */
        memcpy(copy, c->sps, len);
        struct h264_sps_info info;
        if (h264_parse_sps(copy, len, &info) == 0) {
            ck_assert_uint_eq(info.width, c->width);
            ck_assert_uint_eq(info.height, c->height);
            ck_assert(info.fps_num == 0 || (info.fps_num == c->fps_num && info.fps_den == c->fps_den));
        }
        free(copy);
    }
}
END_TEST

START_TEST(test_h264_sps_invalid)
{
    struct h264_sps_info info;
    uint8_t pps[] = {0x68, 0xee, 0x3c, 0x80};
    ck_assert_int_eq(h264_parse_sps(pps, sizeof pps, &info), -EINVAL);
    ck_assert_int_eq(h264_parse_sps(NULL, 10, &info), -EINVAL);
    /* seq_parameter_set_id with 32 leading zero bits: not a valid Exp-Golomb code */
    uint8_t bad_ue[] = {0x67, 0x42, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff};
    ck_assert_int_eq(h264_parse_sps(bad_ue, sizeof bad_ue, &info), -EINVAL);
    /* a 16x16 picture with 16 columns cropped away (crop_right 8 x 2) is invalid; 14 columns leave 2 */
    const uint8_t crop_all[] = {0x67, 0x42, 0x00, 0x1e, 0xda, 0x7e, 0x27, 0x40};
    ck_assert_int_eq(h264_parse_sps(crop_all, sizeof crop_all, &info), -EINVAL);
    const uint8_t crop_most[] = {0x67, 0x42, 0x00, 0x1e, 0xda, 0x7e, 0x23, 0x40};
    ck_assert_int_eq(h264_parse_sps(crop_most, sizeof crop_most, &info), 0);
    ck_assert_uint_eq(info.width, 2);
    ck_assert_uint_eq(info.height, 16);
}
END_TEST

struct h265_case {
    const char *name;
    const uint8_t *sps;
    size_t len;
    uint8_t profile, tier, level, sub_layers;
    bool nesting;
    uint16_t min_spatial_segmentation;
    uint32_t width, height, fps_num, fps_den;
};
#define H265_CASE(arr, ...)                                                                                  \
    {                                                                                                        \
#arr, arr, sizeof arr, __VA_ARGS__                                                                   \
    }

static const struct h265_case h265_cases[] = {
    H265_CASE(sps_x265_360p25, 1, 0, 63, 1, true, 0, 640, 360, 25, 1),
    H265_CASE(sps_x265_642x362_hrd, 1, 0, 63, 2, false, 0, 642, 362, 30, 1),
    H265_CASE(sps_synthetic_h265, 1, 1, 120, 2, false, 7, 1920, 1080, 60000, 1001),
};

START_TEST(test_h265_sps)
{
    const struct h265_case *c = &h265_cases[_i];
    struct h265_sps_info info;
    ck_assert_msg(h265_parse_sps(c->sps, c->len, &info) == 0, "%s", c->name);
    ck_assert_uint_eq(info.general_profile_space, 0);
    ck_assert_uint_eq(info.general_profile_idc, c->profile);
    ck_assert_uint_eq(info.general_tier_flag, c->tier);
    ck_assert_uint_eq(info.general_level_idc, c->level);
    ck_assert_uint_eq(info.general_profile_compatibility_flags, 0x60000000);
    ck_assert(info.general_constraint_indicator_flags == 0x900000000000ull);
    ck_assert_uint_eq(info.max_sub_layers, c->sub_layers);
    ck_assert(info.temporal_id_nesting == c->nesting);
    ck_assert_uint_eq(info.chroma_format_idc, 1);
    ck_assert_uint_eq(info.bit_depth_luma, 8);
    ck_assert_uint_eq(info.bit_depth_chroma, 8);
    ck_assert_uint_eq(info.width, c->width);
    ck_assert_uint_eq(info.height, c->height);
    ck_assert_uint_eq(info.fps_num, c->fps_num);
    ck_assert_uint_eq(info.fps_den, c->fps_den);
    ck_assert_uint_eq(info.min_spatial_segmentation_idc, c->min_spatial_segmentation);
}
END_TEST

START_TEST(test_h265_sps_truncated)
{
    const struct h265_case *c = &h265_cases[_i];
    for (size_t len = 0; len < c->len; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, c->sps, len);
        struct h265_sps_info info;
        if (h265_parse_sps(copy, len, &info) == 0) {
            ck_assert_uint_eq(info.width, c->width);
            ck_assert_uint_eq(info.height, c->height);
            ck_assert(info.fps_num == 0 || (info.fps_num == c->fps_num && info.fps_den == c->fps_den));
            ck_assert(info.min_spatial_segmentation_idc == 0 ||
                      info.min_spatial_segmentation_idc == c->min_spatial_segmentation);
        }
        free(copy);
    }
}
END_TEST

START_TEST(test_h265_sps_invalid)
{
    struct h265_sps_info info;
    const uint8_t vps[] = {0x40, 0x01, 0x0c, 0x01, 0xff, 0xff};
    ck_assert_int_eq(h265_parse_sps(vps, sizeof vps, &info), -EINVAL);
    /* sps_max_sub_layers_minus1 = 7 is out of range */
    uint8_t bad[sizeof sps_x265_360p25];
    memcpy(bad, sps_x265_360p25, sizeof bad);
    bad[2] = 0x0e;
    ck_assert_int_eq(h265_parse_sps(bad, sizeof bad, &info), -EINVAL);
    /* an H.264 SPS is no H.265 SPS */
    ck_assert_int_eq(h265_parse_sps(sps_x264_720p25, sizeof sps_x264_720p25, &info), -EINVAL);
}
END_TEST

/* Random bytes behind a valid header: never a crash; a success must report a sane size. */
START_TEST(test_sps_random)
{
    srand(11);
    uint8_t buf[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 2 + (size_t)(rand() % 62);
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rand();
        buf[0] = iter & 1 ? 0x67 : 0x42;
        struct h264_sps_info a;
        struct h265_sps_info b;
        if (h264_parse_sps(buf, len, &a) == 0) ck_assert(a.width > 0 && a.width <= 16384 && a.height > 0);
        if (h265_parse_sps(buf, len, &b) == 0) ck_assert(b.width > 0 && b.width <= 16888 && b.height > 0);
    }
}
END_TEST

static Suite *h26x_suite(void)
{
    Suite *s = suite_create("media_h26x");
    TCase *tc = tcase_create("h26x");
    tcase_add_test(tc, test_find_start_code);
    tcase_add_test(tc, test_find_start_code_matches_naive);
    tcase_add_test(tc, test_unescape);
    int n264 = (int)(sizeof h264_cases / sizeof h264_cases[0]);
    int n265 = (int)(sizeof h265_cases / sizeof h265_cases[0]);
    tcase_add_loop_test(tc, test_h264_sps, 0, n264);
    tcase_add_loop_test(tc, test_h264_sps_truncated, 0, n264);
    tcase_add_test(tc, test_h264_sps_invalid);
    tcase_add_loop_test(tc, test_h265_sps, 0, n265);
    tcase_add_loop_test(tc, test_h265_sps_truncated, 0, n265);
    tcase_add_test(tc, test_h265_sps_invalid);
    tcase_add_test(tc, test_sps_random);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(h26x_suite());
}
