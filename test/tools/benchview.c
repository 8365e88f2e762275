/*
 * benchview: K HTTP-FLV (or, with --ws, WS-FLV) viewers in one epoll thread, for the benchmark. Connects to
 * URL_PREFIX{i}.flv for i in [first, first+K), reads for S seconds, and prints one JSON line: viewers
 * connected, bytes, per-viewer bitrate (min/avg/max over the measuring window, which starts after --warmup
 * seconds) and time to first frame (connect() to the first complete video tag, p50/p99/max).
 *
 * The stream is decoded just enough to find FLV tag boundaries: HTTP chunked transfer coding or WebSocket
 * frames, then FLV tag headers. With --tag-log FILE, every video tag fully read inside the measuring window
 * is written as "<viewer index> <FLV timestamp ms> <CLOCK_REALTIME us when its last byte was read>
 * <CLOCK_REALTIME us when the kernel queued the last segment that read returned>" (bounded by --tag-log-max
 * lines); scripts/bench.sh joins it with `gbsim send --stamp-log` to get the latency the gateway adds. The
 * second time (SO_TIMESTAMPNS; on loopback the segment is stamped inside the gateway's write) leaves out this
 * reader's own scheduling delay, so the two times split a latency tail between the gateway and the reader.
 * Cheap by design (one read per readiness event, 256 KiB buffer, a byte-level state machine that never copies
 * payload) so it does not steal the gateway's CPU.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* transfer layer: what the bytes after the HTTP response head are wrapped in */
enum xfer_state { X_HEAD, X_CHUNK_SIZE, X_CHUNK_DATA, X_CHUNK_CRLF, X_WS_HDR, X_WS_DATA };

struct conn {
    int fd;
    int index;
    bool connected, header_done;
    uint64_t bytes, bytes_at_warmup;
    int status;
    double connect_at, first_frame_at; /* monotonic seconds; first_frame_at 0 until the first video tag */

    enum xfer_state xs;
    uint32_t head_match; /* bytes of "\r\n\r\n" matched */
    uint64_t left;       /* bytes left in the current chunk / WS payload */
    uint8_t ws_hdr[14];
    uint32_t ws_have, ws_need;
    bool ws_control; /* the current WebSocket frame is a control frame: its payload is not FLV */

    /* FLV layer: 13-byte file header, then per tag an 11-byte header, the body and a 4-byte trailer */
    uint64_t flv_skip; /* bytes to skip before the next tag header (file header, body+trailer) */
    uint8_t tag_hdr[11];
    uint32_t tag_have;
    uint32_t tag_size, tag_ts;
    uint8_t tag_body[2]; /* FLV video: frame type / codec, then AVC packet type */
    bool tag_video;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
}

struct run {
    bool measuring;
    FILE *tag_log;
    long long tag_log_left;
    long long read_wall_us;    /* CLOCK_REALTIME of the read() being decoded */
    long long arrival_wall_us; /* the kernel's receive stamp of the last segment it returned; 0: none */
    double read_mono;
};

/* A video tag that carries a picture, not a codec sequence header (legacy or enhanced FLV). */
static bool tag_is_picture(const struct conn *c)
{
    if (!c->tag_video || c->tag_size < 2) return false;
    uint8_t b0 = c->tag_body[0];
    return b0 & 0x80 ? (b0 & 0x0f) != 0 : c->tag_body[1] != 0;
}

static void tag_complete(struct run *r, struct conn *c)
{
    if (!tag_is_picture(c)) return;
    if (c->first_frame_at == 0) c->first_frame_at = r->read_mono;
    if (r->measuring && r->tag_log && r->tag_log_left > 0) {
        r->tag_log_left--;
        fprintf(r->tag_log, "%d %u %lld %lld\n", c->index, c->tag_ts, r->read_wall_us, r->arrival_wall_us);
    }
}

/* FLV layer: consumes len payload bytes; a tag counts as read when its body's last byte has arrived. */
static void flv_input(struct run *r, struct conn *c, const uint8_t *p, size_t len)
{
    while (len) {
        if (c->flv_skip) {
            size_t n = len < c->flv_skip ? len : (size_t)c->flv_skip;
            uint64_t pos = (uint64_t)c->tag_size + 4 - c->flv_skip; /* offset in the current body */
            for (uint64_t i = pos; i < 2 && i - pos < n; i++) c->tag_body[i] = p[i - pos];
            bool body_end_inside = c->flv_skip > 4 && c->flv_skip - n <= 4;
            c->flv_skip -= n, p += n, len -= n;
            if (body_end_inside) tag_complete(r, c);
            continue;
        }
        c->tag_hdr[c->tag_have++] = *p++, len--;
        if (c->tag_have < 11) continue;
        c->tag_have = 0;
        uint32_t size = (uint32_t)c->tag_hdr[1] << 16 | c->tag_hdr[2] << 8 | c->tag_hdr[3];
        c->tag_ts = ((uint32_t)c->tag_hdr[7] << 24) | ((uint32_t)c->tag_hdr[4] << 16) | c->tag_hdr[5] << 8 |
                    c->tag_hdr[6];
        c->tag_size = size;
        c->tag_video = (c->tag_hdr[0] & 0x1f) == 9;
        c->flv_skip = (uint64_t)size + 4;
        if (size == 0) tag_complete(r, c);
    }
}

