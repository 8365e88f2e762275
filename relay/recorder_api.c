/*
 * The recording API, on the control thread (common/api.h); docs/API.md "Recording to MP4":
 *   POST   /api/v1/streams/{id}/record    {"file":"name.mp4"} (optional) -> 201 status
 *   GET    /api/v1/streams/{id}/record    -> the stream's newest recording (running or finished)
 *   DELETE /api/v1/streams/{id}/record    [?id=recN] finalize -> 200 status once the moov is written
 *   GET    /api/v1/recordings             [?stream=] files in record.dir + running/recent recordings
 *   DELETE /api/v1/recordings/{file}      -> 204
 * DELETE answers when the file is finalized (the recorder calls back), never blocking the control thread.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/api.h"
#include "media/directory.h"
#include "relay/recorder_priv.h"

#define LIST_MAX_FILES 10000

static void reply_start_error(struct api_request *req, int rc, const char *stream, const char *file)
{
    switch (rc) {
    case ENOENT: api_reply_error(req, 404, "stream_not_found", "no stream %s", stream); return;
    case EEXIST: api_reply_error(req, 409, "file_exists", "%s exists or is being recorded", file); return;
    case EINVAL:
        api_reply_error(req, 400, "bad_name",
                        "\"file\" must match [A-Za-z0-9_-][A-Za-z0-9_.-]*.mp4 (at most %d "
                        "characters, no path)",
                        RECORDER_NAME_MAX);
        return;
    case ENOSPC:
        api_reply_error(req, 503, "too_many_recordings", "record.max_concurrent recordings running");
        return;
    default:
        api_reply_error(req, 500, "record_failed", "cannot start the recording: %s", strerror(rc));
        return;
    }
}

static void handle_start(struct api_request *req)
{
    const char *id = req->params[0];
    if (!directory_get(id, NULL)) {
        api_reply_error(req, 404, "stream_not_found", "no stream %s", id);
        return;
    }
    char file[RECORDER_NAME_MAX + 1] = "";
    bool given = false;
    if (req->body && req->body_len > 0) {
        json_t *body = api_body_json(req);
        if (!body) return;
        json_t *f = json_object_get(body, "file");
        if (f && (!json_is_string(f) || !recorder_valid_name(json_string_value(f)))) {
            json_decref(body);
            reply_start_error(req, EINVAL, id, "");
            return;
        }
        if (f) {
            snprintf(file, sizeof file, "%s", json_string_value(f));
            given = true;
        }
        json_decref(body);
    }
    char rec_id[32];
    int rc;
    if (given) {
        rc = recorder_start(id, file, NULL, NULL, rec_id);
    } else {
        /* {stream}_{yyyymmddHHMMSS}.mp4 in UTC; a second one within the same second gets _2, _3... */
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
        rc = EEXIST;
        for (int n = 1; n <= 9 && rc == EEXIST; n++) {
            char suffix[8] = "";
            if (n > 1) snprintf(suffix, sizeof suffix, "_%d", n);
            snprintf(file, sizeof file, "%s%.64s_%s%s.mp4", id[0] == '.' ? "rec" : "", id, when, suffix);
            rc = recorder_start(id, file, NULL, NULL, rec_id);
        }
    }
    if (rc) {
        reply_start_error(req, rc, id, file);
        return;
    }
    struct recorder_status st;
    if (recorder_get(rec_id, &st) != 0) {
        api_reply_json(req, 201, json_pack("{s:s}", "id", rec_id));
        return;
    }
    api_reply_json(req, 201, recorder_status_json(&st));
}

static void handle_get(struct api_request *req)
{
    json_t *list = recorder_list_json(req->params[0]);
    json_t *newest = json_array_get(list, 0);
    if (!newest) {
        json_decref(list);
        if (!directory_get(req->params[0], NULL))
            api_reply_error(req, 404, "stream_not_found", "no stream %s", req->params[0]);
        else
            api_reply_error(req, 404, "no_recording", "stream %s has no recording", req->params[0]);
        return;
    }
    json_incref(newest);
    json_decref(list);
    api_reply_json(req, 200, newest);
}

static void reply_stopped(void *arg, const struct recorder_status *st)
{
    api_reply_json(arg, 200, recorder_status_json(st));
}

