/*
 * Alarm and position history in SQLite (see storage_events.h). The tables live in the registry's database
 * (storage_db()); statements are prepared once. Each insert and its pruning run in one transaction, so the
 * bound holds even after a crash. Pruning deletes by rowid below the N-th newest, which the primary key (and
 * the (device_id, id) index for positions) answers without a scan of the table.
 */
#include "signaling/storage_events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "signaling/sig_core.h"
#include "signaling/storage.h"

static const char *const events_schema_sql =
    "CREATE TABLE IF NOT EXISTS alarms ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, channel_id TEXT NOT NULL DEFAULT '',"
    " priority INTEGER NOT NULL DEFAULT -1, method INTEGER NOT NULL DEFAULT -1,"
    " type INTEGER NOT NULL DEFAULT -1, time TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',"
    " has_position INTEGER NOT NULL DEFAULT 0, longitude REAL NOT NULL DEFAULT 0,"
    " latitude REAL NOT NULL DEFAULT 0, received_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS alarms_device ON alarms (device_id, id);"
    "CREATE TABLE IF NOT EXISTS positions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, channel_id TEXT NOT NULL DEFAULT '',"
    " time TEXT NOT NULL DEFAULT '', longitude REAL NOT NULL DEFAULT 0, latitude REAL NOT NULL DEFAULT 0,"
    " speed REAL NOT NULL DEFAULT 0, direction REAL NOT NULL DEFAULT 0, altitude REAL NOT NULL DEFAULT 0,"
    " received_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS positions_device ON positions (device_id, id);";

enum ev_stmt {
    EV_BEGIN,
    EV_COMMIT,
    EV_ROLLBACK,
    EV_ALARM_INSERT,
    EV_ALARM_PRUNE,
    EV_ALARMS_ALL,
    EV_ALARMS_DEVICE,
    EV_ALARMS_CLEAR,
    EV_POS_INSERT,
    EV_POS_PRUNE,
    EV_POS_LIST,
    EV_POS_LATEST,
    EV_ALARMS_FORGET,
    EV_POS_FORGET,
    EV_COUNT
};

#define ALARM_COLUMNS                                                                                        \
    "id, device_id, channel_id, priority, method, type, time, description, has_position, longitude,"         \
    " latitude, received_at"
#define POSITION_COLUMNS                                                                                     \
    "device_id, channel_id, time, longitude, latitude, speed, direction, altitude, received_at"

static const char *const ev_sql[EV_COUNT] = {
    [EV_BEGIN] = "BEGIN",
    [EV_COMMIT] = "COMMIT",
    [EV_ROLLBACK] = "ROLLBACK",
    [EV_ALARM_INSERT] =
        "INSERT INTO alarms (device_id, channel_id, priority, method, type, time, description,"
        " has_position, longitude, latitude, received_at)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
    [EV_ALARM_PRUNE] =
        "DELETE FROM alarms WHERE id <= (SELECT id FROM alarms ORDER BY id DESC LIMIT 1 OFFSET ?1)",
    [EV_ALARMS_ALL] =
        "SELECT " ALARM_COLUMNS " FROM alarms WHERE received_at >= ?1 ORDER BY id DESC LIMIT ?2",
    [EV_ALARMS_DEVICE] = "SELECT " ALARM_COLUMNS
                         " FROM alarms WHERE device_id = ?3 AND received_at >= ?1 ORDER BY id DESC LIMIT ?2",
    [EV_ALARMS_CLEAR] = "DELETE FROM alarms",
    [EV_POS_INSERT] = "INSERT INTO positions (" POSITION_COLUMNS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [EV_POS_PRUNE] = "DELETE FROM positions WHERE device_id = ?1 AND id <= (SELECT id FROM positions"
                     " WHERE device_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    [EV_POS_LIST] =
        "SELECT " POSITION_COLUMNS " FROM positions WHERE device_id = ?1 ORDER BY id DESC LIMIT ?2",
    [EV_POS_LATEST] = "SELECT " POSITION_COLUMNS
                      " FROM positions WHERE id IN (SELECT max(id) FROM positions GROUP BY device_id)",
    [EV_ALARMS_FORGET] = "DELETE FROM alarms WHERE device_id = ?1",
    [EV_POS_FORGET] = "DELETE FROM positions WHERE device_id = ?1",
};

