/*
 * FLV reader: the incremental parser on our own writer's output under every kind of split and every
 * truncation, malformed streams, and the tag-body / configuration-record decoders (relay_flv_fixtures.h holds
 * records written by FFmpeg). Reading FFmpeg-written files is in test_relay_flv_interop.c.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/flv.h"
#include "relay/flv_reader.h"
#include "relay_flv_fixtures.h"
#include "testutil.h"

/* ---- a stream made by our writer, and what the reader should find in it ---- */

#define MAX_TAGS 16
struct expect_tag {
    uint8_t type;
    uint32_t ts, size, body_at;
};
struct stream {
    uint8_t *data;
    size_t len;
    struct expect_tag tags[MAX_TAGS];
    size_t boundaries[MAX_TAGS + 1]; /* stream offsets where input may end cleanly */
    int ntags;
};

static void append_tag(struct stream *s, struct flv_tag *t)
{
    const uint8_t *p = t->buf->data + t->off;
    struct expect_tag *e = &s->tags[s->ntags++];
    e->type = p[0];
    e->size = (uint32_t)p[1] << 16 | p[2] << 8 | p[3];
    e->ts = t->ts_ms;
    e->body_at = (uint32_t)s->len + 11;
    memcpy(s->data + s->len, p, t->len);
    s->len += t->len;
    s->boundaries[s->ntags] = s->len;
    flv_tag_release(t);
}

static void append_frame(struct stream *s, enum codec_id codec, bool key, uint32_t ts, int32_t cts,
                         size_t len)
{
    struct media_frame f = {.codec = codec, .key = key, .off = FRAME_HEADROOM, .len = (uint32_t)len};
    f.buf = gbuf_alloc(FRAME_HEADROOM + len + FRAME_TAILROOM);
    for (size_t i = 0; i < len; i++) f.buf->data[FRAME_HEADROOM + i] = (uint8_t)(i * 7 + ts);
    struct flv_tag t;
    ck_assert_int_eq(flv_tag_from_frame(&f, ts, cts, FLV_HEVC_ENHANCED, &t), 0);
    append_tag(s, &t);
}

/* header, metadata, AVC + AAC sequence headers, frames; `big` adds a 100 KB key frame. */
static struct stream make_stream(bool big)
{
    struct stream s = {0};
    s.data = malloc(200000);
    flv_file_header(s.data, true, true);
    s.len = 13;
    s.boundaries[0] = 13;
    struct media_track v = {.codec = CODEC_H264, .width = 640, .height = 360};
    memcpy(v.sps, fx_h264_sps, sizeof fx_h264_sps);
    v.sps_len = sizeof fx_h264_sps;
    memcpy(v.pps, fx_h264_pps, sizeof fx_h264_pps);
    v.pps_len = sizeof fx_h264_pps;
    struct media_track a = {
        .codec = CODEC_AAC, .sample_rate = 44100, .channels = 2, .asc_len = 2, .asc = {0x12, 0x10}};
    struct flv_tag t;
    ck_assert_int_eq(flv_metadata(&v, &a, FLV_HEVC_ENHANCED, &t), 0);
    append_tag(&s, &t);
    ck_assert_int_eq(flv_video_sequence_header(&v, 0, FLV_HEVC_ENHANCED, &t), 0);
    append_tag(&s, &t);
    ck_assert_int_eq(flv_audio_sequence_header(&a, 0, &t), 0);
    append_tag(&s, &t);
    append_frame(&s, CODEC_H264, true, 0, 0, 40);
    append_frame(&s, CODEC_AAC, true, 0, 0, 9);
    append_frame(&s, CODEC_H264, false, 40, 80, 17);
    append_frame(&s, CODEC_AAC, true, 23, 0, 0); /* an empty frame makes a 2-byte body */
    if (big)
        append_frame(&s, CODEC_H264, true, (1u << 24) + 3, 0,
                     100000); /* > the reader's first 64 KiB buffer */
    append_frame(&s, CODEC_G711A, true, 50, 0, 5);
    return s;
}

struct seen {
    const struct stream *s;
    int n;
    int stop_at; /* return 42 from this tag on (-1: never) */
};

