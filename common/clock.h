/* Time helpers: monotonic milliseconds/microseconds for timers and stats, wall clock for humans. */
#ifndef GB_COMMON_CLOCK_H
#define GB_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

uint64_t clock_mono_ms(void);
uint64_t clock_mono_us(void);
uint64_t clock_wall_ms(void); /* Unix epoch ms */
/* Sleeps until CLOCK_MONOTONIC reaches mono_us (clock_mono_us() time); returns at once if it has. */
void clock_sleep_until_mono_us(uint64_t mono_us);
/* "2026-11-24T09:30:15.123" in local time (the GB28181 Date format); returns buf. */
char *clock_format_local(uint64_t wall_ms, char *buf, size_t size);
/* ISO 8601 UTC "2026-11-24T09:30:15Z" for the API; returns buf. */
char *clock_format_utc(uint64_t wall_ms, char *buf, size_t size);
/* CLOCK_REALTIME now + ms, the absolute deadline pthread_cond_timedwait() wants. */
struct timespec clock_realtime_after_ms(int64_t ms);

#endif