static sqlite3_stmt *st[EV_COUNT];

static int ev_error(enum ev_stmt id)
{
    sig_count(SC_STORAGE_ERRORS);
    sqlite3 *db = storage_db();
    log_error(LOG_MOD, "storage: %s: %s", ev_sql[id], db ? sqlite3_errmsg(db) : "not open");
    return EIO;
}

static void ev_reset(enum ev_stmt id)
{
    sqlite3_reset(st[id]);
    sqlite3_clear_bindings(st[id]);
}

static int ev_step_done(enum ev_stmt id)
{
    int rc = sqlite3_step(st[id]);
    ev_reset(id);
    return rc == SQLITE_DONE ? 0 : ev_error(id);
}

int storage_events_open(void)
{
    sqlite3 *db = storage_db();
    if (!db) return EIO;
    char *msg = NULL;
    if (sqlite3_exec(db, events_schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error(LOG_MOD, "storage: event tables: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return EIO;
    }
    for (int i = 0; i < EV_COUNT; i++) {
        if (sqlite3_prepare_v3(db, ev_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL) != SQLITE_OK) {
            int err = ev_error(i);
            storage_events_close();
            return err;
        }
    }
    return 0;
}

void storage_events_close(void)
{
    for (int i = 0; i < EV_COUNT; i++) {
        sqlite3_finalize(st[i]);
        st[i] = NULL;
    }
}

/* Runs the write statement `id` (bound by the caller), then `prune`, in one transaction. */
static int write_pruned(enum ev_stmt id, enum ev_stmt prune)
{
    if (ev_step_done(EV_BEGIN)) {
        ev_reset(id);
        ev_reset(prune);
        return EIO;
    }
    int err = ev_step_done(id);
    if (!err) err = ev_step_done(prune);
    ev_reset(prune);
    if (err) {
        (void)ev_step_done(EV_ROLLBACK);
        return err;
    }
    return ev_step_done(EV_COMMIT);
}

int storage_alarm_add(struct stored_alarm *a, int max_rows)
{
    if (!st[EV_ALARM_INSERT]) return EIO;
    sqlite3_stmt *s = st[EV_ALARM_INSERT];
    sqlite3_bind_text(s, 1, a->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, a->channel_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, a->priority);
    sqlite3_bind_int(s, 4, a->method);
    sqlite3_bind_int(s, 5, a->type);
    sqlite3_bind_text(s, 6, a->time, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, a->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, a->has_position);
    sqlite3_bind_double(s, 9, a->longitude);
    sqlite3_bind_double(s, 10, a->latitude);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)a->received_at);
    /* OFFSET max_rows finds the newest row beyond the bound: it and everything older go */
    sqlite3_bind_int(st[EV_ALARM_PRUNE], 1, max_rows);
    int err = write_pruned(EV_ALARM_INSERT, EV_ALARM_PRUNE);
    if (!err) a->id = (int64_t)sqlite3_last_insert_rowid(storage_db());
    return err;
}

