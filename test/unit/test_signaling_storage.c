/* Unit tests for signaling/storage + device registry: a device with Chinese channel names survives a close
 * and reopen of the SQLite file byte for byte, comes back offline, partial catalogs upsert, complete ones
 * replace, deletes remove channels too, and a file from a newer schema is refused. */
#include <check.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/device.h"
#include "signaling/storage.h"
#include "testutil.h"

static char db_path[64];

static void setup(void)
{
    snprintf(db_path, sizeof(db_path), "/tmp/gb-test-storage-%d.db", (int)getpid());
    unlink(db_path);
    ck_assert_int_eq(registry_init(), 0);
    ck_assert_int_eq(storage_open(db_path), 0);
}

static void teardown(void)
{
    registry_close();
    storage_close();
    char p[80];
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
}

static struct manscdp_catalog_item channel(const char *id, const char *name)
{
    struct manscdp_catalog_item it;
    memset(&it, 0, sizeof(it));
    snprintf(it.device_id, sizeof(it.device_id), "%s", id);
    snprintf(it.name, sizeof(it.name), "%s", name);
    snprintf(it.status, sizeof(it.status), "ON");
    it.online = true;
    it.parental = 0;
    it.ptz_type = 3;
    it.port = -1;
    it.has_position = true;
    it.longitude = 121.4737;
    it.latitude = 31.2304;
    return it;
}

static void reopen(void)
{
    registry_close();
    storage_close();
    ck_assert_int_eq(registry_init(), 0);
    ck_assert_int_eq(storage_open(db_path), 0);
}

START_TEST(device_and_channels_roundtrip)
{
    bool created;
    struct device *dev = registry_get_or_create("34020000001320000001", &created);
    ck_assert(created);
    strcpy(dev->device_name, "大华球机");
    strcpy(dev->manufacturer, "Dahua");
    strcpy(dev->password, "p@ss\"word");
    dev->media_transport = 2;
    dev->transport = SIP_TRANSP_TCP;
    sa_set_str(&dev->addr, "192.0.2.7", 5062);
    dev->registered = true;
    dev->online = true;
    dev->registered_at = 1700000000123ull;
    dev->expires_at = 1700003600123ull;
    struct manscdp_catalog_item *items = malloc(2 * sizeof(*items));
    items[0] = channel("34020000001310000001", "东门");
    items[1] = channel("34020000001310000002", "西门 𠀀"); /* outside GB2312, still UTF-8 */
    device_set_channels(dev, items, 2);
    dev->dirty = true;
    ck_assert_int_eq(storage_flush_dirty(), 0);
    ck_assert(!dev->dirty);
    ck_assert_int_eq(storage_save_channels(dev, true), 0);

    reopen();
    ck_assert_int_eq(storage_load(), 1);
    dev = registry_find("34020000001320000001");
    ck_assert_ptr_nonnull(dev);
    ck_assert_str_eq(dev->device_name, "大华球机");
    ck_assert_str_eq(dev->password, "p@ss\"word");
    ck_assert_int_eq(dev->media_transport, 2);
    ck_assert_int_eq(dev->transport, SIP_TRANSP_TCP);
    ck_assert_uint_eq(sa_port(&dev->addr), 5062);
    ck_assert(dev->registered);
    ck_assert(!dev->online); /* offline until it talks again */
    ck_assert_uint_eq(dev->registered_at, 1700000000123ull);
    ck_assert_uint_eq(dev->nchannels, 2);
    ck_assert_str_eq(dev->channels[1].name, "西门 𠀀");
    ck_assert_int_eq(dev->channels[0].ptz_type, 3);
    ck_assert(dev->channels[0].has_position);
    ck_assert(dev->channels[0].longitude == 121.4737);
    ck_assert_ptr_nonnull(device_find_channel(dev, "34020000001310000002"));
    ck_assert_ptr_null(device_find_channel(dev, "34020000001310000003"));
}
END_TEST

