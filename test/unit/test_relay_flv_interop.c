/*
 * FLV reader and writer against FFmpeg, on real encoded media made at test time (skipped when ffmpeg/ffprobe
 * are absent):
 *  - our reader parses FFmpeg-written FLV (H.264 + AAC, G.711 A-law and mu-law, a real camera's H.264);
 *  - every tag our writer rebuilds from what the reader found (sequence headers from the decoded SPS/PPS/ASC,
 *    media tags from the payload + timestamps) is byte-identical to the tag FFmpeg wrote;
 *  - ffprobe reads a whole file made of our tags and counts every frame;
 *  - H.265 (which FFmpeg 5.1 cannot put in FLV): an x265 stream cut into access units goes through our writer
 *    (enhanced and legacy-12) and our reader back to Annex-B, which FFmpeg decodes frame by frame.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/h26x.h"
#include "relay/flv.h"
#include "relay/flv_reader.h"
#include "testutil.h"

static bool have_ffmpeg(void)
{
    if (system("ffmpeg -version >/dev/null 2>&1") == 0 && system("ffprobe -version >/dev/null 2>&1") == 0)
        return true;
    printf("SKIP: ffmpeg/ffprobe not installed\n");
    return false;
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char path[8][128];
    static int next;
    char *p = path[next++ % 8];
    if (!tmpdir[0]) {
        strcpy(tmpdir, "/tmp/gb_flv_interop_XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    }
    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static void run(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* What the reader found, and the file our writer rebuilt from it. */
struct remux {
    struct media_track video, audio;
    uint8_t nal_length_size;
    int video_frames, keyframes, audio_frames, seq_headers, identical_tags;
    uint32_t last_video_ts;
    uint8_t *out;
    size_t out_len, out_cap;
};

static void out_append(struct remux *m, const uint8_t *p, size_t n)
{
    if (m->out_len + n > m->out_cap) {
        m->out_cap = (m->out_len + n) * 2;
        m->out = realloc(m->out, m->out_cap);
        ck_assert_ptr_nonnull(m->out);
    }
    memcpy(m->out + m->out_len, p, n);
    m->out_len += n;
}

/* The complete source tag (header + body + PreviousTagSize) equals ours: the body is in the reader's hands,
 * the header is rebuilt from the fields; the PreviousTagSize is what the writer must produce. */
static void check_identical(struct remux *m, const struct flv_reader_tag *src, struct flv_tag *ours)
{
    const uint8_t *p = ours->buf->data + ours->off;
    ck_assert_uint_eq(ours->len, 11 + src->size + 4);
    ck_assert_uint_eq(p[0], src->type);
    ck_assert_uint_eq((uint32_t)p[4] << 16 | p[5] << 8 | p[6] | (uint32_t)p[7] << 24, src->ts_ms);
    ck_assert_mem_eq(p + 11, src->data, src->size);
    out_append(m, p, ours->len);
    m->identical_tags++;
    flv_tag_release(ours);
}

static void rebuild_frame(struct remux *m, const struct flv_reader_tag *src, enum codec_id codec, bool key,
                          const uint8_t *payload, uint32_t len, int32_t cts)
{
    struct media_frame f = {.codec = codec, .key = key, .off = FRAME_HEADROOM, .len = len};
    f.buf = gbuf_alloc(FRAME_HEADROOM + len + FRAME_TAILROOM);
    memcpy(f.buf->data + FRAME_HEADROOM, payload, len);
    struct flv_tag t;
    ck_assert_int_eq(flv_tag_from_frame(&f, src->ts_ms, cts, FLV_HEVC_ENHANCED, &t), 0);
    check_identical(m, src, &t);
}

