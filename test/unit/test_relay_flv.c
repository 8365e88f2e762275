/*
 * FLV tag writer: exact bytes of every kind of tag built in place in a frame's buffer, decoder configuration
 * records against the ones FFmpeg writes (relay_flv_fixtures.h), onMetaData contents, and refusals.
 * Interoperability with FFmpeg/ffprobe on whole files is in test_relay_flv_interop.c.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "relay/amf0.h"
#include "relay/flv.h"
#include "relay_flv_fixtures.h"
#include "testutil.h"

/* A 9-byte payload: one 5-byte NAL unit behind its 4-byte length (or just bytes, for audio). */
static const uint8_t payload[9] = {0x00, 0x00, 0x00, 0x05, 0x65, 0x88, 0x84, 0x00, 0x21};

static struct media_frame make_frame(enum codec_id codec, bool key)
{
    struct media_frame f = {0};
    f.buf = gbuf_alloc(FRAME_HEADROOM + sizeof payload + FRAME_TAILROOM);
    memset(f.buf->data, 0xcc, FRAME_HEADROOM + sizeof payload + FRAME_TAILROOM);
    f.off = FRAME_HEADROOM;
    f.len = sizeof payload;
    memcpy(f.buf->data + f.off, payload, sizeof payload);
    f.codec = codec;
    f.key = key;
    return f;
}

/* Builds the tag and checks it is `head` + payload + PreviousTagSize, in place and contiguous. */
static void check_frame_tag(enum codec_id codec, bool key, uint32_t ts, int32_t cts, enum flv_hevc_mode mode,
                            const uint8_t *head, size_t head_len, bool want_key)
{
    struct media_frame f = make_frame(codec, key);
    struct gbuf *buf = f.buf;
    struct flv_tag tag;
    ck_assert_int_eq(flv_tag_from_frame(&f, ts, cts, mode, &tag), 0);
    ck_assert_ptr_null(f.buf);
    ck_assert_ptr_eq(tag.buf, buf);
    ck_assert_uint_eq(tag.off, FRAME_HEADROOM - head_len);
    ck_assert_uint_eq(tag.len, head_len + sizeof payload + 4);
    ck_assert_uint_eq(tag.ts_ms, ts);
    ck_assert_int_eq(tag.key, want_key);
    const uint8_t *p = tag.buf->data + tag.off;
    ck_assert_mem_eq(p, head, head_len);
    ck_assert_mem_eq(p + head_len, payload, sizeof payload);
    uint32_t prev = (uint32_t)(head_len + sizeof payload);
    const uint8_t want_prev[4] = {prev >> 24, prev >> 16, prev >> 8, prev};
    ck_assert_mem_eq(p + head_len + sizeof payload, want_prev, 4);
    flv_tag_release(&tag);
    ck_assert_ptr_null(tag.buf);
}

START_TEST(test_file_header)
{
    uint8_t h[13];
    static const uint8_t av[13] = {'F', 'L', 'V', 1, 0x05, 0, 0, 0, 9, 0, 0, 0, 0};
    flv_file_header(h, true, true);
    ck_assert_mem_eq(h, av, 13);
    flv_file_header(h, true, false);
    ck_assert_uint_eq(h[4], 0x01);
    flv_file_header(h, false, true);
    ck_assert_uint_eq(h[4], 0x04);
}
END_TEST

START_TEST(test_h264_key_frame)
{
    static const uint8_t head[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x03,
                                   0xe8, 0x00, 0x00, 0x00, 0x00, /* 1000 ms */
                                   0x17, 0x01, 0x00, 0x00, 0x00};
    check_frame_tag(CODEC_H264, true, 1000, 0, FLV_HEVC_ENHANCED, head, sizeof head, true);
}
END_TEST

