/*
 * FFmpeg on first use (relay/av_lazy.h). Each FFmpeg function gbgate calls is listed once below, with its
 * prototype and argument list; the list generates the table of pointers, their resolution and the
 * definitions that stand in for FFmpeg's. A prototype that does not match FFmpeg's header is a compile error,
 * and a function left out of the list is a link error, so the list cannot drift from the code that uses it.
 */
#include "relay/av_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "common/clock.h"
#include "common/log.h"

#define MODULE "ffmpeg"

#define STR_(x) #x
#define STR(x)  STR_(x)
/* libavformat brings libavcodec and libavutil as its dependencies; dlsym on its handle searches them too */
static const char *const sonames[] = {
    "libavformat.so." STR(LIBAVFORMAT_VERSION_MAJOR),
    "libswresample.so." STR(LIBSWRESAMPLE_VERSION_MAJOR),
};
#define NLIBS (sizeof sonames / sizeof sonames[0])

/* F: a function that returns a value; V: a void function. (return type,) name, parameters, arguments. */
#define AV_FUNCTIONS(F, V)                                                                                   \
    /* the versions, for gbgate --version */                                                                 \
    F(unsigned, avformat_version, (void), ())                                                                \
    F(unsigned, avcodec_version, (void), ())                                                                 \
    F(unsigned, avutil_version, (void), ())                                                                  \
    F(unsigned, swresample_version, (void), ())                                                              \
    /* libavutil */                                                                                          \
    V(av_log_set_level, (int level), (level))                                                                \
    F(int, av_strerror, (int errnum, char *errbuf, size_t errbuf_size), (errnum, errbuf, errbuf_size))       \
    F(void *, av_mallocz, (size_t size), (size))                                                             \
    F(int, av_dict_set, (AVDictionary * *pm, const char *key, const char *value, int flags),                 \
      (pm, key, value, flags))                                                                               \
    V(av_dict_free, (AVDictionary * *m), (m))                                                                \
    F(int, av_opt_set_double, (void *obj, const char *name, double val, int search_flags),                   \
      (obj, name, val, search_flags))                                                                        \
    V(av_channel_layout_default, (AVChannelLayout * ch_layout, int nb_channels), (ch_layout, nb_channels))   \
    F(AVFrame *, av_frame_alloc, (void), ())                                                                 \
    V(av_frame_free, (AVFrame * *frame), (frame))                                                            \
    F(int, av_frame_get_buffer, (AVFrame * frame, int align), (frame, align))                                \
    F(int, av_frame_make_writable, (AVFrame * frame), (frame))                                               \
    F(AVAudioFifo *, av_audio_fifo_alloc, (enum AVSampleFormat sample_fmt, int channels, int nb_samples),    \
      (sample_fmt, channels, nb_samples))                                                                    \
    V(av_audio_fifo_free, (AVAudioFifo * af), (af))                                                          \
    F(int, av_audio_fifo_read, (AVAudioFifo * af, void **data, int nb_samples), (af, data, nb_samples))      \
    F(int, av_audio_fifo_write, (AVAudioFifo * af, void **data, int nb_samples), (af, data, nb_samples))     \
    V(av_audio_fifo_reset, (AVAudioFifo * af), (af))                                                         \
    F(int, av_audio_fifo_size, (AVAudioFifo * af), (af))                                                     \
    /* libavcodec */                                                                                         \
    F(AVPacket *, av_packet_alloc, (void), ())                                                               \
    V(av_packet_free, (AVPacket * *pkt), (pkt))                                                              \
    V(av_packet_unref, (AVPacket * pkt), (pkt))                                                              \
    F(int, av_new_packet, (AVPacket * pkt, int size), (pkt, size))                                           \
    V(av_packet_rescale_ts, (AVPacket * pkt, AVRational tb_src, AVRational tb_dst), (pkt, tb_src, tb_dst))   \
    F(const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id))                                      \
    F(const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id))                                      \
    F(AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec))                             \
    V(avcodec_free_context, (AVCodecContext * *avctx), (avctx))                                              \
    F(int, avcodec_open2, (AVCodecContext * avctx, const AVCodec *codec, AVDictionary **options),            \
      (avctx, codec, options))                                                                               \
    F(int, avcodec_send_packet, (AVCodecContext * avctx, const AVPacket *avpkt), (avctx, avpkt))             \
    F(int, avcodec_receive_frame, (AVCodecContext * avctx, AVFrame * frame), (avctx, frame))                 \
    F(int, avcodec_send_frame, (AVCodecContext * avctx, const AVFrame *frame), (avctx, frame))               \
    F(int, avcodec_receive_packet, (AVCodecContext * avctx, AVPacket * avpkt), (avctx, avpkt))               \
    /* libavformat */                                                                                        \
    F(int, avformat_network_init, (void), ())                                                                \
    F(int, avformat_alloc_output_context2,                                                                   \
      (AVFormatContext * *ctx, const AVOutputFormat *oformat, const char *format_name,                       \
       const char *filename),                                                                                \
      (ctx, oformat, format_name, filename))                                                                 \
    V(avformat_free_context, (AVFormatContext * s), (s))                                                     \
    F(AVStream *, avformat_new_stream, (AVFormatContext * s, const AVCodec *c), (s, c))                      \
    F(int, avformat_write_header, (AVFormatContext * s, AVDictionary * *options), (s, options))              \
    F(int, av_interleaved_write_frame, (AVFormatContext * s, AVPacket * pkt), (s, pkt))                      \
    F(int, av_write_trailer, (AVFormatContext * s), (s))                                                     \
    F(int, avio_open2,                                                                                       \
      (AVIOContext * *s, const char *url, int flags, const AVIOInterruptCB *int_cb, AVDictionary **options), \
      (s, url, flags, int_cb, options))                                                                      \
    F(int, avio_closep, (AVIOContext * *s), (s))                                                             \
    V(avio_write, (AVIOContext * s, const unsigned char *buf, int size), (s, buf, size))                     \
    V(avio_flush, (AVIOContext * s), (s))                                                                    \
    F(int64_t, avio_seek, (AVIOContext * s, int64_t offset, int whence), (s, offset, whence))                \
    /* libswresample */                                                                                      \
    F(int, swr_alloc_set_opts2,                                                                              \
      (struct SwrContext * *ps, AVChannelLayout * out_ch_layout, enum AVSampleFormat out_sample_fmt,         \
       int out_sample_rate, AVChannelLayout *in_ch_layout, enum AVSampleFormat in_sample_fmt,                \
       int in_sample_rate, int log_offset, void *log_ctx),                                                   \
      (ps, out_ch_layout, out_sample_fmt, out_sample_rate, in_ch_layout, in_sample_fmt, in_sample_rate,      \
       log_offset, log_ctx))                                                                                 \
    F(int, swr_init, (struct SwrContext * s), (s))                                                           \
    V(swr_close, (struct SwrContext * s), (s))                                                               \
    V(swr_free, (struct SwrContext * *s), (s))                                                               \
    F(int, swr_convert,                                                                                      \
      (struct SwrContext * s, uint8_t * *out, int out_count, const uint8_t **in, int in_count),              \
      (s, out, out_count, in, in_count))

