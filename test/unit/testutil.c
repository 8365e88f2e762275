#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

const char *test_shared_path(const char *relative)
{
    static char path[8][1024];
    static int next;
    char *p = path[next++ % 8];
    const char *dir = getenv("GB_SHARED_DIR");
    snprintf(p, sizeof path[0], "%s/%s", dir ? dir : GB_SHARED_DIR, relative);
    struct stat st;
    if (stat(p, &st) != 0) {
        printf("SKIP: %s not found (the ../shared folder is not present here)\n", p);
        return NULL;
    }
    return p;
}

uint8_t *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n > 0 ? n : 0] = 0; /* so text files can be searched as strings */
    fclose(f);
    if (buf) *len = (size_t)n;
    return buf;
}

int test_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