static void on_video(struct remux *m, const struct flv_reader_tag *tag)
{
    struct flv_video_tag v;
    ck_assert_int_eq(flv_parse_video_tag(tag->data, tag->size, &v), 0);
    ck_assert_int_eq(v.codec, CODEC_H264);
    struct flv_tag t;
    if (v.packet == FLV_VIDEO_SEQUENCE_HEADER) {
        ck_assert_int_eq(flv_video_config_decode(v.codec, v.data, v.len, &m->video, &m->nal_length_size), 0);
        ck_assert_int_eq(flv_video_sequence_header(&m->video, tag->ts_ms, FLV_HEVC_ENHANCED, &t), 0);
        check_identical(m, tag, &t);
        m->seq_headers++;
    } else if (v.packet == FLV_VIDEO_FRAME) {
        ck_assert_uint_eq(m->nal_length_size, 4);
        size_t pos = 0;
        const uint8_t *nal;
        uint32_t n;
        int rc, nals = 0;
        while ((rc = flv_nal_next(v.data, v.len, 4, &pos, &nal, &n)) == 1) nals++;
        ck_assert_int_eq(rc, 0);
        ck_assert_int_gt(nals, 0);
        rebuild_frame(m, tag, CODEC_H264, v.frame_type == 1, v.data, v.len, v.cts_ms);
        m->video_frames++;
        m->keyframes += v.frame_type == 1;
        m->last_video_ts = tag->ts_ms;
    }
}

static void on_audio(struct remux *m, const struct flv_reader_tag *tag)
{
    struct flv_audio_tag a;
    ck_assert_int_eq(flv_parse_audio_tag(tag->data, tag->size, &a), 0);
    struct flv_tag t;
    if (a.sequence_header || (a.codec != CODEC_AAC && m->audio.codec == CODEC_NONE)) {
        ck_assert_int_eq(flv_audio_config_decode(&a, &m->audio), 0);
        if (a.sequence_header) {
            ck_assert_int_eq(flv_audio_sequence_header(&m->audio, tag->ts_ms, &t), 0);
            check_identical(m, tag, &t);
            return;
        }
    }
    rebuild_frame(m, tag, a.codec, true, a.data, a.len, 0);
    m->audio_frames++;
}

static int on_tag(void *arg, const struct flv_reader_tag *tag)
{
    struct remux *m = arg;
    if (tag->type == FLV_TAG_VIDEO) on_video(m, tag);
    if (tag->type == FLV_TAG_AUDIO) on_audio(m, tag);
    return 0;
}

/* Reads an FFmpeg-written file in odd-sized pieces and rebuilds it with our writer (our own onMetaData). */
static void remux_file(const char *src, const char *dst, struct remux *m)
{
    memset(m, 0, sizeof *m);
    size_t len;
    uint8_t *data = test_read_file(src, &len);
    ck_assert_ptr_nonnull(data);
    struct flv_reader_config cfg = {.on_tag = on_tag, .arg = m};
    struct flv_reader *r = flv_reader_create(&cfg);
    uint8_t head[13];
    flv_file_header(head, true, true);
    out_append(m, head, sizeof head);
    for (size_t pos = 0, step = 1; pos < len; pos += step, step = step * 3 % 4093 + 1) {
        if (step > len - pos) step = len - pos;
        ck_assert_int_eq(flv_reader_input(r, data + pos, step), 0);
    }
    ck_assert_int_eq(flv_reader_finish(r), 0);
    ck_assert_uint_eq(flv_reader_get_stats(r)->prev_size_mismatches, 0);
    flv_reader_destroy(r);
    free(data);
    FILE *f = fopen(dst, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(m->out, 1, m->out_len, f), m->out_len);
    fclose(f);
    free(m->out);
    m->out = NULL;
}

/* ffprobe's view of one stream ("video"/"audio") of a file: codec, size or rate, frames actually decoded. */
struct probe {
    char codec[16];
    int width, height, sample_rate, channels, frames;
};

static void probe(const char *path, const char *kind, struct probe *out)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams %c -show_entries "
             "stream=codec_name,width,height,sample_rate,channels,nb_read_frames -of default=nw=1 '%s'",
             kind[0], path);
    memset(out, 0, sizeof *out);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[256];
    while (fgets(line, sizeof line, p)) {
        sscanf(line, "codec_name=%15s", out->codec);
        sscanf(line, "width=%d", &out->width);
        sscanf(line, "height=%d", &out->height);
        sscanf(line, "sample_rate=%d", &out->sample_rate);
        sscanf(line, "channels=%d", &out->channels);
        sscanf(line, "nb_read_frames=%d", &out->frames);
    }
    ck_assert_int_eq(pclose(p), 0);
}

