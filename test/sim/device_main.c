/*
 * `gbsim device ...`: options, the libre loop, and the JSON summary printed at exit.
 *
 *   gbsim device --server IP:PORT [--transport udp|tcp] [--count M] [--channels C] [--per-message K]
 *                [--id-base 34020000001320000001] [--server-id ID] [--domain D] [--password P]
 *                [--keepalive S] [--expires S] [--retry S] [--duration S] [--ramp-ms MS] [--local-ip IP]
 *                [--realm-quirk] [--auth-first] [--utf8-under-gb2312] [--no-xml-decl] [--no-qop]
 *                [--no-unregister] [--threads N] [--quiet]
 *                [--media-video FILE] [--media-audio FILE] [--media-ps FILE] [--media-fps N]
 *                [--channel-media N=FILE[,FILE]]... [--answer-ssrc N] [--answer-no-sdp] [--answer-bare-lf]
 *                [--answer-provisional] [--answer-delay-ms MS] [--answer-refuse CODE] [--answer-never]
 *                [--bye-after S] [--keepalive-stop-after S] [--media-stop-after S] [--quiet-events]
 *                [--control-log FILE] [--control-silent]
 *                [--playback-end-never] [--record-length S] [--events-log FILE]
 *                [--records-per-message K] [--records-none] [--records-ignore] [--alarm-every S]
 *                [--position-every S] [--subscribe-refuse CODE] [--notify-catalog-add]
 *
 * The devices are spread over --threads threads (default: half the cores, 1 below 4 cores, at most 4), each
 * running its own libre loop: libre keeps one sorted timer list per loop and walks it on every insert, so one
 * loop for thousands of devices spends its time in that walk.
 *
 * Exit code 0 when every device registered at least once, 1 otherwise, 2 on a usage error. The last stdout
 * line is a JSON object with the counts (registered/failed devices, answers, times).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test/sim/device_events.h"
#include "test/sim/device_media.h"
#include "test/sim/device_playback.h"
#include "test/sim/device_sim.h"
#include "test/sim/sim_device.h"

struct sim_options sim_opt;
_Thread_local struct sim_stats sim_stats;

/* Milestones across the shards (one thread each). */
static uint64_t sim_stats_start_ms;
static atomic_int registered_devices, catalog_devices;
static atomic_ullong all_registered_ms, all_catalogs_ms;

void sim_note_registered(void)
{
    if (atomic_fetch_add(&registered_devices, 1) + 1 == sim_opt.count) {
        atomic_store(&all_registered_ms, tmr_jiffies() - sim_stats_start_ms);
        if (!sim_opt.quiet)
            fprintf(stderr, "gbsim device: all %d devices registered in %llu ms\n", sim_opt.count,
                    (unsigned long long)atomic_load(&all_registered_ms));
    }
}

