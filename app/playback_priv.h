/*
 * Private to app/playback*.c: one playback or download (the owner of its gb_session), the times of the API,
 * and what both kinds share (request parsing, the recording position, posting to the stream's worker).
 */
#ifndef GB_APP_PLAYBACK_PRIV_H
#define GB_APP_PLAYBACK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/gb_session.h"
#include "common/api.h"

#define PLAYBACK_RANGE_MAX_S (24 * 3600) /* longest range one request may ask for */

/* ---- playback_time.c (pure) ---- */

/* "2026-01-01T10:00:00" (or a space instead of 'T') is local time in the gateway's time zone (TZ), which
 * must be the devices' (GB28181 devices take t= as Unix seconds and show them in their own local time);
 * a trailing "Z" or "+08:00"/"-0500" makes it an absolute instant. False on anything else or out of range. */
bool playback_parse_time(const char *text, int64_t *unix_s);
/* Unix seconds -> "2026-01-01T10:00:00" in local time. */
void playback_format_time(int64_t unix_s, char *out, size_t size);

/* ---- playback.c: shared by both kinds ---- */

struct pb_range {
    char device[21], channel[21];
    int64_t start, end;
    int transport; /* -1: the device's */
    double speed;  /* download: a=downloadspeed (1..), playback: 1 */
};
/* Parses the path (device, channel) and the body {"start","end","transport"[,"speed"]} of a playback or
 * download request; on failure answers 400 itself and returns false. */
bool pb_parse_request(struct api_request *req, bool download, struct pb_range *out);
/* The recording position in seconds from the start, as the device plays it (wall clock x speed, frozen while
 * paused). */
struct pb_clock {
    double mark_pos_s; /* position at mark_ms */
    uint64_t mark_ms;  /* monotonic; 0 = not playing yet */
    double speed;
    bool paused;
    double duration_s;
};
double pb_clock_position(const struct pb_clock *c, uint64_t now_ms);
void pb_clock_mark(struct pb_clock *c, uint64_t now_ms, double new_pos_s);

/* ---- playback_download.c ---- */

void download_register(void);
json_t *download_stream_json(const char *stream_id);
void download_close(void);

#endif
