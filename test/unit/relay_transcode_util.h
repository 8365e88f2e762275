/*
 * Helpers shared by the transcoder suites: feeding G.711 frames, collecting the AAC frames (and checking the
 * shape of every one), G.711 encoding through libavcodec, and decoding the AAC back with libavcodec's aac
 * decoder configured from the transcoder's AudioSpecificConfig, as a player would be.
 */
#ifndef GB_TEST_RELAY_TRANSCODE_UTIL_H
#define GB_TEST_RELAY_TRANSCODE_UTIL_H

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>

#include "relay/transcode.h"

#define OUT_RATE         TRANSCODE_OUT_RATE
#define TICKS_PER_FRAME  (1024 * 90000 / OUT_RATE) /* 5760 */
#define COLLECT_MAX      4096
#define COLLECT_DATA_MAX (COLLECT_MAX * 800) /* an AAC-LC mono frame is at most 768 bytes */

/* Every AAC frame the transcoder emitted, in order. Preallocated so that collecting allocates nothing. */
struct collected {
    size_t n;
    int64_t pts[COLLECT_MAX];
    uint32_t off[COLLECT_MAX], len[COLLECT_MAX];
    size_t data_len;
    uint8_t data[COLLECT_DATA_MAX];
    int bad_shape; /* frames that broke the media_frame contract */
};

static inline struct collected *collected_new(void)
{
    struct collected *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    return c;
}

static inline void collect_cb(void *arg, struct media_frame *f)
{
    struct collected *c = arg;
    if (f->codec != CODEC_AAC || !f->key || f->pts != f->dts || f->off != FRAME_HEADROOM || f->len == 0 ||
        f->len > 768 || f->buf->cap < (size_t)f->off + f->len + FRAME_TAILROOM)
        c->bad_shape++;
    if (c->n < COLLECT_MAX && c->data_len + f->len <= COLLECT_DATA_MAX) {
        c->pts[c->n] = f->pts;
        c->off[c->n] = (uint32_t)c->data_len;
        c->len[c->n] = f->len;
        memcpy(c->data + c->data_len, f->buf->data + f->off, f->len);
        c->data_len += f->len;
        c->n++;
    }
    media_frame_release(f);
}

/* Feeds one frame of `len` bytes (copied into a pooled gbuf, as the demuxers deliver them). */
static inline int feed(struct audio_transcoder *t, enum codec_id codec, const uint8_t *bytes, size_t len,
                       int64_t pts, struct collected *c)
{
    struct media_frame f = {.buf = gbuf_alloc(FRAME_HEADROOM + len + FRAME_TAILROOM),
                            .off = FRAME_HEADROOM,
                            .len = (uint32_t)len,
                            .codec = codec,
                            .pts = pts,
                            .dts = pts,
                            .key = true};
    if (len) memcpy(f.buf->data + FRAME_HEADROOM, bytes, len);
    int rc = audio_transcoder_input(t, &f, collect_cb, c);
    media_frame_release(&f);
    return rc;
}

/* pcm (S16, 8 kHz mono, n samples) -> G.711 bytes, with libavcodec's pcm_alaw / pcm_mulaw encoder. */
static inline void g711_encode(enum codec_id codec, const int16_t *pcm, size_t n, uint8_t *out)
{
    const AVCodec *c =
        avcodec_find_encoder(codec == CODEC_G711A ? AV_CODEC_ID_PCM_ALAW : AV_CODEC_ID_PCM_MULAW);
    ck_assert_ptr_nonnull(c);
    AVCodecContext *enc = avcodec_alloc_context3(c);
    enc->sample_fmt = AV_SAMPLE_FMT_S16;
    enc->sample_rate = 8000;
    av_channel_layout_default(&enc->ch_layout, 1);
    ck_assert_int_eq(avcodec_open2(enc, c, NULL), 0);
    AVFrame *f = av_frame_alloc();
    AVPacket *p = av_packet_alloc();
    f->format = AV_SAMPLE_FMT_S16;
    f->sample_rate = 8000;
    f->nb_samples = (int)n;
    av_channel_layout_default(&f->ch_layout, 1);
    ck_assert_int_eq(av_frame_get_buffer(f, 0), 0);
    memcpy(f->data[0], pcm, n * sizeof pcm[0]);
    ck_assert_int_eq(avcodec_send_frame(enc, f), 0);
    ck_assert_int_eq(avcodec_receive_packet(enc, p), 0);
    ck_assert_int_eq(p->size, (int)n);
    memcpy(out, p->data, n);
    av_packet_free(&p);
    av_frame_free(&f);
    avcodec_free_context(&enc);
}

/* Decodes every collected frame; returns malloc'd float samples (16 kHz mono), *n set. Fails the test when
 * the decoder rejects a frame or a frame does not decode to exactly 1024 samples. */
static inline float *aac_decode_all(const struct media_track *track, const struct collected *c, size_t *n)
{
    const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    dec->extradata = av_mallocz(track->asc_len + AV_INPUT_BUFFER_PADDING_SIZE);
    memcpy(dec->extradata, track->asc, track->asc_len);
    dec->extradata_size = track->asc_len;
    ck_assert_int_eq(avcodec_open2(dec, codec, NULL), 0);
    AVPacket *p = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    float *pcm = malloc((c->n + 1) * 1024 * sizeof *pcm);
    size_t got = 0;
    for (size_t i = 0; i < c->n; i++) {
        ck_assert_int_eq(av_new_packet(p, (int)c->len[i]), 0);
        memcpy(p->data, c->data + c->off[i], c->len[i]);
        ck_assert_int_eq(avcodec_send_packet(dec, p), 0);
        av_packet_unref(p);
        while (avcodec_receive_frame(dec, f) == 0) {
            ck_assert_int_eq(f->nb_samples, 1024);
            ck_assert_int_eq(f->sample_rate, OUT_RATE);
            ck_assert_int_eq(f->format, AV_SAMPLE_FMT_FLTP);
            memcpy(pcm + got, f->data[0], 1024 * sizeof *pcm);
            got += 1024;
        }
    }
    ck_assert_uint_eq(got, c->n * 1024);
    av_frame_free(&f);
    av_packet_free(&p);
    avcodec_free_context(&dec);
    *n = got;
    return pcm;
}

/* Checks pts[first..last) advance by exactly one AAC frame each, starting at start_pts. */
static inline void assert_pts_exact(const struct collected *c, size_t first, size_t last, int64_t start_pts)
{
    for (size_t i = first; i < last; i++)
        ck_assert_msg(c->pts[i] == start_pts + (int64_t)(i - first) * TICKS_PER_FRAME,
                      "frame %zu pts %lld, want %lld", i, (long long)c->pts[i],
                      (long long)(start_pts + (int64_t)(i - first) * TICKS_PER_FRAME));
}

/* Frames the transcoder emits for s samples resampled into one segment: the encoder keeps two frames (its
 * 1024-sample priming, whose packet is dropped, and one frame of look-ahead), see transcode.c. */
static inline size_t expected_frames(size_t resampled)
{
    return resampled / 1024 >= 2 ? resampled / 1024 - 2 : 0;
}

#endif
