/*
 * SQLite persistence of the registry (see storage.h). Statements are prepared once at open; every write path
 * is a single transaction. Text columns are UTF-8 (MANSCDP decoding already converted GB2312/GBK).
 * Times are stored as Unix epoch milliseconds (0 = never).
 */
#include "signaling/storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "signaling/sig_core.h"

/* 1: first release; 2: devices.subscribe (per-device subscriptions, -1 = sip.subscribe) */
#define SCHEMA_VERSION 2

static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS devices ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', device_name TEXT NOT NULL DEFAULT '',"
    " manufacturer TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT "
    "'',"
    " reported_channels INTEGER NOT NULL DEFAULT -1, password TEXT NOT NULL DEFAULT '',"
    " media_transport INTEGER NOT NULL DEFAULT -1, transport TEXT NOT NULL DEFAULT 'udp',"
    " address TEXT NOT NULL DEFAULT '', user_agent TEXT NOT NULL DEFAULT '', online INTEGER NOT NULL DEFAULT "
    "0,"
    " registered INTEGER NOT NULL DEFAULT 0, registered_at INTEGER NOT NULL DEFAULT 0,"
    " keepalive_at INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0,"
    " catalog_at INTEGER NOT NULL DEFAULT 0, subscribe INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE IF NOT EXISTS channels ("
    " device_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
    " manufacturer TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '',"
    " civil_code TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', parental INTEGER NOT NULL "
    "DEFAULT -1,"
    " parent_id TEXT NOT NULL DEFAULT '', business_group_id TEXT NOT NULL DEFAULT '',"
    " status TEXT NOT NULL DEFAULT '', online INTEGER NOT NULL DEFAULT 0, ptz_type INTEGER NOT NULL DEFAULT "
    "-1,"
    " has_position INTEGER NOT NULL DEFAULT 0, longitude REAL NOT NULL DEFAULT 0, latitude REAL NOT NULL "
    "DEFAULT 0,"
    " ip_address TEXT NOT NULL DEFAULT '', port INTEGER NOT NULL DEFAULT -1,"
    " PRIMARY KEY (device_id, id)) WITHOUT ROWID;";

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_UPSERT_DEVICE,
    ST_DELETE_DEVICE,
    ST_DELETE_CHANNELS,
    ST_UPSERT_CHANNEL,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_UPSERT_DEVICE] =
        "INSERT INTO devices (id, name, device_name, manufacturer, model, firmware, reported_channels, "
        "password,"
        " media_transport, transport, address, user_agent, online, registered, registered_at, keepalive_at,"
        " expires_at, catalog_at, subscribe)"
        " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)"
        " ON CONFLICT(id) DO UPDATE SET name=?2, device_name=?3, manufacturer=?4, model=?5, firmware=?6,"
        " reported_channels=?7, password=?8, media_transport=?9, transport=?10, address=?11, user_agent=?12,"
        " online=?13, registered=?14, registered_at=?15, keepalive_at=?16, expires_at=?17, catalog_at=?18,"
        " subscribe=?19",
    [ST_DELETE_DEVICE] = "DELETE FROM devices WHERE id=?1",
    [ST_DELETE_CHANNELS] = "DELETE FROM channels WHERE device_id=?1",
    [ST_UPSERT_CHANNEL] =
        "INSERT OR REPLACE INTO channels (device_id, id, name, manufacturer, model, owner, civil_code, "
        "address,"
        " parental, parent_id, business_group_id, status, online, ptz_type, has_position, longitude, "
        "latitude,"
        " ip_address, port) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
};

static sqlite3 *db;
static sqlite3_stmt *stmts[ST_COUNT];

static void db_error(const char *what)
{
    sig_count(SC_STORAGE_ERRORS);
    log_error(LOG_MOD, "storage: %s: %s", what, db ? sqlite3_errmsg(db) : "not open");
}

/* Runs a statement without results and resets it. */
static int step_done(enum stmt_id id)
{
    sqlite3_stmt *st = stmts[id];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        db_error(stmt_sql[id]);
        return EIO;
    }
    return 0;
}

static int exec_sql(const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error(LOG_MOD, "storage: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return EIO;
    }
    return 0;
}

