/*
 * GET/POST/DELETE /api/v1/streams and /api/v1/health (DESIGN.md section 4). Runs on the control thread;
 * opening and closing happen on the owning worker, whose result comes back here as a task.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app/app.h"
#include "app/playback.h"
#include "common/api.h"
#include "common/clock.h"
#include "common/control.h"
#include "common/log.h"
#include "version.h"
#include "media/stream.h"
#include "media/worker.h"
#include "relay/live.h"
#include "relay/rtmp.h"

#define MODULE "api"

#define OPEN_PORT_ATTEMPTS 8

struct open_job {
    struct stream_entry e;
    bool port_allocated;
    int attempts;
    stream_open_cb cb;
    void *arg;
    int err;
    char message[256];
};

static void open_on_worker(void *arg);

static void open_done(void *arg)
{
    struct open_job *j = arg;
    if (j->err == EADDRINUSE && j->port_allocated && ++j->attempts < OPEN_PORT_ATTEMPTS) {
        /* Another program holds that port of media.rtp_port_range: leave it marked used and take the next. */
        int port = ports_alloc();
        if (port > 0) {
            log_warn(MODULE, "[%s] port %d is taken by another program; trying %d", j->e.id, j->e.port, port);
            directory_remove(j->e.id);
            j->e.port = port;
            j->err = 0;
            j->message[0] = 0;
            if (directory_add(&j->e) == 0 && worker_post(j->e.worker, open_on_worker, j) == 0) return;
            j->err = EADDRINUSE;
        }
    }
    if (j->err) {
        directory_remove(j->e.id);
        if (j->port_allocated) ports_release(j->e.port);
    }
    j->cb(j->arg, j->err, &j->e, j->message);
    free(j);
}

static void open_on_worker(void *arg)
{
    struct open_job *j = arg;
    struct worker *w = worker_current();
    struct live *l = live_create(w, j->e.id);
    struct stream *s;
    j->err = l ? stream_open(w, &j->e, &live_sink_ops, l, &s, j->message, sizeof j->message) : ENOMEM;
    if (j->err && l) live_sink_ops.on_close(l, "open failed");
    if (control_post(open_done, j) != 0) free(j);
}

static int pick_worker(void)
{
    /* least streams; ties to the lowest index */
    int best = 0, n = workers_count();
    int counts[256] = {0};
    struct stream_entry *list;
    size_t cnt = directory_list(&list);
    for (size_t i = 0; i < cnt; i++)
        if (list[i].worker >= 0 && list[i].worker < 256) counts[list[i].worker]++;
    free(list);
    for (int i = 1; i < n && i < 256; i++)
        if (counts[i] < counts[best]) best = i;
    return best;
}

int streams_open(const char *id, enum stream_transport t, int port, uint32_t ssrc, const char *remote,
                 const char *source, bool on_demand, stream_open_cb cb, void *arg)
{
    const struct gb_config *cfg = app_config();
    struct open_job *j = calloc(1, sizeof *j);
    if (!j) return ENOMEM;
    snprintf(j->e.id, sizeof j->e.id, "%s", id);
    j->e.transport = t;
    j->e.ssrc = ssrc;
    j->e.created_ms = clock_wall_ms();
    snprintf(j->e.remote, sizeof j->e.remote, "%s", remote ? remote : "");
    snprintf(j->e.source, sizeof j->e.source, "%s", source);
    j->e.on_demand = on_demand;
    j->cb = cb;
    j->arg = arg;
    if (directory_count() >= (size_t)cfg->media.max_streams) {
        free(j);
        return ENOSPC;
    }
    if (port < 0 && t != TRANSPORT_TCP_ACTIVE) {
        j->e.shared = true;
        j->e.port = cfg->media.rtp_port;
        j->e.worker = worker_for_ssrc(ssrc, workers_count());
    } else {
        if (port <= 0) {
            port = ports_alloc();
            if (port < 0) {
                free(j);
                return EADDRNOTAVAIL;
            }
            j->port_allocated = true;
        }
        j->e.port = port;
        j->e.worker = pick_worker();
    }
    int rc = directory_add(&j->e);
    if (rc) {
        if (j->port_allocated) ports_release(j->e.port);
        free(j);
        return rc;
    }
    rc = worker_post(j->e.worker, open_on_worker, j);
    if (rc) {
        directory_remove(j->e.id);
        if (j->port_allocated) ports_release(j->e.port);
        free(j);
    }
    return rc;
}

