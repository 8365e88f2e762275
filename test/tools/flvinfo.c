/*
 * flvinfo: the project's own FLV checker, used by integration tests and the benchmark to look at what the
 * gateway serves (HTTP-FLV) or writes (files), independently of FFmpeg (whose 5.1 cannot read HEVC in FLV).
 *
 *   flvinfo [--max-seconds S] [--max-frames N] [--annexb FILE] [--tags] SOURCE
 *   SOURCE: a file, '-' (stdin), or http://HOST[:PORT]/PATH (plain HTTP/1.1 GET, chunked or close-delimited)
 *
 * It parses with relay/flv_reader (so any split of the input works), decodes the sequence headers into codec,
 * size and sample rate, and prints one JSON object at the end:
 *   {"bytes":N,"tags":N,"video":{...},"audio":{...},"errors":N,"first_tag_key":true|false}
 * "errors" counts what a correct stream never has: undecodable tags or sequence headers, frames before their
 * sequence header, timestamps going backwards within a track, PreviousTagSize mismatches, a stream cut inside
 * a tag. "first_tag_key": the first video frame is a keyframe (what a viewer joining a live stream must get);
 * for a stream without video, whether any audio came. Exit 0 when the input parsed without errors (also when
 * stopped by a limit once the FLV header was in), 1 on errors, a parse failure, a connection failure or
 * nothing received within --max-seconds, with a message on stderr; a failure also counts in "errors".
 * Blocking I/O with poll() against the wall-clock limit, so a slow or endless stream cannot hang it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <http_parser.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "media/codec.h"
#include "relay/flv_reader.h"

#define STOP_MAX_FRAMES 1000 /* callback value that stops the reader once --max-frames is reached */

struct track_stats {
    bool present, configured;
    enum codec_id codec;
    const char *flavour;
    uint32_t width, height, sample_rate, channels;
    uint64_t frames, keyframes, seq_headers;
    uint32_t first_ts, last_ts;
};

struct flvinfo {
    /* options */
    double max_seconds;
    uint64_t max_frames;
    bool print_tags;
    FILE *annexb;
    /* state */
    struct flv_reader *reader;
    struct media_track video_params; /* the parameter sets for the Annex-B output */
    uint8_t nal_length_size;
    bool params_pending; /* write the parameter sets before the next frame */
    struct track_stats video, audio;
    uint64_t errors;
    bool first_video_seen, first_tag_key;
    struct timespec start;
};

static void error_once(struct flvinfo *fi, const char *what, uint32_t ts)
{
    if (fi->errors++ < 20) fprintf(stderr, "flvinfo: %s (ts %" PRIu32 ")\n", what, ts);
}

static void count_frame(struct flvinfo *fi, struct track_stats *t, uint32_t ts, bool key)
{
    if (t->frames && ts < t->last_ts) error_once(fi, "timestamp goes backwards", ts);
    if (!t->frames) t->first_ts = ts;
    t->last_ts = ts;
    t->frames++;
    t->keyframes += key;
}

static void write_nal(FILE *f, const uint8_t *nal, size_t len)
{
    static const uint8_t start_code[4] = {0, 0, 0, 1};
    fwrite(start_code, 1, 4, f);
    fwrite(nal, 1, len, f);
}

static void write_annexb(struct flvinfo *fi, const struct flv_video_tag *v)
{
    const struct media_track *p = &fi->video_params;
    if (fi->params_pending) {
        if (p->vps_len) write_nal(fi->annexb, p->vps, p->vps_len);
        write_nal(fi->annexb, p->sps, p->sps_len);
        write_nal(fi->annexb, p->pps, p->pps_len);
        fi->params_pending = false;
    }
    size_t pos = 0;
    const uint8_t *nal;
    uint32_t len;
    while (flv_nal_next(v->data, v->len, fi->nal_length_size, &pos, &nal, &len) == 1)
        write_nal(fi->annexb, nal, len);
}

static const char *video_flavour(const struct flv_video_tag *v)
{
    if (v->enhanced) return "enhanced";
    return v->codec_id == 12 ? "legacy12" : "avc";
}