START_TEST(test_h264_aac_identical_and_probed)
{
    if (!have_ffmpeg()) return;
    const char *src = tmp_path("x264_aac.flv"), *dst = tmp_path("ours.flv");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=r=44100 -t 1 "
             "-c:v libx264 -g 10 -bf 2 -c:a aac -f flv '%s'",
             src);
    run(cmd);
    struct remux m;
    remux_file(src, dst, &m);
    ck_assert_int_eq(m.seq_headers, 1);
    ck_assert_int_eq(m.video_frames, 25);
    ck_assert_int_eq(m.keyframes, 3);
    ck_assert_uint_eq(m.video.width, 640);
    ck_assert_uint_eq(m.video.height, 360);
    ck_assert_uint_eq(m.audio.sample_rate, 44100);
    ck_assert_uint_eq(m.audio.channels, 1);
    ck_assert_int_ge(m.audio_frames, 43); /* 1 s of 1024-sample frames at 44.1 kHz */
    ck_assert_int_eq(m.identical_tags, 2 + m.video_frames + m.audio_frames);

    struct probe v, a;
    probe(dst, "video", &v);
    ck_assert_str_eq(v.codec, "h264");
    ck_assert_int_eq(v.width, 640);
    ck_assert_int_eq(v.height, 360);
    ck_assert_int_eq(v.frames, 25);
    probe(dst, "audio", &a);
    ck_assert_str_eq(a.codec, "aac");
    ck_assert_int_eq(a.sample_rate, 44100);
    ck_assert_int_eq(a.channels, 1);
    ck_assert_int_eq(a.frames, m.audio_frames);
}
END_TEST

START_TEST(test_g711_identical)
{
    if (!have_ffmpeg()) return;
    static const char *codecs[2] = {"pcm_alaw", "pcm_mulaw"};
    static const enum codec_id ids[2] = {CODEC_G711A, CODEC_G711U};
    for (int i = 0; i < 2; i++) {
        const char *src = tmp_path(i ? "mulaw.flv" : "alaw.flv"), *dst = tmp_path("ours_g711.flv");
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i sine=d=1 -ar 8000 -ac 1 -c:a %s -f flv '%s'", codecs[i],
                 src);
        run(cmd);
        struct remux m;
        remux_file(src, dst, &m);
        ck_assert_int_eq(m.audio.codec, ids[i]);
        ck_assert_uint_eq(m.audio.sample_rate, 8000);
        ck_assert_uint_eq(m.audio.channels, 1);
        ck_assert_int_gt(m.audio_frames, 10);
        ck_assert_int_eq(m.identical_tags, m.audio_frames);
        struct probe a;
        probe(dst, "audio", &a);
        ck_assert_str_eq(a.codec, codecs[i]);
        ck_assert_int_eq(a.sample_rate, 8000);
    }
}
END_TEST

/* A real camera's H.264 (Main profile, so an avcC without the High-profile extension). */
START_TEST(test_camera_h264_identical)
{
    const char *sample = test_shared_path("samples/hik_704x576_h264_reference.264");
    if (!sample || !have_ffmpeg()) return;
    const char *src = tmp_path("hik.flv"), *dst = tmp_path("ours_hik.flv");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -r 25 -i '%s' -frames:v 60 -c copy -f flv '%s'", sample,
             src);
    run(cmd);
    struct remux m;
    remux_file(src, dst, &m);
    ck_assert_int_eq(m.video.codec, CODEC_H264);
    ck_assert_uint_eq(m.video.width, 704);
    ck_assert_uint_eq(m.video.height, 576);
    ck_assert_int_eq(m.video_frames, 60);
    ck_assert_int_eq(m.identical_tags, 1 + 60);
    struct probe v;
    probe(dst, "video", &v);
    ck_assert_int_eq(v.width, 704);
    ck_assert_int_eq(v.frames, 60);
}
END_TEST

/* ---- H.265 round trip ---- */

struct nal_list {
    const uint8_t *nal[4096];
    uint32_t len[4096];
    int n;
};

