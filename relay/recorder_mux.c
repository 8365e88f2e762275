/*
 * FLV tags -> MP4 (API and policy in recorder_mux.h). Each FLV tag becomes one AVPacket (its payload copied
 * once: the tag buffers belong to the stream's worker), written with av_interleaved_write_frame so that audio
 * and video chunks alternate in the file. One packet per track is kept back until the next one arrives so
 * that its duration is known exactly (the last sample of a track would otherwise last 0 ms).
 */
#include "relay/recorder_mux.h"

#include <errno.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "relay/flv.h"
#include "relay/flv_reader.h"

#define MODULE           "record"
#define HOLD_MAX_BYTES   (64u << 20) /* held before the header at most (a huge first GOP starts early) */
#define DISCONTINUITY_MS 1000        /* a backward jump larger than this is a clock restart */
#define ASC_MAX          64
#define TRACK_VIDEO      0
#define TRACK_AUDIO      1
#define TIME_BASE_MS     ((AVRational){1, 1000})
#define FOURCC_TAG(a, b, c, d)                                                                               \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

struct held_pkt {
    AVPacket *pkt;
    int track;
};

struct track_state {
    int index; /* stream index in the file, -1 when absent */
    AVPacket *pending;
    int64_t last_dts, last_dur;
    bool any;
};

struct rec_mux {
    AVFormatContext *oc;
    struct flv_reader *reader;
    struct rec_mux_options opt;
    char log_name[112], title[96];
    int error; /* sticky: negative errno / AVERROR */
    char errmsg[160];
    bool full; /* max_bytes reached */

    /* what the stream announced */
    enum codec_id vcodec;
    uint8_t *vextra;
    size_t vextra_len;
    int width, height;
    uint8_t asc[ASC_MAX];
    size_t asc_len;
    uint32_t sample_rate;
    uint8_t channels;
    bool logged_vchange, logged_achange, logged_audio_codec, logged_video_codec, logged_late_track;

    /* before the header */
    bool started, anchored;
    int64_t anchor_ts, first_held_ts, last_seen_ts;
    struct held_pkt *held;
    size_t nheld, held_cap, held_bytes;

    /* after */
    int64_t base_ts, offset;
    struct track_state tr[2];
    struct rec_mux_stats stats;
};

static void set_error(struct rec_mux *m, int rc, const char *what)
{
    if (m->error) return;
    m->error = rc;
    char reason[96];
    if (rc == -EFBIG)
        snprintf(reason, sizeof reason, "file size limit reached");
    else
        av_strerror(rc, reason, sizeof reason);
    snprintf(m->errmsg, sizeof m->errmsg, "%s: %s", what, reason);
}

static void copy_error(const struct rec_mux *m, char *err, size_t errsize)
{
    if (err && errsize) snprintf(err, errsize, "%s", m->errmsg);
}

/* ---- writing ---- */

static void flush_pending(struct rec_mux *m, struct track_state *t, int64_t duration)
{
    AVPacket *pkt = t->pending;
    t->pending = NULL;
    if (!pkt) return;
    pkt->duration = duration > 0 ? duration : 1;
    int64_t end = pkt->dts + pkt->duration;
    if (end > (int64_t)m->stats.duration_ms) m->stats.duration_ms = (uint64_t)end;
    if (t == &m->tr[TRACK_VIDEO])
        m->stats.video_frames++;
    else
        m->stats.audio_frames++;
    AVStream *st = m->oc->streams[t->index];
    pkt->stream_index = t->index;
    av_packet_rescale_ts(pkt, TIME_BASE_MS, st->time_base);
    int rc = m->error ? 0 : av_interleaved_write_frame(m->oc, pkt);
    av_packet_free(&pkt);
    if (rc < 0) set_error(m, rc, "write");
    int64_t pos = m->oc->pb ? avio_tell(m->oc->pb) : 0;
    if (pos > 0) m->stats.bytes = (uint64_t)pos;
    if (m->oc->pb && m->oc->pb->error < 0) set_error(m, m->oc->pb->error, "write");
    if (m->opt.max_bytes && m->stats.bytes >= m->opt.max_bytes) m->full = true;
}

