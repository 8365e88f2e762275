/*
 * Downloads of device recordings (issue 9): POST /api/v1/devices/{id}/channels/{ch}/download INVITEs
 * s=Download with a=downloadspeed:N (the device sends N seconds of recording per second, with the recording's
 * own timestamps, which are kept: the file must play at 1x), and relay/recorder.h writes the stream to MP4.
 * The recording is started as soon as the receiver is open, before any media, so it begins at the very first
 * keyframe. The download ends on MediaStatus 121 (then BYE), on the device's BYE, or when it takes longer
 * than twice its expected time plus DOWNLOAD_SLACK_S; the stream ending finalizes the file. Finished
 * downloads are kept (at most DOWNLOADS_KEPT) for GET /api/v1/downloads until deleted.
 *
 * The recorder's done callback names the download by number, never by pointer: it may arrive after the
 * download was deleted, or during shutdown after download_close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "app/playback_priv.h"
#include "common/clock.h"
#include "common/log.h"
#include "relay/recorder.h"

#define MODULE           "download"
#define DOWNLOAD_SLACK_S 60
#define DOWNLOADS_KEPT   64

enum dl_state { DL_DOWNLOADING, DL_DONE, DL_FAILED };
static const char *const dl_state_names[] = {"downloading", "done", "failed"};

struct download {
    struct download *next;
    unsigned number;
    char id[32], stream[STREAM_ID_MAX + 1];
    struct pb_range r;
    enum dl_state state;
    struct gb_session *session; /* NULL once freed */
    char rec_id[32];            /* "" until the recorder runs */
    bool recording;             /* the recorder has not reported done yet */
    bool delete_pending;        /* DELETE came while recording: remove the file when it is finalized */
    char ended_code[32];        /* why the session ended ("" while it runs) */
    char error[160];
    char file[RECORDER_NAME_MAX + 1], path[512];
    uint64_t bytes, duration_ms; /* the last known, kept once the recorder forgets the recording */
    uint64_t created_ms;
    struct tmr deadline;
};

static struct download *downloads;
static unsigned next_number = 1;

static struct download *find(const char *id)
{
    for (struct download *d = downloads; d; d = d->next)
        if (!strcmp(d->id, id)) return d;
    return NULL;
}

static struct download *find_number(unsigned n)
{
    for (struct download *d = downloads; d; d = d->next)
        if (d->number == n) return d;
    return NULL;
}