/* Splits an Annex-B stream into NAL units (start codes removed). */
static void split_annexb(const uint8_t *p, size_t len, struct nal_list *out)
{
    const uint8_t *end = p + len;
    int sc;
    const uint8_t *s = annexb_find_start_code(p, end, &sc);
    out->n = 0;
    while (s) {
        const uint8_t *nal = s + sc;
        int next_sc;
        const uint8_t *next = annexb_find_start_code(nal, end, &next_sc);
        const uint8_t *stop = next ? next : end;
        ck_assert_int_lt(out->n, 4096);
        out->nal[out->n] = nal;
        out->len[out->n++] = (uint32_t)(stop - nal);
        s = next;
        sc = next_sc;
    }
}

static bool h265_is_vcl(const uint8_t *nal)
{
    return h265_nal_type(nal[0]) < 32;
}

/* Writes an H.265 elementary stream as FLV (mode), one tag per access unit, 40 ms apart. Returns the AU
 * count. */
static int write_hevc_flv(const struct nal_list *nals, enum flv_hevc_mode mode, const char *path)
{
    struct media_track t = {.codec = CODEC_H265};
    for (int i = 0; i < nals->n; i++) {
        uint8_t type = h265_nal_type(nals->nal[i][0]);
        uint8_t *dst = type == H265_NAL_VPS ? t.vps : type == H265_NAL_SPS ? t.sps : t.pps;
        uint16_t *dst_len = type == H265_NAL_VPS   ? &t.vps_len
                            : type == H265_NAL_SPS ? &t.sps_len
                                                   : &t.pps_len;
        if (type >= H265_NAL_VPS && type <= H265_NAL_PPS && !*dst_len) {
            memcpy(dst, nals->nal[i], nals->len[i]);
            *dst_len = (uint16_t)nals->len[i];
        }
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    uint8_t head[13];
    flv_file_header(head, true, false);
    fwrite(head, 1, sizeof head, f);
    struct flv_tag tag;
    ck_assert_int_eq(flv_video_sequence_header(&t, 0, mode, &tag), 0);
    fwrite(tag.buf->data + tag.off, 1, tag.len, f);
    flv_tag_release(&tag);

    int aus = 0;
    for (int i = 0; i < nals->n;) {
        /* an access unit: everything up to the next parameter set / SEI / first slice after a VCL unit */
        int j = i;
        bool has_vcl = false, key = false;
        size_t bytes = 0;
        for (; j < nals->n; j++) {
            const uint8_t *nal = nals->nal[j];
            bool vcl = h265_is_vcl(nal);
            if (has_vcl && (!vcl || (nals->len[j] > 2 && (nal[2] & 0x80)))) break;
            has_vcl |= vcl;
            key |= vcl && h265_nal_type(nal[0]) >= H265_NAL_IRAP_FIRST &&
                   h265_nal_type(nal[0]) <= H265_NAL_IRAP_LAST;
            bytes += 4 + nals->len[j];
        }
        struct media_frame fr = {
            .codec = CODEC_H265, .key = key, .off = FRAME_HEADROOM, .len = (uint32_t)bytes};
        fr.buf = gbuf_alloc(FRAME_HEADROOM + bytes + FRAME_TAILROOM);
        uint8_t *p = fr.buf->data + FRAME_HEADROOM;
        for (int k = i; k < j; k++) {
            uint32_t n = nals->len[k];
            p[0] = (uint8_t)(n >> 24), p[1] = (uint8_t)(n >> 16), p[2] = (uint8_t)(n >> 8), p[3] = (uint8_t)n;
            memcpy(p + 4, nals->nal[k], n);
            p += 4 + n;
        }
        /* odd frames get a composition offset so both CodedFrames and CodedFramesX are written */
        ck_assert_int_eq(flv_tag_from_frame(&fr, (uint32_t)aus * 40, (aus & 1) ? 80 : 0, mode, &tag), 0);
        fwrite(tag.buf->data + tag.off, 1, tag.len, f);
        flv_tag_release(&tag);
        aus++;
        i = j;
    }
    fclose(f);
    return aus;
}

struct hevc_back {
    FILE *annexb;
    struct media_track track;
    uint8_t length_size;
    int frames, keyframes, seq_headers;
    bool enhanced;
};

static int hevc_on_tag(void *arg, const struct flv_reader_tag *tag)
{
    struct hevc_back *b = arg;
    struct flv_video_tag v;
    static const uint8_t sc[4] = {0, 0, 0, 1};
    ck_assert_uint_eq(tag->type, FLV_TAG_VIDEO);
    ck_assert_int_eq(flv_parse_video_tag(tag->data, tag->size, &v), 0);
    ck_assert_int_eq(v.codec, CODEC_H265);
    b->enhanced = v.enhanced;
    if (v.packet == FLV_VIDEO_SEQUENCE_HEADER) {
        ck_assert_int_eq(flv_video_config_decode(CODEC_H265, v.data, v.len, &b->track, &b->length_size), 0);
        b->seq_headers++;
        return 0;
    }
    ck_assert_int_eq(v.packet, FLV_VIDEO_FRAME);
    ck_assert_int_eq(v.cts_ms, (b->frames & 1) ? 80 : 0);
    size_t pos = 0;
    const uint8_t *nal;
    uint32_t n;
    while (flv_nal_next(v.data, v.len, b->length_size, &pos, &nal, &n) == 1) {
        fwrite(sc, 1, 4, b->annexb);
        fwrite(nal, 1, n, b->annexb);
    }
    b->frames++;
    b->keyframes += v.frame_type == 1;
    return 0;
}

START_TEST(test_hevc_round_trip_decodes)
{
    if (!have_ffmpeg()) return;
    const char *es = tmp_path("x265.hevc");
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libx265 "
             "-x265-params log-level=error:keyint=10 -f hevc '%s'",
             es);
    run(cmd);
    size_t len;
    uint8_t *data = test_read_file(es, &len);
    ck_assert_ptr_nonnull(data);
    static struct nal_list nals;
    split_annexb(data, len, &nals);

    static const enum flv_hevc_mode modes[2] = {FLV_HEVC_ENHANCED, FLV_HEVC_LEGACY12};
    for (int m = 0; m < 2; m++) {
        const char *flv = tmp_path(m ? "legacy12.flv" : "enhanced.flv"), *back = tmp_path("back.hevc");
        int aus = write_hevc_flv(&nals, modes[m], flv);
        ck_assert_int_eq(aus, 25);

        size_t flv_len;
        uint8_t *flv_data = test_read_file(flv, &flv_len);
        struct hevc_back b = {.annexb = fopen(back, "wb")};
        ck_assert_ptr_nonnull(b.annexb);
        struct flv_reader_config cfg = {.on_tag = hevc_on_tag, .arg = &b};
        struct flv_reader *r = flv_reader_create(&cfg);
        ck_assert_int_eq(flv_reader_input(r, flv_data, flv_len), 0);
        ck_assert_int_eq(flv_reader_finish(r), 0);
        flv_reader_destroy(r);
        free(flv_data);
        fclose(b.annexb);
        ck_assert_int_eq(b.enhanced, m == 0);
        ck_assert_int_eq(b.seq_headers, 1);
        ck_assert_int_eq(b.frames, 25);
        ck_assert_int_eq(b.keyframes, 3); /* keyint 10 */
        ck_assert_uint_eq(b.track.width, 320);
        ck_assert_uint_eq(b.track.height, 240);

        struct probe v;
        probe(back, "video", &v);
        ck_assert_str_eq(v.codec, "hevc");
        ck_assert_int_eq(v.width, 320);
        ck_assert_int_eq(v.frames, 25);
    }
    free(data);
}
END_TEST

static void cleanup(void)
{
    if (!tmpdir[0] || getenv("GB_KEEP_TMP")) return; /* GB_KEEP_TMP=1 keeps the files for a look */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

static Suite *suite(void)
{
    Suite *s = suite_create("relay_flv_interop");
    TCase *tc = tcase_create("ffmpeg");
    tcase_set_timeout(tc, 100);
    tcase_add_test(tc, test_h264_aac_identical_and_probed);
    tcase_add_test(tc, test_g711_identical);
    tcase_add_test(tc, test_camera_h264_identical);
    tcase_add_test(tc, test_hevc_round_trip_decodes);
    tcase_add_checked_fixture(tc, NULL, cleanup);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