static int on_tag(void *arg, const struct flv_reader_tag *tag)
{
    struct seen *seen = arg;
    ck_assert_int_lt(seen->n, seen->s->ntags);
    const struct expect_tag *e = &seen->s->tags[seen->n];
    ck_assert_uint_eq(tag->type, e->type);
    ck_assert_uint_eq(tag->ts_ms, e->ts);
    ck_assert_uint_eq(tag->size, e->size);
    ck_assert_uint_eq(tag->offset, e->body_at - 11);
    ck_assert(!tag->filtered);
    if (tag->size) ck_assert_mem_eq(tag->data, seen->s->data + e->body_at, tag->size);
    seen->n++;
    return seen->n - 1 == seen->stop_at ? 42 : 0;
}

static struct flv_reader *new_reader(struct seen *seen)
{
    struct flv_reader_config cfg = {.on_tag = on_tag, .arg = seen};
    struct flv_reader *r = flv_reader_create(&cfg);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_whole_and_byte_by_byte)
{
    struct stream s = make_stream(true);
    struct seen seen = {&s, 0, -1};
    struct flv_reader *r = new_reader(&seen);
    ck_assert_int_eq(flv_reader_input(r, s.data, s.len), 0);
    ck_assert_int_eq(seen.n, s.ntags);
    ck_assert_int_eq(flv_reader_finish(r), 0);
    const struct flv_reader_stats *st = flv_reader_get_stats(r);
    ck_assert_uint_eq(st->bytes, s.len);
    ck_assert_uint_eq(st->tags, (uint64_t)s.ntags);
    ck_assert_uint_eq(st->prev_size_mismatches, 0);
    ck_assert(st->header_seen && st->header_audio && st->header_video);
    flv_reader_destroy(r);

    seen.n = 0;
    r = new_reader(&seen);
    for (size_t i = 0; i < s.len; i++) ck_assert_int_eq(flv_reader_input(r, s.data + i, 1), 0);
    ck_assert_int_eq(seen.n, s.ntags);
    ck_assert_int_eq(flv_reader_finish(r), 0);
    flv_reader_destroy(r);
    free(s.data);
}
END_TEST

START_TEST(test_random_splits)
{
    struct stream s = make_stream(true);
    uint32_t rng = 12345;
    for (int round = 0; round < 60; round++) {
        struct seen seen = {&s, 0, -1};
        struct flv_reader *r = new_reader(&seen);
        size_t pos = 0;
        while (pos < s.len) {
            rng = rng * 1103515245u + 12345u;
            size_t max = (round % 3 == 0) ? 16 : (round % 3 == 1) ? 300 : 70000;
            size_t n = 1 + (rng >> 8) % max;
            if (n > s.len - pos) n = s.len - pos;
            ck_assert_int_eq(flv_reader_input(r, s.data + pos, n), 0);
            pos += n;
        }
        ck_assert_int_eq(seen.n, s.ntags);
        ck_assert_int_eq(flv_reader_finish(r), 0);
        ck_assert_uint_eq(flv_reader_pending(r), 0);
        flv_reader_destroy(r);
    }
    free(s.data);
}
END_TEST

/* Cut anywhere: only the complete tags before the cut come out, and finish() says whether the cut was clean.
 */
START_TEST(test_every_truncation)
{
    struct stream s = make_stream(false);
    for (size_t cut = 0; cut < s.len; cut++) {
        int complete = 0;
        bool clean = false;
        for (int i = 0; i <= s.ntags; i++) {
            if (s.boundaries[i] <= cut) complete = i;
            if (s.boundaries[i] == cut) clean = true;
        }
        struct seen seen = {&s, 0, -1};
        struct flv_reader *r = new_reader(&seen);
        ck_assert_int_eq(flv_reader_input(r, s.data, cut), 0);
        ck_assert_int_eq(flv_reader_finish(r), clean ? 0 : -EBADMSG);
        /* a tag is delivered once its body is in, before its PreviousTagSize */
        ck_assert_int_ge(seen.n, complete);
        ck_assert_int_le(seen.n, complete + 1);
        flv_reader_destroy(r);
    }
    free(s.data);
}
END_TEST

