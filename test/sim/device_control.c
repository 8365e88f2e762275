/*
 * gbsim device mode: the device side of device control (GB28181.md sections 3 and 7).
 *
 * Like real cameras, the simulated devices answer RecordCmd, GuardCmd and AlarmCmd with a DeviceControl
 * Response (Result OK) and send nothing back for PTZCmd, IFameCmd or TeleBoot. PresetQuery gets a made-up
 * list that starts with presets 1 and 2 and follows the preset set/delete PTZ commands each channel received;
 * ConfigDownload gets BasicParam (the device's real registration values), VideoParamOpt and SVACEncodeConfig.
 * --control-silent receives everything but answers none of it (the platform's timeout path).
 *
 * --control-log FILE records every DeviceControl and these queries as one JSON line each, so tests can check
 * the exact PTZCmd a device got. Shard threads share the file and the preset table: both sit behind one
 * mutex (control traffic is a handful of messages, never a load test). The log stops at CONTROL_LOG_MAX
 * lines.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "signaling/ptz.h"
#include "test/sim/device_sim.h"

#define CONTROL_LOG_MAX      10000 /* lines; the log of a long run stays bounded */
#define PRESET_CHANNELS_MAX  4096  /* channels whose presets are remembered */
#define DEFAULT_PRESET_COUNT 2     /* presets 1..2 exist before any set */

struct channel_presets {
    char id[MANSCDP_ID_SIZE];
    uint8_t bits[(PTZ_MAX_PRESET + 1) / 8]; /* bit i: preset i exists */
};

static pthread_mutex_t control_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *control_log;
static unsigned long control_log_lines;
static struct channel_presets *presets;
static size_t npresets;
static atomic_ullong n_received, n_ptz, n_answered, n_logged;

int sim_control_open_log(const char *path)
{
    if (control_log) fclose(control_log);
    control_log = fopen(path, "w");
    return control_log ? 0 : errno;
}

void sim_control_close(void)
{
    if (control_log) fclose(control_log);
    control_log = NULL;
    free(presets);
    presets = NULL;
    npresets = 0;
}

const char *sim_control_summary_json(void)
{
    static char buf[160];
    snprintf(buf, sizeof(buf),
             ",\"controls\":{\"received\":%llu,\"ptz\":%llu,\"answered\":%llu,\"logged\":%llu}",
             atomic_load(&n_received), atomic_load(&n_ptz), atomic_load(&n_answered), atomic_load(&n_logged));
    return buf;
}

/* ---- presets (under control_lock) ---- */

static struct channel_presets *presets_of(const char *channel)
{
    for (size_t i = 0; i < npresets; i++)
        if (!strcmp(presets[i].id, channel)) return &presets[i];
    if (npresets == PRESET_CHANNELS_MAX) return NULL;
    if (!presets && !(presets = calloc(PRESET_CHANNELS_MAX, sizeof(*presets)))) return NULL;
    struct channel_presets *p = &presets[npresets++];
    snprintf(p->id, sizeof(p->id), "%s", channel);
    for (int i = 1; i <= DEFAULT_PRESET_COUNT; i++) p->bits[i / 8] |= (uint8_t)(1u << (i % 8));
    return p;
}

static void presets_apply(const char *channel, const char *ptz_hex)
{
    struct ptz_cmd cmd;
    if (!ptz_hex || ptz_decode(ptz_hex, strlen(ptz_hex), &cmd, NULL)) return;
    if (cmd.command != PTZ_CMD_PRESET_SET && cmd.command != PTZ_CMD_PRESET_DELETE) return;
    if (cmd.data2 < 1) return;
    struct channel_presets *p = presets_of(channel);
    if (!p) return;
    uint8_t bit = (uint8_t)(1u << (cmd.data2 % 8));
    if (cmd.command == PTZ_CMD_PRESET_SET)
        p->bits[cmd.data2 / 8] |= bit;
    else
        p->bits[cmd.data2 / 8] &= (uint8_t)~bit;
}

/* ---- the log ---- */

/* The DeviceControl command element other than PTZCmd ("RecordCmd=Record"), or a query's ConfigType. */
static void command_text(const struct manscdp_msg *m, char *out, size_t size)
{
    static const char *const skip[] = {"CmdType", "SN", "DeviceID", "PTZCmd", "Info"};
    out[0] = 0;
    for (const struct manscdp_node *c = manscdp_node_child(manscdp_root_node(m)); c;
         c = manscdp_node_sibling(c)) {
        bool skipped = false;
        for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]) && !skipped; i++)
            skipped = !strcasecmp(manscdp_node_name(c), skip[i]);
        if (skipped) continue;
        const char *text = manscdp_node_get(c, NULL);
        snprintf(out, size, "%s=%s", manscdp_node_name(c), text ? text : "");
        return;
    }
}

static void log_control(const struct sim_device *dev, const struct manscdp_msg *m, const char *ptz,
                        const char *command)
{
    if (!control_log || control_log_lines >= CONTROL_LOG_MAX) return;
    json_t *o = json_object();
    json_object_set_new(o, "device", json_string(sim_device_id(dev)));
    json_object_set_new(o, "channel", json_string(manscdp_device_id(m)));
    json_object_set_new(o, "cmdtype", json_string(manscdp_cmdtype(m)));
    json_object_set_new(o, "ptzcmd", ptz ? json_string(ptz) : json_null());
    json_object_set_new(o, "command", command[0] ? json_string(command) : json_null());
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!line) return;
    fprintf(control_log, "%s\n", line);
    fflush(control_log); /* tests read it while gbsim runs */
    free(line);
    control_log_lines++;
    atomic_fetch_add(&n_logged, 1);
}

/* ---- answers ---- */

