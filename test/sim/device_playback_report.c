/*
 * gbsim device: what the tests read of the calls - event lines on stderr, the --events-log JSON lines, and
 * the "calls" list of the JSON summary (device_playback.h). Calls run on several device threads, so the log
 * file and the list are behind one mutex; both are bounded (EVENTS_MAX lines, RECORDS_MAX calls), and what
 * does not fit is counted, not written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test/sim/device_playback_priv.h"
#include "test/sim/device_sim.h"

#define EVENTS_MAX  20000 /* lines in the --events-log file */
#define RECORDS_MAX 512   /* calls listed in the summary */

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *events_file;
static unsigned events_written, events_dropped;
static struct playback_record *records;
static unsigned record_count, records_dropped;
static unsigned media_status_ok, media_status_failed;

/* A JSON string of s (IDs, Call-IDs from the platform, reason texts): quotes, backslashes and control bytes
 * escaped. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static uint64_t since_start_ms(void)
{
    return tmr_jiffies() - sim_opt.start_ms;
}

void playback_event(const struct device_playback *pb, const char *name, const char *extra)
{
    const struct playback_record *r = &pb->rec;
    if (!sim_opt.quiet_events)
        fprintf(stderr, "gbsim: event=%s device=%s channel=%s call=%s kind=%s%s%s\n", name, r->device_id,
                r->channel_id, r->call_id, device_call_kind_name(r->kind), extra && extra[0] ? " " : "",
                extra ? extra : "");
    pthread_mutex_lock(&report_lock);
    if (events_file && events_written < EVENTS_MAX) {
        fprintf(events_file, "{\"t_ms\":%llu,\"event\":", (unsigned long long)since_start_ms());
        json_string(events_file, name);
        fprintf(events_file, ",\"kind\":\"%s\",\"device\":", device_call_kind_name(r->kind));
        json_string(events_file, r->device_id);
        fputs(",\"channel\":", events_file);
        json_string(events_file, r->channel_id);
        fputs(",\"call\":", events_file);
        json_string(events_file, r->call_id);
        fputs(",\"detail\":", events_file);
        json_string(events_file, extra ? extra : "");
        fputs("}\n", events_file);
        fflush(events_file);
        events_written++;
    } else if (events_file) {
        events_dropped++;
    }
    pthread_mutex_unlock(&report_lock);
}

void playback_note_media_status_answer(int scode)
{
    pthread_mutex_lock(&report_lock);
    if (scode >= 200 && scode < 300)
        media_status_ok++;
    else
        media_status_failed++;
    pthread_mutex_unlock(&report_lock);
}

void playback_record_finish(const struct device_playback *pb)
{
    const struct playback_record *r = &pb->rec;
    char extra[200];
    snprintf(extra, sizeof(extra), "how=%s frames=%llu media_seconds=%.3f media_status=%u", r->how,
             (unsigned long long)r->frames, r->media_seconds, r->media_status_sent);
    playback_event(pb, "call-end", extra);
    pthread_mutex_lock(&report_lock);
    if (!records) records = calloc(RECORDS_MAX, sizeof(*records));
    if (records && record_count < RECORDS_MAX)
        records[record_count++] = *r;
    else
        records_dropped++;
    pthread_mutex_unlock(&report_lock);
}

int device_playback_events_open(const char *path)
{
    if (!path) return 0;
    events_file = fopen(path, "w");
    if (!events_file) {
        int err = errno;
        fprintf(stderr, "gbsim device: --events-log %s: %s\n", path, strerror(err));
        return -err;
    }
    return 0;
}

static void print_list(FILE *out, const char *name, const double *v, unsigned n)
{
    fprintf(out, ",\"%s\":[", name);
    for (unsigned i = 0; i < n; i++) fprintf(out, "%s%g", i ? "," : "", v[i]);
    fputc(']', out);
}

static void print_record(FILE *out, const struct playback_record *r)
{
    fprintf(out, "{\"kind\":\"%s\",\"device\":", device_call_kind_name(r->kind));
    json_string(out, r->device_id);
    fputs(",\"channel\":", out);
    json_string(out, r->channel_id);
    fputs(",\"call_id\":", out);
    json_string(out, r->call_id);
    fprintf(out, ",\"start\":%llu,\"end\":%llu,\"length_s\":%g,\"download_speed\":%d,\"speed\":%g",
            (unsigned long long)r->start, (unsigned long long)r->end, r->length_s, r->download_speed,
            r->initial_speed);
    print_list(out, "speeds", r->speeds, r->speed_count);
    print_list(out, "seeks", r->seeks, r->seek_count);
    fprintf(out,
            ",\"speed_changes\":%u,\"seeks_total\":%u,\"pauses\":%u,\"resumes\":%u,\"infos\":%u,"
            "\"infos_refused\":%u,\"first_position_s\":%.3f,\"last_position_s\":%.3f,\"media_seconds\":%.3f,"
            "\"frames\":%llu,\"packets\":%llu,\"reached_end\":%s,\"media_status_sent\":%u,\"torn_down\":%s,"
            "\"started_ms\":%llu,\"ended_by\":",
            r->speed_changes, r->seeks_total, r->pauses, r->resumes, r->infos, r->infos_refused,
            r->first_position_s, r->last_position_s, r->media_seconds, (unsigned long long)r->frames,
            (unsigned long long)r->packets, r->reached_end ? "true" : "false", r->media_status_sent,
            r->torn_down ? "true" : "false", (unsigned long long)r->started_ms);
    json_string(out, r->how);
    fputc('}', out);
}

void device_playback_print_summary(FILE *out)
{
    pthread_mutex_lock(&report_lock);
    fputs("\"calls\":[", out);
    for (unsigned i = 0; i < record_count; i++) {
        if (i) fputc(',', out);
        print_record(out, &records[i]);
    }
    fprintf(out, "],\"calls_dropped\":%u,\"media_status_answered\":%u,\"media_status_failed\":%u,",
            records_dropped, media_status_ok, media_status_failed);
    fprintf(out, "\"events_logged\":%u,\"events_dropped\":%u", events_written, events_dropped);
    pthread_mutex_unlock(&report_lock);
}

void device_playback_cleanup(void)
{
    pthread_mutex_lock(&report_lock);
    if (events_file) fclose(events_file);
    events_file = NULL;
    free(records);
    records = NULL;
    record_count = records_dropped = 0;
    pthread_mutex_unlock(&report_lock);
}
