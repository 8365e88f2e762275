/*
 * `gbsim device ...`: options, the libre loop, and the JSON summary printed at exit.
 *
 *   gbsim device --server IP:PORT [--transport udp|tcp] [--count M] [--channels C] [--per-message K]
 *                [--id-base 34020000001320000001] [--server-id ID] [--domain D] [--password P]
 *                [--keepalive S] [--expires S] [--retry S] [--duration S] [--ramp-ms MS] [--local-ip IP]
 *                [--realm-quirk] [--auth-first] [--utf8-under-gb2312] [--no-xml-decl] [--no-qop]
 *                [--no-unregister] [--quiet]
 *
 * Exit code 0 when every device registered at least once, 1 otherwise, 2 on a usage error. The last stdout
 * line is a JSON object with the counts (registered/failed devices, answers, times).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test/sim/device_sim.h"
#include "test/sim/sim_device.h"

struct sim_options sim_opt;
struct sim_stats sim_stats;

static struct sim_device **devices;
static int ndevices;
static struct tmr stop_tmr, exit_tmr, tick_tmr;
static bool stopping;

static uint64_t now_ms(void)
{
    return tmr_jiffies();
}

void sim_note_registered(void)
{
    if (++sim_stats.registered_devices == sim_opt.count) {
        sim_stats.all_registered_ms = now_ms() - sim_stats.start_ms;
        if (!sim_opt.quiet)
            fprintf(stderr, "gbsim device: all %d devices registered in %llu ms\n", sim_opt.count,
                    (unsigned long long)sim_stats.all_registered_ms);
    }
}

void sim_note_catalog_sent(void)
{
    if (++sim_stats.catalog_devices == sim_opt.count) {
        sim_stats.all_catalogs_ms = now_ms() - sim_stats.start_ms;
        if (!sim_opt.quiet)
            fprintf(stderr, "gbsim device: all %d catalogs sent %llu ms after start\n", sim_opt.count,
                    (unsigned long long)sim_stats.all_catalogs_ms);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: gbsim device --server IP:PORT [--transport udp|tcp] [--count M] [--channels C]\n"
            "       [--per-message K] [--id-base ID] [--server-id ID] [--domain D] [--password P]\n"
            "       [--keepalive S] [--expires S] [--retry S] [--duration S] [--ramp-ms MS] [--local-ip IP]\n"
            "       [--realm-quirk] [--auth-first] [--utf8-under-gb2312] [--no-xml-decl] [--no-qop]\n"
            "       [--no-unregister] [--quiet]\n");
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
        O_HELP
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
                                             {"help", 0, 0, O_HELP},
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
    bool have_server = false;
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
        default: return -1;
        }
    }
    if (!have_server || o->count < 1 || o->count > 20000 || o->channels < 0 || o->channels > 1000 ||
        o->keepalive_s < 1 || o->expires_s < 1 || o->retry_s < 1 || !all_digits(o->id_base, 20))
        return -1;
    return ramp < 0 ? (o->count < 1000 ? o->count : 1000) : ramp; /* default: 1 ms per device, at most 1 s */
}

static void print_summary(void)
{
    int registered = 0;
    for (int i = 0; i < ndevices; i++) registered += sim_device_registered_once(devices[i]);
    sim_stats.failed_devices = sim_opt.count - registered;
    printf("{\"mode\":\"device\",\"devices\":%d,\"registered\":%d,\"failed\":%d,\"registers_ok\":%llu,"
           "\"challenges\":%llu,\"auth_rejected\":%llu,\"register_errors\":%llu,\"unregistered\":%llu,"
           "\"keepalives_ok\":%llu,\"keepalives_refused\":%llu,\"keepalives_failed\":%llu,"
           "\"queries\":{\"DeviceInfo\":%llu,\"DeviceStatus\":%llu,\"Catalog\":%llu,\"other\":%llu},"
           "\"catalog_messages\":%llu,\"catalog_devices\":%d,\"responses_failed\":%llu,"
           "\"all_registered_ms\":%llu,\"all_catalogs_ms\":%llu}\n",
           sim_opt.count, registered, sim_stats.failed_devices, (unsigned long long)sim_stats.registers_ok,
           (unsigned long long)sim_stats.challenges, (unsigned long long)sim_stats.auth_rejected,
           (unsigned long long)sim_stats.register_errors, (unsigned long long)sim_stats.unregisters,
           (unsigned long long)sim_stats.keepalives_ok, (unsigned long long)sim_stats.keepalives_refused,
           (unsigned long long)sim_stats.keepalives_failed, (unsigned long long)sim_stats.q_device_info,
           (unsigned long long)sim_stats.q_device_status, (unsigned long long)sim_stats.q_catalog,
           (unsigned long long)sim_stats.q_other, (unsigned long long)sim_stats.catalog_messages,
           sim_stats.catalog_devices, (unsigned long long)sim_stats.responses_failed,
           (unsigned long long)sim_stats.all_registered_ms, (unsigned long long)sim_stats.all_catalogs_ms);
    fflush(stdout);
}

static void tick_handler(void *arg)
{
    (void)arg;
    uint64_t now = tmr_jiffies();
    if (!stopping)
        for (int i = 0; i < ndevices; i++) sim_device_tick(devices[i], now);
    tmr_start(&tick_tmr, SIM_TICK_MS, tick_handler, NULL);
}

static void exit_handler(void *arg)
{
    (void)arg;
    re_cancel();
}

/* Unregisters everybody, then leaves the loop once the answers had time to come back. */
static void stop(void *arg)
{
    (void)arg;
    if (stopping) return;
    stopping = true;
    for (int i = 0; i < ndevices; i++) sim_device_unregister(devices[i]);
    tmr_start(&exit_tmr, sim_opt.no_unregister ? 0 : 1500, exit_handler, NULL);
}

static void signal_handler(int sig)
{
    (void)sig;
    if (stopping)
        re_cancel();
    else
        stop(NULL);
}

int sim_device_main(int argc, char **argv)
{
    int ramp_ms = parse_options(argc, argv);
    if (ramp_ms < 0) {
        usage();
        return 2;
    }
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (libre_init()) return 1;
    fd_setsize(65536);
    tmr_init(&stop_tmr);
    tmr_init(&exit_tmr);
    tmr_init(&tick_tmr);
    devices = calloc((size_t)sim_opt.count, sizeof(*devices));
    int rc = 1;
    if (!devices) goto out;
    for (int i = 0; i < sim_opt.count; i++) {
        int err = sim_device_create(&devices[i], i);
        if (err) {
            fprintf(stderr, "gbsim device: cannot create device %d: %s\n", i, strerror(err));
            goto out;
        }
        ndevices++;
    }
    sim_stats.start_ms = now_ms();
    for (int i = 0; i < ndevices; i++)
        sim_device_start(devices[i], (uint32_t)((uint64_t)i * (uint64_t)ramp_ms / (uint64_t)ndevices));
    tmr_start(&tick_tmr, 0, tick_handler, NULL);
    if (sim_opt.duration_s > 0) tmr_start(&stop_tmr, (uint64_t)sim_opt.duration_s * 1000, stop, NULL);
    re_main(signal_handler);
    print_summary();
    rc = sim_stats.failed_devices == 0 ? 0 : 1;
out:
    tmr_cancel(&stop_tmr);
    tmr_cancel(&exit_tmr);
    tmr_cancel(&tick_tmr);
    for (int i = 0; i < ndevices; i++) sim_device_destroy(devices[i]);
    free(devices);
    devices = NULL;
    ndevices = 0;
    libre_close();
    return rc;
}