static void send_answer(struct sim_device *dev, struct manscdp_writer *w)
{
    size_t len;
    if (manscdp_writer_finish(w, &len)) return;
    if (!sim_device_send_body(dev, w->buf, len)) atomic_fetch_add(&n_answered, 1);
}

static void answer_control(struct sim_device *dev, const struct manscdp_msg *m, uint32_t sn, char *body,
                           size_t cap)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, cap, sim_device_charset(), MANSCDP_RESPONSE, "DeviceControl", sn,
                        manscdp_device_id(m));
    manscdp_writer_text(&w, "Result", "OK");
    send_answer(dev, &w);
}

static void answer_presets(struct sim_device *dev, const struct manscdp_msg *m, uint32_t sn, char *body,
                           size_t cap)
{
    const char *channel = manscdp_device_id(m);
    uint8_t bits[(PTZ_MAX_PRESET + 1) / 8] = {0};
    pthread_mutex_lock(&control_lock);
    struct channel_presets *p = presets_of(channel);
    if (p) memcpy(bits, p->bits, sizeof(bits));
    pthread_mutex_unlock(&control_lock);
    int n = 0;
    for (int i = 1; i <= PTZ_MAX_PRESET; i++) n += (bits[i / 8] >> (i % 8)) & 1;
    char num[12], name[32];
    snprintf(num, sizeof(num), "%d", n);
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, cap, sim_device_charset(), MANSCDP_RESPONSE, "PresetQuery", sn, channel);
    manscdp_writer_open_attr(&w, "PresetList", "Num", num);
    for (int i = 1; i <= PTZ_MAX_PRESET; i++) {
        if (!((bits[i / 8] >> (i % 8)) & 1)) continue;
        snprintf(name, sizeof(name), "预置位%d", i);
        manscdp_writer_open(&w, "Item");
        manscdp_writer_int(&w, "PresetID", i);
        manscdp_writer_text(&w, "PresetName", name);
        manscdp_writer_close(&w);
    }
    manscdp_writer_close(&w);
    send_answer(dev, &w);
}

static void answer_config(struct sim_device *dev, const struct manscdp_msg *m, uint32_t sn, char *body,
                          size_t cap)
{
    const char *types = manscdp_get(m, "ConfigType");
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, cap, sim_device_charset(), MANSCDP_RESPONSE, "ConfigDownload", sn,
                        manscdp_device_id(m));
    bool any = false;
    if (types && strstr(types, "BasicParam")) {
        char name[64];
        snprintf(name, sizeof(name), "模拟设备%s", sim_device_id(dev) + 16);
        manscdp_writer_open(&w, "BasicParam");
        manscdp_writer_text(&w, "Name", name);
        manscdp_writer_int(&w, "Expiration", sim_opt.expires_s);
        manscdp_writer_int(&w, "HeartBeatInterval", sim_opt.keepalive_s);
        manscdp_writer_int(&w, "HeartBeatCount", 3);
        manscdp_writer_close(&w);
        any = true;
    }
    if (types && strstr(types, "VideoParamOpt")) {
        manscdp_writer_open(&w, "VideoParamOpt");
        manscdp_writer_text(&w, "DownloadSpeed", "1/2/4/8");
        manscdp_writer_text(&w, "Resolution", "5/6");
        manscdp_writer_close(&w);
        any = true;
    }
    if (types && strstr(types, "SVACEncodeConfig")) {
        manscdp_writer_open(&w, "SVACEncodeConfig");
        manscdp_writer_open(&w, "ROIParam");
        manscdp_writer_int(&w, "ROIFlag", 0);
        manscdp_writer_close(&w);
        manscdp_writer_close(&w);
        any = true;
    }
    manscdp_writer_text(&w, "Result", any ? "OK" : "ERROR");
    send_answer(dev, &w);
}

bool sim_control_handle(struct sim_device *dev, const struct manscdp_msg *m)
{
    bool control = manscdp_is(m, MANSCDP_CONTROL, "DeviceControl");
    bool presets_query = manscdp_is(m, MANSCDP_QUERY, "PresetQuery");
    bool config = manscdp_is(m, MANSCDP_QUERY, "ConfigDownload");
    if (!control && !presets_query && !config) return false;
    atomic_fetch_add(&n_received, 1);
    const char *ptz = control ? manscdp_get(m, "PTZCmd") : NULL;
    char command[96];
    command_text(m, command, sizeof(command));
    pthread_mutex_lock(&control_lock);
    log_control(dev, m, ptz, command);
    if (ptz) presets_apply(manscdp_device_id(m), ptz);
    pthread_mutex_unlock(&control_lock);
    if (ptz) atomic_fetch_add(&n_ptz, 1);
    if (!sim_opt.quiet_events)
        fprintf(stderr, "gbsim: event=control device=%s channel=%s cmdtype=%s ptzcmd=%s command=%s\n",
                sim_device_id(dev), manscdp_device_id(m), manscdp_cmdtype(m), ptz ? ptz : "-",
                command[0] ? command : "-");
    if (sim_opt.control_silent) return true;

    uint32_t sn = 0;
    manscdp_sn(m, &sn);
    char body[8192];
    if (presets_query) {
        answer_presets(dev, m, sn, body, sizeof(body));
    } else if (config) {
        answer_config(dev, m, sn, body, sizeof(body));
    } else if (!ptz) {
        /* RecordCmd, GuardCmd and AlarmCmd have a Response; IFameCmd and TeleBoot do not */
        static const char *const answered[] = {"RecordCmd=", "GuardCmd=", "AlarmCmd="};
        for (size_t i = 0; i < 3; i++)
            if (!strncasecmp(command, answered[i], strlen(answered[i])))
                answer_control(dev, m, sn, body, sizeof(body));
    }
    return true;
}
