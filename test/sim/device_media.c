/*
 * gbsim device media (device_media.h): per-channel sources, clips built once, and the paced sending of one
 * INVITE session on the device's libre loop.
 *
 * A session replays its clip in a loop the way `gbsim send --loop` does (sim_sender.c): RTP seq and
 * timestamps continue across passes and the PS SCR/PTS/DTS inside the payload are moved forward on every
 * pass after the first (sim_clip_patch_packet), so the platform sees one long camera stream. The per-packet
 * work is the same too: patch seq/timestamp/SSRC into a copy of the 12-byte header, send header + shared
 * payload as two iovecs (sim_sock_send). There are no impairments here: quirks of the signalling are the
 * device's business; damaged media is `gbsim send`'s.
 *
 * sim_transport.c batches through static arrays, so sends from different device threads are serialised
 * with one mutex (sending is a few syscalls per frame; the threads mostly wait for timers).
 */
#include "test/sim/device_media.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/net.h"
#include "media/rtp.h"
#include "signaling/libre.h"
#include "test/sim/sim_send.h"

#define MAX_SOURCES     64
#define SOURCE_TEXT_MAX 1024
#define MAX_CATCH_UP    250 /* frames sent in one go when the loop fell behind (then it skips ahead) */

struct media_source {
    int channel; /* 0 = default */
    char files[SOURCE_TEXT_MAX];
    struct sim_clip clip;
    bool built;
};

static struct media_source sources[MAX_SOURCES];
static int source_count;
static double clip_fps = 25;
static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct device_media_totals totals;

struct device_media {
    const struct sim_clip *clip;
    struct sim_sock sock;
    int listen_fd;
    uint32_t ssrc;
    uint16_t seq_base;
    uint32_t ts_base;
    size_t next_frame;
    uint64_t pass;
    int64_t start_ns;
    struct tmr tmr;
    struct sim_out_packet *out;
    uint8_t *scratch;
    struct device_media_totals counts;
    bool started, dead_reported;
    char label[200];
    /* playback (device_playback.c): it paces, the seq runs on across seeks */
    device_media_pace_fn pace;
    void *pace_arg;
    uint16_t seq_next;
};

/* ---- sources ---- */

static struct media_source *source_slot(int channel)
{
    for (int i = 0; i < source_count; i++)
        if (sources[i].channel == channel) return &sources[i];
    if (source_count == MAX_SOURCES) return NULL;
    struct media_source *s = &sources[source_count++];
    memset(s, 0, sizeof(*s));
    s->channel = channel;
    return s;
}

int device_media_add_source(int channel, const char *files)
{
    struct media_source *s = source_slot(channel);
    if (!s || !files[0] || strlen(files) >= sizeof(s->files)) {
        fprintf(stderr, "gbsim device: media source for channel %d: too many sources or a bad file list\n",
                channel);
        return -EINVAL;
    }
    snprintf(s->files, sizeof(s->files), "%s", files);
    return 0;
}

int device_media_add_default(const char *video, const char *audio, const char *ps)
{
    char files[SOURCE_TEXT_MAX] = "";
    const char *parts[] = {ps, video, audio};
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) continue;
        int w = snprintf(files + n, sizeof(files) - n, "%s%s", n ? "," : "", parts[i]);
        if (w < 0 || (size_t)w >= sizeof(files) - n) return -EINVAL;
        n += (size_t)w;
    }
    return n ? device_media_add_source(0, files) : 0;
}

void device_media_set_fps(double fps)
{
    clip_fps = fps;
}

static bool has_ext(const char *path, const char *const *exts)
{
    const char *dot = strrchr(path, '.');
    for (; dot && *exts; exts++)
        if (!strcasecmp(dot + 1, *exts)) return true;
    return false;
}

