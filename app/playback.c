/*
 * Playback of device recordings (issue 9): POST /api/v1/devices/{id}/channels/{ch}/playback starts an
 * INVITE s=Playback (u=, t= in Unix seconds, an SSRC with the leading 1 of recordings) as its own stream
 * "pb_{device}_{channel}_{n}" (several playbacks of one channel may run), and POST
 * /api/v1/streams/{id}/playback controls it: pause, resume, seek, speed, each one INFO MANSRTSP in the
 * dialog. The session machinery (receiver, first keyframe, idle close, BYE, MediaStatus 121) is
 * app/gb_session.c's; what is here is the playback state and its effect on the media:
 *   - speed S: the device sends S seconds of recording per second; the stream's worker rescales output
 *     timestamps by 1/S (relay/live.c + media/timescale.h) so players really play S times faster;
 *   - seek and resume: the worker starts a new timestamp segment so the output stays continuous;
 *   - pause: nothing arrives, so the stream's RTP timeout is fed every second until resume.
 * Control thread only; the worker is reached through worker_post.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/playback.h"
#include "app/playback_priv.h"
#include "common/clock.h"
#include "common/log.h"
#include "media/stream.h"
#include "media/worker.h"
#include "relay/live.h"
#include "signaling/gbid.h"

#define MODULE             "playback"
#define SPEED_MIN          0.25
#define SPEED_MAX          8.0
#define DOWNLOAD_SPEED_MAX 16

struct playback {
    struct playback *next;
    char id[STREAM_ID_MAX + 1];
    struct pb_range r;
    struct pb_clock clock;
    struct gb_session *session; /* valid for p's whole life: both are freed together */
};

static struct playback *playbacks;
static unsigned next_number = 1;

static struct playback *find(const char *id)
{
    for (struct playback *p = playbacks; p; p = p->next)
        if (!strcmp(p->id, id)) return p;
    return NULL;
}

/* ---- the stream's worker ---- */

struct worker_job {
    char id[STREAM_ID_MAX + 1];
    bool paused; /* paused: the RTP timeout is held and the speed stays; else both are applied */
    uint32_t speed_milli;
    bool discontinuity;
};

static void job_on_worker(void *arg)
{
    struct worker_job *j = arg;
    struct stream *s = worker_find_stream(worker_current(), j->id);
    if (s) {
        stream_hold_timeout(s, j->paused);
        if (!j->paused) live_set_speed(stream_sink(s), j->speed_milli, j->discontinuity);
    }
    free(j);
}

static void post_job(const char *id, bool paused, uint32_t speed_milli, bool discontinuity)
{
    struct stream_entry e;
    struct worker_job *j = calloc(1, sizeof *j);
    if (!j) return;
    snprintf(j->id, sizeof j->id, "%.64s", id);
    j->paused = paused;
    j->speed_milli = speed_milli;
    j->discontinuity = discontinuity;
    if (!directory_get(id, &e) || worker_post(e.worker, job_on_worker, j) != 0) free(j);
}

static uint32_t speed_milli(double speed)
{
    return (uint32_t)lround(speed * 1000);
}

/* ---- request parsing shared with downloads ---- */

bool pb_parse_request(struct api_request *req, bool download, struct pb_range *out)
{
    memset(out, 0, sizeof *out);
    out->transport = -1;
    out->speed = 1;
    if (!gbid_valid(req->params[0]) || !gbid_valid(req->params[1])) {
        api_reply_error(req, 400, "bad_id", "device and channel ids are 20 digits");
        return false;
    }
    snprintf(out->device, sizeof out->device, "%.20s", req->params[0]);
    snprintf(out->channel, sizeof out->channel, "%.20s", req->params[1]);
    json_t *body = api_body_json(req);
    if (!body) return false;
    bool ok = false;
    const char *start = json_string_value(json_object_get(body, "start"));
    const char *end = json_string_value(json_object_get(body, "end"));
    json_t *jt = json_object_get(body, "transport"), *js = json_object_get(body, "speed");
    enum stream_transport st;
    if (!playback_parse_time(start, &out->start) || !playback_parse_time(end, &out->end)) {
        api_reply_error(
            req, 400, "bad_time",
            "\"start\" and \"end\" must be local times like \"2026-01-01T10:00:00\" (or with Z or "
            "+08:00)");
    } else if (out->end <= out->start) {
        api_reply_error(req, 400, "bad_range", "\"end\" must be after \"start\"");
    } else if (out->end - out->start > PLAYBACK_RANGE_MAX_S) {
        api_reply_error(req, 400, "bad_range", "a range is at most %d hours", PLAYBACK_RANGE_MAX_S / 3600);
    } else if (jt && (!json_is_string(jt) || stream_transport_parse(json_string_value(jt), &st))) {
        api_reply_error(req, 400, "bad_transport", "\"transport\" must be udp, tcp-passive or tcp-active");
    } else if (download && js &&
               (!json_is_integer(js) || json_integer_value(js) < 1 ||
                json_integer_value(js) > DOWNLOAD_SPEED_MAX)) {
        api_reply_error(req, 400, "bad_speed", "\"speed\" must be an integer 1-%d", DOWNLOAD_SPEED_MAX);
    } else {
        if (jt) out->transport = (int)st;
        if (download && js) out->speed = (double)json_integer_value(js);
        ok = true;
    }
    json_decref(body);
    return ok;
}