struct close_job {
    char id[STREAM_ID_MAX + 1];
    char reason[64];
    struct api_request *req;
};

static void close_reply(void *arg)
{
    struct close_job *j = arg;
    if (j->req) api_reply_empty(j->req, 204);
    free(j);
}

static void close_on_worker(void *arg)
{
    struct close_job *j = arg;
    struct stream *s = worker_find_stream(worker_current(), j->id);
    if (s) stream_close(s, j->reason);
    if (!j->req || control_post(close_reply, j) != 0) free(j);
}

static int close_stream(const char *id, const char *reason, struct api_request *req)
{
    struct stream_entry e;
    if (!directory_get(id, &e)) return ENOENT;
    struct close_job *j = calloc(1, sizeof *j);
    if (!j) return ENOMEM;
    snprintf(j->id, sizeof j->id, "%s", id);
    snprintf(j->reason, sizeof j->reason, "%s", reason);
    j->req = req;
    int rc = worker_post(e.worker, close_on_worker, j);
    if (rc) free(j);
    return rc;
}

int streams_close(const char *id, const char *reason)
{
    return close_stream(id, reason, NULL);
}

/* ---- JSON ---- */

static void host_for_urls(const struct api_request *req, char *host, size_t size)
{
    const struct gb_config *cfg = app_config();
    if (req && req->host[0]) {
        /* strip the port the client used; each URL has its own */
        snprintf(host, size, "%s", req->host);
        char *colon = strrchr(host, ':');
        if (colon && !strchr(host, ']'))
            *colon = 0;
        else if (colon && strchr(host, ']') && colon > strchr(host, ']'))
            *colon = 0;
    } else {
        snprintf(host, size, "%.127s", cfg->media.ip);
    }
}

json_t *streams_urls_json(const char *id, const struct api_request *req)
{
    const struct gb_config *cfg = app_config();
    char host[128], flv[400], ws[400], rtmp[400];
    host_for_urls(req, host, sizeof host);
    snprintf(flv, sizeof flv, "http://%s:%d/live/%s.flv", host, cfg->http.port, id);
    snprintf(ws, sizeof ws, "ws://%s:%d/live/%s.flv", host, cfg->http.port, id);
    snprintf(rtmp, sizeof rtmp, "rtmp://%s:%d/live/%s", host, cfg->rtmp.port, id);
    return json_pack("{s:s,s:s,s:s}", "flv", flv, "ws_flv", ws, "rtmp", rtmp);
}

