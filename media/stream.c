/*
 * Ingest stream: the per-packet path. A UDP datagram (or a TCP-framed packet) is parsed as RTP, checked,
 * put through the reorder window (in-order packets are not copied), and its payload fed to the PS demuxer,
 * which copies the elementary stream once into a pooled frame buffer. Completed frames go to the sink.
 */
#include "media/stream_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/net.h"

#define MODULE                 "stream"
#define SSRC_SWITCH_RUN        25
#define SSRC_SWITCH_SILENCE_MS 1000

static void (*close_hook)(const char *id, const char *reason, const struct stream_entry *e);

void stream_set_close_hook(void (*fn)(const char *id, const char *reason, const struct stream_entry *e))
{
    close_hook = fn;
}

const char *stream_id(const struct stream *s)
{
    return s->e.id;
}
void *stream_sink(const struct stream *s)
{
    return s->sink;
}
const struct stream_entry *stream_entry(const struct stream *s)
{
    return &s->e;
}
bool stream_has_keyframe(const struct stream *s)
{
    return s->sent_key;
}

/* ---- demux -> sink ---- */

static void on_demux_track(void *arg, const struct media_track *t)
{
    struct stream *s = arg;
    if (codec_is_video(t->codec)) {
        s->st.vcodec = t->codec;
        s->st.width = t->width;
        s->st.height = t->height;
        s->st.fps_milli = t->fps_den ? (uint32_t)((uint64_t)t->fps_num * 1000 / t->fps_den) : 0;
        log_info(MODULE, "[%s] video %s %ux%u", s->e.id, codec_name(t->codec), t->width, t->height);
    } else {
        s->st.acodec = t->codec;
        s->st.sample_rate = t->sample_rate;
        s->st.channels = t->channels;
        log_info(MODULE, "[%s] audio %s %u Hz %u ch", s->e.id, codec_name(t->codec), t->sample_rate,
                 t->channels);
    }
    s->ops->on_track(s->sink, t);
}

static void on_demux_frame(void *arg, struct media_frame *f)
{
    struct stream *s = arg;
    if (codec_is_video(f->codec)) {
        if (s->drop_video_until_key && !f->key) {
            s->st.frames_dropped++;
            media_frame_release(f);
            return;
        }
        s->drop_video_until_key = false;
        s->st.frames_video++;
        if (f->key) {
            s->st.keyframes++;
            s->sent_key = true;
        }
    } else {
        s->st.frames_audio++;
    }
    s->ops->on_frame(s->sink, f);
}

static const struct ps_demux_callbacks demux_cb = {on_demux_frame, on_demux_track};

/* Picks the depacketizer from the first packets (PT and bytes, media/payload_sniff.h). */
static bool decide_payload(struct stream *s, const struct rtp_packet *pkt)
{
    s->kind = payload_sniffer_add(&s->sniffer, pkt->payload_type, pkt->payload, pkt->payload_len);
    if (s->kind == PAYLOAD_UNKNOWN) {
        if (payload_sniffer_exhausted(&s->sniffer)) {
            s->st.unsupported = "payload is not MPEG-PS, H.264, H.265 or MPEG-TS";
            log_warn(MODULE, "[%s] payload type %u: %s; ignoring this stream's media", s->e.id,
                     pkt->payload_type, s->st.unsupported);
        }
        return false;
    }
    size_t max_frame = (size_t)worker_config()->media.max_frame_kb * 1024;
    if (s->kind == PAYLOAD_H264 || s->kind == PAYLOAD_H265)
        s->h26x = rtp_h26x_create(s->kind == PAYLOAD_H264 ? CODEC_H264 : CODEC_H265, &demux_cb, s, max_frame);
    else if (s->kind == PAYLOAD_TS)
        s->ts = ts_demux_create(&demux_cb, s, max_frame);
    s->st.payload = payload_kind_name(s->kind);
    if (s->kind != PAYLOAD_PS)
        log_info(MODULE, "[%s] payload is %s (PT %u)", s->e.id, s->st.payload, pkt->payload_type);
    return true;
}

static void on_rtp_in_order(void *arg, const struct rtp_packet *pkt, uint32_t lost_before);

static void free_sniff_held(struct stream *s)
{
    for (unsigned i = 0; i < s->sniff_held_n; i++) free(s->sniff_held[i]);
    free(s->sniff_held);
    free(s->sniff_held_len);
    s->sniff_held = NULL;
    s->sniff_held_len = NULL;
    s->sniff_held_n = 0;
}

