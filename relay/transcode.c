/*
 * G.711 -> AAC transcoder (transcode.h has the contract, the choice of 16 kHz and the timestamp rules).
 *
 * Pipeline, run per input frame in chunks of at most CHUNK_SAMPLES input samples so that every buffer has a
 * fixed size whatever the frame size:
 *   G.711 bytes --table--> S16 --libswresample--> float planar, 16 kHz mono --AVAudioFifo--> 1024-sample
 *   AVFrame --native aac encoder--> AVPacket --one copy--> media_frame in a pooled gbuf
 *
 * G.711 decoding is a 256-entry table filled at create time by running libavcodec's own pcm_alaw / pcm_mulaw
 * decoder once over all 256 code values: the samples are exactly libavcodec's, but the per-frame path skips
 * avcodec_send_packet (which would copy our non-refcounted payload) and the decoder's output frames.
 *
 * Delays, and so the frame count. libswresample (default 32-tap filter) keeps 16 input samples of look-ahead:
 * it returns 2N - 32 samples for N input samples at 8 kHz, with output sample 0 at input sample 0 (it primes
 * its history from the first samples, so there is no time shift). The aac encoder reports initial_padding =
 * 1024: its first packet (pts -1024) decodes to the 1024 samples of silence it primes with, and it keeps one
 * more frame as look-ahead, so the packet for frame n comes out after frame n + 2 went in. Packets are
 * stamped by the encoder's own pts, which keeps the audio on time (the unit test finds the decoded output at
 * lag 0 against the input); the priming packet is dropped, because emitting it would either put audio before
 * the stream's first timestamp or, stamped at the anchor, make every later frame play 64 ms late. The price:
 * the decoder starts without the overlap half of that packet, so the first 64 ms after a start or a resync
 * fade in rather than being exact. Hence, for S = 2N - 32 samples resampled in a segment: frames out =
 * floor(S / 1024) - 2        (0 while S < 3072) and the audio still inside the pipeline is 2048 + (S mod
 * 1024) + 32 samples: 130 to 194 ms at 16 kHz.
 *
 * Allocation in steady state. This file: none. The scratch buffers, the FIFO (sized so that it never has to
 * grow: fewer than 1024 samples stay in it between chunks), the encoder's input AVFrame and the AVPacket are
 * made at create time; output gbufs come from the thread's pool; swr_convert reuses its buffers once it has
 * seen a chunk of the largest size. An input frame that completes no AAC frame allocates nothing at all.
 * libavcodec's encode API does allocate, 4 blocks per 64 ms AAC frame, all freed before
 * audio_transcoder_input() returns: the AVBufferRef of the reference avcodec_send_frame takes on our AVFrame,
 * and the packet, which the native aac encoder (no AV_CODEC_CAP_DR1 in FFmpeg 5.1, so no get_encode_buffer
 * hook to hand it pooled memory) returns in a fresh refcounted buffer (data, AVBuffer, AVBufferRef). The unit
 * test counts them with the sanitizer's malloc hooks. That is about 60 small malloc/free pairs per second
 * per stream, served from glibc's per-thread cache.
 * A resync reopens the encoder (FFmpeg cannot reset the aac encoder otherwise) and resets the resampler,
 * which allocates; resyncs are rare and counted.
 */
#include "relay/transcode.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "common/clock.h"
#include "common/log.h"

#define MODULE "transcode"

#define AAC_FRAME_SAMPLES 1024
#define CHUNK_SAMPLES     1024 /* input samples (per channel) converted per step */
/* What swr_convert may return for one chunk: the chunk at the largest up-sampling ratio plus filter history
 * the resampler may release. */
#define RESAMPLED_CAP (CHUNK_SAMPLES * TRANSCODE_OUT_RATE / TRANSCODE_MIN_IN_RATE + 256)
#define FIFO_CAP      (AAC_FRAME_SAMPLES + RESAMPLED_CAP)
#define PTS_LIMIT     (INT64_C(1) << 60) /* 400000 years of 90 kHz: pts differences can never overflow */

struct audio_transcoder {
    enum codec_id in_codec;
    uint32_t in_rate;
    uint8_t in_channels;
    bool needs_restart; /* libavcodec failed mid-frame: restart the pipeline on the next input */