START_TEST(test_bad_headers)
{
    struct seen seen = {NULL, 0, -1};
    struct flv_reader *r = new_reader(&seen);
    static const uint8_t not_flv[] = {'F', 'L', 'X', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0};
    ck_assert_int_eq(flv_reader_input(r, not_flv, sizeof not_flv), -EBADMSG);
    ck_assert_int_eq(flv_reader_input(r, not_flv, 1), -EBADMSG); /* sticky */
    flv_reader_destroy(r);

    r = new_reader(&seen);
    static const uint8_t short_offset[] = {'F', 'L', 'V', 1, 5, 0, 0, 0, 8, 0, 0, 0, 0};
    ck_assert_int_eq(flv_reader_input(r, short_offset, sizeof short_offset), -EBADMSG);
    flv_reader_destroy(r);

    /* DataOffset 12: three reserved bytes are skipped; PreviousTagSize0 != 0 is only counted */
    r = new_reader(&seen);
    static const uint8_t longer[] = {'F', 'L', 'V', 1, 5, 0, 0, 0, 12, 0xaa, 0xbb, 0xcc, 0, 0, 0, 1};
    ck_assert_int_eq(flv_reader_input(r, longer, sizeof longer), 0);
    ck_assert_int_eq(flv_reader_finish(r), 0);
    ck_assert_uint_eq(flv_reader_get_stats(r)->prev_size_mismatches, 1);
    flv_reader_destroy(r);

    r = new_reader(&seen);
    ck_assert_int_eq(flv_reader_finish(r), -EBADMSG); /* nothing at all is not an FLV stream */
    flv_reader_destroy(r);
}
END_TEST

static int count_tag(void *arg, const struct flv_reader_tag *tag)
{
    int *n = arg;
    (*n)++;
    return 0;
}

START_TEST(test_limits_and_stop)
{
    /* a 101-byte tag over a 100-byte limit */
    static const uint8_t big[] = {'F', 'L', 'V', 1, 1,   0, 0, 0, 9, 0, 0, 0,
                                  0,   9,   0,   0, 101, 0, 0, 0, 0, 0, 0, 0};
    int n = 0;
    struct flv_reader_config cfg = {.on_tag = count_tag, .arg = &n, .max_tag_size = 100};
    struct flv_reader *r = flv_reader_create(&cfg);
    ck_assert_int_eq(flv_reader_input(r, big, sizeof big), -EMSGSIZE);
    ck_assert_int_eq(flv_reader_input(r, big, 1), -EMSGSIZE);
    flv_reader_destroy(r);

    struct stream s = make_stream(false);
    struct seen seen = {&s, 0, 1};
    r = new_reader(&seen);
    ck_assert_int_eq(flv_reader_input(r, s.data, s.len), 42);
    ck_assert_int_eq(seen.n, 2);
    ck_assert_int_eq(flv_reader_input(r, s.data, 1), 42);
    flv_reader_destroy(r);
    free(s.data);
}
END_TEST

