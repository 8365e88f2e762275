/*
 * Start and stop, in order. Start: config (exit 2 on any error, naming the key) -> libre on this thread (the
 * control thread) -> media workers (shared RTP ports bound in worker order) -> HTTP on every worker ->
 * signaling. Stop on SIGINT/SIGTERM: signaling first (BYE, flush storage), then the workers close their
 * streams and viewers, then exit 0.
 */
#include "app/app.h"
#include "app/gb_session_hooks.h"
#include "app/live_view.h"
#include "app/playback.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <re.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/control.h"
#include "common/log.h"
#include "common/sbuf.h"
#include "media/stream.h"
#include "media/worker.h"
#include "relay/av_lazy.h"
#include "relay/http_server.h"
#include "relay/live.h"
#include "relay/recorder.h"
#include "relay/rtmp.h"
#include "signaling/signaling.h"
#include "version.h"

#define MODULE "app"

static struct gb_config config;
static uint64_t started_ms;
static bool stopping;

const struct gb_config *app_config(void)
{
    return &config;
}
uint64_t app_started_ms(void)
{
    return started_ms;
}

static void usage(FILE *out)
{
    fprintf(out,
            "gbgate %s - GB/T 28181 media gateway\n\n"
            "usage: gbgate -c FILE [-o section.key=value]...\n"
            "       gbgate --print-config [-c FILE] [-o ...]   print every key with its value and meaning\n"
            "       gbgate --version | --help\n\n"
            "  -c, --config FILE     INI configuration (etc/gbgate.conf documents every key)\n"
            "  -o, --set KEY=VALUE   override one key, e.g. -o http.port=8081 (repeatable)\n",
            GBGATE_VERSION);
}

static void print_line(void *arg, const char *line)
{
    fprintf(arg, "%s\n", line);
}

static void release_port_task(void *arg)
{
    ports_release((int)(intptr_t)arg);
}

/* worker thread: a stream closed (its port first: a live view session waiting for this one may start next) */
static void on_stream_closed(const char *id, const char *reason, const struct stream_entry *e)
{
    if (!e->shared && ports_in_range(e->port)) control_post(release_port_task, (void *)(intptr_t)e->port);
    gb_session_stream_closed(id, reason);
}

/* /metrics is served on a worker, but signaling's counters and registry belong to the control thread: the
 * control thread renders them once a second into a snapshot that workers copy under a mutex. */
static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static char *metrics_snapshot;
static struct tmr metrics_tmr;

/* Measured (docs/PERFORMANCE.md, fourth round): at 1000 streams the arenas held ~46 MB of free but resident
 * pages (a 1000-stream API listing alone leaves 6 MB), freed in an order the heap cannot shrink from its top:
 * glibc gives back only the top, and the pages in the middle stay until malloc_trim() hands them back. Every
 * 10 s it took 0.06-0.5 ms at 200 streams and 0.8-9 ms at 1000 (the control thread's time; each arena is
 * locked only while it is walked), and RSS above the idle process fell by 5 MB at 200 streams, 47 MB at 1000.
 */
#define HEAP_TRIM_INTERVAL_MS 10000
static struct tmr heap_trim_tmr;

static void trim_heap(void *arg)
{
    uint64_t t0 = clock_mono_us();
    bool released = gbuf_heap_trim();
    log_debug(MODULE, "heap trim: %s in %llu us", released ? "pages released" : "nothing to release",
              (unsigned long long)(clock_mono_us() - t0));
    tmr_start(&heap_trim_tmr, HEAP_TRIM_INTERVAL_MS, trim_heap, NULL);
}

static void emit_metric(void *arg, const char *name, double value)
{
    sbuf_printf(arg, "%s %.0f\n", name, value);
}

static void refresh_metrics(void *arg)
{
    struct sbuf b = {0};
    signaling_metrics(emit_metric, &b);
    char *text = sbuf_take(&b, NULL);
    pthread_mutex_lock(&metrics_lock);
    free(metrics_snapshot);
    metrics_snapshot = text;
    pthread_mutex_unlock(&metrics_lock);
    tmr_start(&metrics_tmr, 1000, refresh_metrics, NULL);
}

static void metrics_hook(struct sbuf *out)
{
    pthread_mutex_lock(&metrics_lock);
    if (metrics_snapshot) sbuf_append(out, metrics_snapshot, strlen(metrics_snapshot));
    pthread_mutex_unlock(&metrics_lock);
    if (config.rtmp.enabled) rtmp_metrics_write(out);
}

static void shutdown_done(void *arg)
{
    re_cancel();
}

