/*
 * rtmpview: K RTMP players in one epoll thread, for the benchmark and the integration tests. Each connects to
 * rtmp://HOST:PORT/live/NAME (NAME = --stream, or PREFIX{i} for i in [first, first+K)), does the handshake
 * (--digest: the Flash-style one, checked like FFmpeg checks it), connect, createStream, play, then reads
 * for S seconds. It prints one JSON line: players that got NetStream.Play.Start, errors, bytes and per-player
 * bitrate (min/avg/max over the window after --warmup), and for the first --parse players (whose chunk
 * streams are fully parsed with relay/rtmp_chunk) the video/audio messages received, whether the first video
 * message was a keyframe, and the number of skipped timestamps. --dump FILE writes player 0's media as an FLV
 * file (for flvinfo: H.265 as enhanced RTMP can be checked that way). Players not parsed only count bytes, so
 * thousands cost the machine little; the run is bounded by --seconds whatever happens.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/amf0.h"
#include "relay/rtmp_chunk.h"
#include "relay/rtmp_command.h"
#include "relay/rtmp_handshake.h"

#define HS RTMP_HANDSHAKE_SIZE

struct player {
    int fd, index;
    bool parse, playing, failed;
    uint8_t c0c1[1 + HS];
    uint8_t s012[1 + 2 * HS];
    size_t s012_have;
    bool handshake_done;
    uint64_t bytes, bytes_at_warmup;
    struct rtmp_chunk_parser *parser;
    uint64_t video, audio, keyframes, gaps;
    int64_t last_video_ts;
    bool first_video_seen, first_video_key;
    FILE *dump;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t put_command(uint8_t *out, size_t cap, uint32_t csid, uint32_t msid, const uint8_t *body,
                          int len)
{
    int n = rtmp_chunk_write_message(out, cap, RTMP_DEFAULT_CHUNK_SIZE, csid, 0, RTMP_MSG_COMMAND_AMF0, msid,
                                     body, (uint32_t)len);
    return n > 0 ? (size_t)n : 0;
}

/* C2 + connect + createStream + play, in one write. */
static size_t build_requests(struct player *p, const char *host, int port, const char *name, uint8_t *out,
                             size_t cap)
{
    size_t o = 0;
    memcpy(out, p->s012 + 1, HS); /* C2 echoes S1 (servers do not check it) */
    o += HS;
    uint8_t body[512];
    char tc_url[128];
    snprintf(tc_url, sizeof tc_url, "rtmp://%s:%d/live", host, port);
    struct amf0_writer w;
    amf0_writer_init(&w, body, sizeof body);
    amf0_put_string(&w, "connect");
    amf0_put_number(&w, 1);
    amf0_put_object_start(&w);
    amf0_put_prop_string(&w, "app", "live");
    amf0_put_prop_string(&w, "flashVer", "LNX 9,0,124,2");
    amf0_put_prop_string(&w, "tcUrl", tc_url);
    amf0_put_prop_boolean(&w, "fpad", false);
    amf0_put_prop_number(&w, "capabilities", 15);
    amf0_put_prop_number(&w, "audioCodecs", 4071);
    amf0_put_prop_number(&w, "videoCodecs", 252);
    amf0_put_prop_number(&w, "videoFunction", 1);
    amf0_put_object_end(&w);
    o += put_command(out + o, cap - o, 3, 0, body, amf0_writer_finish(&w));
    amf0_writer_init(&w, body, sizeof body);
    amf0_put_string(&w, "createStream");
    amf0_put_number(&w, 2);
    amf0_put_null(&w);
    o += put_command(out + o, cap - o, 3, 0, body, amf0_writer_finish(&w));
    amf0_writer_init(&w, body, sizeof body);
    amf0_put_string(&w, "play");
    amf0_put_number(&w, 0);
    amf0_put_null(&w);
    amf0_put_string(&w, name);
    amf0_put_number(&w, -2000);
    o += put_command(out + o, cap - o, 8, 1, body, amf0_writer_finish(&w));
    return o;
}