START_TEST(test_h264_inter_frame_cts)
{
    static const uint8_t pos[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x28, 0x00,
                                  0x00, 0x00, 0x00, 0x27, 0x01, 0x00, 0x00, 0x50}; /* cts +80 */
    check_frame_tag(CODEC_H264, false, 40, 80, FLV_HEVC_ENHANCED, pos, sizeof pos, false);
    static const uint8_t neg[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x28, 0x00,
                                  0x00, 0x00, 0x00, 0x27, 0x01, 0xff, 0xff, 0xd8}; /* cts -40 as SI24 */
    check_frame_tag(CODEC_H264, false, 40, -40, FLV_HEVC_ENHANCED, neg, sizeof neg, false);
    static const uint8_t clamp[] = {
        0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x28, 0x00,
        0x00, 0x00, 0x00, 0x27, 0x01, 0x7f, 0xff, 0xff}; /* beyond SI24: clamped, not wrapped */
    check_frame_tag(CODEC_H264, false, 40, 0x1000000, FLV_HEVC_ENHANCED, clamp, sizeof clamp, false);
}
END_TEST

/* The timestamp is 24 bits + an 8-bit extension holding bits 24..31. */
START_TEST(test_timestamp_extension)
{
    static const uint8_t past24[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x05, 0x01,
                                     0x00, 0x00, 0x00, 0x27, 0x01, 0x00, 0x00, 0x00};
    check_frame_tag(CODEC_H264, false, (1u << 24) + 5, 0, FLV_HEVC_ENHANCED, past24, sizeof past24, false);
    static const uint8_t top[] = {0x09, 0x00, 0x00, 0x0e, 0xab, 0xcd, 0xef, 0x12,
                                  0x00, 0x00, 0x00, 0x27, 0x01, 0x00, 0x00, 0x00};
    check_frame_tag(CODEC_H264, false, 0x12abcdef, 0, FLV_HEVC_ENHANCED, top, sizeof top, false);
}
END_TEST

START_TEST(test_audio_frames)
{
    static const uint8_t aac[] = {0x08, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x17,
                                  0x00, 0x00, 0x00, 0x00, 0xaf, 0x01};
    check_frame_tag(CODEC_AAC, true, 23, 0, FLV_HEVC_ENHANCED, aac, sizeof aac, false);
    /* G.711: what FFmpeg's flvenc writes for pcm_alaw / pcm_mulaw at 8 kHz mono (checked by experiment) */
    static const uint8_t alaw[] = {0x08, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x72};
    check_frame_tag(CODEC_G711A, true, 20, 0, FLV_HEVC_ENHANCED, alaw, sizeof alaw, false);
    static const uint8_t ulaw[] = {0x08, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x82};
    check_frame_tag(CODEC_G711U, true, 20, 0, FLV_HEVC_ENHANCED, ulaw, sizeof ulaw, false);
}
END_TEST

START_TEST(test_hevc_enhanced_frames)
{
    /* key, cts 0: CodedFramesX (3), no composition time */
    static const uint8_t key[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x93, 'h',  'v',  'c',  '1'};
    check_frame_tag(CODEC_H265, true, 0, 0, FLV_HEVC_ENHANCED, key, sizeof key, true);
    /* inter, cts 40: CodedFrames (1) + SI24 */
    static const uint8_t inter[] = {0x09, 0x00, 0x00, 0x11, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00,
                                    0x00, 0xa1, 'h',  'v',  'c',  '1',  0x00, 0x00, 0x28};
    check_frame_tag(CODEC_H265, false, 80, 40, FLV_HEVC_ENHANCED, inter, sizeof inter, false);
}
END_TEST

START_TEST(test_hevc_legacy12_frames)
{
    static const uint8_t key[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x00, 0x1c, 0x01, 0x00, 0x00, 0x00};
    check_frame_tag(CODEC_H265, true, 0, 0, FLV_HEVC_LEGACY12, key, sizeof key, true);
    static const uint8_t inter[] = {0x09, 0x00, 0x00, 0x0e, 0x00, 0x00, 0x50, 0x00,
                                    0x00, 0x00, 0x00, 0x2c, 0x01, 0x00, 0x00, 0x28};
    check_frame_tag(CODEC_H265, false, 80, 40, FLV_HEVC_LEGACY12, inter, sizeof inter, false);
}
END_TEST