START_TEST(partial_and_complete_catalogs)
{
    bool created;
    struct device *dev = registry_get_or_create("34020000001320000002", &created);
    struct manscdp_catalog_item *items = malloc(2 * sizeof(*items));
    items[0] = channel("A1", "one");
    items[1] = channel("A3", "three");
    device_set_channels(dev, items, 2);
    storage_save_channels(dev, true);
    /* a partial answer adds and updates, keeps the rest */
    struct manscdp_catalog_item part[] = {channel("A2", "two"), channel("A3", "THREE")};
    ck_assert_int_eq(device_merge_channels(dev, part, 2), 0);
    ck_assert_uint_eq(dev->nchannels, 3);
    ck_assert_str_eq(dev->channels[1].device_id, "A2");
    ck_assert_str_eq(dev->channels[2].name, "THREE");
    storage_save_channels(dev, false);
    /* a complete answer replaces */
    items = malloc(sizeof(*items));
    items[0] = channel("B1", "only");
    device_set_channels(dev, items, 1);
    storage_save_channels(dev, true);
    dev->dirty = true;
    storage_flush_dirty();

    reopen();
    storage_load();
    dev = registry_find("34020000001320000002");
    ck_assert_uint_eq(dev->nchannels, 1);
    ck_assert_str_eq(dev->channels[0].device_id, "B1");

    ck_assert_int_eq(storage_delete_device(dev->id), 0);
    registry_remove(dev);
    reopen();
    ck_assert_int_eq(storage_load(), 0);
}
END_TEST

START_TEST(newer_schema_refused)
{
    storage_close();
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(storage_open(db_path), EPROTO);
    ck_assert(!storage_is_open());
    ck_assert_int_eq(storage_open(db_path), EPROTO); /* teardown closes nothing twice */
}
END_TEST

/* A registry written by the first release (schema 1, no devices.subscribe) opens, keeps its devices, gains
 * the column (-1: follow sip.subscribe) and stores a per-device setting from then on. */
START_TEST(schema_1_migrated)
{
    storage_close();
    unlink(db_path);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_exec(
            db,
            "CREATE TABLE devices (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', device_name TEXT "
            "NOT NULL DEFAULT '', manufacturer TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '', "
            "firmware TEXT NOT NULL DEFAULT '', reported_channels INTEGER NOT NULL DEFAULT -1, password "
            "TEXT NOT NULL DEFAULT '', media_transport INTEGER NOT NULL DEFAULT -1, transport TEXT NOT "
            "NULL DEFAULT 'udp', address TEXT NOT NULL DEFAULT '', user_agent TEXT NOT NULL DEFAULT '', "
            "online INTEGER NOT NULL DEFAULT 0, registered INTEGER NOT NULL DEFAULT 0, registered_at "
            "INTEGER NOT NULL DEFAULT 0, keepalive_at INTEGER NOT NULL DEFAULT 0, expires_at INTEGER "
            "NOT NULL DEFAULT 0, catalog_at INTEGER NOT NULL DEFAULT 0);"
            "INSERT INTO devices (id, name, media_transport) VALUES ('34020000001320000001', 'old', 1);"
            "PRAGMA user_version=1",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(storage_open(db_path), 0);
    ck_assert_int_eq(storage_load(), 1);
    struct device *dev = registry_find("34020000001320000001");
    ck_assert_ptr_nonnull(dev);
    ck_assert_str_eq(dev->name, "old");
    ck_assert_int_eq(dev->media_transport, 1);
    ck_assert_int_eq(dev->subscribe_mask, -1);
    dev->subscribe_mask = 2;
    ck_assert_int_eq(storage_save_device(dev), 0);
    reopen();
    ck_assert_int_eq(storage_load(), 1);
    ck_assert_int_eq(registry_find("34020000001320000001")->subscribe_mask, 2);
}
END_TEST

START_TEST(device_ids)
{
    ck_assert(device_id_acceptable("34020000001320000001", 20));
    ck_assert(device_id_acceptable("130909113319427420", 18)); /* Hikvision 2013 platform */
    ck_assert(!device_id_acceptable("", 0));
    ck_assert(!device_id_acceptable("bad\"id", 6));
    ck_assert(!device_id_acceptable("3402000000132000000134020000001320000001", 40));
    ck_assert(!device_id_acceptable("../etc", 6));
}
END_TEST

static Suite *storage_suite(void)
{
    Suite *s = suite_create("signaling_storage");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, device_and_channels_roundtrip);
    tcase_add_test(tc, partial_and_complete_catalogs);
    tcase_add_test(tc, newer_schema_refused);
    tcase_add_test(tc, schema_1_migrated);
    tcase_add_test(tc, device_ids);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(storage_suite());
}