static void on_signal(int sig)
{
    if (stopping) {
        log_warn(MODULE, "second signal: exiting now");
        re_cancel();
        return;
    }
    stopping = true;
    log_info(MODULE, "signal %d: shutting down", sig);
    if (config.sip.enabled)
        signaling_shutdown(shutdown_done, NULL);
    else
        re_cancel();
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void make_parent_dir(const char *path)
{
    char dir[CFG_STR_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    mkdir(dir, 0755);
}

static int parse_args(int argc, char **argv, bool *print_config)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 'o'},
        {"version", no_argument, NULL, 'V'},      {"help", no_argument, NULL, 'h'},
        {"print-config", no_argument, NULL, 'P'}, {NULL, 0, NULL, 0}};
    const char *file = NULL;
    char err[512];
    char **overrides = calloc((size_t)argc, sizeof *overrides);
    int noverrides = 0, opt;
    config_defaults(&config);
    while ((opt = getopt_long(argc, argv, "c:o:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': file = optarg; break;
        case 'o': overrides[noverrides++] = optarg; break;
        case 'V':
            printf("gbgate %s\n", GBGATE_VERSION);
            /* FFmpeg is loaded here only to report it, which also proves it loads (the image runs this); the
             * load's own log line is not part of the answer */
            char ffmpeg[256];
            log_set_level(LL_WARN);
            av_lazy_describe(ffmpeg, sizeof ffmpeg);
            printf("FFmpeg (loaded on first use): %s\n", ffmpeg);
            free(overrides);
            exit(0);
        case 'h':
            usage(stdout);
            free(overrides);
            exit(0);
        case 'P': *print_config = true; break;
        default:
            usage(stderr);
            free(overrides);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "gbgate: unexpected argument '%s'\n", argv[optind]);
        free(overrides);
        return 2;
    }
    if (!file && !*print_config) {
        fprintf(stderr, "gbgate: no configuration: use -c etc/gbgate.conf\n");
        usage(stderr);
        free(overrides);
        return 2;
    }
    int rc = file ? config_load_file(&config, file, err, sizeof err) : 0;
    for (int i = 0; !rc && i < noverrides; i++) rc = config_set(&config, overrides[i], err, sizeof err);
    if (!rc) rc = config_validate(&config, err, sizeof err);
    free(overrides);
    if (rc) {
        fprintf(stderr, "gbgate: configuration error: %s\n", err);
        return 2;
    }
    return 0;
}

int app_main(int argc, char **argv)
{
    bool print_config = false;
    int rc = parse_args(argc, argv, &print_config);
    if (rc) return rc;
    if (print_config) {
        config_print(&config, print_line, stdout);
        return 0;
    }
    enum log_level lvl;
    if (log_level_parse(config.log.level, &lvl) == 0) log_set_level(lvl);
    signal(SIGPIPE, SIG_IGN);
    gbuf_process_init();
    raise_fd_limit();
    started_ms = clock_mono_ms();
    char err[512] = "";

    if (libre_init() != 0) {
        fprintf(stderr, "gbgate: libre_init failed\n");
        return 1;
    }
    fd_setsize(65536);
    if (app_control_init() != 0) {
        fprintf(stderr, "gbgate: cannot create the control queue\n");
        return 1;
    }
    directory_init();
    ports_init(config.media.rtp_port_min, config.media.rtp_port_max);
    stream_set_close_hook(on_stream_closed);
    streams_api_register();
    live_view_register();
    recorder_init(&config); /* record.dir, API routes */
    playback_register();
    http_set_stream_miss_hook(live_view_miss_hook);
    rtmp_set_stream_miss_hook(live_view_miss_hook);
    live_set_first_frame_hook(gb_session_first_frame);
    live_set_viewers_hook(gb_session_viewers);

    http_set_metrics_hook(metrics_hook);
    rc = workers_start(&config, err, sizeof err);
    if (!rc) rc = http_server_start(&config, err, sizeof err);
    if (!rc) rc = rtmp_server_start(&config, err, sizeof err);
    if (!rc && config.sip.enabled) {
        make_parent_dir(config.storage.path);
        rc = signaling_start(&config);
        if (rc)
            snprintf(err, sizeof err, "signaling (sip.port %d, storage.path %s): %s", config.sip.port,
                     config.storage.path, strerror(rc));
    }
    if (rc) {
        fprintf(stderr, "gbgate: cannot start: %s\n", err);
        log_error(MODULE, "cannot start: %s", err);
        workers_stop();
        app_control_close();
        libre_close();
        return 2;
    }
    if (config.sip.enabled) {
        tmr_init(&metrics_tmr);
        refresh_metrics(NULL);
    }
    tmr_init(&heap_trim_tmr);
    tmr_start(&heap_trim_tmr, HEAP_TRIM_INTERVAL_MS, trim_heap, NULL);
    log_info(MODULE, "gbgate %s running: HTTP %d, RTP %d (+%d-%d), SIP %s", GBGATE_VERSION, config.http.port,
             config.media.rtp_port, config.media.rtp_port_min, config.media.rtp_port_max,
             config.sip.enabled ? "on" : "off");
    re_main(on_signal);
    tmr_cancel(&metrics_tmr);
    tmr_cancel(&heap_trim_tmr);
    recorder_shutdown(); /* finalizes the MP4 files while the workers still run their sinks */
    log_info(MODULE, "stopping media workers");
    workers_stop();
    app_control_drain(); /* what the workers posted while closing their streams */
    playback_close();
    if (config.sip.enabled) signaling_close();
    app_control_close();
    directory_destroy();
    free(metrics_snapshot);
    metrics_snapshot = NULL;
    libre_close();
    log_info(MODULE, "stopped");
    return 0;
}