/* ---- JSON ---- */

static json_t *state_json(const struct playback *p)
{
    char start[32], end[32];
    playback_format_time(p->r.start, start, sizeof start);
    playback_format_time(p->r.end, end, sizeof end);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:b,s:f}", "kind", "playback", "device", p->r.device,
                     "channel", p->r.channel, "start", start, "end", end, "speed", p->clock.speed, "paused",
                     p->clock.paused, "position_s",
                     floor(pb_clock_position(&p->clock, clock_mono_ms()) * 10) / 10);
}

json_t *playback_stream_json(const char *stream_id)
{
    struct playback *p = find(stream_id);
    return p ? state_json(p) : download_stream_json(stream_id);
}

/* ---- session callbacks ---- */

static void reply_playing(struct gb_session *s, struct api_request *req)
{
    struct playback *p = s->owner;
    json_t *st = state_json(p);
    api_reply_json(req, 200,
                   json_pack("{s:s,s:s,s:s,s:O,s:O,s:s,s:i,s:s,s:o,s:o}", "stream", p->id, "device",
                             p->r.device, "channel", p->r.channel, "start", json_object_get(st, "start"),
                             "end", json_object_get(st, "end"), "ssrc", s->ssrc_text, "port", s->port,
                             "transport", stream_transport_name((enum stream_transport)s->transport), "urls",
                             streams_urls_json(p->id, req), "playback", st));
}

static void on_playing(struct gb_session *s)
{
    struct playback *p = s->owner;
    pb_clock_mark(&p->clock, clock_mono_ms(), 0);
}

static void on_ended(struct gb_session *s, const char *code, const char *reason)
{
    struct playback *p = s->owner;
    log_info(MODULE, "[%s] ended at %.1f s of %.0f (%s: %s)", p->id,
             pb_clock_position(&p->clock, clock_mono_ms()), p->clock.duration_s, code, reason);
}