static json_t *entry_json(const struct stream_entry *e, const struct api_request *req)
{
    const struct stream_stats *st = &e->stats;
    char started[40];
    clock_format_utc(e->created_ms, started, sizeof started);
    json_t *video = json_null(), *audio = json_null();
    if (st->vcodec)
        video =
            json_pack("{s:s,s:i,s:i,s:f}", "codec", codec_name(st->vcodec), "width", (json_int_t)st->width,
                      "height", (json_int_t)st->height, "fps", st->fps_milli / 1000.0);
    if (st->acodec) {
        /* what FLV/RTMP viewers get: G.711 becomes AAC once per stream unless stream.audio_transcode = off
         * (relay/live.c), so a player showing AAC for a G.711 camera is not a mystery */
        bool to_aac =
            codec_is_g711(st->acodec) && app_config()->stream.audio_transcode != AUDIO_TRANSCODE_OFF;
        audio = json_pack("{s:s,s:i,s:i,s:s}", "codec", codec_name(st->acodec), "sample_rate",
                          (json_int_t)st->sample_rate, "channels", (json_int_t)st->channels, "viewer_codec",
                          to_aac ? codec_name(CODEC_AAC) : codec_name(st->acodec));
        if (to_aac)
            json_object_set_new(audio, "transcode",
                                json_pack("{s:I,s:I,s:I}", "frames_in", (json_int_t)st->audio_transcode_in,
                                          "frames_out", (json_int_t)st->audio_transcode_out,
                                          "held_for_ffmpeg", (json_int_t)st->audio_held));
    }
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I,s:i,s:b,s:i,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:s,s:o}", "id", e->id,
        "source", e->source, "transport", stream_transport_name(e->transport), "ssrc", (json_int_t)e->ssrc,
        "port", e->port, "shared_port", e->shared, "worker", e->worker, "video", video, "audio", audio,
        "bitrate_kbps", (json_int_t)st->bitrate_kbps, "packets", (json_int_t)st->packets, "packets_lost",
        (json_int_t)st->packets_lost, "frames", (json_int_t)(st->frames_video + st->frames_audio),
        "frames_dropped", (json_int_t)st->frames_dropped, "keyframes", (json_int_t)st->keyframes,
        "bad_packets", (json_int_t)st->bad_packets, "viewer_bytes", (json_int_t)st->viewer_bytes, "viewers",
        (json_int_t)st->viewers, "started_at", started, "urls", streams_urls_json(e->id, req));
    json_object_set_new(o, "packets_reordered", json_integer((json_int_t)st->packets_reordered));
    json_object_set_new(o, "packets_duplicate", json_integer((json_int_t)st->packets_dup));
    json_object_set_new(o, "jitter_ms", json_integer(st->jitter_ms));
    json_object_set_new(o, "video_frames", json_integer((json_int_t)st->frames_video));
    json_object_set_new(o, "audio_frames", json_integer((json_int_t)st->frames_audio));
    json_object_set_new(o, "payload_type", json_integer(st->payload_type));
    json_object_set_new(o, "payload", st->payload ? json_string(st->payload) : json_null());
    /* GB live view: an on-demand session is "starting" until its first keyframe, then "playing" */
    json_object_set_new(o, "on_demand", json_boolean(e->on_demand));
    json_object_set_new(o, "state", json_string(!e->on_demand || e->ready ? "playing" : "starting"));
    json_object_set_new(o, "rtcp",
                        json_pack("{s:I,s:I}", "sr_received", (json_int_t)st->rtcp_sr_received, "rr_sent",
                                  (json_int_t)st->rtcp_rr_sent));
    json_object_set_new(o, "remote", json_string(e->remote[0] ? e->remote : st->remote));
    json_object_set_new(o, "error", st->unsupported ? json_string(st->unsupported) : json_null());
    json_t *playback = playback_stream_json(e->id); /* recordings: kind, range, speed, position */
    if (playback) json_object_set_new(o, "playback", playback);
    json_t *rtmp = rtmp_stream_json(e->id); /* RTMP players and push relays of this stream */
    if (rtmp) {
        json_object_update(o, rtmp);
        json_decref(rtmp);
    }
    return o;
}

/* ---- handlers ---- */

static void handle_health(struct api_request *req)
{
    api_reply_json(req, 200,
                   json_pack("{s:s,s:s,s:I,s:i,s:I}", "status", "ok", "version", GBGATE_VERSION, "uptime_s",
                             (json_int_t)((clock_mono_ms() - app_started_ms()) / 1000), "workers",
                             workers_count(), "streams", (json_int_t)directory_count()));
}

static void handle_list(struct api_request *req)
{
    struct stream_entry *list;
    size_t n = directory_list(&list);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, entry_json(&list[i], req));
    free(list);
    api_reply_json(req, 200, json_pack("{s:o}", "streams", arr));
}

static void handle_get(struct api_request *req)
{
    struct stream_entry e;
    if (!directory_get(req->params[0], &e)) {
        api_reply_error(req, 404, "stream_not_found", "no stream '%s'", req->params[0]);
        return;
    }
    api_reply_json(req, 200, entry_json(&e, req));
}

static void handle_delete(struct api_request *req)
{
    int rc = close_stream(req->params[0], "closed through the API", req);
    if (rc == ENOENT)
        api_reply_error(req, 404, "stream_not_found", "no stream '%s'", req->params[0]);
    else if (rc)
        api_reply_error(req, 503, "unavailable", "cannot close: %s", strerror(rc));
}