static void handle_stop(struct api_request *req)
{
    const char *stream = req->params[0];
    char only[32] = "";
    api_query_get(req, "id", only, sizeof only);
    /* every running recording of the stream (or the one named); the reply waits for the newest */
    json_t *list = recorder_list_json(stream);
    size_t i;
    json_t *o;
    bool waiting = false;
    char just_finished[32] = ""; /* finalized between the list and the stop: answer with its status */
    json_array_foreach(list, i, o)
    {
        const char *rid = json_string_value(json_object_get(o, "id"));
        const char *state = json_string_value(json_object_get(o, "state"));
        if (!rid || !state || strcmp(state, "recording") != 0 || (only[0] && strcmp(rid, only) != 0))
            continue;
        if (!waiting && recorder_stop_notify(rid, reply_stopped, req) == 0)
            waiting = true; /* reply_stopped answers */
        else if (recorder_stop(rid) != 0 && !just_finished[0])
            snprintf(just_finished, sizeof just_finished, "%s", rid);
    }
    json_decref(list);
    struct recorder_status st;
    if (!waiting && just_finished[0] && recorder_get(just_finished, &st) == 0) {
        api_reply_json(req, 200, recorder_status_json(&st));
        return;
    }
    if (!waiting)
        api_reply_error(req, 404, "not_recording", "stream %s has no running recording%s%s", stream,
                        only[0] ? " " : "", only);
}

static int by_mtime_desc(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "mtime_ms"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "mtime_ms"));
    return x < y ? 1 : x > y ? -1 : 0;
}

static void handle_list(struct api_request *req)
{
    char stream[STREAM_ID_MAX + 1] = "";
    bool filter = api_query_get(req, "stream", stream, sizeof stream) && stream[0];
    json_t **files = NULL;
    size_t n = 0;
    bool truncated = false;
    DIR *d = opendir(recorder_dir());
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (!recorder_valid_name(de->d_name)) continue; /* ".x.mp4.part" and foreign files */
        if (filter && (strncmp(de->d_name, stream, strlen(stream)) != 0 || de->d_name[strlen(stream)] != '_'))
            continue;
        if (n == LIST_MAX_FILES) {
            truncated = true;
            break;
        }
        char path[1024];
        struct stat sb;
        if (!recorder_file_path(de->d_name, path, sizeof path) || stat(path, &sb) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (n % 256 == 0) {
            json_t **nf = realloc(files, (n + 256) * sizeof *nf);
            if (!nf) break;
            files = nf;
        }
        char url[RECORDER_NAME_MAX + 16];
        snprintf(url, sizeof url, "/records/%.*s", RECORDER_NAME_MAX, de->d_name);
        files[n++] =
            json_pack("{s:s,s:I,s:I,s:s}", "file", de->d_name, "bytes", (json_int_t)sb.st_size, "mtime_ms",
                      (json_int_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000, "url", url);
    }
    if (d) closedir(d);
    if (n) qsort(files, n, sizeof *files, by_mtime_desc);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, files[i]);
    free(files);
    json_t *out = json_pack("{s:s,s:o,s:o}", "dir", recorder_dir(), "files", arr, "recordings",
                            recorder_list_json(filter ? stream : NULL));
    if (truncated) json_object_set_new(out, "truncated", json_true());
    api_reply_json(req, 200, out);
}

static void handle_delete_file(struct api_request *req)
{
    const char *name = req->params[0];
    char path[1024];
    if (!recorder_valid_name(name) || !recorder_file_path(name, path, sizeof path)) {
        reply_start_error(req, EINVAL, "", name);
        return;
    }
    if (recorder_file_active(name)) {
        api_reply_error(req, 409, "recording_active", "%s is being recorded: stop the recording first", name);
        return;
    }
    if (unlink(path) != 0) {
        if (errno == ENOENT)
            api_reply_error(req, 404, "file_not_found", "no recording file %s", name);
        else
            api_reply_error(req, 500, "delete_failed", "cannot delete %s: %s", name, strerror(errno));
        return;
    }
    api_reply_empty(req, 204);
}

void recorder_api_register(void)
{
    api_route("POST", "/api/v1/streams/{}/record", handle_start);
    api_route("GET", "/api/v1/streams/{}/record", handle_get);
    api_route("DELETE", "/api/v1/streams/{}/record", handle_stop);
    api_route("GET", "/api/v1/recordings", handle_list);
    api_route("DELETE", "/api/v1/recordings/{}", handle_delete_file);
}
