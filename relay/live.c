/*
 * FLV fan-out of one stream. Each frame becomes one FLV tag in its own buffer (relay/flv.h builds it in
 * place) and that tag is referenced by the GOP cache and by every viewer's queue: the per-viewer cost of a
 * frame is one reference and a queue slot.
 */
#include "relay/live.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "media/timescale.h"
#include "relay/av_lazy.h"
#include "relay/transcode.h"

#define MODULE "live"

struct live {
    struct worker *w;
    char id[STREAM_ID_MAX + 1];
    struct media_track video, audio;
    bool has_video, has_audio;
    struct flv_tag vseq, aseq, meta;
    bool ts_base_set;
    int64_t ts_base;
    int64_t last_video_ts, last_audio_ts;
    bool scaled; /* playback at a speed: timestamps rescaled (media/timescale.h) */
    struct timescale scale;

    struct flv_tag *gop;
    size_t gop_n, gop_cap, gop_bytes, gop_max_bytes;
    bool gop_cache;

    struct viewer *viewers;
    int nviewers;
    uint64_t viewers_total, viewer_bytes_closed, tags_unsupported;
    bool closed;
    bool started;                        /* the first keyframe (or audio-only frame) went out */
    struct audio_transcoder *transcoder; /* G.711 -> AAC for browsers, once per stream */
    bool transcode_failed;
    /* G.711 that came before FFmpeg was loaded (relay/av_lazy.h): the track and its frames wait, in order,
     * while a helper thread loads it, so this worker never blocks on dlopen */
    bool transcode_waiting;
    enum codec_id waiting_codec;
    uint32_t waiting_rate;
    uint8_t waiting_channels;
    struct media_frame *held; /* HELD_FRAMES_MAX slots, allocated on first use */
    size_t held_n;
    uint64_t held_total;
    bool held_overflowed; /* logged once: a load that never ends must not flood the log */
};

/* ~1.3 s of 20 ms G.711 frames: loading takes 40-70 ms, so only a machine far behind drops the oldest */
#define HELD_FRAMES_MAX 64

static void (*viewers_hook)(const char *id, int viewers);
static void (*first_frame_hook)(const char *id);

void live_set_first_frame_hook(void (*fn)(const char *id))
{
    first_frame_hook = fn;
}

void live_set_viewers_hook(void (*fn)(const char *id, int viewers))
{
    viewers_hook = fn;
}

struct live *live_create(struct worker *w, const char *id)
{
    const struct gb_config *cfg = worker_config();
    struct live *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->w = w;
    snprintf(l->id, sizeof l->id, "%s", id);
    l->gop_cache = cfg->stream.gop_cache;
    l->gop_max_bytes = (size_t)cfg->stream.gop_cache_max_kb * 1024;
    return l;
}

struct live *live_find(struct worker *w, const char *id)
{
    struct stream *s = worker_find_stream(w, id);
    return s ? stream_sink(s) : NULL;
}

/* Bytes held by every stream's GOP cache, for /metrics: the memory target is stated against it. */
static atomic_uint_fast64_t gop_bytes_all;

static void gop_clear(struct live *l)
{
    for (size_t i = 0; i < l->gop_n; i++) flv_tag_release(&l->gop[i]);
    atomic_fetch_sub_explicit(&gop_bytes_all, l->gop_bytes, memory_order_relaxed);
    l->gop_n = 0;
    l->gop_bytes = 0;
}

static void gop_push(struct live *l, const struct flv_tag *t)
{
    if (l->gop_bytes + t->len > l->gop_max_bytes) return; /* a pathological GOP: stop caching, keep serving */
    if (l->gop_n == l->gop_cap) {
        size_t ncap = l->gop_cap ? l->gop_cap * 2 : 128;
        struct flv_tag *n = realloc(l->gop, ncap * sizeof *n);
        if (!n) return;
        l->gop = n;
        l->gop_cap = ncap;
    }
    /* A reference, never a copy: video frames share chunks sized for them (media/video_au.h), so a frame
     * held for a whole GOP carries no slack of its own. */
    l->gop[l->gop_n] = *t;
    gbuf_ref(t->buf);
    l->gop_n++;
    l->gop_bytes += t->len;
    atomic_fetch_add_explicit(&gop_bytes_all, t->len, memory_order_relaxed);
}