/* Splits "a.h264,b.g711a" (or "x.ps") into the send options that sim_clip_build reads. */
static int source_options(struct media_source *src, char *copy, struct sim_options *o)
{
    static const char *const ps_exts[] = {"ps", "mpg", "mpeg", NULL};
    memset(o, 0, sizeof(*o));
    o->fps = clip_fps;
    o->transport = SIM_TRANSPORT_NONE;
    o->streams = 1;
    o->pt = -1;
    o->payload_max = SIM_PAYLOAD_DEFAULT;
    o->speed = 1;
    o->loop = true;
    o->marker = SIM_MARKER_FRAME;
    o->psm = PS_MUX_PSM_EVERY_KEY;
    snprintf(copy, SOURCE_TEXT_MAX, "%s", src->files);
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        enum codec_id c = sim_codec_from_path(f);
        if (has_ext(f, ps_exts) && !o->ps_path) {
            o->ps_path = f;
        } else if (codec_is_video(c) && !o->video_path) {
            o->video_path = f;
            o->vcodec = c;
        } else if (codec_is_audio(c) && !o->audio_path) {
            o->audio_path = f;
            o->acodec = c;
        } else {
            fprintf(stderr,
                    "gbsim device: %s: not a video, audio or PS file this simulator reads (or given twice)\n",
                    f);
            return -EINVAL;
        }
    }
    if (o->ps_path && (o->video_path || o->audio_path)) {
        fprintf(stderr, "gbsim device: %s: a PS file cannot be combined with elementary streams\n",
                src->files);
        return -EINVAL;
    }
    return 0;
}

int device_media_prepare(void)
{
    for (int i = 0; i < source_count; i++) {
        struct media_source *src = &sources[i];
        char copy[SOURCE_TEXT_MAX];
        struct sim_options o;
        int err = source_options(src, copy, &o);
        if (!err) err = sim_clip_build(&o, &src->clip);
        if (err) {
            fprintf(stderr, "gbsim device: cannot prepare the media of %s %d (%s)\n",
                    src->channel ? "channel" : "default", src->channel, src->files);
            return err;
        }
        src->built = true;
    }
    return 0;
}

static const struct sim_clip *clip_for(int channel)
{
    const struct media_source *fallback = NULL;
    for (int i = 0; i < source_count; i++) {
        if (!sources[i].built) continue;
        if (sources[i].channel == channel) return &sources[i].clip;
        if (sources[i].channel == 0) fallback = &sources[i];
    }
    return fallback ? &fallback->clip : NULL;
}

bool device_media_available(int channel)
{
    return clip_for(channel) != NULL;
}

void device_media_cleanup(void)
{
    for (int i = 0; i < source_count; i++)
        if (sources[i].built) sim_clip_free(&sources[i].clip);
    source_count = 0;
}

/* ---- one session ---- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int64_t frame_due_ns(const struct device_media *m)
{
    const struct sim_clip *c = m->clip;
    int64_t ticks = (int64_t)m->pass * c->period + c->frames[m->next_frame].send_ts;
    return m->start_ns + ticks * 1000000000ll / SIM_CLOCK_HZ;
}

static void send_frame(struct device_media *m)
{
    const struct sim_clip *c = m->clip;
    const struct sim_frame *f = &c->frames[m->next_frame];
    uint32_t ts = (uint32_t)((int64_t)m->ts_base + (int64_t)m->pass * c->period + f->rtp_ts);
    for (uint32_t j = 0; j < f->count; j++) {
        const struct sim_packet *p = &c->packets[f->first + j];
        const uint8_t *pkt = c->data + p->off;
        struct sim_out_packet *e = &m->out[j];
        rtp_wr16(e->head, p->len);
        memcpy(e->head + 2, pkt, RTP_HEADER_SIZE);
        rtp_wr16(e->head + 4,
                 m->pace ? m->seq_next++ : (uint16_t)(m->seq_base + m->pass * c->seq_span + p->seq_offset));
        rtp_wr32(e->head + 6, ts);
        rtp_wr32(e->head + 10, m->ssrc);
        e->rest_len = p->len - RTP_HEADER_SIZE;
        if (m->pass && p->field_count) {
            uint8_t *copy = m->scratch + (size_t)j * c->max_packet_len;
            sim_clip_patch_packet(c, p, (int64_t)m->pass * c->period, copy);
            e->rest = copy;
        } else {
            e->rest = pkt + RTP_HEADER_SIZE;
        }
    }
    pthread_mutex_lock(&send_lock);
    size_t sent = sim_sock_send(&m->sock, m->out, f->count);
    pthread_mutex_unlock(&send_lock);
    m->counts.packets += sent;
    m->counts.send_errors += f->count - sent;
    for (size_t i = 0; i < sent; i++) m->counts.bytes += RTP_HEADER_SIZE + m->out[i].rest_len;
    m->counts.frames++;
    if (++m->next_frame == c->frame_count) {
        m->next_frame = 0;
        m->pass++;
    }
}

static void tick(void *arg);

/* TCP_LISTEN: the platform connected (libre fd event on the listening socket); sending starts at once. */
static void on_listen_readable(int flags, void *arg)
{
    struct device_media *m = arg;
    struct sim_listener l = {.fd = m->listen_fd, .stream_count = 1};
    if (m->sock.fd >= 0 || sim_listener_accept(&l, &m->sock) != 0) return;
    fd_close(m->listen_fd);
    fprintf(stderr, "gbsim: event=media-connected %s\n", m->label);
    m->start_ns = mono_ns();
    tmr_start(&m->tmr, 0, tick, m);
}