START_TEST(test_refusals_leave_frame_untouched)
{
    static const enum codec_id refused[] = {CODEC_G722, CODEC_OPUS, CODEC_MPEG4V, CODEC_MP3, CODEC_NONE};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct media_frame f = make_frame(refused[i], true);
        struct gbuf *buf = f.buf;
        struct flv_tag tag = {0};
        ck_assert_int_eq(flv_tag_from_frame(&f, 0, 0, FLV_HEVC_ENHANCED, &tag), -EINVAL);
        ck_assert_ptr_eq(f.buf, buf);
        ck_assert_uint_eq(f.len, sizeof payload);
        for (size_t j = 0; j < FRAME_HEADROOM; j++) ck_assert_uint_eq(buf->data[j], 0xcc);
        ck_assert_ptr_null(tag.buf);
        media_frame_release(&f);
    }
    /* a producer that broke the headroom promise gets an error, not a write before the buffer */
    struct media_frame f = make_frame(CODEC_H264, true);
    f.off = 10;
    struct flv_tag tag = {0};
    ck_assert_int_eq(flv_tag_from_frame(&f, 0, 0, FLV_HEVC_ENHANCED, &tag), -ENOSPC);
    ck_assert_ptr_nonnull(f.buf);
    media_frame_release(&f);
}
END_TEST

static struct media_track h264_track(void)
{
    struct media_track t = {.codec = CODEC_H264, .width = 640, .height = 360};
    memcpy(t.sps, fx_h264_sps, sizeof fx_h264_sps);
    t.sps_len = sizeof fx_h264_sps;
    memcpy(t.pps, fx_h264_pps, sizeof fx_h264_pps);
    t.pps_len = sizeof fx_h264_pps;
    return t;
}

static struct media_track h265_track(const uint8_t *vps, size_t vl, const uint8_t *sps, size_t sl,
                                     const uint8_t *pps, size_t pl)
{
    struct media_track t = {.codec = CODEC_H265};
    memcpy(t.vps, vps, vl);
    t.vps_len = (uint16_t)vl;
    memcpy(t.sps, sps, sl);
    t.sps_len = (uint16_t)sl;
    memcpy(t.pps, pps, pl);
    t.pps_len = (uint16_t)pl;
    return t;
}

/* A sequence-header tag: header with ts 0, then `codec_head`, then `record`, then PreviousTagSize. */
static void check_seq_tag(const struct flv_tag *tag, const uint8_t *codec_head, size_t head_len,
                          const uint8_t *record, size_t record_len)
{
    size_t body = head_len + record_len;
    ck_assert_uint_eq(tag->len, 11 + body + 4);
    ck_assert(tag->key);
    ck_assert_uint_eq(tag->type, FLV_TAG_VIDEO);
    const uint8_t *p = tag->buf->data + tag->off;
    const uint8_t hdr[11] = {
        0x09, (uint8_t)(body >> 16), (uint8_t)(body >> 8), (uint8_t)body, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_mem_eq(p, hdr, 11);
    ck_assert_mem_eq(p + 11, codec_head, head_len);
    ck_assert_mem_eq(p + 11 + head_len, record, record_len);
    const uint8_t prev[4] = {0, (uint8_t)((11 + body) >> 16), (uint8_t)((11 + body) >> 8),
                             (uint8_t)(11 + body)};
    ck_assert_mem_eq(p + 11 + body, prev, 4);
}

START_TEST(test_avc_sequence_header_matches_ffmpeg)
{
    struct media_track t = h264_track();
    struct flv_tag tag;
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), 0);
    static const uint8_t head[] = {0x17, 0x00, 0x00, 0x00, 0x00};
    check_seq_tag(&tag, head, sizeof head, fx_avcc_high_640x360, sizeof fx_avcc_high_640x360);
    flv_tag_release(&tag);
}
END_TEST