void sim_note_catalog_sent(void)
{
    if (atomic_fetch_add(&catalog_devices, 1) + 1 == sim_opt.count) {
        atomic_store(&all_catalogs_ms, tmr_jiffies() - sim_stats_start_ms);
        if (!sim_opt.quiet)
            fprintf(stderr, "gbsim device: all %d catalogs sent %llu ms after start\n", sim_opt.count,
                    (unsigned long long)atomic_load(&all_catalogs_ms));
    }
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: gbsim device --server IP:PORT [--transport udp|tcp] [--count M] [--channels C]\n"
        "       [--per-message K] [--id-base ID] [--server-id ID] [--domain D] [--password P]\n"
        "       [--keepalive S] [--expires S] [--retry S] [--duration S] [--ramp-ms MS] [--local-ip IP]\n"
        "       [--realm-quirk] [--auth-first] [--utf8-under-gb2312] [--no-xml-decl] [--no-qop]\n"
        "       [--no-unregister] [--threads N] [--quiet]\n"
        "live view (see docs/GBSIM.md):\n"
        "       [--media-video FILE] [--media-audio FILE] [--media-ps FILE] [--media-fps N]\n"
        "       [--channel-media N=FILE[,FILE]]... [--answer-ssrc N] [--answer-no-sdp] [--answer-bare-lf]\n"
        "       [--answer-provisional] [--answer-delay-ms MS] [--answer-refuse CODE] [--answer-never]\n"
        "       [--bye-after S] [--keepalive-stop-after S] [--media-stop-after S] [--quiet-events]\n"
        "device control: [--control-log FILE] [--control-silent]\n" SIM_EVENTS_USAGE
        "playback/download: [--playback-end-never] [--record-length S] [--events-log FILE]\n");
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int parse_options(int argc, char **argv)
{
    enum {
        O_SERVER = 256,
        O_TRANSPORT,
        O_COUNT,
        O_CHANNELS,
        O_PER,
        O_IDBASE,
        O_SERVERID,
        O_DOMAIN,
        O_PASSWORD,
        O_KEEPALIVE,
        O_EXPIRES,
        O_RETRY,
        O_DURATION,
        O_RAMP,
        O_LOCAL,
        O_REALM,
        O_AUTHFIRST,
        O_UTF8,
        O_NODECL,
        O_NOQOP,
        O_NOUNREG,
        O_QUIET,
        O_THREADS,
        O_HELP,
        O_MVIDEO,
        O_MAUDIO,
        O_MPS,
        O_MFPS,
        O_CHMEDIA,
        O_ASSRC,
        O_ANOSDP,
        O_ABARELF,
        O_APROV,
        O_ADELAY,
        O_AREFUSE,
        O_ANEVER,
        O_BYEAFTER,
        O_KASTOP,
        O_MSTOP,
        O_QEVENTS,
        O_CTLLOG,
        O_CTLSILENT,
        O_PBENDNEVER,
        O_RECLEN,
        O_EVLOG
    };
    static const struct option longopts[] = {{"server", 1, 0, O_SERVER},
                                             {"transport", 1, 0, O_TRANSPORT},
                                             {"count", 1, 0, O_COUNT},
                                             {"channels", 1, 0, O_CHANNELS},
                                             {"per-message", 1, 0, O_PER},
                                             {"id-base", 1, 0, O_IDBASE},
                                             {"server-id", 1, 0, O_SERVERID},
                                             {"domain", 1, 0, O_DOMAIN},
                                             {"password", 1, 0, O_PASSWORD},
                                             {"keepalive", 1, 0, O_KEEPALIVE},
                                             {"expires", 1, 0, O_EXPIRES},
                                             {"retry", 1, 0, O_RETRY},
                                             {"duration", 1, 0, O_DURATION},
                                             {"ramp-ms", 1, 0, O_RAMP},
                                             {"local-ip", 1, 0, O_LOCAL},
                                             {"realm-quirk", 0, 0, O_REALM},
                                             {"auth-first", 0, 0, O_AUTHFIRST},
                                             {"utf8-under-gb2312", 0, 0, O_UTF8},
                                             {"no-xml-decl", 0, 0, O_NODECL},
                                             {"no-qop", 0, 0, O_NOQOP},
                                             {"no-unregister", 0, 0, O_NOUNREG},
                                             {"quiet", 0, 0, O_QUIET},
                                             {"threads", 1, 0, O_THREADS},
                                             {"help", 0, 0, O_HELP},
                                             {"media-video", 1, 0, O_MVIDEO},
                                             {"media-audio", 1, 0, O_MAUDIO},
                                             {"media-ps", 1, 0, O_MPS},
                                             {"media-fps", 1, 0, O_MFPS},
                                             {"channel-media", 1, 0, O_CHMEDIA},
                                             {"answer-ssrc", 1, 0, O_ASSRC},
                                             {"answer-no-sdp", 0, 0, O_ANOSDP},
                                             {"answer-bare-lf", 0, 0, O_ABARELF},
                                             {"answer-provisional", 0, 0, O_APROV},
                                             {"answer-delay-ms", 1, 0, O_ADELAY},
                                             {"answer-refuse", 1, 0, O_AREFUSE},
                                             {"answer-never", 0, 0, O_ANEVER},
                                             {"bye-after", 1, 0, O_BYEAFTER},
                                             {"keepalive-stop-after", 1, 0, O_KASTOP},
                                             {"media-stop-after", 1, 0, O_MSTOP},
                                             {"quiet-events", 0, 0, O_QEVENTS},
                                             {"control-log", 1, 0, O_CTLLOG},
                                             {"control-silent", 0, 0, O_CTLSILENT},
                                             SIM_EVENTS_LONGOPTS,
                                             {"playback-end-never", 0, 0, O_PBENDNEVER},
                                             {"record-length", 1, 0, O_RECLEN},
                                             {"events-log", 1, 0, O_EVLOG},
                                             {0, 0, 0, 0}};
    struct sim_options *o = &sim_opt;
    memset(o, 0, sizeof(*o));
    o->transport = SIP_TRANSP_UDP;
    o->count = 1;
    o->channels = 4;
    o->per_message = 2;
    snprintf(o->id_base, sizeof(o->id_base), "34020000001320000001");
    snprintf(o->server_id, sizeof(o->server_id), "34020000002000000001");
    snprintf(o->domain, sizeof(o->domain), "3402000000");
    snprintf(o->password, sizeof(o->password), "12345678");
    snprintf(o->local_ip, sizeof(o->local_ip), "127.0.0.1");
    o->keepalive_s = 60;
    o->expires_s = 3600;
    o->retry_s = 10;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cores < 4   ? 1
                 : cores > 8 ? 4
                             : (int)(cores / 2); /* leave cores to the platform under test */
    o->answer_ssrc = -1;
    const char *media_video = NULL, *media_audio = NULL, *media_ps = NULL;
    bool have_server = false, media_error = false;
    int ramp = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_SERVER: have_server = !sa_decode(&o->server, optarg, strlen(optarg)); break;
        case O_TRANSPORT:
            if (!strcmp(optarg, "udp"))
                o->transport = SIP_TRANSP_UDP;
            else if (!strcmp(optarg, "tcp"))
                o->transport = SIP_TRANSP_TCP;
            else
                return -1;
            break;
        case O_COUNT: o->count = atoi(optarg); break;
        case O_CHANNELS: o->channels = atoi(optarg); break;
        case O_PER: o->per_message = atoi(optarg); break;
        case O_IDBASE: snprintf(o->id_base, sizeof(o->id_base), "%s", optarg); break;
        case O_SERVERID: snprintf(o->server_id, sizeof(o->server_id), "%s", optarg); break;
        case O_DOMAIN: snprintf(o->domain, sizeof(o->domain), "%s", optarg); break;
        case O_PASSWORD: snprintf(o->password, sizeof(o->password), "%s", optarg); break;
        case O_KEEPALIVE: o->keepalive_s = atoi(optarg); break;
        case O_EXPIRES: o->expires_s = atoi(optarg); break;
        case O_RETRY: o->retry_s = atoi(optarg); break;
        case O_DURATION: o->duration_s = atoi(optarg); break;
        case O_RAMP: ramp = atoi(optarg); break;
        case O_LOCAL: snprintf(o->local_ip, sizeof(o->local_ip), "%s", optarg); break;
        case O_REALM: o->realm_quirk = true; break;
        case O_AUTHFIRST: o->auth_first = true; break;
        case O_UTF8: o->utf8_under_gb2312 = true; break;
        case O_NODECL: o->no_xml_decl = true; break;
        case O_NOQOP: o->no_qop = true; break;
        case O_NOUNREG: o->no_unregister = true; break;
        case O_QUIET: o->quiet = true; break;
        case O_THREADS: o->threads = atoi(optarg); break;
        case O_MVIDEO: media_video = optarg; break;
        case O_MAUDIO: media_audio = optarg; break;
        case O_MPS: media_ps = optarg; break;
        case O_MFPS: device_media_set_fps(atof(optarg) > 0 ? atof(optarg) : 25); break;
        case O_CHMEDIA: {
            char *eq = strchr(optarg, '=');
            int ch = eq ? atoi(optarg) : 0;
            media_error |= !eq || ch < 1 || device_media_add_source(ch, eq + 1) != 0;
            break;
        }
        case O_ASSRC: o->answer_ssrc = strtoll(optarg, NULL, 0); break;
        case O_ANOSDP: o->answer_no_sdp = true; break;
        case O_ABARELF: o->answer_bare_lf = true; break;
        case O_APROV: o->answer_provisional = true; break;
        case O_ADELAY: o->answer_delay_ms = atoi(optarg); break;
        case O_AREFUSE: o->answer_refuse = atoi(optarg); break;
        case O_ANEVER: o->answer_never = true; break;
        case O_BYEAFTER: o->bye_after_s = atof(optarg); break;
        case O_KASTOP: o->keepalive_stop_s = atof(optarg); break;
        case O_MSTOP: o->media_stop_s = atof(optarg); break;
        case O_QEVENTS: o->quiet_events = true; break;
        case O_CTLLOG: media_error |= sim_control_open_log(optarg) != 0; break;
        case O_CTLSILENT: o->control_silent = true; break;
        case O_PBENDNEVER: o->playback_end_never = true; break;
        case O_RECLEN: o->record_length_s = atof(optarg); break;
        case O_EVLOG: o->events_log = optarg; break;
        default:
            if (c < SIM_EVENTS_OPT_FIRST || c >= SIM_EVENTS_OPT_LAST || !sim_events_option(c, optarg))
                return -1;
        }
    }
    if (media_error || device_media_add_default(media_video, media_audio, media_ps) != 0) return -1;
    if (o->answer_ssrc < -1 || o->answer_ssrc > 0xffffffffLL ||
        (o->answer_refuse && (o->answer_refuse < 300 || o->answer_refuse > 699)) || o->answer_delay_ms < 0 ||
        o->answer_delay_ms > 120000)
        return -1;
    if (!have_server || o->count < 1 || o->count > 20000 || o->channels < 0 || o->channels > 1000 ||
        o->keepalive_s < 1 || o->expires_s < 1 || o->retry_s < 1 || o->threads < 1 || o->threads > 64 ||
        !all_digits(o->id_base, 20))
        return -1;
    return ramp < 0 ? (o->count < 1000 ? o->count : 1000) : ramp; /* default: 1 ms per device, at most 1 s */
}