static void gauge(struct sbuf *b, const char *name, const char *help, const char *type)
{
    sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void live_memory_metrics(struct sbuf *b)
{
    struct gbuf_global_stats g;
    gbuf_global_stats(&g);
    struct mallinfo2 mi = mallinfo2();
    gauge(b, "gbgate_gop_cache_bytes", "FLV bytes held by the GOP caches of all streams", "gauge");
    sbuf_printf(b, "gbgate_gop_cache_bytes %llu\n",
                (unsigned long long)atomic_load_explicit(&gop_bytes_all, memory_order_relaxed));
    gauge(b, "gbgate_buffer_bytes",
          "frame and tag buffers in use (GOP caches, queues, frames being built) or pooled", "gauge");
    sbuf_printf(b, "gbgate_buffer_bytes{state=\"in_use\"} %llu\ngbgate_buffer_bytes{state=\"pooled\"} %llu\n",
                (unsigned long long)g.in_use, (unsigned long long)g.pooled);
    gauge(b, "gbgate_buffer_allocs_total", "buffer allocations by where the memory came from", "counter");
    sbuf_printf(b,
                "gbgate_buffer_allocs_total{source=\"pool\"} %llu\n"
                "gbgate_buffer_allocs_total{source=\"malloc\"} %llu\n",
                (unsigned long long)g.pool_hits, (unsigned long long)g.mallocs);
    gauge(b, "gbgate_ffmpeg_loaded", "1 once FFmpeg's libraries are loaded (on first use, relay/av_lazy.h)",
          "gauge");
    sbuf_printf(b, "gbgate_ffmpeg_loaded %d\n", av_lazy_loaded());
    gauge(b, "gbgate_malloc_bytes", "the C heap (mallinfo2): allocated, free inside the arenas, mmapped",
          "gauge");
    sbuf_printf(b,
                "gbgate_malloc_bytes{state=\"in_use\"} %zu\ngbgate_malloc_bytes{state=\"free\"} %zu\n"
                "gbgate_malloc_bytes{state=\"mmap\"} %zu\n",
                mi.uordblks, mi.fordblks, mi.hblkhd);
}

static enum flv_hevc_mode hevc_mode(void)
{
    return worker_config()->stream.hevc_flv == HEVC_FLV_LEGACY12 ? FLV_HEVC_LEGACY12 : FLV_HEVC_ENHANCED;
}

static void start_viewer(struct live *l, struct viewer *v)
{
    uint8_t hdr[13];
    flv_file_header(hdr, l->has_video, l->has_audio);
    viewer_push_bytes(v, hdr, sizeof hdr, true);
    if (l->meta.buf) viewer_push_header(v, &l->meta);
    if (l->vseq.buf) viewer_push_header(v, &l->vseq);
    if (l->aseq.buf) viewer_push_header(v, &l->aseq);
    v->started = true;
    for (size_t i = 0; i < l->gop_n; i++) viewer_push_tag(v, &l->gop[i]);
}

static void rebuild_metadata(struct live *l)
{
    flv_tag_release(&l->meta);
    flv_metadata(l->has_video ? &l->video : NULL, l->has_audio ? &l->audio : NULL, hevc_mode(), &l->meta);
}

/* `header`: a sequence header, which the viewers' skip policy must never drop (viewer_push_header). */
static void broadcast(struct live *l, const struct flv_tag *t, bool header)
{
    for (struct viewer *v = l->viewers; v; v = v->next) {
        if (!v->started) continue;
        if (header)
            viewer_push_header(v, t);
        else
            viewer_push_tag(v, t);
    }
}

static bool same_params(const struct media_track *a, const struct media_track *b)
{
    return a->codec == b->codec && a->sps_len == b->sps_len && a->pps_len == b->pps_len &&
           a->vps_len == b->vps_len && !memcmp(a->sps, b->sps, a->sps_len) &&
           !memcmp(a->pps, b->pps, a->pps_len) && !memcmp(a->vps, b->vps, a->vps_len) &&
           a->sample_rate == b->sample_rate && a->channels == b->channels && a->asc_len == b->asc_len &&
           !memcmp(a->asc, b->asc, a->asc_len);
}

static uint32_t current_ts(struct live *l)
{
    int64_t ts = l->last_video_ts > l->last_audio_ts ? l->last_video_ts : l->last_audio_ts;
    return ts > 0 ? (uint32_t)ts : 0;
}

static bool wants_transcode(const struct media_track *t)
{
    return codec_is_g711(t->codec) && worker_config()->stream.audio_transcode != AUDIO_TRANSCODE_OFF;
}

static void wait_for_ffmpeg(struct live *l, const struct media_track *in)
{
    if (!l->transcode_waiting)
        log_info(MODULE, "[%s] %s held until FFmpeg is loaded (first use), then transcoded to AAC", l->id,
                 codec_name(in->codec));
    l->transcode_waiting = true;
    l->waiting_codec = in->codec;
    l->waiting_rate = in->sample_rate;
    l->waiting_channels = in->channels;
    av_lazy_load_async();
}

/* Keeps a G.711 frame (its buffer reference moves here) until FFmpeg is loaded; full: the oldest goes. */
static void hold_frame(struct live *l, struct media_frame *f)
{
    if (!l->held && !(l->held = malloc(HELD_FRAMES_MAX * sizeof *l->held))) {
        media_frame_release(f);
        return;
    }
    if (l->held_n == HELD_FRAMES_MAX) {
        media_frame_release(&l->held[0]);
        memmove(l->held, l->held + 1, (HELD_FRAMES_MAX - 1) * sizeof *l->held);
        l->held_n--;
        if (!l->held_overflowed)
            log_warn(MODULE, "[%s] FFmpeg still loading: the oldest held audio frames are dropped", l->id);
        l->held_overflowed = true;
    }
    l->held[l->held_n++] = *f;
    l->held_total++;
    f->buf = NULL;
}

static void release_held(struct live *l)
{
    for (size_t i = 0; i < l->held_n; i++) media_frame_release(&l->held[i]);
    free(l->held);
    l->held = NULL;
    l->held_n = 0;
}

static void live_on_track(void *sink, const struct media_track *in);
static void live_on_frame(void *sink, struct media_frame *f);

/* FFmpeg is loaded: the track gets its transcoder (viewers see AAC), the held frames go through it. */
static void resume_transcode(struct live *l)
{
    l->transcode_waiting = false;
    struct media_track t = {
        .codec = l->waiting_codec, .sample_rate = l->waiting_rate, .channels = l->waiting_channels};
    live_on_track(l, &t);
    for (size_t i = 0; i < l->held_n; i++) live_on_frame(l, &l->held[i]);
    l->held_n = 0; /* live_on_frame took each frame's reference */
    release_held(l);
}

static void live_on_track(void *sink, const struct media_track *in)
{
    struct live *l = sink;
    const struct media_track *t = in;
    if (wants_transcode(in) && !l->transcode_failed) {
        if (!l->transcoder && !av_lazy_loaded()) {
            wait_for_ffmpeg(l, in);
            return;
        }
        if (!l->transcoder) {
            char err[128];
            l->transcoder = audio_transcoder_create(in->codec, in->sample_rate ? in->sample_rate : 8000,
                                                    in->channels ? in->channels : 1, err, sizeof err);
            if (!l->transcoder) {
                l->transcode_failed = true;
                log_warn(MODULE, "[%s] cannot transcode %s to AAC (%s): passing it through", l->id,
                         codec_name(in->codec), err);
            }
        }
        if (l->transcoder) t = audio_transcoder_track(l->transcoder); /* viewers see AAC */
    }
    bool video = codec_is_video(t->codec);
    struct media_track *cur = video ? &l->video : &l->audio;
    bool *has = video ? &l->has_video : &l->has_audio;
    if (*has && same_params(cur, t)) return;
    *cur = *t;
    *has = true;
    struct flv_tag *seq = video ? &l->vseq : &l->aseq;
    flv_tag_release(seq);
    int rc = video ? flv_video_sequence_header(t, current_ts(l), hevc_mode(), seq)
                   : flv_audio_sequence_header(t, current_ts(l), seq);
    if (rc != 0) seq->buf = NULL; /* codecs without a sequence header (G.711) */
    rebuild_metadata(l);
    if (seq->buf) broadcast(l, seq, true);
}

static void emit_frame(struct live *l, struct media_frame *f);

static void on_transcoded(void *arg, struct media_frame *f)
{
    emit_frame(arg, f);
}

static void live_on_frame(void *sink, struct media_frame *f)
{
    struct live *l = sink;
    if (l->transcode_waiting && codec_is_g711(f->codec)) {
        if (!av_lazy_loaded()) {
            hold_frame(l, f);
            return;
        }
        resume_transcode(l);
    }
    if (l->transcoder && codec_is_g711(f->codec)) {
        audio_transcoder_input(l->transcoder, f, on_transcoded, l); /* bad input is counted inside */
        media_frame_release(f);
        return;
    }
    emit_frame(l, f);
}

static void emit_frame(struct live *l, struct media_frame *f)
{
    bool video = codec_is_video(f->codec);
    if (!l->ts_base_set) {
        l->ts_base = f->dts;
        l->ts_base_set = true;
    }
    int64_t dts = l->scaled ? timescale_map(&l->scale, f->dts) : f->dts;
    int64_t ts = (dts - l->ts_base) / 90;
    if (ts < 0) ts = 0;
    int64_t cts90 = f->pts - f->dts;
    int32_t cts = (int32_t)((l->scaled ? timescale_duration(&l->scale, cts90) : cts90) / 90);
    struct flv_tag tag;
    if (flv_tag_from_frame(f, (uint32_t)ts, cts, hevc_mode(), &tag) != 0) {
        l->tags_unsupported++;
        media_frame_release(f);
        return;
    }
    if (video)
        l->last_video_ts = ts;
    else
        l->last_audio_ts = ts;

    bool video_key = video && tag.key;
    if (video_key) {
        gop_clear(l);
        /* viewers that joined before the first keyframe start here */
        for (struct viewer *v = l->viewers; v; v = v->next)
            if (!v->started) start_viewer(l, v);
    }
    if (l->gop_cache && (video_key || l->gop_n > 0)) gop_push(l, &tag);
    if (!l->has_video && !video) {
        /* audio-only: viewers start on any frame */
        for (struct viewer *v = l->viewers; v; v = v->next)
            if (!v->started) start_viewer(l, v);
    }
    broadcast(l, &tag, false);
    flv_tag_release(&tag);
    if (!l->started && (video_key || (!l->has_video && !video))) {
        l->started = true;
        if (first_frame_hook) first_frame_hook(l->id);
    }
}

static void live_on_close(void *sink, const char *reason)
{
    struct live *l = sink;
    l->closed = true;
    while (l->viewers) {
        struct viewer *v = l->viewers;
        live_remove_viewer(l, v);
        viewer_finish(v, reason);
    }
    gop_clear(l);
    free(l->gop);
    audio_transcoder_destroy(l->transcoder);
    release_held(l);
    flv_tag_release(&l->vseq);
    flv_tag_release(&l->aseq);
    flv_tag_release(&l->meta);
    free(l);
}

static void live_fill_stats(void *sink, struct stream_stats *st)
{
    struct live *l = sink;
    st->viewers = (uint32_t)l->nviewers;
    st->viewers_total = l->viewers_total;
    uint64_t bytes = l->viewer_bytes_closed, dropped = 0;
    for (struct viewer *v = l->viewers; v; v = v->next) {
        bytes += v->bytes_sent;
        dropped += v->tags_dropped;
    }
    st->viewer_bytes = bytes;
    st->viewers_dropped_frames = dropped;
    if (l->transcoder) {
        struct audio_transcoder_stats ts;
        audio_transcoder_stats(l->transcoder, &ts);
        st->audio_transcode_in = ts.frames_in;
        st->audio_transcode_out = ts.frames_out;
    }
    st->audio_held = l->held_total;
}

const struct stream_sink_ops live_sink_ops = {live_on_track, live_on_frame, live_on_close, live_fill_stats};

void live_add_viewer(struct live *l, struct viewer *v)
{
    v->live = l;
    v->next = l->viewers;
    v->prev = NULL;
    if (l->viewers) l->viewers->prev = v;
    l->viewers = v;
    l->nviewers++;
    l->viewers_total++;
    bool ready = l->gop_n > 0 || (!l->has_video && l->has_audio);
    if (ready) start_viewer(l, v);
    log_info(MODULE, "[%s] %s viewer %s joined (%d watching)%s", l->id, v->kind, v->peer, l->nviewers,
             ready ? "" : ", waiting for the first keyframe");
    if (viewers_hook) viewers_hook(l->id, l->nviewers);
}

void live_remove_viewer(struct live *l, struct viewer *v)
{
    if (v->live != l) return;
    if (v->prev)
        v->prev->next = v->next;
    else
        l->viewers = v->next;
    if (v->next) v->next->prev = v->prev;
    v->live = NULL;
    l->nviewers--;
    l->viewer_bytes_closed += v->bytes_sent;
    if (viewers_hook && !l->closed) viewers_hook(l->id, l->nviewers);
}

void live_set_speed(struct live *l, uint32_t speed_milli, bool discontinuity)
{
    if (!l->scaled) timescale_init(&l->scale);
    l->scaled = true;
    timescale_set_speed(&l->scale, speed_milli);
    if (discontinuity) timescale_discontinuity(&l->scale);
}

int live_viewer_count(const struct live *l)
{
    return l->nviewers;
}

void live_viewer_closed(struct viewer *v)
{
    if (v->live) live_remove_viewer(v->live, v);
}