/* A packet with FLV timestamps (ms) after the header: rebased, made strictly increasing per track, written
 * once the next packet of its track gives its duration. Takes the packet. */
static void write_packet(struct rec_mux *m, AVPacket *pkt, int track)
{
    struct track_state *t = &m->tr[track];
    int64_t cts = pkt->pts - pkt->dts;
    int64_t dts = pkt->dts - m->base_ts + m->offset;
    if (t->index < 0 || (!t->any && dts < 0)) { /* no such track, or from before the first keyframe */
        m->stats.skipped++;
        av_packet_free(&pkt);
        return;
    }
    if (t->any && dts <= t->last_dts) {
        if (t->last_dts - dts > DISCONTINUITY_MS) {
            /* the stream's clock went back: continue the file's timeline where it was */
            int64_t step = t->last_dur > 0 ? t->last_dur : 1;
            m->offset += t->last_dts + step - dts;
            dts = t->last_dts + step;
            log_info(MODULE, "%s: timestamps jumped back, continuing the timeline", m->log_name);
        } else {
            dts = t->last_dts + 1;
        }
    }
    pkt->dts = dts;
    pkt->pts = dts + (cts > 0 ? cts : 0);
    if (t->pending) {
        t->last_dur = dts - t->pending->dts;
        flush_pending(m, t, t->last_dur);
    }
    t->pending = pkt;
    t->last_dts = dts;
    t->any = true;
}

static int add_stream(struct rec_mux *m, int track)
{
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st) return AVERROR(ENOMEM);
    AVCodecParameters *par = st->codecpar;
    const uint8_t *extra = track == TRACK_VIDEO ? m->vextra : m->asc;
    size_t len = track == TRACK_VIDEO ? m->vextra_len : m->asc_len;
    par->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata) return AVERROR(ENOMEM);
    memcpy(par->extradata, extra, len);
    par->extradata_size = (int)len;
    if (track == TRACK_VIDEO) {
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = m->vcodec == CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
        /* hvc1 rather than hev1: what Apple players require; decoders also accept in-band parameter sets */
        if (m->vcodec == CODEC_H265) par->codec_tag = FOURCC_TAG('h', 'v', 'c', '1');
        par->width = m->width;
        par->height = m->height;
        m->stats.vcodec = m->vcodec == CODEC_H265 ? "hevc" : "h264";
        m->stats.width = m->width;
        m->stats.height = m->height;
    } else {
        par->codec_type = AVMEDIA_TYPE_AUDIO;
        par->codec_id = AV_CODEC_ID_AAC;
        par->sample_rate = (int)(m->sample_rate ? m->sample_rate : 44100);
        av_channel_layout_default(&par->ch_layout, m->channels ? m->channels : 2);
        par->frame_size = 1024;
        m->stats.acodec = "aac";
    }
    st->time_base = TIME_BASE_MS;
    m->tr[track].index = st->index;
    return 0;
}

/* Writes the header with the tracks known now, then what was held. */
static void start_file(struct rec_mux *m)
{
    bool video = m->anchored && m->vextra;
    bool audio = m->asc_len > 0;
    bool audio_held = false;
    for (size_t i = 0; i < m->nheld; i++) audio_held |= m->held[i].track == TRACK_AUDIO;
    if (!video && !(audio && audio_held)) return; /* nothing recordable yet */
    int rc = 0;
    if (video) rc = add_stream(m, TRACK_VIDEO);
    if (!rc && audio) rc = add_stream(m, TRACK_AUDIO);
    AVDictionary *opts = NULL;
    if (m->opt.faststart) av_dict_set(&opts, "movflags", "+faststart", 0);
    if (m->title[0]) av_dict_set(&m->oc->metadata, "title", m->title, 0);
    if (!rc) rc = avformat_write_header(m->oc, &opts);
    av_dict_free(&opts);
    m->started = true;
    if (rc < 0) {
        set_error(m, rc, "MP4 header");
        return;
    }
    m->base_ts = video ? m->anchor_ts : m->first_held_ts;
    if (!video) {
        for (size_t i = 0; i < m->nheld; i++) /* audio-only: start at the first audio frame */
            if (m->held[i].track == TRACK_AUDIO) {
                m->base_ts = m->held[i].pkt->dts;
                break;
            }
    }
    log_info(MODULE, "%s: MP4 started (%s%s%s)", m->log_name, video ? m->stats.vcodec : "",
             video && audio ? " + " : "", audio ? "aac" : "");
    if (!audio && !m->logged_audio_codec)
        log_info(MODULE, "%s: no AAC audio yet: the file has no audio track", m->log_name);
    for (size_t i = 0; i < m->nheld; i++) write_packet(m, m->held[i].pkt, m->held[i].track);
    m->nheld = m->held_bytes = 0;
}