    int16_t g711[256];
    int16_t pcm[CHUNK_SAMPLES * TRANSCODE_MAX_CHANNELS]; /* one chunk, interleaved S16 */
    float resampled[RESAMPLED_CAP];                      /* one chunk at the output rate */
    SwrContext *swr;
    AVAudioFifo *fifo;
    AVCodecContext *enc;
    AVFrame *enc_frame; /* reused for every 1024-sample frame */
    AVPacket *pkt;      /* reused for every packet */
    struct media_track track;

    /* Timeline of the current segment (since the last anchor). */
    bool anchored;
    int64_t anchor_pts;      /* 90 kHz pts of the segment's first input sample */
    int64_t last_in_pts;     /* pts of the previous input frame */
    uint64_t seg_in_samples; /* input samples consumed in this segment */
    int64_t seg_enc_samples; /* samples given to the encoder in this segment: the encoder's pts clock */

    struct audio_transcoder_stats stats;
    struct log_ratelimit rl;
};

/* libav errors are AVERROR(errno) or FFERRTAG codes; the API promises negative errno values. */
static int errno_of(int averr)
{
    return averr < 0 && averr > -4096 ? averr : -EIO;
}

/* The G.711 code -> S16 table, from libavcodec's decoder itself. */
static int g711_table_build(enum codec_id codec, int16_t table[256], char *err, size_t errsize)
{
    const AVCodec *c =
        avcodec_find_decoder(codec == CODEC_G711A ? AV_CODEC_ID_PCM_ALAW : AV_CODEC_ID_PCM_MULAW);
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    int rc = AVERROR(ENOMEM);
    if (!c) {
        rc = AVERROR(ENOSYS);
        goto out;
    }
    if (!pkt || !frame || !(dec = avcodec_alloc_context3(c))) goto out;
    dec->sample_rate = 8000;
    av_channel_layout_default(&dec->ch_layout, 1);
    if ((rc = avcodec_open2(dec, c, NULL)) < 0 || (rc = av_new_packet(pkt, 256)) < 0) goto out;
    for (int i = 0; i < 256; i++) pkt->data[i] = (uint8_t)i;
    if ((rc = avcodec_send_packet(dec, pkt)) < 0 || (rc = avcodec_receive_frame(dec, frame)) < 0) goto out;
    if (frame->format != AV_SAMPLE_FMT_S16 || frame->nb_samples != 256) {
        rc = AVERROR(EPROTO);
        goto out;
    }
    memcpy(table, frame->data[0], 256 * sizeof table[0]);
    rc = 0;
out:
    if (rc < 0) snprintf(err, errsize, "G.711 decoder: %s", av_err2str(rc));
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return rc;
}

static int encoder_open(struct audio_transcoder *t, char *err, size_t errsize)
{
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!c) {
        snprintf(err, errsize, "libavcodec has no aac encoder");
        return AVERROR(ENOSYS);
    }
    AVCodecContext *enc = avcodec_alloc_context3(c);
    if (!enc) return AVERROR(ENOMEM);
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = TRANSCODE_OUT_RATE;
    av_channel_layout_default(&enc->ch_layout, 1);
    enc->bit_rate = TRANSCODE_OUT_BITRATE;
    enc->time_base = (AVRational){1, TRANSCODE_OUT_RATE};
    /* Nothing above the input's Nyquist frequency exists: spend no bits on empty bands. */
    enc->cutoff = (int)(t->in_rate < TRANSCODE_OUT_RATE ? t->in_rate : TRANSCODE_OUT_RATE) / 2;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER; /* the AudioSpecificConfig in extradata */
    enc->log_level_offset = 8; /* its per-stream statistics at close ("Qavg") are not for the gateway's log */
    int rc = avcodec_open2(enc, c, NULL);
    if (rc < 0) {
        snprintf(err, errsize, "aac encoder: %s", av_err2str(rc));
    } else if (enc->frame_size != AAC_FRAME_SAMPLES || enc->extradata_size < 2 ||
               (size_t)enc->extradata_size > sizeof t->track.asc) {
        snprintf(err, errsize, "aac encoder: unexpected frame size %d / extradata %d bytes", enc->frame_size,
                 enc->extradata_size);
        rc = AVERROR(EPROTO);
    }
    if (rc < 0) {
        avcodec_free_context(&enc);
        return rc;
    }
    t->enc = enc;
    return 0;
}

