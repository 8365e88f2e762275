/*
 * One log call for the whole program: one line per event on stderr,
 * "2026-11-24T09:30:15.123 INFO  media    message", thread-safe (a single write(2) per line).
 * Hot paths use log_ratelimit() so that a flood of bad packets cannot flood the log.
 */
#ifndef GB_COMMON_LOG_H
#define GB_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LL_ERROR = 0, LL_WARN, LL_INFO, LL_DEBUG, LL_TRACE };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug|trace"; returns 0 or EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(mod, ...) log_msg(LL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LL_WARN, mod, __VA_ARGS__)
#define log_info(mod, ...)  log_msg(LL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)                                                                                  \
    do {                                                                                                     \
        if (log_get_level() >= LL_DEBUG) log_msg(LL_DEBUG, mod, __VA_ARGS__);                                \
    } while (0)

/* At most `burst` lines per `interval_ms`; counts what it suppressed. Not thread-safe: one per owner. */
struct log_ratelimit {
    uint64_t window_start_ms;
    uint32_t interval_ms, burst, emitted, suppressed;
};
#define LOG_RATELIMIT_INIT(interval, n)                                                                      \
    {                                                                                                        \
        0, (interval), (n), 0, 0                                                                             \
    }
/* True when a line may be written now. */
bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ms);

#endif