/* While the kind is undecided, packets are kept (at most PAYLOAD_SNIFF_MAX_PACKETS, once per stream) so the
 * first keyframe and its parameter sets are not lost to the decision. */
static void hold_for_sniffing(struct stream *s, const struct rtp_packet *pkt)
{
    if (!s->sniff_held) {
        s->sniff_held = calloc(PAYLOAD_SNIFF_MAX_PACKETS, sizeof *s->sniff_held);
        s->sniff_held_len = calloc(PAYLOAD_SNIFF_MAX_PACKETS, sizeof *s->sniff_held_len);
        if (!s->sniff_held || !s->sniff_held_len) {
            free_sniff_held(s);
            return;
        }
    }
    if (s->sniff_held_n >= PAYLOAD_SNIFF_MAX_PACKETS) return;
    uint8_t *copy = malloc(pkt->size);
    if (!copy) return;
    memcpy(copy, pkt->data, pkt->size);
    s->sniff_held[s->sniff_held_n] = copy;
    s->sniff_held_len[s->sniff_held_n++] = pkt->size;
}

static void replay_sniff_held(struct stream *s)
{
    unsigned n = s->sniff_held_n;
    uint8_t **held = s->sniff_held;
    size_t *lens = s->sniff_held_len;
    s->sniff_held = NULL;
    s->sniff_held_len = NULL;
    s->sniff_held_n = 0;
    for (unsigned i = 0; i < n; i++) {
        struct rtp_packet p;
        if (rtp_parse(held[i], lens[i], &p) == 0) on_rtp_in_order(s, &p, 0);
        free(held[i]);
    }
    free(held);
    free(lens);
}

static void on_rtp_in_order(void *arg, const struct rtp_packet *pkt, uint32_t lost_before)
{
    struct stream *s = arg;
    if (s->kind == PAYLOAD_UNKNOWN) {
        if (!decide_payload(s, pkt)) {
            if (s->st.unsupported)
                free_sniff_held(s);
            else
                hold_for_sniffing(s, pkt);
            s->st.bad_packets += s->st.unsupported ? 1 : 0;
            return;
        }
        replay_sniff_held(s); /* earlier packets first, then this one */
    }
    if (lost_before) {
        if (s->h26x)
            rtp_h26x_mark_loss(s->h26x);
        else if (s->ts)
            ts_demux_mark_loss(s->ts);
        else
            ps_demux_mark_loss(s->demux);
        if (worker_config()->stream.drop_until_keyframe) s->drop_video_until_key = true;
    }
    if (s->h26x) {
        rtp_h26x_input(s->h26x, pkt);
        return;
    }
    if (s->ts) {
        ts_demux_input(s->ts, pkt->payload, pkt->payload_len);
        return;
    }
    if (ps_demux_input(s->demux, pkt->payload, pkt->payload_len, pkt->marker) != 0 && !s->st.unsupported) {
        const struct ps_demux_stats *ds = ps_demux_get_stats(s->demux);
        /* Several kilobytes without a single pack or PES: this is no PS (e.g. a vendor's private payload). */
        if (ds->packs == 0 && ds->pes == 0 && ds->bytes_skipped > 64 * 1024) {
            s->st.unsupported = "payload is not MPEG-PS";
            log_warn(MODULE, "[%s] payload type %u: %s; ignoring this stream's media", s->e.id,
                     pkt->payload_type, s->st.unsupported);
        }
    }
}

/* A first packet a camera would send: PS pack/system header/PSM/PES start, MPEG-TS sync, or an Annex-B
 * start code (raw H.264/H.265). Random bytes pass this with odds of about 1 in 10^7. */
static bool payload_looks_like_media(const struct rtp_packet *pkt)
{
    const uint8_t *p = pkt->payload;
    if (pkt->payload_len >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 1)
        return p[3] == 0xba || p[3] == 0xbb || p[3] == 0xbc || (p[3] >= 0xc0 && p[3] <= 0xef);
    if (pkt->payload_len >= 5 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] == 1) return true;
    if (pkt->payload_len < 188 || pkt->payload_len % 188) return false;
    for (size_t i = 0; i < pkt->payload_len; i += 188) /* MPEG-TS: whole 188-byte packets, each with 0x47 */
        if (p[i] != 0x47) return false;
    return true;
}