#define FIELD_F(ret, name, params, args) ret(*name) params;
#define FIELD_V(name, params, args)      void(*name) params;
static struct {
    AV_FUNCTIONS(FIELD_F, FIELD_V)
} fn;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static atomic_bool loaded;

/* The symbol from the first library that has it (a handle's lookup covers its dependencies). */
static void *find(void *const *handles, const char *name)
{
    for (size_t i = 0; i < NLIBS; i++) {
        void *p = dlsym(handles[i], name);
        if (p) return p;
    }
    return NULL;
}

static void fail(const char *what, const char *detail)
{
    log_error(MODULE,
              "cannot load FFmpeg: %s (%s); gbgate needs the libavformat, libavcodec, libavutil and "
              "libswresample packages it was built against",
              what, detail ? detail : "?");
    fprintf(stderr, "gbgate: cannot load FFmpeg: %s (%s)\n", what, detail ? detail : "?");
    abort();
}

static void load(void)
{
    uint64_t t0 = clock_mono_us();
    void *handles[NLIBS];
    for (size_t i = 0; i < NLIBS; i++) {
        handles[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
        if (!handles[i]) fail(sonames[i], dlerror());
    }
    /* POSIX's way to store dlsym's result in a function pointer: through a void * lvalue */
#define RESOLVE_F(ret, name, params, args)                                                                   \
    if (!(*(void **)&fn.name = find(handles, #name))) fail("missing symbol " #name, sonames[0]);
#define RESOLVE_V(name, params, args) RESOLVE_F(void, name, params, args)
    AV_FUNCTIONS(RESOLVE_F, RESOLVE_V)
    /* straight through the pointers: the stand-ins below would wait on this very load */
    fn.av_log_set_level(AV_LOG_ERROR); /* libav's chatter is not ours to print; errors still are */
    fn.avformat_network_init();        /* RTMP push (TLS libraries' global state) */
    atomic_store_explicit(&loaded, true, memory_order_release);
    log_info(MODULE, "libraries loaded on first use in %.1f ms", (double)(clock_mono_us() - t0) / 1000);
}

void av_lazy_describe(char *out, size_t size)
{
    unsigned v[] = {avformat_version(), avcodec_version(), avutil_version(), swresample_version()};
    const char *names[] = {"libavformat", "libavcodec", "libavutil", "libswresample"};
    size_t used = 0;
    for (size_t i = 0; i < sizeof v / sizeof v[0] && used < size; i++)
        used += (size_t)snprintf(out + used, size - used, "%s%s %u.%u.%u", i ? ", " : "", names[i],
                                 v[i] >> 16, (v[i] >> 8) & 0xff, v[i] & 0xff);
}

bool av_lazy_loaded(void)
{
    return atomic_load_explicit(&loaded, memory_order_acquire);
}

void av_lazy_load(void)
{
    if (!av_lazy_loaded()) pthread_once(&load_once, load);
}

static void *load_thread(void *arg)
{
    av_lazy_load();
    return arg;
}

void av_lazy_load_async(void)
{
    static atomic_flag started = ATOMIC_FLAG_INIT;
    if (av_lazy_loaded() || atomic_flag_test_and_set(&started)) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, load_thread, NULL) != 0) {
        log_warn(MODULE, "no thread to load FFmpeg on: loading on this one");
        av_lazy_load();
    }
    pthread_attr_destroy(&attr);
}

/* The stand-ins for FFmpeg's functions: load on first use, then call through. */
#define DEFINE_F(ret, name, params, args)                                                                    \
    ret name params                                                                                          \
    {                                                                                                        \
        av_lazy_load();                                                                                      \
        return fn.name args;                                                                                 \
    }
#define DEFINE_V(name, params, args)                                                                         \
    void name params                                                                                         \
    {                                                                                                        \
        av_lazy_load();                                                                                      \
        fn.name args;                                                                                        \
    }
AV_FUNCTIONS(DEFINE_F, DEFINE_V)
