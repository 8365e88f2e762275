/*
 * Alarms and mobile positions in SQLite (the registry's database, storage.c): tables `alarms` and
 * `positions`, each row with the time gbgate received it. History is bounded on every insert: `alarms` keeps
 * the newest sip.alarm_history rows in total, `positions` the newest sip.position_history rows per device,
 * so a device that floods cannot grow the file. Control thread only, like storage.c.
 */
#ifndef GB_SIGNALING_STORAGE_EVENTS_H
#define GB_SIGNALING_STORAGE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/device.h"

struct stored_alarm {
    int64_t id; /* assigned by the insert */
    char device_id[DEVICE_ID_MAX];
    char channel_id[MANSCDP_ID_SIZE]; /* the body's DeviceID: the alarm input or channel */
    int priority, method, type;       /* -1 when absent */
    char time[MANSCDP_WORD_SIZE];     /* AlarmTime as sent */
    char description[MANSCDP_TEXT_SIZE];
    bool has_position;
    double longitude, latitude;
    uint64_t received_at; /* wall ms */
};

struct stored_position {
    char device_id[DEVICE_ID_MAX];
    char channel_id[MANSCDP_ID_SIZE];
    char time[MANSCDP_WORD_SIZE];
    double longitude, latitude, speed, direction, altitude;
    uint64_t received_at;
};

/* Creates the tables (in the database storage_open() opened) and prepares the statements. */
int storage_events_open(void);
void storage_events_close(void);

/* Inserts and prunes to max_rows (0 = keep nothing). Fills a->id. Returns 0 or EIO. */
int storage_alarm_add(struct stored_alarm *a, int max_rows);
/* Newest first; device NULL/"" = every device; since_ms 0 = any time. Calls fn for each; returns 0 or EIO. */
int storage_alarms_list(const char *device_id, uint64_t since_ms, int limit,
                        void (*fn)(void *arg, const struct stored_alarm *a), void *arg);
int storage_alarms_clear(void);

int storage_position_add(const struct stored_position *p, int max_per_device);
/* Newest first. */
int storage_positions_list(const char *device_id, int limit,
                           void (*fn)(void *arg, const struct stored_position *p), void *arg);
/* The newest position of every device (to warm the in-memory "last position" at start). */
int storage_positions_latest(void (*fn)(void *arg, const struct stored_position *p), void *arg);
/* Removes a deleted device's alarms and positions. */
int storage_events_forget_device(const char *device_id);

#endif