void stream_input_rtp(struct stream *s, const uint8_t *p, size_t len, uint64_t now_ms)
{
    struct rtp_packet pkt;
    s->st.packets++;
    s->st.bytes += len;
    if (s->dump) stream_dump_packet(s, p, len, now_ms);
    if (rtp_is_rtcp(p, len)) { /* RTCP multiplexed on the RTP port (RFC 5761) */
        stream_rtcp_input(s, p, len, NULL, now_ms);
        return;
    }
    if (rtp_parse(p, len, &pkt) != 0) {
        s->st.bad_packets++;
        if (log_ratelimit_ok(&s->rl, now_ms))
            log_warn(MODULE, "[%s] dropped a packet that is not RTP", s->e.id);
        return;
    }
    if (!s->got_packet) {
        /* Lock onto a sender: the SSRC we offered at once, any other after two packets in sequence (RFC 3550
         * MIN_SEQUENTIAL), so a stray datagram that arrives first cannot capture the stream. */
        bool expected = (s->e.ssrc && pkt.ssrc == s->e.ssrc) || payload_looks_like_media(&pkt);
        bool in_sequence = pkt.ssrc == s->candidate_ssrc && (uint16_t)(pkt.seq - s->candidate_seq) == 1;
        if (!expected && !in_sequence) {
            /* keep the candidate's packet: when the next one confirms it, it is not lost (it is often the
             * SPS) */
            if (s->probation_pkt) s->st.bad_packets++;
            uint8_t *copy = realloc(s->probation_pkt, len);
            if (copy) {
                memcpy(copy, p, len);
                s->probation_pkt = copy;
                s->probation_len = len;
            }
            s->candidate_ssrc = pkt.ssrc;
            s->candidate_seq = pkt.seq;
            return;
        }
        s->got_packet = true;
        s->last_ssrc = pkt.ssrc;
        s->candidate_ssrc = 0;
        s->st.payload_type = pkt.payload_type;
        s->st.last_packet_ms = clock_wall_ms();
        if (s->e.ssrc && pkt.ssrc != s->e.ssrc)
            log_warn(MODULE, "[%s] sender uses SSRC %u, not the %u offered; accepted on this per-stream port",
                     s->e.id, pkt.ssrc, s->e.ssrc);
        log_info(MODULE, "[%s] first RTP packet: PT %u SSRC %u", s->e.id, pkt.payload_type, pkt.ssrc);
        struct rtp_packet held;
        if (in_sequence && s->probation_pkt && rtp_parse(s->probation_pkt, s->probation_len, &held) == 0)
            rtp_reorder_input(s->reorder, &held, now_ms);
        free(s->probation_pkt);
        s->probation_pkt = NULL;
    } else if (pkt.ssrc != s->last_ssrc) {
        /* Another SSRC: a restarted sender, or garbage/spoofed packets. Stay locked on the current SSRC while
         * it is alive; switch only when it has been silent for SSRC_SWITCH_SILENCE_MS and the newcomer has
         * sent SSRC_SWITCH_RUN packets in a row. */
        if (pkt.ssrc != s->candidate_ssrc) {
            s->candidate_ssrc = pkt.ssrc;
            s->candidate_run = 0;
        }
        s->candidate_run++;
        if (s->candidate_run < SSRC_SWITCH_RUN || now_ms - s->locked_ssrc_seen_ms < SSRC_SWITCH_SILENCE_MS) {
            s->st.bad_packets++;
            return;
        }
        log_info(MODULE, "[%s] sender changed SSRC %u -> %u", s->e.id, s->last_ssrc, pkt.ssrc);
        s->last_ssrc = pkt.ssrc;
        rtp_reorder_restart(s->reorder);
        ps_demux_mark_loss(s->demux);
    }
    s->candidate_run = 0;
    s->locked_ssrc_seen_ms = now_ms;
    s->last_packet_mono_ms = now_ms; /* only the stream's own packets keep it alive */
    if (s->st.unsupported) return;
    rtp_reorder_input(s->reorder, &pkt, now_ms);
}

