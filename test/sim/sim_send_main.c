/*
 * `gbsim send` entry point: options, clip preparation, signals, the run, and the one JSON line of counters
 * printed at exit (also after SIGINT/SIGTERM) that tests and the benchmark parse.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "sim_send.h"

static void on_stop_signal(int sig)
{
    sim_stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: sleeps end at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Hundreds of streams need hundreds of sockets: raise the soft descriptor limit to the hard one. */
static void raise_fd_limit(unsigned streams)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)streams * 2 + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void print_stats(const struct sim_options *o, const struct sim_stats *st)
{
    printf("{\"streams\":%u,\"frames\":%" PRIu64 ",\"video_frames\":%" PRIu64 ",\"audio_frames\":%" PRIu64
           ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"duplicated\":%" PRIu64
           ",\"reordered\":%" PRIu64 ",\"send_errors\":%" PRIu64 ",\"seconds\":%.3f}\n",
           o->streams, st->frames, st->video_frames, st->audio_frames, st->packets, st->bytes, st->dropped,
           st->duplicated, st->reordered, st->send_errors, st->seconds);
    fflush(stdout);
}

int sim_send_main(int argc, char **argv)
{
    struct sim_options o;
    int rc = sim_options_parse(argc, argv, &o);
    if (rc == 1) return 0; /* --help */
    if (rc) return rc;
    install_signals();
    raise_fd_limit(o.streams);
    struct sim_clip clip;
    if (sim_clip_build(&o, &clip) != 0) return 1;
    struct sim_stats st;
    int err = sim_sender_run(&o, &clip, &st);
    sim_clip_free(&clip);
    print_stats(&o, &st);
    if (err) fprintf(stderr, "gbsim send: %s\n", strerror(-err));
    return err ? 1 : 0;
}