/* Frees the encoder after draining it: what it still holds is stale by now, but draining keeps libavcodec
 * from warning about "frames left in the queue" on every stream close and resync. */
static void encoder_close(struct audio_transcoder *t)
{
    if (!t->enc) return;
    if (t->pkt && avcodec_send_frame(t->enc, NULL) == 0)
        while (avcodec_receive_packet(t->enc, t->pkt) == 0) av_packet_unref(t->pkt);
    avcodec_free_context(&t->enc);
}

/* Back to a clean pipeline: nothing buffered anywhere, the encoder as new. */
static int pipeline_restart(struct audio_transcoder *t)
{
    char err[128];
    av_audio_fifo_reset(t->fifo);
    swr_close(t->swr);
    int rc = swr_init(t->swr);
    encoder_close(t);
    if (rc >= 0) rc = encoder_open(t, err, sizeof err);
    t->needs_restart = rc < 0;
    if (rc < 0) log_error(MODULE, "cannot restart the audio transcoder: %s", av_err2str(rc));
    /* Same parameters, so the same AudioSpecificConfig: the track published at create stays true. */
    return rc;
}

struct audio_transcoder *audio_transcoder_create(enum codec_id in_codec, uint32_t in_rate,
                                                 uint8_t in_channels, char *err, size_t errsize)
{
    if (in_codec != CODEC_G711A && in_codec != CODEC_G711U) {
        snprintf(err, errsize, "cannot transcode %s to AAC (only G.711 A-law and mu-law)",
                 codec_name(in_codec));
        return NULL;
    }
    if (in_rate < TRANSCODE_MIN_IN_RATE || in_rate > TRANSCODE_MAX_IN_RATE || in_channels < 1 ||
        in_channels > TRANSCODE_MAX_CHANNELS) {
        snprintf(err, errsize, "unsupported audio %u Hz, %u channels", in_rate, in_channels);
        return NULL;
    }
    struct audio_transcoder *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errsize, "out of memory");
        return NULL;
    }
    t->in_codec = in_codec;
    t->in_rate = in_rate;
    t->in_channels = in_channels;
    t->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
    if (g711_table_build(in_codec, t->g711, err, errsize) < 0) goto fail;

    AVChannelLayout in_layout, out_layout;
    av_channel_layout_default(&in_layout, in_channels);
    av_channel_layout_default(&out_layout, 1);
    int rc = swr_alloc_set_opts2(&t->swr, &out_layout, AV_SAMPLE_FMT_FLTP, TRANSCODE_OUT_RATE, &in_layout,
                                 AV_SAMPLE_FMT_S16, (int)in_rate, 0, NULL);
    /* Stereo to mono as (L + R) / 2 rather than swr's default 0.707 * (L + R), which clips at full scale. */
    if (rc >= 0 && in_channels == 2) rc = av_opt_set_double(t->swr, "rematrix_maxval", 1.0, 0);
    if (rc >= 0) rc = swr_init(t->swr);
    if (rc < 0) {
        snprintf(err, errsize, "resampler: %s", av_err2str(rc));
        goto fail;
    }
    t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 1, FIFO_CAP);
    t->enc_frame = av_frame_alloc();
    t->pkt = av_packet_alloc();
    if (!t->fifo || !t->enc_frame || !t->pkt) {
        snprintf(err, errsize, "out of memory");
        goto fail;
    }
    if (encoder_open(t, err, errsize) < 0) goto fail;

    AVFrame *f = t->enc_frame;
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = TRANSCODE_OUT_RATE;
    f->nb_samples = AAC_FRAME_SAMPLES;
    av_channel_layout_default(&f->ch_layout, 1);
    if ((rc = av_frame_get_buffer(f, 0)) < 0) {
        snprintf(err, errsize, "encoder frame: %s", av_err2str(rc));
        goto fail;
    }

    t->track.codec = CODEC_AAC;
    t->track.sample_rate = TRANSCODE_OUT_RATE;
    t->track.channels = 1;
    t->track.asc_len = (uint8_t)t->enc->extradata_size;
    memcpy(t->track.asc, t->enc->extradata, t->track.asc_len);
    return t;