static void print_summary(const struct sim_stats *st, int registered)
{
    int failed = sim_opt.count - registered;
    struct device_media_totals mt;
    device_media_get_totals(&mt);
    printf(
        "{\"mode\":\"device\",\"devices\":%d,\"registered\":%d,\"failed\":%d,\"registers_ok\":%llu,"
        "\"challenges\":%llu,\"auth_rejected\":%llu,\"register_errors\":%llu,\"unregistered\":%llu,"
        "\"keepalives_ok\":%llu,\"keepalives_refused\":%llu,\"keepalives_failed\":%llu,"
        "\"queries\":{\"DeviceInfo\":%llu,\"DeviceStatus\":%llu,\"Catalog\":%llu,\"other\":%llu},"
        "\"catalog_messages\":%llu,\"catalog_devices\":%d,\"responses_failed\":%llu,"
        "\"all_registered_ms\":%llu,\"all_catalogs_ms\":%llu,"
        "\"invites\":%llu,\"invites_refused\":%llu,\"acks\":%llu,\"byes_received\":%llu,\"byes_sent\":%llu,"
        "\"cancels\":%llu,\"media\":{\"sessions\":%llu,\"packets\":%llu,\"frames\":%llu,"
        "\"send_errors\":%llu}%s%s,",
        sim_opt.count, registered, failed, (unsigned long long)st->registers_ok,
        (unsigned long long)st->challenges, (unsigned long long)st->auth_rejected,
        (unsigned long long)st->register_errors, (unsigned long long)st->unregisters,
        (unsigned long long)st->keepalives_ok, (unsigned long long)st->keepalives_refused,
        (unsigned long long)st->keepalives_failed, (unsigned long long)st->q_device_info,
        (unsigned long long)st->q_device_status, (unsigned long long)st->q_catalog,
        (unsigned long long)st->q_other, (unsigned long long)st->catalog_messages, st->catalog_devices,
        (unsigned long long)st->responses_failed, (unsigned long long)st->all_registered_ms,
        (unsigned long long)st->all_catalogs_ms, (unsigned long long)st->invites,
        (unsigned long long)st->invites_refused, (unsigned long long)st->acks,
        (unsigned long long)st->byes_received, (unsigned long long)st->byes_sent,
        (unsigned long long)st->cancels, (unsigned long long)mt.sessions, (unsigned long long)mt.packets,
        (unsigned long long)mt.frames, (unsigned long long)mt.send_errors, sim_control_summary_json(),
        sim_events_summary_json());
    device_playback_print_summary(stdout); /* "calls":[...] */
    fputs("}\n", stdout);
    fflush(stdout);
}

