/*
 * Elementary-stream inputs of `gbsim send`: H.264/H.265 Annex-B files cut into access units, and audio files
 * (raw G.711, AAC ADTS) cut into frames. A frame is a slice of the file kept in memory: nothing is copied
 * until the clip is muxed once (sim_clip.c).
 *
 * Access units are found the way the standards define them (H.264 7.4.1.2.3, H.265 7.4.2.4.4), because an AU
 * split in the wrong place makes a broken picture at the receiver and the tests would blame the gateway:
 * an AUD always starts a new AU; a parameter set, SEI or other prefix NAL starts one when the current AU
 * already has a slice; a slice starts one when it is the first of a picture (first_mb_in_slice == 0, i.e.
 * the first ue(v) bit is 1 / first_slice_segment_in_pic_flag == 1) and the current AU already has a slice.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/aac.h"
#include "media/h26x.h"
#include "sim_send.h"

#define G711_FRAME_BYTES 320 /* 40 ms at 8 kHz */
#define INPUT_MAX_BYTES  (1u << 30)

void sim_input_free(struct sim_input *in)
{
    free(in->data);
    free(in->frames);
    memset(in, 0, sizeof *in);
}

int sim_input_add(struct sim_input *in, size_t off, size_t len, int64_t ts, bool key, bool video)
{
    if (in->count == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 1024;
        struct sim_input_frame *f = realloc(in->frames, cap * sizeof *f);
        if (!f) return -ENOMEM;
        in->frames = f;
        in->cap = cap;
    }
    in->frames[in->count++] = (struct sim_input_frame){off, len, ts, key, video};
    return 0;
}

int sim_input_read_file(const char *path, struct sim_input *in)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        fprintf(stderr, "gbsim send: %s: %s\n", path, strerror(e));
        if (fd >= 0) close(fd);
        return -e;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > INPUT_MAX_BYTES) {
        fprintf(stderr, "gbsim send: %s: empty or larger than 1 GiB\n", path);
        close(fd);
        return -EINVAL;
    }
    in->len = (size_t)st.st_size;
    in->data = malloc(in->len);
    size_t got = 0;
    while (in->data && got < in->len) {
        ssize_t n = read(fd, in->data + got, in->len - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!in->data || got != in->len) {
        fprintf(stderr, "gbsim send: %s: read failed\n", path);
        return -EIO;
    }
    return 0;
}

/* 90 kHz time of frame i at `fps`, rounded, so 29.97 fps does not drift. */
static int64_t frame_time(size_t i, double fps)
{
    return (int64_t)llround((double)i * SIM_CLOCK_HZ / fps);
}

struct au_state {
    size_t start; /* offset of the current AU's first start code */
    bool has_vcl, key, open;
};

/* Classifies one NAL unit (first bytes at p, n >= 1 bytes). */
static void nal_class(enum codec_id codec, const uint8_t *p, size_t n, bool *vcl, bool *first_in_pic,
                      bool *aud, bool *prefix, bool *key)
{
    *vcl = *first_in_pic = *aud = *prefix = *key = false;
    if (codec == CODEC_H264) {
        uint8_t t = h264_nal_type(p[0]);
        *vcl = t >= 1 && t <= 5;
        *first_in_pic = *vcl && n >= 2 && (p[1] & 0x80); /* first_mb_in_slice ue(v) == 0 */
        *aud = t == H264_NAL_AUD;
        *prefix = t == H264_NAL_SEI || t == H264_NAL_SPS || t == H264_NAL_PPS || (t >= 14 && t <= 18);
        *key = t == H264_NAL_IDR;
    } else {
        if (n < 2) return;
        uint8_t t = h265_nal_type(p[0]);
        *vcl = t <= 31;
        *first_in_pic = *vcl && n >= 3 && (p[2] & 0x80); /* first_slice_segment_in_pic_flag */
        *aud = t == H265_NAL_AUD;
        *prefix = (t >= H265_NAL_VPS && t <= H265_NAL_PPS) || t == H265_NAL_SEI_PREFIX ||
                  (t >= 41 && t <= 44) || (t >= 48 && t <= 55);
        *key = t >= H265_NAL_IRAP_FIRST && t <= H265_NAL_IRAP_LAST;
    }
}

