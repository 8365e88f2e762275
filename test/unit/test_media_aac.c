/*
 * media/aac: ADTS header parsing and writing, the AudioSpecificConfig both ways, the sampling-frequency
 * table. Reference bytes come from FFmpeg's AAC encoder (ADTS headers of `-f adts` output, the esds
 * AudioSpecificConfig of an MP4).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "media/aac.h"
#include "testutil.h"

/* First ADTS headers of `ffmpeg -f lavfi -i sine=r=8000 -ac 1 -c:a aac -f adts` and of the 48 kHz stereo
 * equivalent. */
static const uint8_t adts_8k_mono[] = {0xff, 0xf1, 0x6c, 0x40, 0x2d, 0x9f, 0xfc};
static const uint8_t adts_48k_stereo[] = {0xff, 0xf1, 0x4c, 0x80, 0x11, 0x7f, 0xfc};

START_TEST(test_adts_parse_real)
{
    struct adts_header h;
    ck_assert_int_eq(adts_parse_header(adts_8k_mono, sizeof adts_8k_mono, &h), 0);
    ck_assert_uint_eq(h.object_type, 2); /* AAC LC */
    ck_assert_uint_eq(h.sample_rate_index, 11);
    ck_assert_uint_eq(aac_sample_rate_from_index(h.sample_rate_index), 8000);
    ck_assert_uint_eq(h.channel_config, 1);
    ck_assert_uint_eq(h.header_len, 7);
    ck_assert_uint_eq(h.raw_blocks, 1);
    ck_assert_uint_eq(h.frame_len, 364);

    ck_assert_int_eq(adts_parse_header(adts_48k_stereo, sizeof adts_48k_stereo, &h), 0);
    ck_assert_uint_eq(h.sample_rate_index, 3);
    ck_assert_uint_eq(aac_sample_rate_from_index(h.sample_rate_index), 48000);
    ck_assert_uint_eq(h.channel_config, 2);
    ck_assert_uint_eq(h.frame_len, 139);
}
END_TEST

START_TEST(test_adts_parse_invalid)
{
    struct adts_header h;
    uint8_t b[7];
    for (size_t len = 0; len < 7; len++) ck_assert_int_eq(adts_parse_header(adts_8k_mono, len, &h), -EAGAIN);
    memcpy(b, adts_8k_mono, 7);
    b[1] = 0xe1; /* 11-bit sync only (MPEG audio 2.5) */
    ck_assert_int_eq(adts_parse_header(b, 7, &h), -EINVAL);
    memcpy(b, adts_8k_mono, 7);
    b[1] = 0xf3; /* layer 01: MPEG-1 layer III, not ADTS */
    ck_assert_int_eq(adts_parse_header(b, 7, &h), -EINVAL);
    memcpy(b, adts_8k_mono, 7);
    b[2] = (uint8_t)((b[2] & ~0x3c) | (13 << 2)); /* reserved sampling index */
    ck_assert_int_eq(adts_parse_header(b, 7, &h), -EINVAL);
    memcpy(b, adts_8k_mono, 7);
    b[3] &= 0xfc; /* frame_length 6: shorter than the header */
    b[4] = 0x00;
    b[5] = (uint8_t)((6 << 5) | (b[5] & 0x1f));
    ck_assert_int_eq(adts_parse_header(b, 7, &h), -EINVAL);
    /* mu-law silence (0xFF 0xFF...) is no ADTS header */
    const uint8_t ulaw_silence[7] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(adts_parse_header(ulaw_silence, 7, &h), -EINVAL);
}
END_TEST

START_TEST(test_adts_crc_header)
{
    uint8_t b[9] = {0xff, 0xf0, 0x50, 0x80, 0x02, 0x1f, 0xfc, 0x12, 0x34};
    struct adts_header h;
    ck_assert_int_eq(adts_parse_header(b, sizeof b, &h), 0);
    ck_assert_uint_eq(h.header_len, 9);
    ck_assert_uint_eq(h.object_type, 2);
    ck_assert_uint_eq(h.sample_rate_index, 4);
    ck_assert_uint_eq(h.frame_len, 16);
}
END_TEST

