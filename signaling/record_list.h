/*
 * RecordInfo answers (GB28181.md section 3), the pure part: the recording times of a query and of its answer
 * ("yyyy-MM-ddTHH:mm:ss", or with a space instead of the T), and the assembly of the answer's pages into one
 * list sorted by start time, on top of paged_assembly (the same SumNum logic as catalogs).
 *
 * A recording is identified by its start, end, file path, channel, name and type: a page sent twice adds
 * nothing, two different files over the same minutes are two recordings. No I/O, no clock: records.c does
 * the SIP and the timeout.
 */
#ifndef GB_SIGNALING_RECORD_LIST_H
#define GB_SIGNALING_RECORD_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/manscdp.h"
#include "signaling/paged_assembly.h"

#define RECORD_TIME_SIZE 20 /* "2026-01-01T00:00:00" and its NUL */

/* Parses a GB time ("2026-01-01T08:00:00", "2026-01-01 08:00:00", an optional ".mmm" or "Z" is ignored)
 * into seconds since 1970-01-01 as if it were UTC (GB times carry no zone; only their order and difference
 * matter here). False for anything else, including impossible dates (month 13, February 30, hour 24). */
bool record_time_parse(const char *text, int64_t *seconds);
/* The canonical form sent to devices: "2026-01-01T08:00:00". */
void record_time_format(int64_t seconds, char out[RECORD_TIME_SIZE]);

/* Recording types a query may ask for. */
bool record_type_valid(const char *type); /* all, time, alarm, manual */

/* One recording of an answer with its times parsed (-1 when the device sent something unreadable: such a
 * recording is kept, sorted first, and shown with the text as sent). */
struct record_entry {
    struct manscdp_record_item item;
    int64_t start_s, end_s;
};

/* An assembly of struct record_entry in start order (then end, file path...). */
struct paged_assembly *record_list_create(uint32_t sn, size_t max_items, uint64_t now_ms);
/* Adds one decoded RecordInfo page (SumNum and its items). Returns 0 or ENOMEM. */
int record_list_add(struct paged_assembly *a, const struct manscdp_record_info *page, uint64_t now_ms);
/* Adds one item (tests). */
int record_list_add_item(struct paged_assembly *a, const struct manscdp_record_item *item);

#endif
