/*
 * benchview: K HTTP-FLV (or WS-FLV) viewers in one epoll thread, for the benchmark. Connects to
 * URL_PREFIX{i}.flv for i in [first, first+K), reads for S seconds, and prints one JSON line: viewers
 * connected, bytes, and per-viewer bitrate (min/avg/max over the measuring window, which starts after
 * --warmup seconds). Cheap by design (one read per readiness event, 256 KiB buffer) so it does not steal the
 * gateway's CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    int index;
    bool connected, header_done;
    uint64_t bytes, bytes_at_warmup;
    size_t hdr_len;
    char hdr[4];
    int status;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: benchview --host IP --port P --prefix /live/bench --first N --count K --seconds S "
            "[--warmup W]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *prefix = "/live/bench";
    int port = 8080, first = 0, count = 1;
    double seconds = 10, warmup = 2;
    static const struct option opts[] = {{"host", 1, 0, 'h'},   {"port", 1, 0, 'p'},  {"prefix", 1, 0, 'x'},
                                         {"first", 1, 0, 'f'},  {"count", 1, 0, 'c'}, {"seconds", 1, 0, 's'},
                                         {"warmup", 1, 0, 'w'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'x': prefix = optarg; break;
        case 'f': first = atoi(optarg); break;
        case 'c': count = atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        default: usage();
        }
    }
    if (count < 1 || seconds <= warmup) usage();
    struct conn *conns = calloc((size_t)count, sizeof *conns);
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        c->index = first + i;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            close(c->fd);
            c->fd = -1;
            continue;
        }
        char req[256];
        int n =
            snprintf(req, sizeof req, "GET %s%d.flv HTTP/1.1\r\nHost: %s\r\n\r\n", prefix, c->index, host);
        if (write(c->fd, req, (size_t)n) != n) {
            close(c->fd);
            c->fd = -1;
            continue;
        }
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        c->connected = true;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    static uint8_t buf[256 * 1024];
    double start = now_s(), warm_at = start + warmup, end = start + seconds;
    bool warmed = false;
    int errors = 0;
    struct epoll_event events[256];
    while (now_s() < end) {
        int n = epoll_wait(ep, events, 256, 100);
        if (!warmed && now_s() >= warm_at) {
            for (int i = 0; i < count; i++) conns[i].bytes_at_warmup = conns[i].bytes;
            warmed = true;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            ssize_t r = read(c->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                errors++;
                continue;
            }
            if (!c->header_done && r >= 12 && c->bytes == 0) c->status = atoi((char *)buf + 9);
            c->header_done = true;
            c->bytes += (uint64_t)r;
        }
    }
    double window = seconds - warmup;
    double min = 1e18, max = 0, sum = 0;
    uint64_t total = 0;
    int ok = 0;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        total += c->bytes;
        if (c->status != 200) continue;
        double kbps = (double)(c->bytes - c->bytes_at_warmup) * 8 / 1000 / window;
        ok++;
        sum += kbps;
        if (kbps < min) min = kbps;
        if (kbps > max) max = kbps;
        if (c->fd >= 0) close(c->fd);
    }
    printf("{\"viewers\":%d,\"ok\":%d,\"errors\":%d,\"bytes\":%llu,\"min_kbps\":%.0f,\"avg_kbps\":%.0f,"
           "\"max_kbps\":%.0f}\n",
           count, ok, errors, (unsigned long long)total, ok ? min : 0, ok ? sum / ok : 0, max);
    free(conns);
    return ok == count ? 0 : 1;
}
