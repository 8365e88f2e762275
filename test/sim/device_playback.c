/*
 * gbsim device playback and download (see device_playback.h): the position/pacing state machine of one
 * recorded-media call, its INFO MANSRTSP control, the end of the recording (MediaStatus 121), and the call's
 * record (device_playback_report.c writes it out).
 *
 * The clock: recording time (90 kHz ticks from t= start) is mapped to wall time by an anchor - "recording
 * time anchor_rec is due at anchor_ns" - and the speed; a frame of recording time T is due at
 * anchor_ns + (T - anchor_rec) / speed. Every change (Scale, resume, seek) re-anchors at the current
 * position, so the media never jumps in time except on a seek, and no state but the anchor and the cursor
 * (device_media.c) is needed. Pausing freezes the position; nothing is sent while paused or after the end.
 */
#include "test/sim/device_playback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signaling/mansrtsp.h"
#include "test/sim/device_playback_priv.h"
#include "test/sim/device_sim.h"

#define TICKS_PER_S   90000
#define MAX_CATCH_UP  250 /* frames sent in one go when the loop fell behind (then the clock moves on) */
#define DOWNLOAD_FAST 32  /* the largest a=downloadspeed obeyed */

/* ---- the offer ---- */

static bool prefix_is(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n < w) return false;
    for (size_t i = 0; i < w; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != word[i]) return false;
    }
    return true;
}

static uint64_t read_u64(const char *s, size_t n, size_t *pos)
{
    uint64_t v = 0;
    while (*pos < n && s[*pos] == ' ') (*pos)++;
    for (int digits = 0; *pos < n && s[*pos] >= '0' && s[*pos] <= '9' && digits < 19; (*pos)++, digits++)
        v = v * 10 + (uint64_t)(s[*pos] - '0');
    return v;
}

void device_playback_read_offer(const uint8_t *body, size_t len, struct device_playback_offer *o)
{
    memset(o, 0, sizeof(*o));
    const char *s = (const char *)body;
    size_t pos = 0;
    while (body && pos < len) {
        size_t end = pos;
        while (end < len && s[end] != '\r' && s[end] != '\n') end++;
        const char *line = s + pos;
        size_t n = end - pos;
        pos = end + 1;
        if (prefix_is(line, n, "s=")) {
            if (prefix_is(line + 2, n - 2, "playback")) o->kind = DEVICE_CALL_PLAYBACK;
            if (prefix_is(line + 2, n - 2, "download")) o->kind = DEVICE_CALL_DOWNLOAD;
        } else if (prefix_is(line, n, "t=")) {
            size_t i = 2;
            o->start = read_u64(line, n, &i);
            o->end = read_u64(line, n, &i);
        } else if (prefix_is(line, n, "a=downloadspeed:")) {
            size_t i = 16;
            uint64_t v = read_u64(line, n, &i);
            o->download_speed = v > 1000 ? 1000 : (int)v;
        }
    }
}

const char *device_call_kind_name(enum device_call_kind k)
{
    return k == DEVICE_CALL_PLAYBACK ? "playback" : k == DEVICE_CALL_DOWNLOAD ? "download" : "play";
}

/* ---- the clock ---- */

static int64_t due_ns(const struct device_playback *pb, int64_t rec)
{
    return pb->anchor_ns + (int64_t)((double)(rec - pb->anchor_rec) * 1e9 / (TICKS_PER_S * pb->speed));
}

/* The position now: where the clock is, but never past the next frame not yet sent. */
static int64_t position_now(const struct device_playback *pb, int64_t now)
{
    int64_t cursor = pb->media ? device_media_cursor_ts(pb->media) : pb->anchor_rec;
    if (pb->paused || !pb->anchored) return pb->paused ? pb->anchor_rec : cursor;
    int64_t pos = pb->anchor_rec + (int64_t)((double)(now - pb->anchor_ns) * TICKS_PER_S * pb->speed / 1e9);
    return pos < cursor ? pos : cursor;
}

/* Before the first pace() (no ACK or TCP connection yet) only the position matters: pace() anchors the clock
 * when sending really starts, so a seek or pause before that cannot make frames look overdue. */