/* ---- shards: devices are spread over threads, each with its own libre loop (and its own timer list) ---- */

struct sim_shard {
    pthread_t thread;
    int first, count; /* device indexes [first, first + count) */
    struct sim_device **devices;
    int ndevices, registered, rc;
    struct tmr tick_tmr, exit_tmr;
    bool stopping;
    struct sim_stats stats; /* the thread's counters, copied out at its end */
};

static struct sim_shard *shards;
static int nshards, ramp_ms;
static atomic_bool stop_requested;
static atomic_int shards_done;

static void shard_exit(void *arg)
{
    (void)arg;
    re_cancel();
}

static void shard_tick(void *arg)
{
    struct sim_shard *s = arg;
    uint64_t now = tmr_jiffies();
    if (!s->stopping && atomic_load(&stop_requested)) {
        /* unregister everybody, then leave once the answers had time to come back */
        s->stopping = true;
        for (int i = 0; i < s->ndevices; i++) sim_device_unregister(s->devices[i]);
        tmr_start(&s->exit_tmr, sim_opt.no_unregister ? 0 : 1500, shard_exit, s);
    }
    if (!s->stopping)
        for (int i = 0; i < s->ndevices; i++) sim_device_tick(s->devices[i], now);
    tmr_start(&s->tick_tmr, SIM_TICK_MS, shard_tick, s);
}