static void on_video(struct flvinfo *fi, const struct flv_reader_tag *tag)
{
    struct flv_video_tag v;
    struct track_stats *t = &fi->video;
    if (flv_parse_video_tag(tag->data, tag->size, &v) != 0) {
        error_once(fi, "short video tag", tag->ts_ms);
        return;
    }
    if (v.packet == FLV_VIDEO_OTHER || v.packet == FLV_VIDEO_END_OF_SEQUENCE) return;
    t->present = true;
    t->codec = v.codec;
    t->flavour = video_flavour(&v);
    if (v.packet == FLV_VIDEO_SEQUENCE_HEADER) {
        t->seq_headers++;
        if (flv_video_config_decode(v.codec, v.data, v.len, &fi->video_params, &fi->nal_length_size) != 0) {
            error_once(fi, "undecodable video sequence header", tag->ts_ms);
            return;
        }
        t->configured = true;
        t->width = fi->video_params.width;
        t->height = fi->video_params.height;
        fi->params_pending = true;
        return;
    }
    bool key = v.frame_type == 1;
    if (!fi->first_video_seen) {
        fi->first_video_seen = true;
        fi->first_tag_key = key;
    }
    count_frame(fi, t, tag->ts_ms, key);
    if (!t->configured) {
        error_once(fi, "video frame before the sequence header", tag->ts_ms);
        return;
    }
    size_t pos = 0;
    const uint8_t *nal;
    uint32_t len;
    int rc;
    while ((rc = flv_nal_next(v.data, v.len, fi->nal_length_size, &pos, &nal, &len)) == 1) continue;
    if (rc < 0)
        error_once(fi, "NAL unit length runs past the tag", tag->ts_ms);
    else if (fi->annexb)
        write_annexb(fi, &v);
}

static void on_audio(struct flvinfo *fi, const struct flv_reader_tag *tag)
{
    struct flv_audio_tag a;
    struct track_stats *t = &fi->audio;
    if (flv_parse_audio_tag(tag->data, tag->size, &a) != 0) {
        error_once(fi, "short audio tag", tag->ts_ms);
        return;
    }
    t->present = true;
    t->codec = a.codec;
    if (a.sequence_header || (!t->configured && a.codec != CODEC_AAC)) {
        struct media_track track;
        if (a.sequence_header) t->seq_headers++;
        if (flv_audio_config_decode(&a, &track) != 0) {
            if (a.sequence_header) error_once(fi, "undecodable audio sequence header", tag->ts_ms);
        } else {
            t->configured = true;
            t->sample_rate = track.sample_rate;
            t->channels = track.channels;
        }
        if (a.sequence_header) return;
    }
    count_frame(fi, t, tag->ts_ms, true);
    if (a.codec == CODEC_AAC && !t->configured)
        error_once(fi, "AAC frame before the sequence header", tag->ts_ms);
}

static int on_tag(void *arg, const struct flv_reader_tag *tag)
{
    struct flvinfo *fi = arg;
    uint64_t frames_before = fi->video.frames;
    if (tag->type == 9)
        on_video(fi, tag);
    else if (tag->type == 8)
        on_audio(fi, tag);
    if (fi->print_tags) {
        const char *type = tag->type == 9    ? "video"
                           : tag->type == 8  ? "audio"
                           : tag->type == 18 ? "script"
                                             : "other";
        bool key = tag->type == 9 && tag->size && (tag->data[0] >> 4 & 7) == 1;
        printf("%s ts=%" PRIu32 " size=%" PRIu32 " key=%d\n", type, tag->ts_ms, tag->size, key);
    }
    if (fi->max_frames && fi->video.frames >= fi->max_frames && fi->video.frames > frames_before)
        return STOP_MAX_FRAMES;
    return 0;
}

/* ---- input ---- */

