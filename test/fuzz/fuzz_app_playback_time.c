/* libFuzzer target for app/playback_time.c: the API's time parser on any bytes (NUL-terminated copies, so
 * every prefix length is tried), under a fixed zone; a time it accepts must format back to a valid time that
 * parses to the same instant when it was local (no offset). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/playback_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int zone_set;
    if (!zone_set) {
        setenv("TZ", "Asia/Shanghai", 1);
        tzset();
        zone_set = 1;
    }
    if (size > 64) return 0;
    char text[65];
    memcpy(text, data, size);
    text[size] = 0;
    int64_t t;
    if (!playback_parse_time(text, &t)) return 0;
    if (t < 0) abort();
    char back[32];
    playback_format_time(t, back, sizeof back);
    int64_t t2;
    if (!playback_parse_time(back, &t2) || t2 != t) abort();
    return 0;
}