int storage_open(const char *path)
{
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_error(LOG_MOD, "storage: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        storage_close();
        return EIO;
    }
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > SCHEMA_VERSION) {
        log_error(LOG_MOD, "storage: %s has schema version %d, this gbgate knows %d", path, version,
                  SCHEMA_VERSION);
        storage_close();
        return EPROTO;
    }
    char pragma[64];
    snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", SCHEMA_VERSION);
    /* a registry written by schema 1 gains the column; a new file gets it from schema_sql */
    bool migrate_v1 = version == 1;
    if (exec_sql("PRAGMA journal_mode=WAL") || exec_sql("PRAGMA synchronous=NORMAL") ||
        (migrate_v1 && exec_sql("ALTER TABLE devices ADD COLUMN subscribe INTEGER NOT NULL DEFAULT -1")) ||
        exec_sql(schema_sql) || exec_sql(pragma)) {
        storage_close();
        return EIO;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &stmts[i], NULL) !=
            SQLITE_OK) {
            db_error(stmt_sql[i]);
            storage_close();
            return EIO;
        }
    }
    log_info(LOG_MOD, "storage: %s open (SQLite %s, WAL)", path, sqlite3_libversion());
    return 0;
}

void storage_close(void)
{
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(stmts[i]);
        stmts[i] = NULL;
    }
    if (db) sqlite3_close(db);
    db = NULL;
}

bool storage_is_open(void)
{
    return db != NULL;
}

sqlite3 *storage_db(void)
{
    return db;
}

/* ---- load ---- */

static void column_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static int load_channels(struct device *dev, sqlite3_stmt *st)
{
    sqlite3_bind_text(st, 1, dev->id, -1, SQLITE_STATIC);
    struct manscdp_catalog_item *items = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < SIG_MAX_CHANNELS) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct manscdp_catalog_item *grown = realloc(items, cap * sizeof(*items));
            if (!grown) break;
            items = grown;
        }
        struct manscdp_catalog_item *it = &items[n++];
        memset(it, 0, sizeof(*it));
        column_text(st, 0, it->device_id, sizeof(it->device_id));
        column_text(st, 1, it->name, sizeof(it->name));
        column_text(st, 2, it->manufacturer, sizeof(it->manufacturer));
        column_text(st, 3, it->model, sizeof(it->model));
        column_text(st, 4, it->owner, sizeof(it->owner));
        column_text(st, 5, it->civil_code, sizeof(it->civil_code));
        column_text(st, 6, it->address, sizeof(it->address));
        it->parental = sqlite3_column_int(st, 7);
        column_text(st, 8, it->parent_id, sizeof(it->parent_id));
        column_text(st, 9, it->business_group_id, sizeof(it->business_group_id));
        column_text(st, 10, it->status, sizeof(it->status));
        it->online = sqlite3_column_int(st, 11) != 0;
        it->ptz_type = sqlite3_column_int(st, 12);
        it->has_position = sqlite3_column_int(st, 13) != 0;
        it->longitude = sqlite3_column_double(st, 14);
        it->latitude = sqlite3_column_double(st, 15);
        column_text(st, 16, it->ip_address, sizeof(it->ip_address));
        it->port = sqlite3_column_int(st, 17);
        it->safety_way = it->register_way = it->secrecy = -1;
    }
    sqlite3_reset(st);
    device_set_channels(dev, items, n); /* the query is ORDER BY id: already sorted */
    return 0;
}

int storage_load(void)
{
    if (!db) return -1;
    sqlite3_stmt *st = NULL, *ch = NULL;
    const char *dev_sql =
        "SELECT id, name, device_name, manufacturer, model, firmware, reported_channels, password,"
        " media_transport, transport, address, user_agent, registered, registered_at, keepalive_at, "
        "expires_at,"
        " catalog_at, subscribe FROM devices ORDER BY id";
    const char *ch_sql =
        "SELECT id, name, manufacturer, model, owner, civil_code, address, parental, parent_id,"
        " business_group_id, status, online, ptz_type, has_position, longitude, latitude,"
        " ip_address, port FROM channels WHERE device_id=?1 ORDER BY id";
    if (sqlite3_prepare_v2(db, dev_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, ch_sql, -1, &ch, NULL) != SQLITE_OK) {
        db_error("load");
        sqlite3_finalize(st);
        sqlite3_finalize(ch);
        return -1;
    }
    int count = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!id || !device_id_acceptable(id, strlen(id))) continue;
        bool created;
        struct device *dev = registry_get_or_create(id, &created);
        if (!dev) break;
        column_text(st, 1, dev->name, sizeof(dev->name));
        column_text(st, 2, dev->device_name, sizeof(dev->device_name));
        column_text(st, 3, dev->manufacturer, sizeof(dev->manufacturer));
        column_text(st, 4, dev->model, sizeof(dev->model));
        column_text(st, 5, dev->firmware, sizeof(dev->firmware));
        dev->reported_channels = sqlite3_column_int(st, 6);
        column_text(st, 7, dev->password, sizeof(dev->password));
        dev->media_transport = sqlite3_column_int(st, 8);
        const char *tp = (const char *)sqlite3_column_text(st, 9);
        dev->transport = tp && strcmp(tp, "tcp") == 0 ? SIP_TRANSP_TCP : SIP_TRANSP_UDP;
        char addr[64];
        column_text(st, 10, addr, sizeof(addr));
        if (sa_decode(&dev->addr, addr, strlen(addr))) sa_init(&dev->addr, AF_UNSPEC);
        column_text(st, 11, dev->user_agent, sizeof(dev->user_agent));
        dev->registered = sqlite3_column_int(st, 12) != 0;
        dev->registered_at = (uint64_t)sqlite3_column_int64(st, 13);
        dev->keepalive_at = (uint64_t)sqlite3_column_int64(st, 14);
        dev->expires_at = (uint64_t)sqlite3_column_int64(st, 15);
        dev->catalog_at = (uint64_t)sqlite3_column_int64(st, 16);
        dev->subscribe_mask = sqlite3_column_int(st, 17);
        dev->online = false; /* until it talks again */
        load_channels(dev, ch);
        count++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(ch);
    return count;
}

