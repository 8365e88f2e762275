/*
 * Times of the playback API (playback_priv.h). GB28181 carries recording times two ways: RecordInfo as
 * local "yyyy-MM-ddTHH:mm:ss" without a zone, the INVITE's t= as Unix seconds. Devices read t= in their own
 * time zone, so "10:00" must become the Unix time at which the device's clock showed 10:00. gbgate takes the
 * devices' zone to be its own (TZ of the process; set TZ=Asia/Shanghai in the service or container when the
 * host runs in UTC), and accepts an explicit offset for clients that know better. Pure: no I/O.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app/playback_priv.h"
#include "signaling/record_list.h"

/* "+08:00", "+0800", "+08", "-05:30": the offset in seconds. */
static bool parse_offset(const char *z, int *seconds)
{
    if ((z[0] != '+' && z[0] != '-') || z[1] < '0' || z[1] > '9' || z[2] < '0' || z[2] > '9') return false;
    int h = (z[1] - '0') * 10 + (z[2] - '0'), m = 0;
    const char *mm = z[3] == ':' ? z + 4 : z + 3;
    if (*mm) {
        if (mm[0] < '0' || mm[0] > '9' || mm[1] < '0' || mm[1] > '9' || mm[2]) return false;
        m = (mm[0] - '0') * 10 + (mm[1] - '0');
    } else if (z[3]) {
        return false; /* "+08:" */
    }
    if (h > 14 || m > 59) return false;
    *seconds = (z[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
    return true;
}

bool playback_parse_time(const char *text, int64_t *unix_s)
{
    if (!text || strnlen(text, 40) < 19) return false;
    /* the wall time itself is read as RecordInfo times are (signaling/record_list.h): as if it were UTC */
    char wall[20];
    memcpy(wall, text, 19);
    wall[19] = 0;
    int64_t naive;
    if (!record_time_parse(wall, &naive)) return false;
    const char *zone = text + 19;
    int64_t t;
    int offset = 0;
    if (!*zone) {
        /* local time of this process (TZ): the wall time's fields, and mktime finds the instant */
        time_t nt = (time_t)naive;
        struct tm tm;
        if (!gmtime_r(&nt, &tm)) return false;
        tm.tm_isdst = -1;
        time_t lt = mktime(&tm);
        if (lt == (time_t)-1) return false;
        t = (int64_t)lt;
    } else if (!strcmp(zone, "Z") || parse_offset(zone, &offset)) {
        t = naive - offset;
    } else {
        return false;
    }
    *unix_s = t;
    return t >= 0;
}

void playback_format_time(int64_t unix_s, char *out, size_t size)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm)) snprintf(out, size, "?");
}

double pb_clock_position(const struct pb_clock *c, uint64_t now_ms)
{
    if (!c->mark_ms) return c->mark_pos_s;
    double pos = c->mark_pos_s;
    if (!c->paused && now_ms > c->mark_ms) pos += (double)(now_ms - c->mark_ms) / 1000.0 * c->speed;
    if (pos > c->duration_s) pos = c->duration_s;
    return pos < 0 ? 0 : pos;
}

void pb_clock_mark(struct pb_clock *c, uint64_t now_ms, double new_pos_s)
{
    c->mark_pos_s = new_pos_s;
    c->mark_ms = now_ms ? now_ms : 1;
}