/* Milliseconds left before --max-seconds, or -1 (no limit). 0 means the time is up. */
static int time_left_ms(const struct flvinfo *fi)
{
    if (fi->max_seconds <= 0) return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double spent = (double)(now.tv_sec - fi->start.tv_sec) + (now.tv_nsec - fi->start.tv_nsec) / 1e9;
    double left = fi->max_seconds - spent;
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

enum read_result { READ_DATA, READ_EOF, READ_TIMEOUT, READ_ERROR };

static enum read_result read_some(struct flvinfo *fi, int fd, uint8_t *buf, size_t cap, size_t *got)
{
    for (;;) {
        int wait = time_left_ms(fi);
        if (wait == 0) return READ_TIMEOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int n = poll(&pfd, 1, wait);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return READ_ERROR;
        if (n == 0) return READ_TIMEOUT;
        ssize_t r = read(fd, buf, cap);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return READ_ERROR;
        *got = (size_t)r;
        return r == 0 ? READ_EOF : READ_DATA;
    }
}

/* HTTP response state: the body goes to the FLV reader as http_parser decodes it (chunked or not). */
struct http_state {
    struct flvinfo *fi;
    int reader_rc;
    bool body_done, bad_status;
};

static int http_on_headers(http_parser *p)
{
    if (p->status_code == 200) return 0;
    fprintf(stderr, "flvinfo: HTTP status %u\n", p->status_code);
    ((struct http_state *)p->data)->bad_status = true;
    return -1;
}

static int http_on_body(http_parser *p, const char *at, size_t len)
{
    struct http_state *hs = p->data;
    hs->reader_rc = flv_reader_input(hs->fi->reader, (const uint8_t *)at, len);
    return hs->reader_rc != 0;
}

static int http_on_complete(http_parser *p)
{
    ((struct http_state *)p->data)->body_done = true;
    return 0;
}

static int connect_http(const char *url, char *request, size_t request_size)
{
    struct http_parser_url u;
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_HOST))) {
        fprintf(stderr, "flvinfo: bad URL %s\n", url);
        return -1;
    }
    char host[256], port[8], path[2048] = "/";
    snprintf(host, sizeof host, "%.*s", u.field_data[UF_HOST].len, url + u.field_data[UF_HOST].off);
    snprintf(port, sizeof port, "%u", (u.field_set & (1 << UF_PORT)) ? u.port : 80);
    if (u.field_set & (1 << UF_PATH))
        snprintf(path, sizeof path, "%s", url + u.field_data[UF_PATH].off); /* path + query */
    snprintf(
        request, request_size,
        "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: flvinfo\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        path, host, port);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int err = getaddrinfo(host, port, &hints, &res);
    if (err) {
        fprintf(stderr, "flvinfo: %s: %s\n", host, gai_strerror(err));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        struct timeval tv = {.tv_sec = 10}; /* bounds connect() too */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) fprintf(stderr, "flvinfo: cannot connect to %s:%s: %s\n", host, port, strerror(errno));
    return fd;
}