START_TEST(test_adts_write_roundtrip)
{
    uint8_t b[7];
    ck_assert_int_eq(adts_write_header(b, 2, 11, 1, 357), 7);
    ck_assert_mem_eq(b, adts_8k_mono, 7); /* the same bytes FFmpeg wrote */
    struct adts_header h;
    for (uint8_t ot = 1; ot <= 4; ot++)
        for (uint8_t sr = 0; sr <= 12; sr++)
            for (uint8_t ch = 0; ch <= 7; ch++) {
                size_t raw = (size_t)(ot * 1000 + sr * 10 + ch);
                ck_assert_int_eq(adts_write_header(b, ot, sr, ch, raw), 7);
                ck_assert_int_eq(adts_parse_header(b, 7, &h), 0);
                ck_assert_uint_eq(h.object_type, ot);
                ck_assert_uint_eq(h.sample_rate_index, sr);
                ck_assert_uint_eq(h.channel_config, ch);
                ck_assert_uint_eq(h.frame_len, raw + 7);
                ck_assert_uint_eq(h.raw_blocks, 1);
            }
    ck_assert_int_eq(adts_write_header(b, 5, 4, 2, 100), -EINVAL);
    ck_assert_int_eq(adts_write_header(b, 2, 13, 2, 100), -EINVAL);
    ck_assert_int_eq(adts_write_header(b, 2, 4, 8, 100), -EINVAL);
    ck_assert_int_eq(adts_write_header(b, 2, 4, 2, 8185), -EINVAL); /* 8192 bytes do not fit 13 bits */
    ck_assert_int_eq(adts_write_header(b, 2, 4, 2, 8184), 7);
}
END_TEST

START_TEST(test_sample_rate_table)
{
    const uint32_t rates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                              22050, 16000, 12000, 11025, 8000,  7350};
    for (uint8_t i = 0; i < 13; i++) {
        ck_assert_uint_eq(aac_sample_rate_from_index(i), rates[i]);
        ck_assert_int_eq(aac_sample_rate_to_index(rates[i]), i);
    }
    ck_assert_uint_eq(aac_sample_rate_from_index(13), 0);
    ck_assert_uint_eq(aac_sample_rate_from_index(15), 0);
    ck_assert_int_eq(aac_sample_rate_to_index(44000), -1);
}
END_TEST

START_TEST(test_asc)
{
    uint8_t asc[4];
    /* what FFmpeg writes in the esds of a 44.1 kHz stereo LC track: 12 10 (then an SBR sync extension) */
    ck_assert_int_eq(aac_build_asc(2, 4, 2, asc, sizeof asc), 2);
    ck_assert_uint_eq(asc[0], 0x12);
    ck_assert_uint_eq(asc[1], 0x10);
    ck_assert_int_eq(aac_build_asc(2, 11, 1, asc, sizeof asc), 2); /* 8 kHz mono: 15 88 */
    ck_assert_uint_eq(asc[0], 0x15);
    ck_assert_uint_eq(asc[1], 0x88);
    ck_assert_int_eq(aac_build_asc(2, 4, 2, asc, 1), -EINVAL);
    ck_assert_int_eq(aac_build_asc(0, 4, 2, asc, sizeof asc), -EINVAL);
    ck_assert_int_eq(aac_build_asc(2, 15, 2, asc, sizeof asc), -EINVAL);

    struct aac_config cfg;
    const uint8_t ffmpeg_esds[] = {0x12, 0x10, 0x56, 0xe5, 0x00};
    ck_assert_int_eq(aac_parse_asc(ffmpeg_esds, sizeof ffmpeg_esds, &cfg), 0);
    ck_assert_uint_eq(cfg.object_type, 2);
    ck_assert_uint_eq(cfg.sample_rate, 44100);
    ck_assert_uint_eq(cfg.channel_config, 2);
    /* explicit 24-bit frequency (index 15): LC, 12345 Hz, mono */
    const uint8_t explicit_rate[] = {0x17, 0x80, 0x18, 0x1c, 0x88};
    ck_assert_int_eq(aac_parse_asc(explicit_rate, sizeof explicit_rate, &cfg), 0);
    ck_assert_uint_eq(cfg.sample_rate, 12345);
    ck_assert_uint_eq(cfg.channel_config, 1);
    ck_assert_int_eq(aac_parse_asc(explicit_rate, 3, &cfg), -EINVAL);
    /* escaped object type 31 -> 32 + 6 bits (here 42, USAC), 48 kHz stereo */
    const uint8_t escaped[] = {0xf9, 0x46, 0x40};
    ck_assert_int_eq(aac_parse_asc(escaped, sizeof escaped, &cfg), 0);
    ck_assert_uint_eq(cfg.object_type, 42);
    ck_assert_uint_eq(cfg.sample_rate, 48000);
    ck_assert_uint_eq(cfg.channel_config, 2);
    ck_assert_int_eq(aac_parse_asc(ffmpeg_esds, 1, &cfg), -EINVAL);
    const uint8_t zero_ot[] = {0x02, 0x10};
    ck_assert_int_eq(aac_parse_asc(zero_ot, sizeof zero_ot, &cfg), -EINVAL);
}
END_TEST

static Suite *aac_suite(void)
{
    Suite *s = suite_create("media_aac");
    TCase *tc = tcase_create("aac");
    tcase_add_test(tc, test_adts_parse_real);
    tcase_add_test(tc, test_adts_parse_invalid);
    tcase_add_test(tc, test_adts_crc_header);
    tcase_add_test(tc, test_adts_write_roundtrip);
    tcase_add_test(tc, test_sample_rate_table);
    tcase_add_test(tc, test_asc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(aac_suite());
}
