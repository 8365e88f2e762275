/* libFuzzer: the INI config parser and -o overrides on arbitrary bytes; every error must leave a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gb_config cfg;
    char err[512];
    config_defaults(&cfg);
    err[0] = 0;
    if (config_load_text(&cfg, (const char *)data, size, "fuzz", err, sizeof err) != 0 && !err[0]) abort();
    char assignment[256];
    size_t n = size < sizeof assignment - 1 ? size : sizeof assignment - 1;
    memcpy(assignment, data, n);
    assignment[n] = 0;
    err[0] = 0;
    if (config_set(&cfg, assignment, err, sizeof err) != 0 && !err[0]) abort();
    config_validate(&cfg, err, sizeof err);
    return 0;
}