static int hexval(uint8_t ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Transfer layer: strips the HTTP head and the chunk / WebSocket framing, passes FLV bytes on. */
static void conn_input(struct run *r, struct conn *c, bool ws, const uint8_t *p, size_t len)
{
    static const char end[] = "\r\n\r\n";
    while (len) {
        switch (c->xs) {
        case X_HEAD:
            c->head_match = *p == (uint8_t)end[c->head_match] ? c->head_match + 1 : *p == '\r';
            p++, len--;
            if (c->head_match == 4) {
                c->xs = ws ? X_WS_HDR : X_CHUNK_SIZE;
                c->left = 0, c->ws_have = 0, c->ws_need = 2;
                c->flv_skip = 13; /* the FLV file header: 9 bytes and PreviousTagSize0 */
                c->tag_size = 9;
            }
            break;
        case X_CHUNK_SIZE: /* "hex[;ext]\r\n" */
            if (*p == '\n') {
                c->xs = c->left ? X_CHUNK_DATA : X_CHUNK_CRLF;
            } else if (hexval(*p) >= 0 && c->left < (1ull << 40)) {
                c->left = c->left * 16 + (uint64_t)hexval(*p);
            }
            p++, len--;
            break;
        case X_CHUNK_DATA: {
            size_t n = len < c->left ? len : (size_t)c->left;
            flv_input(r, c, p, n);
            p += n, len -= n, c->left -= n;
            if (!c->left) c->xs = X_CHUNK_CRLF;
            break;
        }
        case X_CHUNK_CRLF:
            if (*p == '\n') c->xs = X_CHUNK_SIZE, c->left = 0;
            p++, len--;
            break;
        case X_WS_HDR:
            c->ws_hdr[c->ws_have++] = *p++, len--;
            if (c->ws_have == 2) {
                uint8_t l7 = c->ws_hdr[1] & 0x7f;
                c->ws_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (c->ws_hdr[1] & 0x80 ? 4 : 0);
            }
            if (c->ws_have < c->ws_need) break;
            uint8_t l7 = c->ws_hdr[1] & 0x7f;
            c->left = l7;
            if (l7 == 126) c->left = (uint64_t)c->ws_hdr[2] << 8 | c->ws_hdr[3];
            if (l7 == 127)
                for (int i = 0; i < 8; i++) c->left = c->left << 8 | c->ws_hdr[2 + i];
            c->ws_have = 0, c->ws_need = 2;
            /* binary and continuation frames carry FLV (its state carries over frame boundaries) */
            c->ws_control = (c->ws_hdr[0] & 0x0f) >= 8;
            c->xs = c->left ? X_WS_DATA : X_WS_HDR;
            break;
        case X_WS_DATA: {
            size_t n = len < c->left ? len : (size_t)c->left;
            if (!c->ws_control) flv_input(r, c, p, n);
            p += n, len -= n, c->left -= n;
            if (!c->left) c->xs = X_WS_HDR;
            break;
        }
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
    if (n == 0) return 0;
    int i = (int)(p / 100 * (n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

struct target {
    struct sockaddr_in sa;
    const char *host, *prefix;
    bool ws;
    bool stamp_arrivals; /* --tag-log: ask the kernel for receive timestamps */
    int ep;
};

/* Connects one viewer and sends its request; c->fd stays -1 when that fails. */
static void open_conn(const struct target *t, struct conn *c)
{
    const char *host = t->host, *prefix = t->prefix;
    bool ws = t->ws;
    int ep = t->ep;
    struct sockaddr_in sa = t->sa;
    c->connect_at = now_s();
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    char req[512];
    int n =
        ws ? snprintf(req, sizeof req,
                      "GET %s%d.flv HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      prefix, c->index, host)
           : snprintf(req, sizeof req, "GET %s%d.flv HTTP/1.1\r\nHost: %s\r\n\r\n", prefix, c->index, host);
    if (write(c->fd, req, (size_t)n) != n) {
        close(c->fd);
        c->fd = -1;
        return;
    }
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    c->connected = true;
    if (t->stamp_arrivals) setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* read() that also returns the receive timestamp of the last segment read (0 when none was attached). */
static ssize_t read_stamped(int fd, uint8_t *buf, size_t len, long long *arrival_us)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t r = recvmsg(fd, &msg, 0);
    *arrival_us = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); r > 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS) continue;
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(cm), sizeof ts);
        *arrival_us = ts.tv_sec * 1000000ll + ts.tv_nsec / 1000;
    }
    return r;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: benchview --host IP --port P --prefix /live/bench --first N --count K --seconds S "
            "[--warmup W] [--ws] [--tag-log FILE] [--tag-log-max LINES] [--stagger MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double run_started = now_s(); /* for cpu_pct: this reader's own CPU, counted apart from the gateway's */
    const char *host = "127.0.0.1", *prefix = "/live/bench", *tag_log = NULL;
    int port = 8080, first = 0, count = 1;
    double seconds = 10, warmup = 2;
    bool ws = false;
    long long tag_log_max = 2000000;
    double stagger_ms = 0;
    static const struct option opts[] = {
        {"host", 1, 0, 'h'},    {"port", 1, 0, 'p'},        {"prefix", 1, 0, 'x'},  {"first", 1, 0, 'f'},
        {"count", 1, 0, 'c'},   {"seconds", 1, 0, 's'},     {"warmup", 1, 0, 'w'},  {"ws", 0, 0, 'W'},
        {"tag-log", 1, 0, 'l'}, {"tag-log-max", 1, 0, 'm'}, {"stagger", 1, 0, 'g'}, {0, 0, 0, 0}};
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
        case 'W': ws = true; break;
        case 'l': tag_log = optarg; break;
        case 'm': tag_log_max = atoll(optarg); break;
        case 'g': stagger_ms = atof(optarg); break;
        default: usage();
        }
    }
    if (count < 1 || seconds <= warmup) usage();
    struct run run = {.tag_log_left = tag_log_max};
    if (tag_log && !(run.tag_log = fopen(tag_log, "w"))) {
        perror(tag_log);
        return 2;
    }
    struct conn *conns = calloc((size_t)count, sizeof *conns);
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    struct target tgt = {
        .sa = sa, .host = host, .prefix = prefix, .ws = ws, .stamp_arrivals = tag_log != NULL, .ep = ep};
    for (int i = 0; i < count; i++) {
        conns[i].index = first + i;
        conns[i].fd = -1;
        if (stagger_ms <= 0) open_conn(&tgt, &conns[i]);
    }
    int opened = stagger_ms <= 0 ? count : 0;
    static uint8_t buf[256 * 1024];
    double start = now_s(), warm_at = start + warmup, end = start + seconds;
    int errors = 0;
    struct epoll_event events[256];
    while (now_s() < end) {
        /* --stagger: one viewer joins every MS milliseconds, so each join is timed alone, not in a crowd */
        while (opened < count && now_s() >= start + opened * stagger_ms / 1000)
            open_conn(&tgt, &conns[opened++]);
        int timeout = opened < count ? 1 : 100;
        int n = epoll_wait(ep, events, 256, timeout);
        run.read_mono = now_s();
        if (!run.measuring && run.read_mono >= warm_at) {
            for (int i = 0; i < count; i++) conns[i].bytes_at_warmup = conns[i].bytes;
            run.measuring = true;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            ssize_t r = read_stamped(c->fd, buf, sizeof buf, &run.arrival_wall_us);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                errors++;
                continue;
            }
            run.read_wall_us = wall_us();
            run.read_mono = now_s();
            if (!c->header_done && r >= 12 && c->bytes == 0) c->status = atoi((char *)buf + 9);
            c->header_done = true;
            c->bytes += (uint64_t)r;
            conn_input(&run, c, ws, buf, (size_t)r);
        }
    }
    double window = seconds - warmup;
    double min = 1e18, max = 0, sum = 0;
    uint64_t total = 0;
    int ok = 0, started = 0;
    double *ttff = calloc((size_t)count, sizeof *ttff);
    int want_status = ws ? 101 : 200;
    for (int i = 0; i < count; i++) {
        struct conn *c = &conns[i];
        total += c->bytes;
        if (c->fd >= 0) close(c->fd);
        if (c->first_frame_at > 0) ttff[started++] = (c->first_frame_at - c->connect_at) * 1000;
        if (c->status != want_status) continue;
        double kbps = (double)(c->bytes - c->bytes_at_warmup) * 8 / 1000 / window;
        ok++;
        sum += kbps;
        if (kbps < min) min = kbps;
        if (kbps > max) max = kbps;
    }
    qsort(ttff, (size_t)started, sizeof *ttff, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                   ru.ru_stime.tv_usec / 1e6;
    printf("{\"viewers\":%d,\"ok\":%d,\"errors\":%d,\"bytes\":%llu,\"min_kbps\":%.0f,\"avg_kbps\":%.0f,"
           "\"max_kbps\":%.0f,\"first_frames\":%d,\"ttff_ms_p50\":%.1f,\"ttff_ms_p99\":%.1f,"
           "\"ttff_ms_max\":%.1f,\"cpu_pct\":%.1f}\n",
           count, ok, errors, (unsigned long long)total, ok ? min : 0, ok ? sum / ok : 0, max, started,
           pct(ttff, started, 50), pct(ttff, started, 99), started ? ttff[started - 1] : 0,
           100.0 * cpu_s / (now_s() - run_started));
    if (run.tag_log) fclose(run.tag_log);
    free(ttff);
    free(conns);
    return ok == count ? 0 : 1;
}