static void download_free(struct download *d)
{
    for (struct download **pp = &downloads; *pp; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    tmr_cancel(&d->deadline);
    if (d->session) d->session->owner = NULL; /* the session outlives it: its callbacks see no owner */
    free(d);
}

static void refresh(struct download *d)
{
    struct recorder_status st;
    if (!d->rec_id[0] || recorder_get(d->rec_id, &st) != 0) return;
    d->bytes = st.bytes;
    d->duration_ms = st.duration_ms;
    if (st.file[0]) snprintf(d->file, sizeof d->file, "%s", st.file);
    if (st.path[0]) snprintf(d->path, sizeof d->path, "%s", st.path);
}

static void fail(struct download *d, const char *why)
{
    if (d->state == DL_DOWNLOADING) d->state = DL_FAILED;
    if (!d->error[0]) snprintf(d->error, sizeof d->error, "%s", why);
}

/* The end: both the session and the recorder have finished. */
static void settle(struct download *d)
{
    if (d->recording || d->session || d->state != DL_DOWNLOADING) return;
    if (!strcmp(d->ended_code, "end_of_recording") || !strcmp(d->ended_code, "device_ended"))
        d->state = DL_DONE;
    else
        fail(d, d->ended_code[0] ? d->ended_code : "ended");
    log_info(MODULE, "[%s] %s: %llu bytes, %.1f s of %lld s%s%s", d->id, dl_state_names[d->state],
             (unsigned long long)d->bytes, d->duration_ms / 1000.0, (long long)(d->r.end - d->r.start),
             d->error[0] ? ": " : "", d->error);
}

static void on_recorded(void *arg, const char *rec_id, int err)
{
    struct download *d = find_number((unsigned)(uintptr_t)arg);
    if (!d || strcmp(d->rec_id, rec_id)) return;
    refresh(d);
    d->recording = false;
    if (err) {
        char why[160];
        snprintf(why, sizeof why, "the MP4 could not be written: %s", strerror(err));
        fail(d, why);
    }
    if (d->delete_pending) {
        if (d->path[0]) unlink(d->path);
        download_free(d);
        return;
    }
    settle(d);
}

/* ---- session callbacks ---- */

static json_t *download_json(struct download *d, const struct api_request *req);

static void reply_playing(struct gb_session *s, struct api_request *req)
{
    struct download *d = s->owner;
    if (!d) {
        api_reply_error(req, 410, "deleted", "the download was deleted");
        return;
    }
    api_reply_json(req, 202, download_json(d, req));
}

static void receiver_opened(struct gb_session *s)
{
    struct download *d = s->owner;
    if (!d) return;
    char name[RECORDER_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s_%s_%lld.mp4", d->id, d->r.channel, (long long)(d->created_ms / 1000));
    int rc = recorder_start(d->stream, name, on_recorded, (void *)(uintptr_t)d->number, d->rec_id);
    if (rc) {
        d->rec_id[0] = 0;
        char why[160];
        snprintf(why, sizeof why, "cannot record: %s", strerror(rc));
        fail(d, why);
        gb_session_stop(s, rc == ENOSPC ? 503 : 500, "record_failed", why);
        return;
    }
    d->recording = true;
    snprintf(d->file, sizeof d->file, "%s", name);
}

static void on_ended(struct gb_session *s, const char *code, const char *reason)
{
    struct download *d = s->owner;
    if (!d) return;
    tmr_cancel(&d->deadline);
    snprintf(d->ended_code, sizeof d->ended_code, "%s", code);
    if (strcmp(code, "end_of_recording") && strcmp(code, "device_ended"))
        snprintf(d->error, sizeof d->error, "%s", reason);
    refresh(d);
}

static void on_freed(struct gb_session *s)
{
    struct download *d = s->owner;
    if (!d) return;
    d->session = NULL;
    settle(d);
}

static const struct gb_session_ops download_ops = {
    .reply_playing = reply_playing, .receiver_opened = receiver_opened, .ended = on_ended, .freed = on_freed};

static void on_deadline(void *arg)
{
    struct download *d = arg;
    if (d->session) gb_session_stop(d->session, 504, "timeout", "the download did not finish in time");
}

/* ---- JSON ---- */

static json_t *download_json(struct download *d, const struct api_request *req)
{
    if (d->recording) refresh(d);
    char start[32], end[32], url[600] = "";
    playback_format_time(d->r.start, start, sizeof start);
    playback_format_time(d->r.end, end, sizeof end);
    double range_ms = (double)(d->r.end - d->r.start) * 1000.0;
    double progress = d->duration_ms / range_ms;
    if (progress > 1) progress = 1;
    if (d->file[0]) {
        json_t *urls = streams_urls_json(d->stream, req); /* for the host the client used */
        const char *flv = json_string_value(json_object_get(urls, "flv"));
        const char *live = flv ? strstr(flv, "/live/") : NULL;
        if (live) snprintf(url, sizeof url, "%.*s/records/%s", (int)(live - flv), flv, d->file);
        json_decref(urls);
    }
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:f,s:I,s:I}", "id", d->id, "stream", d->stream,
                          "device", d->r.device, "channel", d->r.channel, "start", start, "end", end, "speed",
                          (int)d->r.speed, "state", dl_state_names[d->state], "progress", progress, "bytes",
                          (json_int_t)d->bytes, "duration_ms", (json_int_t)d->duration_ms);
    json_object_set_new(o, "file", d->file[0] ? json_string(d->file) : json_null());
    json_object_set_new(o, "url", url[0] && d->state == DL_DONE ? json_string(url) : json_null());
    json_object_set_new(o, "error", d->error[0] ? json_string(d->error) : json_null());
    return o;
}