static void created_reply(void *arg, int err, const struct stream_entry *e, const char *message)
{
    struct api_request *req = arg;
    if (err) {
        api_reply_error(req, err == EADDRINUSE ? 409 : 400, "open_failed", "%s",
                        message[0] ? message : strerror(err));
        return;
    }
    api_reply_json(req, 201,
                   json_pack("{s:s,s:i,s:I,s:s,s:b,s:i,s:o}", "id", e->id, "port", e->port, "ssrc",
                             (json_int_t)e->ssrc, "transport", stream_transport_name(e->transport),
                             "shared_port", e->shared, "worker", e->worker, "urls",
                             streams_urls_json(e->id, req)));
}

bool streams_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > STREAM_ID_MAX) return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

static bool parse_ssrc(json_t *v, uint32_t *out)
{
    if (!v || json_is_null(v)) {
        *out = 0;
        return true;
    }
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0 || x > 0xffffffffLL) return false;
        *out = (uint32_t)x;
        return true;
    }
    if (json_is_string(v)) { /* GB style "0200001234": the decimal value is the RTP SSRC */
        const char *s = json_string_value(v);
        char *end;
        unsigned long long x = strtoull(s, &end, 10);
        if (!*s || *end || x > 0xffffffffULL) return false;
        *out = (uint32_t)x;
        return true;
    }
    return false;
}

static void handle_create(struct api_request *req)
{
    json_t *body = api_body_json(req);
    if (!body) return;
    const char *id = json_string_value(json_object_get(body, "id"));
    const char *transport = json_string_value(json_object_get(body, "transport"));
    json_t *jport = json_object_get(body, "port");
    const char *remote = json_string_value(json_object_get(body, "remote"));
    enum stream_transport t = TRANSPORT_UDP;
    uint32_t ssrc;
    int port = -1;
    if (!id || !streams_valid_id(id)) {
        api_reply_error(req, 400, "bad_id", "\"id\" must match [A-Za-z0-9_.-]{1,64}");
        goto out;
    }
    if (transport && stream_transport_parse(transport, &t)) {
        api_reply_error(req, 400, "bad_transport", "\"transport\" must be udp, tcp-passive or tcp-active");
        goto out;
    }
    if (!parse_ssrc(json_object_get(body, "ssrc"), &ssrc)) {
        api_reply_error(req, 400, "bad_ssrc", "\"ssrc\" must be a 32-bit number or a decimal string");
        goto out;
    }
    if (jport && !json_is_null(jport)) {
        if (!json_is_integer(jport) || json_integer_value(jport) < 0 || json_integer_value(jport) > 65535) {
            api_reply_error(req, 400, "bad_port", "\"port\" must be 0 (allocate) or a port number");
            goto out;
        }
        port = (int)json_integer_value(jport);
        if (port == app_config()->media.rtp_port) port = -1;
    }
    if (t == TRANSPORT_TCP_ACTIVE && (!remote || !strchr(remote, ':'))) {
        api_reply_error(req, 400, "bad_remote", "tcp-active needs \"remote\": \"ip:port\" of the device");
        goto out;
    }
    if (t == TRANSPORT_TCP_ACTIVE && port < 0) port = 0;
    if (port < 0 && ssrc == 0) {
        api_reply_error(
            req, 400, "ssrc_required",
            "the shared port tells streams apart by SSRC: give \"ssrc\", or \"port\": 0 for a port of "
            "its own");
        goto out;
    }
    int rc = streams_open(id, t, port, ssrc, remote, "api", false, created_reply, req);
    if (rc == EEXIST)
        api_reply_error(req, 409, "stream_exists", "stream '%s' exists", id);
    else if (rc == EADDRINUSE)
        api_reply_error(req, 409, "ssrc_in_use", "SSRC %u is taken on the shared port", ssrc);
    else if (rc == EADDRNOTAVAIL)
        api_reply_error(req, 503, "no_ports", "media.rtp_port_range is exhausted");
    else if (rc == ENOSPC)
        api_reply_error(req, 503, "too_many_streams", "media.max_streams reached");
    else if (rc)
        api_reply_error(req, 500, "internal", "%s", strerror(rc));
out:
    json_decref(body);
}

/* ---- debug dump ---- */

struct dump_job {
    char id[STREAM_ID_MAX + 1];
    char path[512];
    size_t max_bytes;
    int seconds;
    bool stop;
    struct api_request *req;
};

