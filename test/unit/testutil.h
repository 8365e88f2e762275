/* Helpers shared by the Check suites: locating ../shared samples (skipping cleanly when absent) and files. */
#ifndef GB_TEST_UNIT_TESTUTIL_H
#define GB_TEST_UNIT_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Full path of a file under ../shared (e.g. "samples/hik_704x576_h264.ps") or NULL, after printing
 * "SKIP: ... (../shared not present)", when it does not exist. The string is static (one per call site use).
 */
const char *test_shared_path(const char *relative);
/* Whole file into a malloc'd buffer (NULL on error); *len set. */
/* The whole file (NUL-terminated after len bytes, for text), or NULL; free() it. */
uint8_t *test_read_file(const char *path, size_t *len);
/* Runs a Check suite; returns the process exit code (0 all passed, 1 otherwise). */
struct Suite;
int test_run_suite(struct Suite *s);

#endif