static void column_text(sqlite3_stmt *s, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

int storage_alarms_list(const char *device_id, uint64_t since_ms, int limit,
                        void (*fn)(void *arg, const struct stored_alarm *a), void *arg)
{
    bool one = device_id && device_id[0];
    enum ev_stmt id = one ? EV_ALARMS_DEVICE : EV_ALARMS_ALL;
    sqlite3_stmt *s = st[id];
    if (!s) return EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)since_ms);
    sqlite3_bind_int(s, 2, limit);
    if (one) sqlite3_bind_text(s, 3, device_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct stored_alarm a;
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(s, 0);
        column_text(s, 1, a.device_id, sizeof(a.device_id));
        column_text(s, 2, a.channel_id, sizeof(a.channel_id));
        a.priority = sqlite3_column_int(s, 3);
        a.method = sqlite3_column_int(s, 4);
        a.type = sqlite3_column_int(s, 5);
        column_text(s, 6, a.time, sizeof(a.time));
        column_text(s, 7, a.description, sizeof(a.description));
        a.has_position = sqlite3_column_int(s, 8) != 0;
        a.longitude = sqlite3_column_double(s, 9);
        a.latitude = sqlite3_column_double(s, 10);
        a.received_at = (uint64_t)sqlite3_column_int64(s, 11);
        fn(arg, &a);
    }
    ev_reset(id);
    return rc == SQLITE_DONE ? 0 : ev_error(id);
}

int storage_alarms_clear(void)
{
    return st[EV_ALARMS_CLEAR] ? ev_step_done(EV_ALARMS_CLEAR) : EIO;
}

int storage_position_add(const struct stored_position *p, int max_per_device)
{
    sqlite3_stmt *s = st[EV_POS_INSERT];
    if (!s) return EIO;
    sqlite3_bind_text(s, 1, p->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, p->channel_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, p->time, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 4, p->longitude);
    sqlite3_bind_double(s, 5, p->latitude);
    sqlite3_bind_double(s, 6, p->speed);
    sqlite3_bind_double(s, 7, p->direction);
    sqlite3_bind_double(s, 8, p->altitude);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)p->received_at);
    sqlite3_bind_text(st[EV_POS_PRUNE], 1, p->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st[EV_POS_PRUNE], 2, max_per_device);
    return write_pruned(EV_POS_INSERT, EV_POS_PRUNE);
}

static int read_positions(enum ev_stmt id, void (*fn)(void *arg, const struct stored_position *p), void *arg)
{
    sqlite3_stmt *s = st[id];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct stored_position p;
        memset(&p, 0, sizeof(p));
        column_text(s, 0, p.device_id, sizeof(p.device_id));
        column_text(s, 1, p.channel_id, sizeof(p.channel_id));
        column_text(s, 2, p.time, sizeof(p.time));
        p.longitude = sqlite3_column_double(s, 3);
        p.latitude = sqlite3_column_double(s, 4);
        p.speed = sqlite3_column_double(s, 5);
        p.direction = sqlite3_column_double(s, 6);
        p.altitude = sqlite3_column_double(s, 7);
        p.received_at = (uint64_t)sqlite3_column_int64(s, 8);
        fn(arg, &p);
    }
    ev_reset(id);
    return rc == SQLITE_DONE ? 0 : ev_error(id);
}

int storage_positions_list(const char *device_id, int limit,
                           void (*fn)(void *arg, const struct stored_position *p), void *arg)
{
    if (!st[EV_POS_LIST]) return EIO;
    sqlite3_bind_text(st[EV_POS_LIST], 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st[EV_POS_LIST], 2, limit);
    return read_positions(EV_POS_LIST, fn, arg);
}

int storage_positions_latest(void (*fn)(void *arg, const struct stored_position *p), void *arg)
{
    return st[EV_POS_LATEST] ? read_positions(EV_POS_LATEST, fn, arg) : EIO;
}

int storage_events_forget_device(const char *device_id)
{
    if (!st[EV_ALARMS_FORGET]) return EIO;
    sqlite3_bind_text(st[EV_ALARMS_FORGET], 1, device_id, -1, SQLITE_STATIC);
    int err = ev_step_done(EV_ALARMS_FORGET);
    sqlite3_bind_text(st[EV_POS_FORGET], 1, device_id, -1, SQLITE_STATIC);
    return ev_step_done(EV_POS_FORGET) | err;
}