static void *shard_main(void *arg)
{
    struct sim_shard *s = arg;
    s->rc = re_thread_init();
    if (!s->rc) s->rc = fd_setsize(65536);
    s->devices = calloc((size_t)s->count + 1, sizeof(*s->devices));
    if (!s->devices) s->rc = ENOMEM;
    for (int i = 0; !s->rc && i < s->count; i++) {
        s->rc = sim_device_create(&s->devices[i], s->first + i);
        if (s->rc)
            fprintf(stderr, "gbsim device: cannot create device %d: %s\n", s->first + i, strerror(s->rc));
        else
            s->ndevices++;
    }
    if (!s->rc) {
        for (int i = 0; i < s->ndevices; i++) {
            uint64_t index = (uint64_t)(s->first + i);
            sim_device_start(s->devices[i], (uint32_t)(index * (uint64_t)ramp_ms / (uint64_t)sim_opt.count));
        }
        tmr_init(&s->tick_tmr);
        tmr_init(&s->exit_tmr);
        tmr_start(&s->tick_tmr, 0, shard_tick, s);
        re_main(NULL);
        tmr_cancel(&s->tick_tmr);
        tmr_cancel(&s->exit_tmr);
    }
    for (int i = 0; i < s->ndevices; i++) {
        s->registered += sim_device_registered_once(s->devices[i]);
        sim_device_destroy(s->devices[i]);
    }
    free(s->devices);
    s->stats = sim_stats;
    re_thread_close();
    atomic_fetch_add(&shards_done, 1);
    return NULL;
}