fail:
    audio_transcoder_destroy(t);
    return NULL;
}

void audio_transcoder_destroy(struct audio_transcoder *t)
{
    if (!t) return;
    encoder_close(t);
    av_frame_free(&t->enc_frame);
    av_packet_free(&t->pkt);
    if (t->fifo) av_audio_fifo_free(t->fifo);
    swr_free(&t->swr);
    free(t);
}

const struct media_track *audio_transcoder_track(const struct audio_transcoder *t)
{
    return &t->track;
}

void audio_transcoder_stats(const struct audio_transcoder *t, struct audio_transcoder_stats *out)
{
    *out = t->stats;
}

static int frame_check(const struct audio_transcoder *t, const struct media_frame *in)
{
    if (!in || !in->buf || in->codec != t->in_codec) return -EINVAL;
    if (in->len > TRANSCODE_MAX_INPUT) return -EMSGSIZE;
    if (in->len == 0 || in->len % t->in_channels != 0) return -EINVAL;
    if ((uint64_t)in->off + in->len > in->buf->cap) return -EINVAL;
    if (in->pts >= PTS_LIMIT || in->pts <= -PTS_LIMIT) return -EINVAL;
    return 0;
}

/* The 90 kHz time of the next sample to enter the pipeline, by sample count. */
static int64_t expected_pts(const struct audio_transcoder *t)
{
    return t->anchor_pts + (int64_t)(t->seg_in_samples * 90000 / t->in_rate);
}

/* True when pts does not continue the current segment (see transcode.h). */
static bool timeline_jumped(const struct audio_transcoder *t, int64_t pts)
{
    int64_t expected = expected_pts(t);
    return pts < t->last_in_pts || pts - expected > TRANSCODE_RESYNC_TICKS ||
           expected - pts > TRANSCODE_RESYNC_TICKS;
}

static void segment_start(struct audio_transcoder *t, int64_t pts)
{
    t->anchored = true;
    t->anchor_pts = pts;
    t->seg_in_samples = 0;
    t->seg_enc_samples = 0;
}

/* Copies the packet in t->pkt into a new frame and hands it over; the priming packet is dropped. */
static void emit_packet(struct audio_transcoder *t, void (*out)(void *arg, struct media_frame *frame),
                        void *arg)
{
    const AVPacket *p = t->pkt;
    if (p->pts < 0 || p->size <= 0) return;
    struct gbuf *b = gbuf_alloc(FRAME_HEADROOM + (size_t)p->size + FRAME_TAILROOM);
    memcpy(b->data + FRAME_HEADROOM, p->data, (size_t)p->size);
    int64_t pts = t->anchor_pts + p->pts * 90000 / TRANSCODE_OUT_RATE;
    struct media_frame f = {.buf = b,
                            .off = FRAME_HEADROOM,
                            .len = (uint32_t)p->size,
                            .codec = CODEC_AAC,
                            .pts = pts,
                            .dts = pts,
                            .key = true};
    t->stats.frames_out++;
    out(arg, &f);
}

/* Encodes every complete 1024-sample frame waiting in the FIFO. */
static int encode_ready(struct audio_transcoder *t, void (*out)(void *arg, struct media_frame *frame),
                        void *arg)
{
    while (av_audio_fifo_size(t->fifo) >= AAC_FRAME_SAMPLES) {
        AVFrame *f = t->enc_frame;
        int rc = av_frame_make_writable(f); /* a no-op: the encoder released it after the last send */
        if (rc < 0) return rc;
        if (av_audio_fifo_read(t->fifo, (void **)f->data, AAC_FRAME_SAMPLES) != AAC_FRAME_SAMPLES)
            return AVERROR(EIO);
        f->pts = t->seg_enc_samples;
        t->seg_enc_samples += AAC_FRAME_SAMPLES;
        if ((rc = avcodec_send_frame(t->enc, f)) < 0) return rc;
        while ((rc = avcodec_receive_packet(t->enc, t->pkt)) == 0) {
            emit_packet(t, out, arg);
            av_packet_unref(t->pkt);
        }
        if (rc != AVERROR(EAGAIN)) return rc;
    }
    return 0;
}