/* ---- writes ---- */

static const char *transport_name(enum sip_transp tp)
{
    return tp == SIP_TRANSP_TCP ? "tcp" : "udp";
}

static int write_device(struct device *dev)
{
    sqlite3_stmt *st = stmts[ST_UPSERT_DEVICE];
    char addr[64] = "";
    if (sa_isset(&dev->addr, SA_ALL)) sig_addr_str(&dev->addr, addr, sizeof(addr));
    sqlite3_bind_text(st, 1, dev->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dev->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, dev->device_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, dev->manufacturer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, dev->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, dev->firmware, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 7, dev->reported_channels);
    sqlite3_bind_text(st, 8, dev->password, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, dev->media_transport);
    sqlite3_bind_text(st, 10, transport_name(dev->transport), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, addr, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, dev->user_agent, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 13, dev->online);
    sqlite3_bind_int(st, 14, dev->registered);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)dev->registered_at);
    sqlite3_bind_int64(st, 16, (sqlite3_int64)dev->keepalive_at);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)dev->expires_at);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)dev->catalog_at);
    sqlite3_bind_int(st, 19, dev->subscribe_mask);
    int err = step_done(ST_UPSERT_DEVICE);
    if (!err) dev->dirty = false;
    return err;
}

static int transaction_end(int err)
{
    if (err) {
        step_done(ST_ROLLBACK);
        return err;
    }
    return step_done(ST_COMMIT);
}

static bool flush_one(struct device *dev, void *arg)
{
    int *err = arg;
    if (dev->dirty && write_device(dev)) *err = EIO;
    return *err != 0;
}

int storage_flush_dirty(void)
{
    if (!db) return 0;
    int err = step_done(ST_BEGIN);
    if (err) return err;
    registry_foreach(flush_one, &err);
    return transaction_end(err);
}

int storage_save_device(struct device *dev)
{
    if (!db) return 0;
    return write_device(dev);
}

static int write_channel(const char *device_id, const struct manscdp_catalog_item *it)
{
    sqlite3_stmt *st = stmts[ST_UPSERT_CHANNEL];
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->manufacturer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, it->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, it->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, it->civil_code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, it->address, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 9, it->parental);
    sqlite3_bind_text(st, 10, it->parent_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, it->business_group_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, it->status, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 13, it->online);
    sqlite3_bind_int(st, 14, it->ptz_type);
    sqlite3_bind_int(st, 15, it->has_position);
    sqlite3_bind_double(st, 16, it->longitude);
    sqlite3_bind_double(st, 17, it->latitude);
    sqlite3_bind_text(st, 18, it->ip_address, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 19, it->port);
    return step_done(ST_UPSERT_CHANNEL);
}

int storage_save_channels(const struct device *dev, bool complete)
{
    if (!db) return 0;
    int err = step_done(ST_BEGIN);
    if (err) return err;
    if (complete) {
        sqlite3_bind_text(stmts[ST_DELETE_CHANNELS], 1, dev->id, -1, SQLITE_STATIC);
        err = step_done(ST_DELETE_CHANNELS);
    }
    for (size_t i = 0; !err && i < dev->nchannels; i++) err = write_channel(dev->id, &dev->channels[i]);
    return transaction_end(err);
}

int storage_delete_device(const char *id)
{
    if (!db) return 0;
    int err = step_done(ST_BEGIN);
    if (err) return err;
    sqlite3_bind_text(stmts[ST_DELETE_CHANNELS], 1, id, -1, SQLITE_STATIC);
    err = step_done(ST_DELETE_CHANNELS);
    if (!err) {
        sqlite3_bind_text(stmts[ST_DELETE_DEVICE], 1, id, -1, SQLITE_STATIC);
        err = step_done(ST_DELETE_DEVICE);
    }
    return transaction_end(err);
}
