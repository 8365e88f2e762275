/*
 * Shared by device_playback.c (the state machine) and device_playback_report.c (events log, summary):
 * one call's state and the record that outlives it. Private to those two files.
 */
#ifndef GB_SIM_DEVICE_PLAYBACK_PRIV_H
#define GB_SIM_DEVICE_PLAYBACK_PRIV_H

#include "test/sim/device_playback.h"

#define PLAYBACK_LIST_MAX 16 /* speeds and seeks kept per call (the counts go on) */

/* What the summary says of one call. */
struct playback_record {
    enum device_call_kind kind;
    char device_id[21], channel_id[21], call_id[128];
    uint64_t start, end; /* t= */
    int download_speed;
    double length_s; /* recording length used (0: unbounded) */
    double initial_speed;
    double speeds[PLAYBACK_LIST_MAX];
    unsigned speed_count, speed_changes;
    double seeks[PLAYBACK_LIST_MAX]; /* npt seconds asked */
    unsigned seek_count, seeks_total;
    unsigned pauses, resumes, infos, infos_refused, media_status_sent;
    bool reached_end, torn_down;
    double first_position_s, last_position_s, media_seconds;
    uint64_t frames, packets;
    uint64_t started_ms; /* since gbsim started */
    char how[24];        /* how the call ended */
};

struct device_playback {
    struct sim_device *dev;
    const struct sip_msg *invite;
    struct device_media *media;
    double speed;
    bool paused, ended, anchored;
    int64_t anchor_ns, anchor_rec; /* recording time anchor_rec (90 kHz) is due at anchor_ns */
    int64_t record_end, end_rec;   /* the recording's end; where sending stops (npt=N-M may bring it in) */
    int64_t last_rec, media_ticks; /* recording time of the last frame sent; recording sent in total */
    bool have_last, have_first;
    struct playback_record rec;
};

/* One event: a "gbsim: event=NAME device= channel= call= EXTRA" stderr line (unless --quiet-events) and,
 * with --events-log, one JSON line {"t_ms","event","kind","device","channel","call","detail"}. */
void playback_event(const struct device_playback *pb, const char *name, const char *extra);
/* Stores pb->rec in the bounded list the summary prints, and logs the "call-end" event. */
void playback_record_finish(const struct device_playback *pb);
/* The platform's answer to a MediaStatus MESSAGE (0: none / transport error). */
void playback_note_media_status_answer(int scode);

#endif
