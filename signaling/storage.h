/*
 * The registry in SQLite (storage.path): tables `devices` and `channels`, WAL journal, synchronous=NORMAL
 * (a crash may lose the last commits, never corrupt the file). Only the control thread touches it, through
 * prepared statements; writes are batched (dirty devices in one transaction, a catalog in one transaction)
 * so the re loop is never held for more than one small commit.
 *
 * The schema carries a version in PRAGMA user_version; a newer file than the code knows is refused.
 */
#ifndef GB_SIGNALING_STORAGE_H
#define GB_SIGNALING_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/device.h"

/* Opens (creating) the database; ":memory:" works for tests. Returns 0 or an errno value (message logged). */
int storage_open(const char *path);
void storage_close(void);
bool storage_is_open(void);
/* The open database handle (NULL when closed), for the other tables' files (storage_events.c). */
struct sqlite3;
struct sqlite3 *storage_db(void);

/* Loads every device (offline) and its channels into the registry. Returns the device count or -1. */
int storage_load(void);

/* Writes every dirty device (clearing the flag) in one transaction. Returns 0 or EIO. */
int storage_flush_dirty(void);
/* Writes one device now. */
int storage_save_device(struct device *dev);
/* Replaces a device's channels (complete = delete the ones not in the list; partial = upsert only). */
int storage_save_channels(const struct device *dev, bool complete);
int storage_delete_device(const char *id);

#endif