static void dump_tag(FILE *f, const struct rtmp_message *m)
{
    uint8_t h[11] = {m->type,
                     (uint8_t)(m->len >> 16),
                     (uint8_t)(m->len >> 8),
                     (uint8_t)m->len,
                     (uint8_t)(m->timestamp >> 16),
                     (uint8_t)(m->timestamp >> 8),
                     (uint8_t)m->timestamp,
                     (uint8_t)(m->timestamp >> 24),
                     0,
                     0,
                     0};
    uint32_t prev = m->len + 11;
    uint8_t ps[4] = {(uint8_t)(prev >> 24), (uint8_t)(prev >> 16), (uint8_t)(prev >> 8), (uint8_t)prev};
    fwrite(h, 1, 11, f);
    fwrite(m->data, 1, m->len, f);
    fwrite(ps, 1, 4, f);
}

static int on_message(void *arg, const struct rtmp_message *m)
{
    struct player *p = arg;
    if (m->type == RTMP_MSG_COMMAND_AMF0) {
        struct rtmp_command c;
        struct amf0_value v;
        if (rtmp_command_decode(m->data, m->len, false, &c) == 0 && !strcmp(c.name, "onStatus") &&
            c.nargs > 0 && amf0_object_get(&c.args[0], "code", &v) == 0) {
            if (amf0_string_eq(&v, "NetStream.Play.Start")) p->playing = true;
            if (amf0_string_eq(&v, "NetStream.Play.StreamNotFound")) p->failed = true;
        }
        return 0;
    }
    if (m->type != RTMP_MSG_VIDEO && m->type != RTMP_MSG_AUDIO && m->type != RTMP_MSG_DATA_AMF0) return 0;
    if (p->dump) dump_tag(p->dump, m);
    if (m->type == RTMP_MSG_AUDIO) {
        if (m->len >= 2 && !((m->data[0] >> 4) == 10 && m->data[1] == 0)) p->audio++; /* not the AAC header */
        return 0;
    }
    if (m->type != RTMP_MSG_VIDEO || m->len < 2) return 0;
    bool enhanced = m->data[0] & 0x80;
    bool seq = enhanced ? (m->data[0] & 0x0f) == 0 : m->data[1] == 0;
    if (seq) return 0;
    bool key = ((m->data[0] >> 4) & 0x07) == 1;
    if (!p->first_video_seen) {
        p->first_video_seen = true;
        p->first_video_key = key;
    } else if ((int64_t)m->timestamp - p->last_video_ts > 200) {
        p->gaps++; /* more than 5 frames at 25 fps missing: frames were skipped */
    }
    p->last_video_ts = m->timestamp;
    p->video++;
    p->keyframes += key;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: rtmpview --host IP --port P (--stream NAME | --prefix bench --first N) --count K "
                    "--seconds S [--warmup W] [--parse N] [--dump FILE] [--digest]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *prefix = "bench", *stream = NULL, *dump_path = NULL;
    int port = 1935, first = 0, count = 1, nparse = 10;
    double seconds = 10, warmup = 2;
    bool digest = false;
    static const struct option opts[] = {{"host", 1, 0, 'h'},    {"port", 1, 0, 'p'},   {"prefix", 1, 0, 'x'},
                                         {"stream", 1, 0, 'n'},  {"first", 1, 0, 'f'},  {"count", 1, 0, 'c'},
                                         {"seconds", 1, 0, 's'}, {"warmup", 1, 0, 'w'}, {"parse", 1, 0, 'P'},
                                         {"dump", 1, 0, 'd'},    {"digest", 0, 0, 'D'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'x': prefix = optarg; break;
        case 'n': stream = optarg; break;
        case 'f': first = atoi(optarg); break;
        case 'c': count = atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'P': nparse = atoi(optarg); break;
        case 'd': dump_path = optarg; break;
        case 'D': digest = true; break;
        default: usage();
        }
    }
    if (count < 1 || seconds <= warmup) usage();
    struct player *players = calloc((size_t)count, sizeof *players);
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int errors = 0;
    for (int i = 0; i < count; i++) {
        struct player *p = &players[i];
        p->index = first + i;
        p->parse = i < nparse || (i == 0 && dump_path);
        p->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(p->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
            close(p->fd);
            p->fd = -1;
            errors++;
            continue;
        }
        rtmp_handshake_client_c0c1(p->c0c1, digest, (uint64_t)i * 7919 + 1);
        if (write(p->fd, p->c0c1, sizeof p->c0c1) != (ssize_t)sizeof p->c0c1) {
            close(p->fd);
            p->fd = -1;
            errors++;
            continue;
        }
        if (p->parse) {
            p->parser = malloc(sizeof *p->parser);
            rtmp_chunk_parser_init(p->parser, 1 << 20, 16 << 20, on_message, p);
        }
        if (i == 0 && dump_path) {
            p->dump = fopen(dump_path, "wb");
            static const uint8_t flv_header[13] = {'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0};
            if (p->dump) fwrite(flv_header, 1, sizeof flv_header, p->dump);
        }
        fcntl(p->fd, F_SETFL, O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
    }
    static uint8_t buf[256 * 1024], req[4096];
    double start = now_s(), warm_at = start + warmup, end = start + seconds;
    bool warmed = false;
    struct epoll_event events[256];
    while (now_s() < end) {
        int n = epoll_wait(ep, events, 256, 100);
        if (!warmed && now_s() >= warm_at) {
            for (int i = 0; i < count; i++) players[i].bytes_at_warmup = players[i].bytes;
            warmed = true;
        }
        for (int i = 0; i < n; i++) {
            struct player *p = events[i].data.ptr;
            ssize_t r = read(p->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
                close(p->fd);
                p->fd = -1;
                if (!p->playing) errors++;
                continue;
            }
            p->bytes += (uint64_t)r;
            size_t pos = 0;
            if (!p->handshake_done) {
                size_t take =
                    sizeof p->s012 - p->s012_have < (size_t)r ? sizeof p->s012 - p->s012_have : (size_t)r;
                memcpy(p->s012 + p->s012_have, buf, take);
                p->s012_have += take;
                pos = take;
                if (p->s012_have < sizeof p->s012) continue;
                p->handshake_done = true;
                if (rtmp_handshake_client_check(p->c0c1, p->s012) != 0) {
                    fprintf(stderr, "player %d: the server's handshake does not validate\n", p->index);
                    p->failed = true;
                }
                char name[128];
                if (stream)
                    snprintf(name, sizeof name, "%s", stream);
                else
                    snprintf(name, sizeof name, "%s%d", prefix, p->index);
                size_t len = build_requests(p, host, port, name, req, sizeof req);
                if (write(p->fd, req, len) != (ssize_t)len) p->failed = true;
            }
            if (p->parser && pos < (size_t)r) {
                size_t used;
                if (rtmp_chunk_input(p->parser, buf + pos, (size_t)r - pos, &used) < 0) p->failed = true;
            } else if (!p->parser && pos < (size_t)r) {
                p->playing = true; /* not parsed: data after the handshake means it plays */
            }
        }
    }
    double window = seconds - warmup;
    double min = 1e18, max = 0, sum = 0, vmin = 1e18, vsum = 0, asum = 0;
    uint64_t total = 0, gaps = 0;
    int ok = 0, parsed = 0, first_key_all = 1;
    for (int i = 0; i < count; i++) {
        struct player *p = &players[i];
        total += p->bytes;
        if (p->fd >= 0) close(p->fd);
        if (p->dump) fclose(p->dump);
        if (p->parser) {
            parsed++;
            vsum += (double)p->video;
            asum += (double)p->audio;
            if ((double)p->video < vmin) vmin = (double)p->video;
            gaps += p->gaps;
            if (!p->first_video_key && p->video) first_key_all = 0;
            rtmp_chunk_parser_free(p->parser);
            free(p->parser);
        }
        if (!p->playing || p->failed) continue;
        double kbps = (double)(p->bytes - p->bytes_at_warmup) * 8 / 1000 / window;
        ok++;
        sum += kbps;
        if (kbps < min) min = kbps;
        if (kbps > max) max = kbps;
    }
    printf("{\"players\":%d,\"ok\":%d,\"errors\":%d,\"bytes\":%llu,\"min_kbps\":%.0f,\"avg_kbps\":%.0f,"
           "\"max_kbps\":%.0f,\"parsed\":%d,\"video_min\":%.0f,\"video_avg\":%.1f,\"audio_avg\":%.1f,"
           "\"first_video_key\":%s,\"gaps\":%llu}\n",
           count, ok, errors, (unsigned long long)total, ok ? min : 0, ok ? sum / ok : 0, max, parsed,
           parsed ? vmin : 0, parsed ? vsum / parsed : 0, parsed ? asum / parsed : 0,
           first_key_all ? "true" : "false", (unsigned long long)gaps);
    free(players);
    return ok == count ? 0 : 1;
}