/* Runs the input through the reader. Returns 0 (clean end or a limit reached) or -1 (stderr says why). */
static int run_source(struct flvinfo *fi, const char *source)
{
    bool http = strncmp(source, "http://", 7) == 0;
    int fd = 0;
    char request[2400];
    if (http) {
        fd = connect_http(source, request, sizeof request);
        if (fd < 0) return -1;
        size_t n = strlen(request);
        if (send(fd, request, n, MSG_NOSIGNAL) != (ssize_t)n) {
            fprintf(stderr, "flvinfo: cannot send the request: %s\n", strerror(errno));
            close(fd);
            return -1;
        }
    } else if (strcmp(source, "-") != 0) {
        fd = open(source, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "flvinfo: %s: %s\n", source, strerror(errno));
            return -1;
        }
    }

    http_parser parser;
    http_parser_settings settings = {.on_headers_complete = http_on_headers,
                                     .on_body = http_on_body,
                                     .on_message_complete = http_on_complete};
    struct http_state hs = {.fi = fi};
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = &hs;

    static uint8_t buf[64 * 1024];
    int rc = 0;
    bool stopped_by_limit = false;
    for (;;) {
        size_t got = 0;
        enum read_result res = read_some(fi, fd, buf, sizeof buf, &got);
        if (res == READ_TIMEOUT) {
            stopped_by_limit = true;
            break;
        }
        if (res == READ_ERROR) {
            fprintf(stderr, "flvinfo: read error: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        int reader_rc;
        if (http) {
            size_t done = http_parser_execute(&parser, &settings, (const char *)buf, got); /* got 0 = EOF */
            reader_rc = hs.reader_rc;
            if (!reader_rc && (HTTP_PARSER_ERRNO(&parser) != HPE_OK || done != got)) {
                if (!hs.bad_status)
                    fprintf(stderr, "flvinfo: HTTP: %s\n",
                            http_errno_description(HTTP_PARSER_ERRNO(&parser)));
                rc = -1;
                break;
            }
        } else {
            reader_rc = got ? flv_reader_input(fi->reader, buf, got) : 0;
        }
        if (reader_rc == STOP_MAX_FRAMES) {
            stopped_by_limit = true;
            break;
        }
        if (reader_rc) {
            fprintf(stderr, "flvinfo: not a valid FLV stream at byte %" PRIu64 ": %s\n",
                    flv_reader_get_stats(fi->reader)->bytes, strerror(-reader_rc));
            rc = -1;
            break;
        }
        if (res == READ_EOF || hs.body_done) break;
    }
    if (rc == 0 && stopped_by_limit && !flv_reader_get_stats(fi->reader)->header_seen) {
        fprintf(stderr, "flvinfo: no FLV header within the limits\n");
        rc = -1;
    }
    if (rc == 0 && !stopped_by_limit && flv_reader_finish(fi->reader) != 0) {
        fprintf(stderr, "flvinfo: the input ends inside %s (%zu bytes pending)\n",
                flv_reader_get_stats(fi->reader)->header_seen ? "a tag" : "the file header",
                flv_reader_pending(fi->reader));
        fi->errors++;
    }
    if (fd > 0) close(fd);
    return rc;
}

/* ---- output ---- */

static void print_json(const struct flvinfo *fi)
{
    const struct flv_reader_stats *st = flv_reader_get_stats(fi->reader);
    const struct track_stats *v = &fi->video, *a = &fi->audio;
    printf("{\"bytes\":%" PRIu64 ",\"tags\":%" PRIu64, st->bytes, st->tags);
    if (v->present)
        printf(",\"video\":{\"codec\":\"%s\",\"flavour\":\"%s\",\"width\":%" PRIu32 ",\"height\":%" PRIu32
               ",\"frames\":%" PRIu64 ",\"keyframes\":%" PRIu64 ",\"first_ts\":%" PRIu32
               ",\"last_ts\":%" PRIu32 ",\"seq_headers\":%" PRIu64 "}",
               codec_name(v->codec), v->flavour, v->width, v->height, v->frames, v->keyframes, v->first_ts,
               v->last_ts, v->seq_headers);
    if (a->present)
        printf(",\"audio\":{\"codec\":\"%s\",\"sample_rate\":%" PRIu32 ",\"channels\":%" PRIu32
               ",\"frames\":%" PRIu64 ",\"first_ts\":%" PRIu32 ",\"last_ts\":%" PRIu32 "}",
               codec_name(a->codec), a->sample_rate, a->channels, a->frames, a->first_ts, a->last_ts);
    bool first_key = v->frames ? fi->first_tag_key : a->frames > 0;
    printf(",\"errors\":%" PRIu64 ",\"first_tag_key\":%s}\n", fi->errors + st->prev_size_mismatches,
           first_key ? "true" : "false");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: flvinfo [--max-seconds S] [--max-frames N] [--annexb FILE] [--tags] SOURCE\n"
                 "  SOURCE         an FLV file, '-' for stdin, or http://HOST[:PORT]/PATH\n"
                 "  --max-seconds  stop after S seconds of wall-clock time (live streams)\n"
                 "  --max-frames   stop after N video frames\n"
                 "  --annexb FILE  write the video as an Annex-B elementary stream\n"
                 "  --tags         print one line per tag (type, ts, size, key) before the summary\n"
                 "Prints one JSON summary; exits 0 when the input parsed without errors, 1 otherwise.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"max-seconds", required_argument, NULL, 's'},
                                         {"max-frames", required_argument, NULL, 'n'},
                                         {"annexb", required_argument, NULL, 'a'},
                                         {"tags", no_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct flvinfo fi = {0};
    const char *annexb_path = NULL;
    char *end;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            fi.max_seconds = strtod(optarg, &end);
            if (*end || fi.max_seconds <= 0) return fprintf(stderr, "flvinfo: bad --max-seconds\n"), 1;
            break;
        case 'n':
            fi.max_frames = strtoull(optarg, &end, 10);
            if (*end || fi.max_frames == 0) return fprintf(stderr, "flvinfo: bad --max-frames\n"), 1;
            break;
        case 'a': annexb_path = optarg; break;
        case 't': fi.print_tags = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 1;
    }
    if (annexb_path && !(fi.annexb = fopen(annexb_path, "wb"))) {
        fprintf(stderr, "flvinfo: %s: %s\n", annexb_path, strerror(errno));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &fi.start);
    struct flv_reader_config cfg = {.on_tag = on_tag, .arg = &fi};
    fi.reader = flv_reader_create(&cfg);
    if (!fi.reader) return 1;
    int rc = run_source(&fi, argv[optind]);
    if (rc != 0) fi.errors++; /* so that "errors":0 always means a clean read */
    print_json(&fi);
    if (fi.annexb && fclose(fi.annexb) != 0) rc = -1;
    bool failed = rc != 0 || fi.errors + flv_reader_get_stats(fi.reader)->prev_size_mismatches > 0;
    flv_reader_destroy(fi.reader);
    return failed ? 1 : 0;
}