START_TEST(test_hevc_sequence_headers_match_ffmpeg)
{
    static const uint8_t enhanced[] = {0x90, 'h', 'v', 'c', '1'};
    static const uint8_t legacy[] = {0x1c, 0x00, 0x00, 0x00, 0x00};
    struct media_track t = h265_track(fx_h265_vps, sizeof fx_h265_vps, fx_h265_sps, sizeof fx_h265_sps,
                                      fx_h265_pps, sizeof fx_h265_pps);
    struct flv_tag tag;
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), 0);
    check_seq_tag(&tag, enhanced, sizeof enhanced, fx_hvcc_main_320x240, sizeof fx_hvcc_main_320x240);
    flv_tag_release(&tag);
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_LEGACY12, &tag), 0);
    check_seq_tag(&tag, legacy, sizeof legacy, fx_hvcc_main_320x240, sizeof fx_hvcc_main_320x240);
    flv_tag_release(&tag);

    /* Main 10: profile idc 2 and the bit-depth fields */
    t = h265_track(fx_h265_main10_vps, sizeof fx_h265_main10_vps, fx_h265_main10_sps,
                   sizeof fx_h265_main10_sps, fx_h265_main10_pps, sizeof fx_h265_main10_pps);
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), 0);
    check_seq_tag(&tag, enhanced, sizeof enhanced, fx_hvcc_main10_352x288, sizeof fx_hvcc_main10_352x288);
    flv_tag_release(&tag);
}
END_TEST

START_TEST(test_sequence_header_refusals)
{
    struct flv_tag tag = {0};
    struct media_track t = h264_track();
    t.pps_len = 0;
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), -EINVAL);
    t = h264_track();
    t.sps[1] = 0; /* profile 0 does not exist: the SPS does not parse */
    t.sps_len = 3;
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), -EINVAL);
    t = h265_track(fx_h265_vps, sizeof fx_h265_vps, fx_h265_sps, sizeof fx_h265_sps, fx_h265_pps, 0);
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, FLV_HEVC_ENHANCED, &tag), -EINVAL);
    struct media_track a = {.codec = CODEC_G711A, .sample_rate = 8000, .channels = 1};
    ck_assert_int_eq(flv_audio_sequence_header(&a, 0, &tag), -EINVAL);
    a.codec = CODEC_AAC; /* AAC without an AudioSpecificConfig */
    ck_assert_int_eq(flv_audio_sequence_header(&a, 0, &tag), -EINVAL);
    ck_assert_ptr_null(tag.buf);
}
END_TEST

START_TEST(test_aac_sequence_header)
{
    struct media_track a = {
        .codec = CODEC_AAC, .sample_rate = 44100, .channels = 2, .asc_len = 2, .asc = {0x12, 0x10}};
    struct flv_tag tag;
    ck_assert_int_eq(flv_audio_sequence_header(&a, 7, &tag), 0);
    static const uint8_t want[] = {0x08, 0x00, 0x00, 0x04, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
                                   0x00, 0xaf, 0x00, 0x12, 0x10, 0x00, 0x00, 0x00, 0x0f};
    ck_assert_uint_eq(tag.len, sizeof want);
    ck_assert_mem_eq(tag.buf->data + tag.off, want, sizeof want);
    ck_assert_uint_eq(tag.type, FLV_TAG_AUDIO);
    flv_tag_release(&tag);
}
END_TEST

static double meta_number(const struct amf0_value *arr, const char *name)
{
    struct amf0_value v;
    ck_assert_msg(amf0_object_get(arr, name, &v) == 0, "no %s", name);
    ck_assert_int_eq(v.type, AMF0_NUMBER);
    return v.number;
}