void stream_input_packet(struct stream *s, const uint8_t *p, size_t len, const struct sockaddr *from,
                         uint64_t now_ms)
{
    bool was_locked = s->got_packet;
    if (!s->got_packet && from) net_format_addr(from, s->st.remote, sizeof s->st.remote);
    stream_input_rtp(s, p, len, now_ms);
    if (!was_locked && s->got_packet && from) { /* the sender this stream locked onto: RTCP goes back there */
        memcpy(&s->sender_rtp, from,
               from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
        s->have_sender_rtp = true;
        rtcp_source_init(&s->rtcp, s->last_ssrc);
    }
}

static void deliver_udp(void *arg, const uint8_t *p, size_t len, const struct sockaddr *from, uint64_t now)
{
    stream_input_packet(arg, p, len, from, now);
}

static void on_stream_udp(uv_poll_t *h, int status, int events)
{
    struct stream *s = h->data;
    if (status < 0 || s->closing) return;
    worker_recv_udp(s->w, s->udp_fd, deliver_udp, s);
}

/* ---- lifecycle ---- */

int stream_open(struct worker *w, const struct stream_entry *e, const struct stream_sink_ops *ops, void *sink,
                struct stream **out, char *err, size_t errsize)
{
    const struct gb_config *cfg = worker_config();
    struct stream *s = calloc(1, sizeof *s);
    if (!s) return ENOMEM;
    s->w = w;
    s->e = *e;
    s->ops = ops;
    s->sink = sink;
    s->udp_fd = -1;
    s->rtcp_fd = -1;
    s->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(10000, 5);
    s->created_mono_ms = s->last_packet_mono_ms = s->prev_tick_ms = clock_mono_ms();
    s->st.started_at_ms = clock_wall_ms();
    struct rtp_reorder_config rc = {.window = (uint32_t)cfg->media.reorder_window, .max_hold_ms = 0};
    if (rc.window == 0) rc.window = 1; /* the window still counts loss; 1 slot = no reordering */
    s->reorder = rtp_reorder_create(&rc, on_rtp_in_order, s);
    payload_sniffer_init(&s->sniffer);
    s->demux = ps_demux_create(&demux_cb, s, (size_t)cfg->media.max_frame_kb * 1024);
    if (!s->reorder || !s->demux) {
        snprintf(err, errsize, "out of memory");
        goto fail;
    }
    if (e->transport == TRANSPORT_UDP && !e->shared) {
        s->udp_fd = net_bind("0.0.0.0", e->port, SOCK_DGRAM, false, 0);
        if (s->udp_fd < 0) {
            int rc2 = -s->udp_fd;
            snprintf(err, errsize, "cannot bind UDP port %d: %s", e->port, strerror(rc2));
            s->udp_fd = -1;
            rtp_reorder_destroy(s->reorder);
            ps_demux_destroy(s->demux);
            free(s);
            return rc2;
        }
        net_set_rcvbuf(s->udp_fd, cfg->media.udp_rcvbuf_kb * 1024);
        worker_enable_udp_gro(s->udp_fd);
        uv_poll_init(worker_loop(w), &s->udp_poll, s->udp_fd);
        s->udp_poll.data = s;
        uv_poll_start(&s->udp_poll, UV_READABLE, on_stream_udp);
        stream_rtcp_open(s);
    } else if (e->transport != TRANSPORT_UDP) {
        int rc2 = stream_tcp_open(s, err, errsize);
        if (rc2) {
            rtp_reorder_destroy(s->reorder);
            ps_demux_destroy(s->demux);
            free(s);
            return rc2;
        }
    }
    worker_add_stream(w, s, e->id, e->shared, e->ssrc);
    log_info(MODULE, "[%s] opened on worker %d: %s port %d%s ssrc %u", e->id, worker_index(w),
             stream_transport_name(e->transport), e->port, e->shared ? " (shared)" : "", e->ssrc);
    *out = s;
    return 0;
fail:
    rtp_reorder_destroy(s->reorder);
    ps_demux_destroy(s->demux);
    free(s);
    return ENOMEM;
}

static void stream_free(struct stream *s)
{
    free(s->probation_pkt);
    free_sniff_held(s);
    free(s->tcp);
    rtp_h26x_destroy(s->h26x);
    ts_demux_destroy(s->ts);
    rtp_reorder_destroy(s->reorder);
    ps_demux_destroy(s->demux);
    free(s);
}

void stream_handle_closed(uv_handle_t *h)
{
    struct stream *s = h->data;
    if (--s->pending_closes == 0) stream_free(s);
}

void stream_close(struct stream *s, const char *reason)
{
    if (s->closing) return;
    s->closing = true;
    log_info(MODULE, "[%s] closed: %s (packets %llu, lost %llu, frames %llu)", s->e.id, reason,
             (unsigned long long)s->st.packets, (unsigned long long)s->st.packets_lost,
             (unsigned long long)(s->st.frames_video + s->st.frames_audio));
    stream_dump_stop(s, "stream closed");
    worker_remove_stream(s->w, s, s->e.id, s->e.shared, s->e.ssrc);
    directory_remove(s->e.id);
    s->ops->on_close(s->sink, reason);
    if (close_hook) close_hook(s->e.id, reason, &s->e);
    s->pending_closes = 1; /* held by this function until the end */
    if (s->udp_fd >= 0) {
        s->pending_closes++;
        uv_close((uv_handle_t *)&s->udp_poll, stream_handle_closed);
    }
    if (s->tcp) stream_tcp_close(s);
    stream_rtcp_close(s);
    if (s->udp_fd >= 0) close(s->udp_fd); /* after uv_close: libuv has stopped polling it */
    s->udp_fd = -1;
    if (--s->pending_closes == 0) stream_free(s);
}

void stream_get_stats(struct stream *s, struct stream_stats *out)
{
    struct rtp_reorder_stats rs;
    rtp_reorder_get_stats(s->reorder, &rs);
    s->st.packets_lost = rs.lost;
    s->st.packets_dup = rs.duplicates;
    s->st.packets_late = rs.late;
    s->st.packets_reordered = rs.reordered;
    s->st.jitter_ms = rs.jitter / 90;
    s->st.frames_dropped = s->st.frames_dropped; /* demuxer drops are added below */
    *out = s->st;
    out->frames_dropped += ps_demux_get_stats(s->demux)->frames_dropped;
    if (s->h26x) out->frames_dropped += rtp_h26x_get_stats(s->h26x)->frames_dropped;
    if (s->ts) out->frames_dropped += ts_demux_get_stats(s->ts)->frames_dropped;
    if (s->ops->fill_stats) s->ops->fill_stats(s->sink, out);
}

struct tick_ctx {
    uint64_t now;
    int timeout_ms;
};

static void tick_one(struct stream *s, void *arg)
{
    struct tick_ctx *t = arg;
    rtp_reorder_tick(s->reorder, t->now);
    stream_rtcp_tick(s, t->now);
    uint64_t dt = t->now - s->prev_tick_ms;
    if (dt >= 1000) {
        s->st.bitrate_kbps = (uint32_t)((s->st.bytes - s->bytes_prev_tick) * 8 / dt);
        s->bytes_prev_tick = s->st.bytes;
        s->prev_tick_ms = t->now;
    }
    if (s->got_packet) s->st.last_packet_ms = clock_wall_ms() - (t->now - s->last_packet_mono_ms);
    struct stream_stats st;
    stream_get_stats(s, &st);
    directory_publish_stats(s->e.id, &st);
    if (!s->awaiting_connect && !s->timeout_held && t->now - s->last_packet_mono_ms > (uint64_t)t->timeout_ms)
        stream_close(s, s->got_packet ? "rtp timeout" : "no media arrived");
}

void stream_hold_timeout(struct stream *s, bool held)
{
    s->timeout_held = held;
    if (!held) s->last_packet_mono_ms = clock_mono_ms(); /* the timeout starts over from the release */
}

void stream_tick_all(struct worker *w, uint64_t now_ms)
{
    struct tick_ctx t = {now_ms, worker_config()->media.rtp_timeout_s * 1000};
    worker_foreach_stream(w, tick_one, &t);
}

static void close_one(struct stream *s, void *arg)
{
    stream_close(s, arg);
}

void stream_close_all(struct worker *w, const char *reason)
{
    worker_foreach_stream(w, close_one, (void *)reason);
}

struct waiting_ctx {
    struct stream *found;
};

static void find_waiting(struct stream *s, void *arg)
{
    struct waiting_ctx *c = arg;
    if (s->e.shared && !s->got_packet && (!c->found || s->created_mono_ms < c->found->created_mono_ms))
        c->found = s;
}

struct stream *stream_find_waiting_shared(struct worker *w)
{
    struct waiting_ctx c = {NULL};
    worker_foreach_stream(w, find_waiting, &c);
    return c.found;
}