json_t *download_stream_json(const char *stream_id)
{
    for (struct download *d = downloads; d; d = d->next) {
        if (strcmp(d->stream, stream_id) || !d->session) continue;
        char start[32], end[32];
        playback_format_time(d->r.start, start, sizeof start);
        playback_format_time(d->r.end, end, sizeof end);
        if (d->recording) refresh(d);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:f,s:b,s:f}", "kind", "download", "id", d->id, "device",
                         d->r.device, "channel", d->r.channel, "start", start, "end", end, "speed",
                         d->r.speed, "paused", 0, "position_s", d->duration_ms / 1000.0);
    }
    return NULL;
}

/* ---- API ---- */

static void evict_finished(void)
{
    unsigned n = 0;
    struct download *oldest = NULL;
    for (struct download *d = downloads; d; d = d->next) {
        if (d->state == DL_DOWNLOADING) continue;
        n++;
        oldest = d; /* the list is newest first */
    }
    if (n >= DOWNLOADS_KEPT && oldest) download_free(oldest);
}

static void handle_start(struct api_request *req)
{
    struct pb_range r;
    if (!pb_parse_request(req, true, &r)) return;
    evict_finished();
    struct download *d = calloc(1, sizeof *d);
    if (!d) {
        api_reply_error(req, 503, "no_memory", "out of memory");
        return;
    }
    d->r = r;
    d->number = next_number++;
    d->created_ms = clock_wall_ms();
    snprintf(d->id, sizeof d->id, "dl_%u", d->number);
    snprintf(d->stream, sizeof d->stream, "dl_%s_%s_%u", r.device, r.channel, d->number);
    tmr_init(&d->deadline);
    d->next = downloads;
    downloads = d;
    struct gb_session_params sp = {.transport = r.transport,
                                   .kind = INVITE_DOWNLOAD,
                                   .start_time = (uint64_t)r.start,
                                   .end_time = (uint64_t)r.end,
                                   .download_speed = (int)r.speed};
    snprintf(sp.id, sizeof sp.id, "%s", d->stream);
    snprintf(sp.device, sizeof sp.device, "%s", r.device);
    snprintf(sp.channel, sizeof sp.channel, "%s", r.channel);
    log_info(MODULE, "[%s] download of %s %s, %lld s at speed %d", d->id, r.device, r.channel,
             (long long)(r.end - r.start), (int)r.speed);
    unsigned number = d->number;
    if (!gb_session_start(&sp, &download_ops, d, req, &d->session)) {
        download_free(d); /* refused and answered: nothing to keep */
        return;
    }
    if ((d = find_number(number)) && d->session) { /* still running (it may have failed at once) */
        uint64_t expected_s = (uint64_t)((double)(r.end - r.start) / r.speed);
        tmr_start(&d->deadline, (expected_s * 2 + DOWNLOAD_SLACK_S) * 1000, on_deadline, d);
    }
}

static void handle_list(struct api_request *req)
{
    json_t *arr = json_array();
    for (struct download *d = downloads; d; d = d->next) json_array_append_new(arr, download_json(d, req));
    api_reply_json(req, 200, json_pack("{s:o}", "downloads", arr));
}

static void handle_get(struct api_request *req)
{
    struct download *d = find(req->params[0]);
    if (!d)
        api_reply_error(req, 404, "download_not_found", "no download '%s'", req->params[0]);
    else
        api_reply_json(req, 200, download_json(d, req));
}

static void handle_delete(struct api_request *req)
{
    struct download *d = find(req->params[0]);
    if (!d) {
        api_reply_error(req, 404, "download_not_found", "no download '%s'", req->params[0]);
        return;
    }
    log_info(MODULE, "[%s] deleted through the API (%s)", d->id, dl_state_names[d->state]);
    if (d->session) gb_session_stop(d->session, 410, "deleted", "the download was deleted");
    if (d->recording) {
        d->delete_pending = true; /* the file is removed once the recorder has finalized it */
        recorder_stop(d->rec_id);
    } else {
        if (d->path[0]) unlink(d->path);
        download_free(d);
    }
    api_reply_empty(req, 204);
}

void download_register(void)
{
    api_route("POST", "/api/v1/devices/{}/channels/{}/download", handle_start);
    api_route("GET", "/api/v1/downloads", handle_list);
    api_route("GET", "/api/v1/downloads/{}", handle_get);
    api_route("DELETE", "/api/v1/downloads/{}", handle_delete);
}

void download_close(void)
{
    while (downloads) download_free(downloads);
}