static void playback_free(struct playback *p)
{
    for (struct playback **pp = &playbacks; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    free(p);
}

static void on_freed(struct gb_session *s)
{
    playback_free(s->owner); /* p->session goes with it */
}

static const struct gb_session_ops playback_ops = {
    .reply_playing = reply_playing, .playing = on_playing, .ended = on_ended, .freed = on_freed};

/* ---- API ---- */

static void handle_start(struct api_request *req)
{
    struct pb_range r;
    if (!pb_parse_request(req, false, &r)) return;
    struct playback *p = calloc(1, sizeof *p);
    if (!p) {
        api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    p->r = r;
    p->clock = (struct pb_clock){.speed = 1, .duration_s = (double)(r.end - r.start)};
    snprintf(p->id, sizeof p->id, "pb_%s_%s_%u", r.device, r.channel, next_number++);
    p->next = playbacks;
    playbacks = p;
    struct gb_session_params sp = {.transport = r.transport,
                                   .kind = INVITE_PLAYBACK,
                                   .start_time = (uint64_t)r.start,
                                   .end_time = (uint64_t)r.end,
                                   .idle_close = true};
    snprintf(sp.id, sizeof sp.id, "%s", p->id);
    snprintf(sp.device, sizeof sp.device, "%s", r.device);
    snprintf(sp.channel, sizeof sp.channel, "%s", r.channel);
    log_info(MODULE, "[%s] playback of %s %s, %lld s from %lld", p->id, r.device, r.channel,
             (long long)(r.end - r.start), (long long)r.start);
    if (!gb_session_start(&sp, &playback_ops, p, req, &p->session)) playback_free(p); /* refused, answered */
}

/* The body of a control request -> what to send. Answers 400 itself. */
enum pb_action { PB_PAUSE, PB_RESUME, PB_SEEK, PB_SPEED };

static bool parse_control(struct api_request *req, const struct playback *p, enum pb_action *action,
                          double *value)
{
    json_t *body = api_body_json(req);
    if (!body) return false;
    const char *a = json_string_value(json_object_get(body, "action"));
    json_t *pos = json_object_get(body, "position"), *speed = json_object_get(body, "speed");
    bool ok = true;
    if (a && !strcmp(a, "pause")) {
        *action = PB_PAUSE;
    } else if (a && !strcmp(a, "resume")) {
        *action = PB_RESUME;
    } else if (a && !strcmp(a, "seek")) {
        *action = PB_SEEK;
        *value = json_is_number(pos) ? json_number_value(pos) : -1;
        if (!(*value >= 0 && *value < p->clock.duration_s)) {
            api_reply_error(req, 400, "bad_position",
                            "\"position\" must be a number of seconds from the start, 0 to %.0f",
                            p->clock.duration_s - 1);
            ok = false;
        }
    } else if (a && !strcmp(a, "speed")) {
        *action = PB_SPEED;
        *value = json_is_number(speed) ? json_number_value(speed) : 0;
        if (!(*value >= SPEED_MIN && *value <= SPEED_MAX)) {
            api_reply_error(req, 400, "bad_speed", "\"speed\" must be a number from 0.25 to 8");
            ok = false;
        }
    } else {
        api_reply_error(req, 400, "bad_action", "\"action\" must be pause, resume, seek or speed");
        ok = false;
    }
    json_decref(body);
    return ok;
}

static void handle_control(struct api_request *req)
{
    const char *id = req->params[0];
    struct playback *p = find(id);
    struct gb_session *s = p ? p->session : NULL;
    if (!p) {
        struct stream_entry e;
        if (directory_get(id, &e) || gb_session_find(id))
            api_reply_error(req, 409, "not_playback", "'%s' is not a playback stream", id);
        else
            api_reply_error(req, 404, "stream_not_found", "no stream '%s'", id);
        return;
    }
    enum pb_action action;
    double value = 0;
    if (!parse_control(req, p, &action, &value)) return;
    if (!s || s->state != GBS_PLAYING || !s->sip_up) {
        api_reply_error(req, 409, "not_playing", "'%s' is not playing yet (or any more)", id);
        return;
    }
    uint64_t now = clock_mono_ms();
    double pos = pb_clock_position(&p->clock, now);
    int rc = 0;
    switch (action) {
    case PB_PAUSE:
        rc = invite_info_pause(s->sip);
        if (!rc) {
            p->clock.paused = true;
            post_job(id, true, 0, false);
        }
        break;
    case PB_RESUME:
        rc = invite_info_resume(s->sip);
        if (!rc) {
            p->clock.paused = false;
            post_job(id, false, speed_milli(p->clock.speed), true);
        }
        break;
    case PB_SEEK:
        /* PLAY with a Range also resumes a paused playback (RTSP semantics, as devices implement it) */
        rc = invite_info_seek(s->sip, value);
        if (!rc) {
            pos = floor(value);
            p->clock.paused = false;
            post_job(id, false, speed_milli(p->clock.speed), true);
        }
        break;
    case PB_SPEED:
        /* a PLAY without Range: devices (and RTSP) resume a paused playback with it */
        rc = invite_info_scale(s->sip, value);
        if (!rc) {
            p->clock.speed = value;
            post_job(id, false, speed_milli(value), p->clock.paused);
            p->clock.paused = false;
        }
        break;
    }
    if (rc) {
        api_reply_error(req, 502, "info_failed", "cannot send the INFO to the device: %s", strerror(rc));
        return;
    }
    pb_clock_mark(&p->clock, now, pos);
    static const char *const names[] = {"pause", "resume", "seek", "speed"};
    log_info(MODULE, "[%s] %s (position %.1f s, speed %g)", id, names[action], pos, p->clock.speed);
    api_reply_json(req, 200, json_pack("{s:s,s:o}", "stream", id, "playback", state_json(p)));
}

void playback_register(void)
{
    api_route("POST", "/api/v1/devices/{}/channels/{}/playback", handle_start);
    api_route("POST", "/api/v1/streams/{}/playback", handle_control);
    download_register();
}

void playback_close(void)
{
    download_close();
}