static void dump_on_worker(void *arg)
{
    struct dump_job *j = arg;
    struct stream *s = worker_find_stream(worker_current(), j->id);
    if (!s) {
        api_reply_error(j->req, 404, "stream_not_found", "no stream '%s'", j->id);
    } else if (j->stop) {
        bool active = stream_dump_active(s);
        stream_dump_stop(s, "stopped through the API");
        if (active)
            api_reply_empty(j->req, 204);
        else
            api_reply_error(j->req, 404, "no_dump", "no dump is running on '%s'", j->id);
    } else {
        int rc = stream_dump_start(s, j->path, j->max_bytes, j->seconds);
        if (rc == EBUSY)
            api_reply_error(j->req, 409, "dump_running", "a dump of '%s' is already running", j->id);
        else if (rc)
            api_reply_error(j->req, 503, "no_memory", "cannot reserve %zu bytes", j->max_bytes);
        else
            api_reply_json(j->req, 202,
                           json_pack("{s:s,s:s,s:i,s:I}", "stream", j->id, "path", j->path, "seconds",
                                     j->seconds, "max_bytes", (json_int_t)j->max_bytes));
    }
    free(j);
}

static void dump_request(struct api_request *req, bool stop)
{
    struct stream_entry e;
    if (!directory_get(req->params[0], &e)) {
        api_reply_error(req, 404, "stream_not_found", "no stream '%s'", req->params[0]);
        return;
    }
    struct dump_job *j = calloc(1, sizeof *j);
    if (!j) {
        api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    snprintf(j->id, sizeof j->id, "%.64s", req->params[0]);
    j->stop = stop;
    j->req = req;
    j->seconds = 30;
    j->max_bytes = 16u << 20;
    if (!stop && req->body_len) {
        json_t *body = api_body_json(req);
        if (!body) {
            free(j);
            return;
        }
        json_t *sec = json_object_get(body, "seconds"), *mb = json_object_get(body, "max_mb");
        if ((sec &&
             (!json_is_integer(sec) || json_integer_value(sec) < 1 || json_integer_value(sec) > 600)) ||
            (mb && (!json_is_integer(mb) || json_integer_value(mb) < 1 || json_integer_value(mb) > 256))) {
            json_decref(body);
            free(j);
            api_reply_error(req, 400, "bad_limits", "\"seconds\" must be 1-600 and \"max_mb\" 1-256");
            return;
        }
        if (sec) j->seconds = (int)json_integer_value(sec);
        if (mb) j->max_bytes = (size_t)json_integer_value(mb) << 20;
        json_decref(body);
    }
    /* next to the registry database: dumps/{id}-{utc}.rtp */
    char dir[CFG_STR_MAX], when[40];
    snprintf(dir, sizeof dir, "%s", app_config()->storage.path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    clock_format_utc(clock_wall_ms(), when, sizeof when);
    for (char *c = when; *c; c++)
        if (*c == ':') *c = '-';
    char dumps[CFG_STR_MAX + 8];
    snprintf(dumps, sizeof dumps, "%s/dumps", dir);
    mkdir(dumps, 0755);
    snprintf(j->path, sizeof j->path, "%.300s/%.64s-%.32s.rtp", dumps, j->id, when);
    if (worker_post(e.worker, dump_on_worker, j) != 0) {
        free(j);
        api_reply_error(req, 503, "unavailable", "the stream's worker is stopping");
    }
}

static void handle_dump_start(struct api_request *req)
{
    dump_request(req, false);
}

static void handle_dump_stop(struct api_request *req)
{
    dump_request(req, true);
}

void streams_api_register(void)
{
    api_route("POST", "/api/v1/streams/{}/dump", handle_dump_start);
    api_route("DELETE", "/api/v1/streams/{}/dump", handle_dump_stop);
    api_route("GET", "/api/v1/health", handle_health);
    api_route("GET", "/api/v1/streams", handle_list);
    api_route("POST", "/api/v1/streams", handle_create);
    api_route("GET", "/api/v1/streams/{}", handle_get);
    api_route("DELETE", "/api/v1/streams/{}", handle_delete);
}