int sim_input_annexb(const char *path, enum codec_id codec, double fps, struct sim_input *in)
{
    int err = sim_input_read_file(path, in);
    if (err) return err;
    in->codec = codec;
    in->frame_duration = frame_time(1, fps);
    const uint8_t *base = in->data, *end = in->data + in->len;
    struct au_state au = {0};
    int sc_len;
    const uint8_t *sc = annexb_find_start_code(base, end, &sc_len);
    while (sc) {
        const uint8_t *nal = sc + sc_len;
        const uint8_t *next = annexb_find_start_code(nal, end, &sc_len);
        size_t nal_len = (size_t)((next ? next : end) - nal);
        if (nal_len > 0) {
            bool vcl, first, aud, prefix, key;
            nal_class(codec, nal, nal_len, &vcl, &first, &aud, &prefix, &key);
            bool starts_au = aud || ((prefix || (vcl && first)) && au.has_vcl);
            if (starts_au && au.has_vcl) {
                err = sim_input_add(in, au.start, (size_t)(sc - base) - au.start, frame_time(in->count, fps),
                                    au.key, true);
                if (err) return err;
                au = (struct au_state){0};
            }
            if (!au.open) au = (struct au_state){.start = (size_t)(sc - base), .open = true};
            au.has_vcl |= vcl;
            au.key |= key;
        }
        sc = next;
    }
    if (au.open && au.has_vcl)
        err = sim_input_add(in, au.start, in->len - au.start, frame_time(in->count, fps), au.key, true);
    if (err) return err;
    if (in->count == 0) {
        fprintf(stderr, "gbsim send: %s: no %s access unit found (not Annex-B?)\n", path, codec_name(codec));
        return -EINVAL;
    }
    return 0;
}

static int read_adts(const char *path, struct sim_input *in)
{
    size_t off = 0, skipped = 0;
    int64_t samples = 0;
    uint32_t rate = 0;
    while (off + ADTS_HEADER_LEN <= in->len) {
        struct adts_header h;
        if (adts_parse_header(in->data + off, in->len - off, &h) != 0 || h.frame_len > in->len - off) {
            off++, skipped++; /* garbage or a truncated last frame: look for the next sync word */
            continue;
        }
        uint32_t r = aac_sample_rate_from_index(h.sample_rate_index);
        if (!rate) rate = r;
        int err = sim_input_add(in, off, h.frame_len, samples * SIM_CLOCK_HZ / rate, true, false);
        if (err) return err;
        samples += (int64_t)AAC_SAMPLES_PER_FRAME * h.raw_blocks;
        off += h.frame_len;
    }
    if (!in->count) {
        fprintf(stderr, "gbsim send: %s: no ADTS frame found\n", path);
        return -EINVAL;
    }
    if (skipped) fprintf(stderr, "gbsim send: %s: skipped %zu bytes that were not ADTS\n", path, skipped);
    in->frame_duration = (int64_t)AAC_SAMPLES_PER_FRAME * SIM_CLOCK_HZ / rate;
    return 0;
}

int sim_input_audio(const char *path, enum codec_id codec, struct sim_input *in)
{
    int err = sim_input_read_file(path, in);
    if (err) return err;
    in->codec = codec;
    if (codec == CODEC_AAC) return read_adts(path, in);
    /* raw 8 kHz G.711: one byte per sample, 40 ms frames (the last one may be shorter) */
    for (size_t off = 0; off < in->len && !err; off += G711_FRAME_BYTES) {
        size_t n = in->len - off < G711_FRAME_BYTES ? in->len - off : G711_FRAME_BYTES;
        err = sim_input_add(in, off, n, (int64_t)off * SIM_CLOCK_HZ / 8000, true, false);
    }
    in->frame_duration = G711_FRAME_BYTES * SIM_CLOCK_HZ / 8000;
    return err;
}