/* Decodes our onMetaData tag: "onMetaData", then an ECMA array whose count matches its properties. */
static void read_metadata(const struct flv_tag *tag, struct amf0_value *arr)
{
    const uint8_t *p = tag->buf->data + tag->off;
    uint32_t size = (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
    ck_assert_uint_eq(p[0], FLV_TAG_SCRIPT);
    ck_assert_uint_eq(tag->len, 11 + size + 4);
    struct amf0_reader r;
    struct amf0_value name;
    amf0_reader_init(&r, p + 11, size);
    ck_assert_int_eq(amf0_read(&r, &name), 0);
    ck_assert(amf0_string_eq(&name, "onMetaData"));
    ck_assert_int_eq(amf0_read(&r, arr), 0);
    ck_assert_int_eq(arr->type, AMF0_ECMA_ARRAY);
    ck_assert(amf0_reader_done(&r));
    struct amf0_reader props;
    amf0_reader_init(&props, arr->body, arr->body_len);
    const uint8_t *key;
    uint16_t key_len;
    struct amf0_value v;
    uint32_t n = 0;
    while (amf0_object_next(&props, &key, &key_len, &v) == 1) n++;
    ck_assert_uint_eq(n, arr->count);
}

START_TEST(test_metadata)
{
    struct media_track v = h264_track();
    v.fps_num = 25;
    v.fps_den = 1;
    struct media_track a = {.codec = CODEC_AAC, .sample_rate = 44100, .channels = 2};
    struct flv_tag tag;
    struct amf0_value arr, s;
    ck_assert_int_eq(flv_metadata(&v, &a, FLV_HEVC_ENHANCED, &tag), 0);
    ck_assert(tag.key);
    read_metadata(&tag, &arr);
    ck_assert_uint_eq(arr.count, 10);
    ck_assert(meta_number(&arr, "duration") == 0);
    ck_assert(meta_number(&arr, "width") == 640);
    ck_assert(meta_number(&arr, "height") == 360);
    ck_assert(meta_number(&arr, "framerate") == 25);
    ck_assert(meta_number(&arr, "videocodecid") == 7);
    ck_assert(meta_number(&arr, "audiocodecid") == 10);
    ck_assert(meta_number(&arr, "audiosamplerate") == 44100);
    ck_assert(meta_number(&arr, "audiosamplesize") == 16);
    ck_assert_int_eq(amf0_object_get(&arr, "stereo", &s), 0);
    ck_assert(s.type == AMF0_BOOLEAN && s.boolean);
    ck_assert_int_eq(amf0_object_get(&arr, "encoder", &s), 0);
    ck_assert(amf0_string_eq(&s, "gbgate"));
    flv_tag_release(&tag);

    /* HEVC, no frame rate, G.711 mono: 'hvc1' as a number, no framerate property */
    struct media_track h = {.codec = CODEC_H265, .width = 1920, .height = 1080};
    struct media_track g = {.codec = CODEC_G711A, .sample_rate = 8000, .channels = 1};
    ck_assert_int_eq(flv_metadata(&h, &g, FLV_HEVC_ENHANCED, &tag), 0);
    read_metadata(&tag, &arr);
    ck_assert_uint_eq(arr.count, 9);
    ck_assert(meta_number(&arr, "videocodecid") == 1752589105.0); /* 0x68766331 */
    ck_assert(meta_number(&arr, "audiocodecid") == 7);
    ck_assert_int_eq(amf0_object_get(&arr, "framerate", &s), -ENOENT);
    ck_assert_int_eq(amf0_object_get(&arr, "stereo", &s), 0);
    ck_assert(!s.boolean);
    flv_tag_release(&tag);

    /* audio only */
    ck_assert_int_eq(flv_metadata(NULL, &g, FLV_HEVC_ENHANCED, &tag), 0);
    read_metadata(&tag, &arr);
    ck_assert_uint_eq(arr.count, 6);
    ck_assert_int_eq(amf0_object_get(&arr, "width", &s), -ENOENT);
    flv_tag_release(&tag);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_flv");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_file_header);
    tcase_add_test(tc, test_h264_key_frame);
    tcase_add_test(tc, test_h264_inter_frame_cts);
    tcase_add_test(tc, test_timestamp_extension);
    tcase_add_test(tc, test_audio_frames);
    tcase_add_test(tc, test_hevc_enhanced_frames);
    tcase_add_test(tc, test_hevc_legacy12_frames);
    tcase_add_test(tc, test_refusals_leave_frame_untouched);
    tcase_add_test(tc, test_avc_sequence_header_matches_ffmpeg);
    tcase_add_test(tc, test_hevc_sequence_headers_match_ffmpeg);
    tcase_add_test(tc, test_sequence_header_refusals);
    tcase_add_test(tc, test_aac_sequence_header);
    tcase_add_test(tc, test_metadata);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