static void tick(void *arg)
{
    struct device_media *m = arg;
    if (m->sock.fd < 0) return; /* TCP_LISTEN: not connected yet */
    if (m->sock.dead) {
        if (!m->dead_reported) fprintf(stderr, "gbsim: event=media-closed-by-peer %s\n", m->label);
        m->dead_reported = true;
        return; /* the session stays until its BYE */
    }
    if (m->sock.pending_len) {
        pthread_mutex_lock(&send_lock);
        sim_sock_flush(&m->sock);
        pthread_mutex_unlock(&send_lock);
    }
    int64_t now = mono_ns();
    if (m->pace) { /* playback: the pacer sends what is due and says when to come back (< 0: when kicked) */
        int64_t wait_ns = m->pace(m->pace_arg, m, now);
        if (wait_ns >= 0) tmr_start(&m->tmr, (uint64_t)(wait_ns / 1000000), tick, m);
        return;
    }
    for (int n = 0; frame_due_ns(m) <= now && !m->sock.dead; n++) {
        if (n == MAX_CATCH_UP) { /* the thread was stalled: resume from here instead of bursting */
            m->start_ns += now - frame_due_ns(m);
            break;
        }
        send_frame(m);
    }
    int64_t wait_ms = (frame_due_ns(m) - mono_ns()) / 1000000;
    tmr_start(&m->tmr, wait_ms > 0 ? (uint64_t)wait_ms : 0, tick, m);
}

static int listen_on(const char *local_ip, int *port)
{
    int fd = net_bind(local_ip, 0, SOCK_STREAM, false, 4);
    if (fd < 0) return fd;
    *port = net_local_port(fd);
    return fd;
}

/* UDP: bind the socket now so that its port can go into the answer. */
static int bind_udp(int fd, const char *local_ip, int *port)
{
    struct sockaddr_storage a;
    socklen_t alen;
    if (net_parse_addr(local_ip, 0, &a, &alen) != 0) return -EINVAL;
    if (bind(fd, (struct sockaddr *)&a, alen) != 0) return -errno;
    *port = net_local_port(fd);
    return 0;
}

int device_media_start(struct device_media **out, int channel, enum device_media_transport t,
                       const char *local_ip, const char *ip, int port, uint32_t ssrc, int *local_port,
                       const char *label)
{
    const struct sim_clip *clip = clip_for(channel);
    if (!clip) return -ENOENT;
    struct device_media *m = calloc(1, sizeof(*m));
    if (!m) return -ENOMEM;
    m->clip = clip;
    m->ssrc = ssrc;
    m->seq_base = (uint16_t)rand_u32();
    m->ts_base = rand_u32();
    m->listen_fd = -1;
    m->sock.fd = -1;
    snprintf(m->label, sizeof(m->label), "%s", label);
    tmr_init(&m->tmr);
    m->out = calloc(clip->max_frame_packets + 1, sizeof(*m->out));
    m->scratch = malloc((size_t)clip->max_frame_packets * clip->max_packet_len + 1);
    int err = m->out && m->scratch ? 0 : -ENOMEM;
    *local_port = 0;
    if (!err && t == DEVICE_MEDIA_TCP_LISTEN) {
        m->sock.stream_socket = true;
        m->listen_fd = listen_on(local_ip, local_port);
        if (m->listen_fd < 0) err = m->listen_fd;
    } else if (!err) {
        struct sim_options o;
        memset(&o, 0, sizeof(o));
        o.transport = t == DEVICE_MEDIA_UDP ? SIM_TRANSPORT_UDP : SIM_TRANSPORT_TCP;
        o.streams = 1;
        if (net_parse_addr(ip, port, &o.dest, &o.dest_len) != 0) err = -EINVAL;
        if (!err) err = sim_sock_open(&m->sock, &o, 0);
        if (!err && t == DEVICE_MEDIA_UDP) err = bind_udp(m->sock.fd, local_ip, local_port);
        if (!err && t == DEVICE_MEDIA_TCP_CONNECT) *local_port = net_local_port(m->sock.fd);
    }
    if (err) {
        fprintf(stderr, "gbsim device: %s: media not started: %s\n", label, strerror(-err));
        device_media_stop(m);
        return err;
    }
    pthread_mutex_lock(&totals_lock);
    totals.sessions++;
    pthread_mutex_unlock(&totals_lock);
    *out = m;
    return 0;
}