/* Drops held audio older than REC_MUX_HOLD_MS before the newest (waiting for a video keyframe). */
static void trim_held_audio(struct rec_mux *m)
{
    size_t out = 0;
    for (size_t i = 0; i < m->nheld; i++) {
        struct held_pkt *h = &m->held[i];
        if (h->track == TRACK_AUDIO && h->pkt->dts < m->last_seen_ts - REC_MUX_HOLD_MS) {
            m->held_bytes -= (size_t)h->pkt->size;
            av_packet_free(&h->pkt);
            m->stats.skipped++;
            continue;
        }
        m->held[out++] = *h;
    }
    m->nheld = out;
    m->first_held_ts = out ? m->held[0].pkt->dts : m->last_seen_ts;
}

static void maybe_start(struct rec_mux *m, bool at_end)
{
    if (m->started || m->error) return;
    int64_t span = m->last_seen_ts - (m->anchored ? m->anchor_ts : m->first_held_ts);
    bool video_expected = m->vextra || flv_reader_get_stats(m->reader)->header_video;
    bool waited = span >= REC_MUX_HOLD_MS || at_end || m->held_bytes > HOLD_MAX_BYTES;
    if (m->anchored) {
        if (m->asc_len || waited) start_file(m);
    } else if (m->asc_len && m->nheld && ((!video_expected && waited) || at_end)) {
        start_file(m); /* audio only */
    } else if (m->nheld) {
        trim_held_audio(m);
    }
}

static void hold_or_write(struct rec_mux *m, AVPacket *pkt, int track)
{
    if (m->started) {
        write_packet(m, pkt, track);
        return;
    }
    if (m->nheld == m->held_cap) {
        size_t ncap = m->held_cap ? m->held_cap * 2 : 64;
        struct held_pkt *n = realloc(m->held, ncap * sizeof *n);
        if (!n) {
            av_packet_free(&pkt);
            set_error(m, AVERROR(ENOMEM), "hold");
            return;
        }
        m->held = n;
        m->held_cap = ncap;
    }
    if (m->nheld == 0) m->first_held_ts = pkt->dts;
    m->held[m->nheld++] = (struct held_pkt){pkt, track};
    m->held_bytes += (size_t)pkt->size;
}

static AVPacket *make_packet(const uint8_t *data, uint32_t len, int64_t ts, int64_t cts, bool key)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt || av_new_packet(pkt, (int)len) < 0) {
        av_packet_free(&pkt);
        return NULL;
    }
    memcpy(pkt->data, data, len);
    pkt->dts = ts;
    pkt->pts = ts + cts;
    if (key) pkt->flags |= AV_PKT_FLAG_KEY;
    return pkt;
}

/* ---- FLV tags ---- */

static void on_video_config(struct rec_mux *m, const struct flv_video_tag *vt)
{
    if (m->vextra) {
        bool same =
            m->vcodec == vt->codec && m->vextra_len == vt->len && !memcmp(m->vextra, vt->data, vt->len);
        if (same) return;
        if (m->started) {
            if (!m->logged_vchange)
                log_warn(MODULE, "%s: video parameters changed during the recording: kept the first ones",
                         m->log_name);
            m->logged_vchange = true;
            return;
        }
    }
    struct media_track track;
    memset(&track, 0, sizeof track);
    if (flv_video_config_decode(vt->codec, vt->data, vt->len, &track, NULL) != 0 || !vt->len) {
        log_warn(MODULE, "%s: unreadable %s decoder configuration: video not recorded", m->log_name,
                 codec_name(vt->codec));
        return;
    }
    uint8_t *copy = malloc(vt->len);
    if (!copy) return;
    memcpy(copy, vt->data, vt->len);
    free(m->vextra);
    m->vextra = copy;
    m->vextra_len = vt->len;
    m->vcodec = vt->codec;
    m->width = (int)track.width;
    m->height = (int)track.height;
    m->anchored = false; /* a new configuration needs a new keyframe */
}

