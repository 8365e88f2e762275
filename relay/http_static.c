/* The web console's static files from http.www. Paths are confined to that directory (no "..", no hidden
 * files); files are small and in the page cache, so a plain read on the worker is acceptable. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/http_priv.h"

#define STATIC_MAX_BYTES (8u << 20)

static const char *mime_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot) return "application/octet-stream";
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".map", "application/json"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(dot, map[i][0])) return map[i][1];
    return "application/octet-stream";
}

void http_static_serve(struct http_conn *c, const char *path)
{
    if (strstr(path, "/.") || strstr(path, "..")) {
        http_respond_error(c, 404, "not_found", "no such file");
        return;
    }
    char full[1024];
    snprintf(full, sizeof full, "%s%s%s", http_cfg->http.www, path,
             path[strlen(path) - 1] == '/' ? "index.html" : "");
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES) {
        if (fd >= 0) close(fd);
        http_respond_error(c, 404, "not_found", "no such file");
        return;
    }
    char *body = malloc((size_t)st.st_size + 1);
    ssize_t got = body ? read(fd, body, (size_t)st.st_size) : -1;
    close(fd);
    if (got != st.st_size) {
        free(body);
        http_respond_error(c, 500, "io_error", "cannot read file");
        return;
    }
    http_respond(c, 200, mime_for(full), body, (size_t)got, "Cache-Control: no-cache\r\n");
    free(body);
}