/* ---- the main thread: signals, --duration, waiting for the shards ---- */

static struct tmr watch_tmr;

static void watch(void *arg)
{
    (void)arg;
    if (sim_opt.duration_s > 0 && tmr_jiffies() - sim_stats_start_ms >= (uint64_t)sim_opt.duration_s * 1000)
        atomic_store(&stop_requested, true);
    if (atomic_load(&shards_done) == nshards) {
        re_cancel();
        return;
    }
    tmr_start(&watch_tmr, 50, watch, NULL);
}

static void signal_handler(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void add_stats(struct sim_stats *sum, const struct sim_stats *s)
{
    sum->registers_ok += s->registers_ok;
    sum->auth_rejected += s->auth_rejected;
    sum->challenges += s->challenges;
    sum->register_errors += s->register_errors;
    sum->unregisters += s->unregisters;
    sum->keepalives_ok += s->keepalives_ok;
    sum->keepalives_refused += s->keepalives_refused;
    sum->keepalives_failed += s->keepalives_failed;
    sum->q_device_info += s->q_device_info;
    sum->q_device_status += s->q_device_status;
    sum->q_catalog += s->q_catalog;
    sum->q_other += s->q_other;
    sum->catalog_messages += s->catalog_messages;
    sum->responses_failed += s->responses_failed;
    sum->invites += s->invites;
    sum->invites_refused += s->invites_refused;
    sum->acks += s->acks;
    sum->byes_received += s->byes_received;
    sum->byes_sent += s->byes_sent;
    sum->cancels += s->cancels;
}

int sim_device_main(int argc, char **argv)
{
    ramp_ms = parse_options(argc, argv);
    if (ramp_ms < 0) {
        usage();
        return 2;
    }
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (device_media_prepare() != 0 || device_playback_events_open(sim_opt.events_log) != 0) {
        device_media_cleanup();
        return 1;
    }
    if (libre_init()) return 1;
    fd_setsize(65536);
    nshards = sim_opt.threads < sim_opt.count ? sim_opt.threads : sim_opt.count;
    shards = calloc((size_t)nshards, sizeof(*shards));
    if (!shards) return 1;
    sim_stats_start_ms = tmr_jiffies();
    sim_opt.start_ms = sim_stats_start_ms;
    int first = 0, started = 0;
    for (int i = 0; i < nshards; i++) {
        shards[i].first = first;
        shards[i].count = sim_opt.count / nshards + (i < sim_opt.count % nshards);
        first += shards[i].count;
        if (pthread_create(&shards[i].thread, NULL, shard_main, &shards[i])) break;
        started++;
    }
    nshards = started;
    tmr_init(&watch_tmr);
    tmr_start(&watch_tmr, 50, watch, NULL);
    re_main(signal_handler);
    tmr_cancel(&watch_tmr);

    struct sim_stats sum;
    memset(&sum, 0, sizeof(sum));
    int registered = 0, rc = 0;
    for (int i = 0; i < nshards; i++) {
        pthread_join(shards[i].thread, NULL);
        add_stats(&sum, &shards[i].stats);
        registered += shards[i].registered;
        if (shards[i].rc) rc = 1;
    }
    sum.all_registered_ms = atomic_load(&all_registered_ms);
    sum.all_catalogs_ms = atomic_load(&all_catalogs_ms);
    sum.catalog_devices = atomic_load(&catalog_devices);
    print_summary(&sum, registered);
    free(shards);
    shards = NULL;
    device_media_cleanup();
    device_playback_cleanup();
    sim_control_close();
    libre_close();
    return rc || registered < sim_opt.count ? 1 : 0;
}