void device_media_go(struct device_media *m)
{
    if (m->started) return;
    m->started = true;
    m->start_ns = mono_ns();
    if (m->listen_fd >= 0 && m->sock.fd < 0) /* wait for the platform's connection */
        fd_listen(m->listen_fd, FD_READ, on_listen_readable, m);
    else
        tmr_start(&m->tmr, 0, tick, m);
}

void device_media_counts(const struct device_media *m, struct device_media_totals *out)
{
    *out = m->counts;
    out->sessions = 1;
}

void device_media_stop(struct device_media *m)
{
    if (!m) return;
    tmr_cancel(&m->tmr);
    sim_sock_close(&m->sock);
    if (m->listen_fd >= 0) {
        fd_close(m->listen_fd);
        close(m->listen_fd);
    }
    pthread_mutex_lock(&totals_lock);
    totals.packets += m->counts.packets;
    totals.bytes += m->counts.bytes;
    totals.frames += m->counts.frames;
    totals.send_errors += m->counts.send_errors;
    pthread_mutex_unlock(&totals_lock);
    free(m->out);
    free(m->scratch);
    free(m);
}

void device_media_get_totals(struct device_media_totals *out)
{
    pthread_mutex_lock(&totals_lock);
    *out = totals;
    pthread_mutex_unlock(&totals_lock);
}

/* ---- playback: a cursor into the looped clip, moved and paced by device_playback.c ---- */

void device_media_set_pacer(struct device_media *m, device_media_pace_fn pace, void *arg)
{
    m->pace = pace;
    m->pace_arg = arg;
    m->seq_next = m->seq_base;
}

void device_media_kick(struct device_media *m)
{
    if (m && m->started && m->sock.fd >= 0) tmr_start(&m->tmr, 0, tick, m);
}

int64_t device_media_cursor_ts(const struct device_media *m)
{
    const struct sim_clip *c = m->clip;
    return (int64_t)m->pass * c->period + c->frames[m->next_frame].send_ts;
}

/* Where decoding can start: a video keyframe, or any frame of a clip without video. */
static bool start_point(const struct sim_clip *c, size_t i, bool has_video)
{
    return !has_video || (c->frames[i].video && c->frames[i].key);
}

int64_t device_media_cursor_seek(struct device_media *m, int64_t rec)
{
    const struct sim_clip *c = m->clip;
    int64_t period = c->period > 0 ? c->period : 1;
    if (rec < 0) rec = 0;
    uint64_t pass = (uint64_t)(rec / period);
    int64_t offset = rec % period;
    bool has_video = false;
    for (size_t i = 0; i < c->frame_count && !has_video; i++) has_video = c->frames[i].video;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < c->frame_count && c->frames[i].send_ts <= offset; i++)
        if (start_point(c, i, has_video)) best = i;
    if (best == SIZE_MAX && pass > 0) { /* before the clip's first keyframe: the previous pass's last one */
        pass--;
        for (size_t i = c->frame_count; i-- > 0 && best == SIZE_MAX;)
            if (start_point(c, i, has_video)) best = i;
    }
    m->pass = pass;
    m->next_frame = best == SIZE_MAX ? 0 : best;
    return device_media_cursor_ts(m);
}

void device_media_cursor_send(struct device_media *m)
{
    send_frame(m);
}