static void on_video(struct rec_mux *m, const struct flv_reader_tag *tag)
{
    struct flv_video_tag vt;
    if (flv_parse_video_tag(tag->data, tag->size, &vt) != 0 || vt.packet == FLV_VIDEO_OTHER ||
        vt.packet == FLV_VIDEO_END_OF_SEQUENCE) {
        if (vt.codec == CODEC_NONE && vt.frame_type != 5 && !m->logged_video_codec) {
            log_warn(MODULE, "%s: video codec id %u is not recordable (H.264 and H.265 are)", m->log_name,
                     vt.codec_id);
            m->logged_video_codec = true;
        }
        m->stats.skipped++;
        return;
    }
    if (vt.packet == FLV_VIDEO_SEQUENCE_HEADER) {
        on_video_config(m, &vt);
        return;
    }
    bool key = vt.frame_type == 1 || vt.frame_type == 4;
    if (!m->vextra || vt.codec != m->vcodec || vt.len == 0 || (!m->started && !m->anchored && !key) ||
        (m->started && m->tr[TRACK_VIDEO].index < 0)) {
        if (m->started && m->tr[TRACK_VIDEO].index < 0 && !m->logged_late_track) {
            log_info(MODULE, "%s: video appeared after the file started audio-only: not recorded",
                     m->log_name);
            m->logged_late_track = true;
        }
        m->stats.skipped++;
        return;
    }
    if (!m->started && !m->anchored) {
        m->anchored = true;
        m->anchor_ts = tag->ts_ms;
        trim_held_audio(m);
    }
    AVPacket *pkt = make_packet(vt.data, vt.len, tag->ts_ms, vt.cts_ms, key);
    if (!pkt) {
        set_error(m, AVERROR(ENOMEM), "packet");
        return;
    }
    hold_or_write(m, pkt, TRACK_VIDEO);
}

static void on_audio(struct rec_mux *m, const struct flv_reader_tag *tag)
{
    struct flv_audio_tag at;
    if (flv_parse_audio_tag(tag->data, tag->size, &at) != 0) {
        m->stats.skipped++;
        return;
    }
    if (at.codec != CODEC_AAC) {
        if (!m->logged_audio_codec)
            log_info(MODULE,
                     "%s: %s audio is not recorded (MP4 gets AAC: set stream.audio_transcode to "
                     "transcode G.711)",
                     m->log_name, at.codec == CODEC_NONE ? "this" : codec_name(at.codec));
        m->logged_audio_codec = true;
        m->stats.skipped++;
        return;
    }
    if (at.sequence_header) {
        bool same = m->asc_len == at.len && !memcmp(m->asc, at.data, at.len);
        uint32_t rate;
        uint8_t ch;
        if (same) return;
        if (m->started && m->asc_len) {
            if (!m->logged_achange)
                log_warn(MODULE, "%s: audio parameters changed during the recording: kept the first ones",
                         m->log_name);
            m->logged_achange = true;
            return;
        }
        if (m->started || at.len > ASC_MAX || aac_asc_parse(at.data, at.len, &rate, &ch) != 0) return;
        memcpy(m->asc, at.data, at.len);
        m->asc_len = at.len;
        m->sample_rate = rate;
        m->channels = ch;
        return;
    }
    if (!m->asc_len || at.len == 0 || (m->started && m->tr[TRACK_AUDIO].index < 0)) {
        m->stats.skipped++;
        return;
    }
    AVPacket *pkt = make_packet(at.data, at.len, tag->ts_ms, 0, true);
    if (!pkt) {
        set_error(m, AVERROR(ENOMEM), "packet");
        return;
    }
    hold_or_write(m, pkt, TRACK_AUDIO);
}