static void anchor(struct device_playback *pb, int64_t now, int64_t rec)
{
    pb->anchor_ns = now;
    pb->anchor_rec = rec;
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- MediaStatus 121 ---- */

static void media_status_resp(int err, const struct sip_msg *msg, void *arg)
{
    (void)arg;
    if (!err && msg && msg->scode < 200) return;
    playback_note_media_status_answer(err || !msg ? 0 : msg->scode);
}

/* MESSAGE to the platform, out of the dialog but with the INVITE's Call-ID and the device's dialog tag,
 * the way cameras send it (platforms such as wvp find the session by that Call-ID). */
static int send_media_status(struct device_playback *pb)
{
    static _Atomic uint32_t sn = 1000;
    char body[1024], uri[160];
    size_t len;
    enum manscdp_charset cs = sim_opt.utf8_under_gb2312 ? MANSCDP_UTF8 : MANSCDP_GB2312;
    int err = manscdp_build_media_status(body, sizeof(body), &len, cs, sn++, sim_device_id(pb->dev),
                                         MANSCDP_NOTIFY_MEDIA_END);
    if (err) return err;
    re_snprintf(uri, sizeof(uri), "sip:%s@%J%s", sim_opt.server_id, &sim_opt.server,
                sim_opt.transport == SIP_TRANSP_TCP ? ";transport=tcp" : "");
    const struct sip_msg *inv = pb->invite;
    return sip_requestf(NULL, sim_device_sip(pb->dev), true, "MESSAGE", uri, NULL, NULL, NULL,
                        media_status_resp, NULL,
                        "From: <sip:%s@%s>;tag=%016llx\r\n"
                        "To: <sip:%s@%s>\r\n"
                        "Call-ID: %r\r\n"
                        "CSeq: %u MESSAGE\r\n"
                        "User-Agent: gbsim\r\n"
                        "Content-Type: Application/MANSCDP+xml\r\n"
                        "Content-Length: %zu\r\n\r\n%b",
                        sim_device_id(pb->dev), sim_opt.domain, inv->tag, sim_opt.server_id, sim_opt.domain,
                        &inv->callid, 20 + pb->rec.media_status_sent, len, body, len);
}

/* The position reached the end of the recording (or of an npt=N-M span). */
static void reach_end(struct device_playback *pb, int64_t rec)
{
    pb->ended = true;
    pb->rec.reached_end = true;
    char extra[96];
    snprintf(extra, sizeof(extra), "position=%.3f", (double)rec / TICKS_PER_S);
    playback_event(pb, "playback-end", extra);
    if (sim_opt.playback_end_never) return;
    int err = send_media_status(pb);
    pb->rec.media_status_sent++;
    playback_event(pb, "media-status-sent", err ? "notify_type=121 error=send" : "notify_type=121");
}

/* ---- pacing (device_media.c calls this on its timer) ---- */

static void account(struct device_playback *pb, int64_t rec)
{
    if (pb->have_last && rec > pb->last_rec) pb->media_ticks += rec - pb->last_rec;
    if (!pb->have_first) {
        pb->have_first = true;
        pb->rec.first_position_s = (double)rec / TICKS_PER_S;
    }
    pb->have_last = true;
    pb->last_rec = rec;
    pb->rec.frames++;
}

static int64_t pace(void *arg, struct device_media *m, int64_t now)
{
    struct device_playback *pb = arg;
    if (pb->paused || pb->ended) return -1;
    if (!pb->anchored) {
        pb->anchored = true;
        anchor(pb, now, device_media_cursor_ts(m));
    }
    for (int n = 0;; n++) {
        int64_t rec = device_media_cursor_ts(m);
        if (rec >= pb->end_rec) {
            reach_end(pb, rec);
            return -1;
        }
        int64_t due = due_ns(pb, rec);
        if (due > now) return due - now;
        if (n == MAX_CATCH_UP) { /* the thread was stalled: go on from here instead of bursting */
            anchor(pb, now, rec);
            return 0;
        }
        device_media_cursor_send(m);
        account(pb, rec);
    }
}

/* ---- control ---- */

static void set_speed(struct device_playback *pb, double speed, int64_t now)
{
    anchor(pb, now, position_now(pb, now));
    pb->speed = speed;
    if (pb->rec.speed_count < PLAYBACK_LIST_MAX) pb->rec.speeds[pb->rec.speed_count++] = speed;
    pb->rec.speed_changes++;
}

static void pause_now(struct device_playback *pb, int64_t now)
{
    if (pb->paused) return;
    anchor(pb, now, position_now(pb, now));
    pb->paused = true;
    pb->rec.pauses++;
}

static void resume(struct device_playback *pb, int64_t now)
{
    if (!pb->paused) return;
    pb->paused = false;
    anchor(pb, now, pb->anchor_rec);
    pb->rec.resumes++;
}

/* Seek to npt seconds: the keyframe at or before, timestamps jump with it. */
static int64_t seek(struct device_playback *pb, double npt, int64_t now)
{
    int64_t target = (int64_t)(npt * TICKS_PER_S + 0.5);
    int64_t at = pb->media ? device_media_cursor_seek(pb->media, target) : target;
    anchor(pb, now, at);
    pb->paused = false;
    pb->ended = false;
    pb->have_last = false; /* a jump is not media sent */
    if (pb->rec.seek_count < PLAYBACK_LIST_MAX) pb->rec.seeks[pb->rec.seek_count++] = npt;
    pb->rec.seeks_total++;
    return at;
}

int device_playback_info(struct device_playback *pb, const uint8_t *body, size_t len, const char **why)
{
    struct mansrtsp_request req;
    pb->rec.infos++;
    int err = mansrtsp_parse((const char *)body, len, &req, why);
    if (err) {
        pb->rec.infos_refused++;
        char extra[160];
        snprintf(extra, sizeof(extra), "error=\"%s\"", *why);
        playback_event(pb, "info-refused", extra);
        return 400;
    }
    int64_t now = mono_now();
    char extra[160];
    int n = snprintf(extra, sizeof(extra), "method=%s cseq=%u", mansrtsp_method_name(req.method), req.cseq);
    if (req.method == MANSRTSP_PAUSE) {
        pause_now(pb, now);
    } else if (req.method == MANSRTSP_TEARDOWN) {
        pb->ended = true;
        pb->rec.torn_down = true;
    } else {
        if (req.has_scale) {
            set_speed(pb, req.scale, now);
            n += snprintf(extra + n, sizeof(extra) - (size_t)n, " scale=%g", req.scale);
        }
        if (req.range == MANSRTSP_RANGE_FROM || req.range == MANSRTSP_RANGE_SPAN) {
            pb->end_rec = pb->record_end;
            if (req.range == MANSRTSP_RANGE_SPAN && req.range_end * TICKS_PER_S < (double)pb->end_rec)
                pb->end_rec = (int64_t)(req.range_end * TICKS_PER_S);
            int64_t at = seek(pb, req.range_start, now);
            n += snprintf(extra + n, sizeof(extra) - (size_t)n, " seek=%g at=%.3f", req.range_start,
                          (double)at / TICKS_PER_S);
        } else {
            resume(pb, now); /* PLAY without a position (npt=now- or none): go on */
        }
    }
    snprintf(extra + n, sizeof(extra) - (size_t)n, " position=%.3f%s",
             (double)position_now(pb, now) / TICKS_PER_S, pb->paused ? " paused=1" : "");
    playback_event(pb, "info", extra);
    if (!pb->paused && !pb->ended) device_media_kick(pb->media);
    return 200;
}

/* ---- lifecycle ---- */

struct device_playback *device_playback_create(const struct device_playback_offer *o, struct sim_device *dev,
                                               const char *channel_id, const char *call_id,
                                               const struct sip_msg *invite)
{
    struct device_playback *pb = calloc(1, sizeof(*pb));
    if (!pb) return NULL;
    pb->dev = dev;
    pb->invite = invite;
    pb->speed = 1;
    if (o->kind == DEVICE_CALL_DOWNLOAD)
        pb->speed = o->download_speed < 1               ? 1
                    : o->download_speed > DOWNLOAD_FAST ? DOWNLOAD_FAST
                                                        : o->download_speed;
    double length_s = o->end > o->start ? (double)(o->end - o->start) : 0;
    if (sim_opt.record_length_s > 0 && (length_s == 0 || sim_opt.record_length_s < length_s))
        length_s = sim_opt.record_length_s;
    pb->record_end = length_s > 0 ? (int64_t)(length_s * TICKS_PER_S) : INT64_MAX;
    pb->end_rec = pb->record_end;
    struct playback_record *r = &pb->rec;
    r->kind = o->kind;
    snprintf(r->device_id, sizeof(r->device_id), "%s", sim_device_id(dev));
    snprintf(r->channel_id, sizeof(r->channel_id), "%s", channel_id);
    snprintf(r->call_id, sizeof(r->call_id), "%s", call_id);
    r->start = o->start;
    r->end = o->end;
    r->download_speed = o->download_speed;
    r->initial_speed = pb->speed;
    r->length_s = length_s;
    r->started_ms = tmr_jiffies() - sim_opt.start_ms;
    return pb;
}

void device_playback_attach(struct device_playback *pb, struct device_media *m)
{
    if (!pb) return;
    pb->media = m;
    if (m && pb->rec.kind != DEVICE_CALL_PLAY) {
        device_media_set_pacer(m, pace, pb);
        device_media_cursor_seek(m, 0);
    }
}

void device_playback_detach(struct device_playback *pb)
{
    if (!pb || !pb->media) return;
    struct device_media_totals t;
    device_media_counts(pb->media, &t);
    pb->rec.packets = t.packets;
    if (pb->rec.kind == DEVICE_CALL_PLAY) pb->rec.frames = t.frames;
    pb->media = NULL;
}

enum device_call_kind device_playback_kind(const struct device_playback *pb)
{
    return pb ? pb->rec.kind : DEVICE_CALL_PLAY;
}

void device_playback_end(struct device_playback *pb, const char *how)
{
    if (!pb) return;
    device_playback_detach(pb);
    pb->rec.media_seconds = (double)pb->media_ticks / TICKS_PER_S;
    pb->rec.last_position_s = pb->have_first ? (double)pb->last_rec / TICKS_PER_S : 0;
    snprintf(pb->rec.how, sizeof(pb->rec.how), "%s", how);
    playback_record_finish(pb);
    free(pb);
}