/* RTMP style: no file header, no PreviousTagSize; a zero-size tag and a filtered tag; wrong sizes counted. */
START_TEST(test_headerless_and_odd_tags)
{
    static const uint8_t bare[] = {
        0x09, 0, 0, 0, 0x00, 0x00, 0x01, 0x00, 0, 0, 0,       /* empty video tag, ts 1 */
        0x28, 0, 0, 2, 0x00, 0x00, 0x02, 0x00, 0, 0, 1, 1, 2, /* filtered audio tag, stream id 1 */
    };
    int n = 0;
    struct flv_reader_config cfg = {
        .on_tag = count_tag, .arg = &n, .no_file_header = true, .no_prev_tag_size = true};
    struct flv_reader *r = flv_reader_create(&cfg);
    ck_assert_int_eq(flv_reader_input(r, bare, 11), 0);
    ck_assert_int_eq(n, 1); /* the empty tag comes out as soon as its header is in */
    ck_assert_int_eq(flv_reader_input(r, bare + 11, sizeof bare - 11), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(flv_reader_finish(r), 0);
    flv_reader_destroy(r);

    static const uint8_t wrong_prev[] = {'F', 'L', 'V', 1, 1, 0, 0, 0, 9, 0,    0, 0, 0, 0x12, 0,
                                         0,   1,   0,   0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 99};
    n = 0;
    struct flv_reader_config cfg2 = {.on_tag = count_tag, .arg = &n};
    r = flv_reader_create(&cfg2);
    ck_assert_int_eq(flv_reader_input(r, wrong_prev, sizeof wrong_prev), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(flv_reader_get_stats(r)->prev_size_mismatches, 1);
    flv_reader_destroy(r);
}
END_TEST

START_TEST(test_parse_video_tags)
{
    struct flv_video_tag v;
    static const uint8_t avc_seq[] = {0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64};
    ck_assert_int_eq(flv_parse_video_tag(avc_seq, sizeof avc_seq, &v), 0);
    ck_assert(v.codec == CODEC_H264 && !v.enhanced && v.codec_id == 7 && v.frame_type == 1);
    ck_assert_int_eq(v.packet, FLV_VIDEO_SEQUENCE_HEADER);
    ck_assert_uint_eq(v.len, 2);
    ck_assert_uint_eq(v.data[0], 0x01);

    static const uint8_t legacy12[] = {0x2c, 0x01, 0xff, 0xff, 0xd8, 0, 0, 0, 1, 0x02};
    ck_assert_int_eq(flv_parse_video_tag(legacy12, sizeof legacy12, &v), 0);
    ck_assert(v.codec == CODEC_H265 && v.codec_id == 12 && v.frame_type == 2 && v.packet == FLV_VIDEO_FRAME);
    ck_assert_int_eq(v.cts_ms, -40);
    ck_assert_uint_eq(v.len, 5);

    static const uint8_t ex_seq[] = {0x90, 'h', 'v', 'c', '1', 0x01};
    ck_assert_int_eq(flv_parse_video_tag(ex_seq, sizeof ex_seq, &v), 0);
    ck_assert(v.codec == CODEC_H265 && v.enhanced && v.fourcc == 0x68766331 && v.frame_type == 1);
    ck_assert_int_eq(v.packet, FLV_VIDEO_SEQUENCE_HEADER);
    ck_assert_uint_eq(v.len, 1);
    static const uint8_t ex_frame[] = {0xa1, 'h', 'v', 'c', '1', 0x00, 0x00, 0x28, 0xee};
    ck_assert_int_eq(flv_parse_video_tag(ex_frame, sizeof ex_frame, &v), 0);
    ck_assert(v.packet == FLV_VIDEO_FRAME && v.cts_ms == 40 && v.len == 1 && v.data[0] == 0xee);
    static const uint8_t ex_frame_x[] = {0x93, 'h', 'v', 'c', '1', 0xee};
    ck_assert_int_eq(flv_parse_video_tag(ex_frame_x, sizeof ex_frame_x, &v), 0);
    ck_assert(v.packet == FLV_VIDEO_FRAME && v.cts_ms == 0 && v.len == 1 && v.frame_type == 1);
    static const uint8_t ex_av1[] = {0x91, 'a', 'v', '0', '1', 0xee};
    ck_assert_int_eq(flv_parse_video_tag(ex_av1, sizeof ex_av1, &v), 0);
    ck_assert(v.codec == CODEC_NONE && v.packet == FLV_VIDEO_OTHER);
    static const uint8_t ex_end[] = {0x92, 'h', 'v', 'c', '1'};
    ck_assert_int_eq(flv_parse_video_tag(ex_end, sizeof ex_end, &v), 0);
    ck_assert_int_eq(v.packet, FLV_VIDEO_END_OF_SEQUENCE);

    static const uint8_t command[] = {0x57, 0x00}; /* video info/command frame */
    ck_assert_int_eq(flv_parse_video_tag(command, sizeof command, &v), 0);
    ck_assert_int_eq(v.packet, FLV_VIDEO_OTHER);
    static const uint8_t sorenson[] = {0x22, 0x11, 0x22};
    ck_assert_int_eq(flv_parse_video_tag(sorenson, sizeof sorenson, &v), 0);
    ck_assert(v.codec == CODEC_NONE && v.codec_id == 2 && v.packet == FLV_VIDEO_OTHER);

    ck_assert_int_eq(flv_parse_video_tag(avc_seq, 4, &v), -EBADMSG);
    ck_assert_int_eq(flv_parse_video_tag(ex_frame, 7, &v), -EBADMSG);
    ck_assert_int_eq(flv_parse_video_tag(ex_seq, 4, &v), -EBADMSG);
    ck_assert_int_eq(flv_parse_video_tag(ex_seq, 0, &v), -EBADMSG);
}
END_TEST

START_TEST(test_parse_audio_tags)
{
    struct flv_audio_tag a;
    struct media_track t;
    static const uint8_t aac_seq[] = {0xaf, 0x00, 0x12, 0x10};
    ck_assert_int_eq(flv_parse_audio_tag(aac_seq, sizeof aac_seq, &a), 0);
    ck_assert(a.codec == CODEC_AAC && a.sequence_header && a.len == 2);
    ck_assert_int_eq(flv_audio_config_decode(&a, &t), 0);
    ck_assert(t.codec == CODEC_AAC && t.sample_rate == 44100 && t.channels == 2 && t.asc_len == 2);
    static const uint8_t aac_raw[] = {0xaf, 0x01, 0x21};
    ck_assert_int_eq(flv_parse_audio_tag(aac_raw, sizeof aac_raw, &a), 0);
    ck_assert(!a.sequence_header && a.len == 1);
    ck_assert_int_eq(flv_audio_config_decode(&a, &t), -ENOTSUP);
    static const uint8_t alaw[] = {0x72, 0xd5};
    ck_assert_int_eq(flv_parse_audio_tag(alaw, sizeof alaw, &a), 0);
    ck_assert(a.codec == CODEC_G711A && a.sound_rate == 0 && a.sound_size == 1 && a.sound_type == 0);
    ck_assert_int_eq(flv_audio_config_decode(&a, &t), 0);
    ck_assert(t.sample_rate == 8000 && t.channels == 1);
    static const uint8_t ulaw[] = {0x82};
    ck_assert_int_eq(flv_parse_audio_tag(ulaw, sizeof ulaw, &a), 0);
    ck_assert(a.codec == CODEC_G711U && a.len == 0);
    static const uint8_t bad_asc[] = {0xaf, 0x00, 0x12};
    ck_assert_int_eq(flv_parse_audio_tag(bad_asc, sizeof bad_asc, &a), 0);
    ck_assert_int_eq(flv_audio_config_decode(&a, &t), -EBADMSG);
    ck_assert_int_eq(flv_parse_audio_tag(aac_seq, 1, &a), -EBADMSG);
    ck_assert_int_eq(flv_parse_audio_tag(aac_seq, 0, &a), -EBADMSG);
}
END_TEST

START_TEST(test_asc)
{
    uint32_t rate;
    uint8_t ch;
    static const uint8_t lc_16k_mono[] = {0x14, 0x08};
    ck_assert_int_eq(aac_asc_parse(lc_16k_mono, 2, &rate, &ch), 0);
    ck_assert(rate == 16000 && ch == 1);
    static const uint8_t lc_8k_mono[] = {0x15, 0x88};
    ck_assert_int_eq(aac_asc_parse(lc_8k_mono, 2, &rate, &ch), 0);
    ck_assert(rate == 8000 && ch == 1);
    /* explicit rate (index 15): LC, 0x00bb80 = 48000, channel config 7 = 8 channels */
    static const uint8_t explicit_rate[] = {0x17, 0x80, 0x5d, 0xc0, 0x38};
    ck_assert_int_eq(aac_asc_parse(explicit_rate, 5, &rate, &ch), 0);
    ck_assert(rate == 48000 && ch == 8);
    static const uint8_t reserved_index[] = {0x16, 0x88};
    ck_assert_int_eq(aac_asc_parse(reserved_index, 2, &rate, &ch), -EBADMSG);
    ck_assert_int_eq(aac_asc_parse(explicit_rate, 4, &rate, &ch), -EBADMSG);
    ck_assert_int_eq(aac_asc_parse(lc_16k_mono, 1, &rate, &ch), -EBADMSG);
}
END_TEST

static void check_record(enum codec_id codec, const uint8_t *rec, size_t len, uint32_t w, uint32_t h)
{
    struct media_track t;
    uint8_t ls = 0;
    ck_assert_int_eq(flv_video_config_decode(codec, rec, len, &t, &ls), 0);
    ck_assert_uint_eq(ls, 4);
    ck_assert_int_eq(t.codec, codec);
    ck_assert_uint_eq(t.width, w);
    ck_assert_uint_eq(t.height, h);
    for (size_t cut = 0; cut < len; cut++) {
        int err = flv_video_config_decode(codec, rec, cut, &t, &ls);
        /* the avcC extension after the PPS is optional: cuts inside it still decode */
        if (err == 0)
            ck_assert(codec == CODEC_H264 && cut >= len - 4);
        else
            ck_assert_int_eq(t.sps_len, 0);
    }
}

START_TEST(test_config_records)
{
    check_record(CODEC_H264, fx_avcc_high_640x360, sizeof fx_avcc_high_640x360, 640, 360);
    check_record(CODEC_H265, fx_hvcc_main_320x240, sizeof fx_hvcc_main_320x240, 320, 240);
    check_record(CODEC_H265, fx_hvcc_main10_352x288, sizeof fx_hvcc_main10_352x288, 352, 288);

    struct media_track t;
    ck_assert_int_eq(
        flv_video_config_decode(CODEC_H264, fx_avcc_high_640x360, sizeof fx_avcc_high_640x360, &t, NULL), 0);
    ck_assert_uint_eq(t.sps_len, sizeof fx_h264_sps);
    ck_assert_mem_eq(t.sps, fx_h264_sps, sizeof fx_h264_sps);
    ck_assert_uint_eq(t.pps_len, sizeof fx_h264_pps);
    ck_assert_uint_eq(t.fps_num / t.fps_den, 25);
    ck_assert_int_eq(
        flv_video_config_decode(CODEC_H265, fx_hvcc_main_320x240, sizeof fx_hvcc_main_320x240, &t, NULL), 0);
    ck_assert_mem_eq(t.vps, fx_h265_vps, sizeof fx_h265_vps);
    ck_assert_mem_eq(t.pps, fx_h265_pps, sizeof fx_h265_pps);

    uint8_t rec[sizeof fx_avcc_high_640x360];
    memcpy(rec, fx_avcc_high_640x360, sizeof rec);
    rec[4] = 0xfe; /* lengthSizeMinusOne 2: forbidden */
    ck_assert_int_eq(flv_video_config_decode(CODEC_H264, rec, sizeof rec, &t, NULL), -EBADMSG);
    memcpy(rec, fx_avcc_high_640x360, sizeof rec);
    rec[0] = 2; /* unknown configurationVersion */
    ck_assert_int_eq(flv_video_config_decode(CODEC_H264, rec, sizeof rec, &t, NULL), -EBADMSG);
    memcpy(rec, fx_avcc_high_640x360, sizeof rec);
    rec[5] = 0xe0; /* no SPS */
    ck_assert_int_eq(flv_video_config_decode(CODEC_H264, rec, sizeof rec, &t, NULL), -EBADMSG);
    ck_assert_int_eq(flv_video_config_decode(CODEC_MP3, rec, sizeof rec, &t, NULL), -ENOTSUP);

    /* a parameter set longer than media_track can hold is refused, not cut */
    static uint8_t huge[8 + 600 + 3 + 6];
    memcpy(huge, fx_avcc_high_640x360, 6);
    huge[6] = 600 >> 8;
    huge[7] = 600 & 0xff;
    memcpy(huge + 8, fx_h264_sps, sizeof fx_h264_sps);
    huge[8 + 600] = 1;
    huge[8 + 600 + 2] = 6;
    memcpy(huge + 8 + 600 + 3, fx_h264_pps, 6);
    ck_assert_int_eq(flv_video_config_decode(CODEC_H264, huge, sizeof huge, &t, NULL), -EBADMSG);
}
END_TEST

START_TEST(test_nal_walk)
{
    static const uint8_t two[] = {0, 0, 0, 2, 0x65, 0x01, 0, 0, 0, 1, 0x06};
    size_t pos = 0;
    const uint8_t *nal;
    uint32_t n;
    ck_assert_int_eq(flv_nal_next(two, sizeof two, 4, &pos, &nal, &n), 1);
    ck_assert(n == 2 && nal == two + 4);
    ck_assert_int_eq(flv_nal_next(two, sizeof two, 4, &pos, &nal, &n), 1);
    ck_assert(n == 1 && nal[0] == 0x06);
    ck_assert_int_eq(flv_nal_next(two, sizeof two, 4, &pos, &nal, &n), 0);
    pos = 0;
    ck_assert_int_eq(flv_nal_next(two, sizeof two - 1, 4, &pos, &nal, &n), 1);
    ck_assert_int_eq(flv_nal_next(two, sizeof two - 1, 4, &pos, &nal, &n), -EBADMSG);
    pos = 0;
    ck_assert_int_eq(flv_nal_next(two, 3, 4, &pos, &nal, &n), -EBADMSG);
    pos = 0;
    static const uint8_t short_len[] = {2, 0xaa, 0xbb, 1, 0xcc};
    ck_assert_int_eq(flv_nal_next(short_len, sizeof short_len, 1, &pos, &nal, &n), 1);
    ck_assert_int_eq(flv_nal_next(short_len, sizeof short_len, 1, &pos, &nal, &n), 1);
    ck_assert(n == 1 && nal[0] == 0xcc);
    pos = 0;
    ck_assert_int_eq(flv_nal_next(short_len, sizeof short_len, 3, &pos, &nal, &n), -EBADMSG);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_flv_reader");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_whole_and_byte_by_byte);
    tcase_add_test(tc, test_random_splits);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_test(tc, test_bad_headers);
    tcase_add_test(tc, test_limits_and_stop);
    tcase_add_test(tc, test_headerless_and_odd_tags);
    tcase_add_test(tc, test_parse_video_tags);
    tcase_add_test(tc, test_parse_audio_tags);
    tcase_add_test(tc, test_asc);
    tcase_add_test(tc, test_config_records);
    tcase_add_test(tc, test_nal_walk);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