static int on_tag(void *arg, const struct flv_reader_tag *tag)
{
    struct rec_mux *m = arg;
    if (tag->type == FLV_TAG_VIDEO || tag->type == FLV_TAG_AUDIO) {
        if (tag->filtered) {
            m->stats.skipped++;
            return 0;
        }
        if ((int64_t)tag->ts_ms > m->last_seen_ts || !m->nheld) m->last_seen_ts = tag->ts_ms;
        if (tag->type == FLV_TAG_VIDEO)
            on_video(m, tag);
        else
            on_audio(m, tag);
        maybe_start(m, false);
    }
    if (m->error) return m->error;
    return m->full ? -EFBIG : 0;
}

/* ---- life ---- */

struct rec_mux *rec_mux_create(const char *path, const struct rec_mux_options *opt, char *err, size_t errsize)
{
    struct rec_mux *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->opt = *opt;
    snprintf(m->log_name, sizeof m->log_name, "%s", opt->log_name ? opt->log_name : path);
    snprintf(m->title, sizeof m->title, "%s", opt->title ? opt->title : "");
    m->opt.log_name = m->opt.title = NULL;
    m->tr[TRACK_VIDEO].index = m->tr[TRACK_AUDIO].index = -1;
    struct flv_reader_config rc = {.on_tag = on_tag, .arg = m, .max_tag_size = opt->max_tag};
    m->reader = flv_reader_create(&rc);
    int rv = m->reader ? avformat_alloc_output_context2(&m->oc, NULL, "mp4", path) : AVERROR(ENOMEM);
    if (rv >= 0) rv = avio_open2(&m->oc->pb, path, AVIO_FLAG_WRITE, NULL, NULL);
    if (rv < 0) {
        char msg[96];
        av_strerror(rv, msg, sizeof msg);
        snprintf(err, errsize, "cannot create %s: %s", path, msg);
        rec_mux_destroy(m);
        return NULL;
    }
    return m;
}

int rec_mux_input(struct rec_mux *m, const uint8_t *data, size_t len, char *err, size_t errsize)
{
    if (m->error) {
        copy_error(m, err, errsize);
        return m->error;
    }
    if (m->full) return -EFBIG;
    int rc = flv_reader_input(m->reader, data, len);
    if (m->full && !m->error) return -EFBIG;
    if (rc && !m->error) set_error(m, rc == -EMSGSIZE ? AVERROR(EMSGSIZE) : AVERROR_INVALIDDATA, "FLV input");
    if (m->error) copy_error(m, err, errsize);
    return m->error;
}

int rec_mux_finish(struct rec_mux *m, char *err, size_t errsize)
{
    int rc = 0;
    if (!m->started) maybe_start(m, true);
    if (!m->started || (!m->tr[TRACK_VIDEO].any && !m->tr[TRACK_AUDIO].any && !m->error)) {
        if (!m->error)
            snprintf(m->errmsg, sizeof m->errmsg, "nothing recordable arrived (no keyframe, no AAC)");
        rc = m->error ? m->error : -ENODATA;
    } else {
        for (int i = 0; i < 2; i++) {
            struct track_state *t = &m->tr[i];
            int64_t dur = t->last_dur > 0 ? t->last_dur : 40;
            if (i == TRACK_AUDIO && m->sample_rate) dur = 1024 * 1000 / (int64_t)m->sample_rate;
            flush_pending(m, t, dur);
        }
        if (!m->error) {
            int trc = av_write_trailer(m->oc);
            if (trc < 0) set_error(m, trc, "MP4 index");
        }
        rc = m->error;
    }
    if (m->oc && m->oc->pb) {
        avio_closep(&m->oc->pb);
    }
    if (rc) copy_error(m, err, errsize);
    return rc;
}

const struct rec_mux_stats *rec_mux_get_stats(const struct rec_mux *m)
{
    return &m->stats;
}

void rec_mux_destroy(struct rec_mux *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nheld; i++) av_packet_free(&m->held[i].pkt);
    free(m->held);
    for (int i = 0; i < 2; i++) av_packet_free(&m->tr[i].pending);
    if (m->oc) {
        if (m->oc->pb) avio_closep(&m->oc->pb);
        avformat_free_context(m->oc);
    }
    flv_reader_destroy(m->reader);
    free(m->vextra);
    free(m);
}