/* G.711 (or silence when g711 is NULL) -> S16 -> resampled float -> FIFO, for n samples per channel. */
static int convert_chunk(struct audio_transcoder *t, const uint8_t *g711, int n)
{
    int values = n * t->in_channels;
    if (g711)
        for (int i = 0; i < values; i++) t->pcm[i] = t->g711[g711[i]];
    else
        memset(t->pcm, 0, (size_t)values * sizeof t->pcm[0]);
    const uint8_t *in_planes[1] = {(const uint8_t *)t->pcm};
    uint8_t *out_planes[1] = {(uint8_t *)t->resampled};
    int got = swr_convert(t->swr, out_planes, RESAMPLED_CAP, in_planes, n);
    if (got < 0) return got;
    if (got > 0 && av_audio_fifo_write(t->fifo, (void **)out_planes, got) != got) return AVERROR(ENOMEM);
    return 0;
}

/* Runs `samples` samples per channel of G.711 (or of silence) through the pipeline, chunk by chunk. */
static int feed_samples(struct audio_transcoder *t, const uint8_t *g711, uint64_t samples,
                        void (*out)(void *arg, struct media_frame *frame), void *arg)
{
    while (samples > 0) {
        int n = samples < CHUNK_SAMPLES ? (int)samples : CHUNK_SAMPLES;
        int rc = convert_chunk(t, g711, n);
        if (rc >= 0) rc = encode_ready(t, out, arg);
        if (rc < 0) {
            t->needs_restart = true;
            if (log_ratelimit_ok(&t->rl, clock_mono_ms()))
                log_error(MODULE, "audio transcoding failed: %s", av_err2str(rc));
            return errno_of(rc);
        }
        if (g711) g711 += (size_t)n * t->in_channels;
        samples -= (uint64_t)n;
        t->seg_in_samples += (uint64_t)n;
    }
    return 0;
}

int audio_transcoder_input(struct audio_transcoder *t, const struct media_frame *in,
                           void (*out)(void *arg, struct media_frame *frame), void *arg)
{
    if (!t || !out) return -EINVAL;
    int rc = frame_check(t, in);
    if (rc < 0) {
        t->stats.bad_frames++;
        if (log_ratelimit_ok(&t->rl, clock_mono_ms()))
            log_warn(MODULE, "dropped a malformed %s frame (%u bytes): %s", codec_name(t->in_codec),
                     in ? in->len : 0, strerror(-rc));
        return rc;
    }
    if (t->needs_restart) {
        if ((rc = pipeline_restart(t)) < 0) return errno_of(rc);
        t->anchored = false;
    }
    uint64_t silence = 0;
    if (!t->anchored) {
        segment_start(t, in->pts);
    } else if (timeline_jumped(t, in->pts)) {
        t->stats.resyncs++;
        if (log_ratelimit_ok(&t->rl, clock_mono_ms()))
            log_info(MODULE, "audio timestamps jumped by %lld ms: restarting the AAC timeline",
                     (long long)((in->pts - expected_pts(t)) / 90));
        if ((rc = pipeline_restart(t)) < 0) return errno_of(rc);
        segment_start(t, in->pts);
    } else if (in->pts - expected_pts(t) > TRANSCODE_FILL_TICKS) {
        /* Audio went missing (lost packets): fill the hole so that what follows stays on time. */
        silence = (uint64_t)(in->pts - expected_pts(t)) * t->in_rate / 90000;
    }
    t->last_in_pts = in->pts;
    t->stats.frames_in++;
    t->stats.samples_in += in->len / t->in_channels;
    t->stats.samples_filled += silence;
    if ((rc = feed_samples(t, NULL, silence, out, arg)) < 0) return rc;
    return feed_samples(t, in->buf->data + in->off, in->len / t->in_channels, out, arg);
}
