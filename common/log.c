/* One line per event, written with a single write(2) so lines from several threads never interleave. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"

static enum log_level current_level = LL_INFO;
static const char *const level_names[] = {"ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"};

void log_set_level(enum log_level level)
{
    current_level = level;
}

enum log_level log_get_level(void)
{
    return current_level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return EINVAL;
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
    if (level > current_level) return;
    char line[2048];
    char ts[40];
    int n = snprintf(line, sizeof line, "%s %s %-9s ", clock_format_local(clock_wall_ms(), ts, sizeof ts),
                     level_names[level], module);
    if (n < 0) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2) len = sizeof line - 2;
    /* control characters from the network must not forge log lines */
    for (size_t i = (size_t)n; i < len; i++)
        if ((unsigned char)line[i] < 0x20 && line[i] != '\t') line[i] = '?';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, uint64_t now_ms)
{
    if (now_ms - rl->window_start_ms >= rl->interval_ms) {
        rl->window_start_ms = now_ms;
        rl->emitted = 0;
    }
    if (rl->emitted < rl->burst) {
        rl->emitted++;
        return true;
    }
    rl->suppressed++;
    return false;
}
