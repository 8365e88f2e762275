/*
 * The configuration table: every key, its type, default, limits and one line of documentation. Parsing,
 * -o overrides, validation messages, `gbgate --print-config` (which writes etc/gbgate.conf's key lines) and
 * the unit test that checks etc/gbgate.conf documents every key all come from this one table.
 */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type { KT_BOOL, KT_INT, KT_STR, KT_ENUM, KT_RANGE };

struct key_def {
    const char *section, *name;
    enum key_type type;
    size_t offset, offset2; /* offset2: the range's upper bound */
    long min, max;
    const char *def;
    const char *const *choices; /* KT_ENUM, NULL-terminated; the value stored is the index */
    const char *doc;
};

static const char *const transport_choices[] = {"udp", "tcp-passive", "tcp-active", NULL};
static const char *const transcode_choices[] = {"auto", "on", "off", NULL};
static const char *const hevc_choices[] = {"enhanced", "legacy12", NULL};
static const char *const level_choices[] = {"error", "warn", "info", "debug", "trace", NULL};

#define OFF(field) offsetof(struct gb_config, field)
#define B(sec, key, field, def, doc)                                                                         \
    {                                                                                                        \
        sec, key, KT_BOOL, OFF(field), 0, 0, 1, def, NULL, doc                                               \
    }
#define I(sec, key, field, min, max, def, doc)                                                               \
    {                                                                                                        \
        sec, key, KT_INT, OFF(field), 0, min, max, def, NULL, doc                                            \
    }
#define S(sec, key, field, def, doc)                                                                         \
    {                                                                                                        \
        sec, key, KT_STR, OFF(field), 0, 0, CFG_STR_MAX - 1, def, NULL, doc                                  \
    }
#define E(sec, key, field, choices, def, doc)                                                                \
    {                                                                                                        \
        sec, key, KT_ENUM, OFF(field), 0, 0, 0, def, choices, doc                                            \
    }

static const struct key_def keys[] = {
    B("sip", "enabled", sip.enabled, "on", "SIP signalling on/off (off: media plane and API only)"),
    S("sip", "id", sip.id, "34020000002000000001", "this platform's 20-digit SIP ID"),
    S("sip", "domain", sip.domain, "3402000000",
      "SIP domain / digest realm, usually the first 10 digits of id"),
    S("sip", "listen", sip.listen, "0.0.0.0",
      "address for SIP UDP and TCP; 0.0.0.0 = every interface address"),
    I("sip", "port", sip.port, 1, 65535, "5060", "SIP port (UDP and TCP)"),
    S("sip", "password", sip.password, "12345678",
      "default device password (per-device override via the API)"),
    B("sip", "auth", sip.auth, "on", "require digest authentication on REGISTER"),
    B("sip", "date_header", sip.date_header, "on",
      "send a Date header in 200 OK to REGISTER (device time sync)"),
    I("sip", "register_expires_max_s", sip.register_expires_max_s, 60, 86400, "3600",
      "largest registration lifetime granted"),
    I("sip", "keepalive_timeout_s", sip.keepalive_timeout_s, 10, 86400, "180",
      "device offline after this long without keepalive or REGISTER"),
    I("sip", "catalog_interval_s", sip.catalog_interval_s, 0, 604800, "3600",
      "catalog refresh period per device; 0 = only after registration"),
    I("sip", "catalog_timeout_s", sip.catalog_timeout_s, 1, 600, "15",
      "how long a catalog may take to arrive"),
    I("sip", "query_timeout_s", sip.query_timeout_s, 1, 120, "8",
      "how long an API query waits for the device"),
    I("sip", "nonce_lifetime_s", sip.nonce_lifetime_s, 1, 86400, "600",
      "a 401 nonce is good for this long; a REGISTER with an older one gets 401 stale=true"),
    I("sip", "auth_ban_s", sip.auth_ban_s, 0, 86400, "300", "ban after repeated auth failures, seconds"),
    I("sip", "auth_ban_failures", sip.auth_ban_failures, 1, 1000, "5",
      "failures (per ID or address) before a ban"),
    S("sip", "charset", sip.charset, "GB2312", "charset of MANSCDP bodies sent: GB2312 or UTF-8"),
    I("sip", "invite_timeout_s", sip.invite_timeout_s, 1, 120, "10", "INVITE answer timeout"),
    E("sip", "media_transport", sip.media_transport, transport_choices, "udp",
      "default transport for live view when the device has none set"),
    I("sip", "alarm_history", sip.alarm_history, 0, 1000000, "10000",
      "alarms kept in storage (all devices together); older ones are deleted"),
    I("sip", "position_history", sip.position_history, 0, 100000, "1000",
      "mobile positions kept per device; older ones are deleted"),
    S("sip", "subscribe", sip.subscribe, "",
      "SUBSCRIBE to each online device for: catalog, alarm, position (comma list; empty = none)"),
    I("sip", "subscribe_expires_s", sip.subscribe_expires_s, 2, 86400, "3600",
      "subscription lifetime asked; refreshed before it ends"),
    I("sip", "position_interval_s", sip.position_interval_s, 1, 3600, "5",
      "Interval asked in MobilePosition subscriptions"),

    S("media", "ip", media.ip, "127.0.0.1", "address advertised in SDP: where devices send media"),
    I("media", "workers", media.workers, 0, 256, "0", "media worker threads; 0 = one per core"),
    B("media", "pin_workers", media.pin_workers, "off", "pin worker N to core N"),
    I("media", "rt_priority", media.rt_priority, 0, 99, "0",
      "media workers run SCHED_FIFO at this priority where allowed (root or CAP_SYS_NICE); 0 = normal"),
    I("media", "rtp_port", media.rtp_port, 1, 65535, "10000",
      "shared RTP port (UDP and TCP), streams told apart by SSRC"),
    {"media", "rtp_port_range", KT_RANGE, OFF(media.rtp_port_min), OFF(media.rtp_port_max), 1, 65535,
     "30000-30999", NULL, "per-stream RTP ports (even ports used; RTCP on port+1)"},
    I("media", "rtp_timeout_s", media.rtp_timeout_s, 1, 3600, "10",
      "a stream without RTP this long is closed"),
    I("media", "udp_rcvbuf_kb", media.udp_rcvbuf_kb, 256, 262144, "8192", "SO_RCVBUF of RTP sockets"),
    I("media", "rx_coalesce_us", media.rx_coalesce_us, 0, 10000, "500",
      "a worker reads its sockets at most once per this many microseconds (0 = on every wakeup)"),
    B("media", "udp_gro", media.udp_gro, "on",
      "let the kernel hand RTP sockets a burst of same-size datagrams as one read (UDP_GRO)"),
    I("media", "reorder_window", media.reorder_window, 0, 512, "32", "RTP packets held to reorder (0 = off)"),
    I("media", "max_frame_kb", media.max_frame_kb, 64, 65536, "4096", "largest accepted frame"),
    I("media", "max_streams", media.max_streams, 1, 100000, "4096", "streams at most"),
    B("media", "shared_port_any_ssrc", media.shared_port_any_ssrc, "off",
      "on the shared port, bind an unknown SSRC to the only stream still waiting for media"),

    S("http", "listen", http.listen, "0.0.0.0", "HTTP address (FLV, WS-FLV, API, console, metrics)"),
    I("http", "port", http.port, 1, 65535, "8080", "HTTP port"),
    S("http", "api_token", http.api_token, "", "bearer token required for API calls not from loopback"),
    S("http", "www", http.www, "web", "directory of the web console"),

    B("rtmp", "enabled", rtmp.enabled, "on", "RTMP play server: rtmp://host:port/live/{stream}"),
    S("rtmp", "listen", rtmp.listen, "0.0.0.0", "RTMP address"),
    I("rtmp", "port", rtmp.port, 1, 65535, "1935", "RTMP port"),
    I("rtmp", "chunk_size", rtmp.chunk_size, 128, 65536, "4096", "RTMP chunk size sent to players"),

    S("relay", "rule1", relay.rules[0], "",
      "push streams whose id matches to RTMP: pattern=url, e.g. 3402*=rtmp://origin/live/{id} (empty = "
      "none)"),
    S("relay", "rule2", relay.rules[1], "", "another pattern=url rule (every matching rule starts a relay)"),
    S("relay", "rule3", relay.rules[2], "", "another pattern=url rule"),
    S("relay", "rule4", relay.rules[3], "", "another pattern=url rule"),
    I("relay", "queue_kb", relay.queue_kb, 64, 65536, "2048",
      "tags queued per relay; when full the relay skips to the next keyframe"),
    I("relay", "reconnect_max_s", relay.reconnect_max_s, 1, 3600, "30",
      "reconnect backoff starts at 1 s and doubles up to this"),
    I("relay", "timeout_s", relay.timeout_s, 1, 300, "10", "RTMP connect/write timeout of a relay"),

    I("stream", "idle_close_s", stream.idle_close_s, 0, 86400, "30",
      "close an on-demand stream this long after its last viewer left"),
    B("stream", "gop_cache", stream.gop_cache, "on", "keep the last GOP so new viewers start at once"),
    I("stream", "gop_cache_max_kb", stream.gop_cache_max_kb, 256, 1048576, "16384",
      "GOP cache limit per stream"),
    I("stream", "viewer_queue_kb", stream.viewer_queue_kb, 64, 1048576, "4096",
      "per-viewer backlog; over it the viewer skips to the next keyframe"),
    E("stream", "audio_transcode", stream.audio_transcode, transcode_choices, "auto",
      "G.711 to AAC for browsers: auto (when G.711), on, off"),
    B("stream", "drop_until_keyframe", stream.drop_until_keyframe, "on",
      "after RTP loss, hold video back until the next keyframe"),
    E("stream", "hevc_flv", stream.hevc_flv, hevc_choices, "enhanced",
      "H.265 in FLV: enhanced (enhanced RTMP hvc1) or legacy12 (codec id 12)"),
    I("stream", "max_viewers", stream.max_viewers, 1, 100000, "2000", "viewers per stream at most"),
    I("stream", "first_frame_timeout_s", stream.first_frame_timeout_s, 1, 120, "10",
      "how long a viewer or a play call waits for the first keyframe"),

    S("record", "dir", record.dir, "var/records",
      "directory of MP4 recordings (created if missing), served at /records/{file}"),
    I("record", "max_concurrent", record.max_concurrent, 1, 1000, "16",
      "recordings at a time, all streams together"),
    I("record", "max_file_mb", record.max_file_mb, 0, 1048576, "4096",
      "a recording ends (finalized) when its file reaches this size; 0 = no limit"),
    B("record", "faststart", record.faststart, "off",
      "move the MP4 index (moov) to the front when a recording ends (one more pass over the file)"),
    I("record", "queue_kb", record.queue_kb, 64, 65536, "4096",
      "tags queued per recording; when full the recording skips to the next keyframe"),

    S("storage", "path", storage.path, "var/gbgate.db", "SQLite file of the device registry"),
    E("log", "level", log.level, level_choices, "info", "error, warn, info, debug or trace"),
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key_def *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcasecmp(keys[i].section, section) == 0 && strcasecmp(keys[i].name, name) == 0) return &keys[i];
    return NULL;
}

static int parse_long(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end) return EINVAL;
    *out = x;
    return 0;
}

static int set_value(struct gb_config *cfg, const struct key_def *k, const char *v, char *err, size_t errsize)
{
    char *base = (char *)cfg;
    switch (k->type) {
    case KT_BOOL: {
        bool b;
        if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"))
            b = true;
        else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0"))
            b = false;
        else {
            snprintf(err, errsize, "%s.%s: '%s' is not on/off", k->section, k->name, v);
            return EINVAL;
        }
        *(bool *)(base + k->offset) = b;
        return 0;
    }
    case KT_INT: {
        long x;
        if (parse_long(v, &x) || x < k->min || x > k->max) {
            snprintf(err, errsize, "%s.%s: '%s' is not a whole number from %ld to %ld", k->section, k->name,
                     v, k->min, k->max);
            return EINVAL;
        }
        *(int *)(base + k->offset) = (int)x;
        return 0;
    }
    case KT_STR:
        if (strlen(v) > (size_t)k->max) {
            snprintf(err, errsize, "%s.%s: value longer than %ld characters", k->section, k->name, k->max);
            return EINVAL;
        }
        snprintf(base + k->offset, CFG_STR_MAX, "%s", v);
        return 0;
    case KT_ENUM:
        for (int i = 0; k->choices[i]; i++) {
            if (strcasecmp(v, k->choices[i]) == 0) {
                if (k->offset == OFF(log.level))
                    snprintf(base + k->offset, CFG_STR_MAX, "%s", k->choices[i]);
                else
                    *(int *)(base + k->offset) = i;
                return 0;
            }
        }
        {
            char list[128] = "";
            for (int i = 0; k->choices[i]; i++) {
                strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, k->choices[i], sizeof list - strlen(list) - 1);
            }
            snprintf(err, errsize, "%s.%s: '%s' is not one of %s", k->section, k->name, v, list);
        }
        return EINVAL;
    case KT_RANGE: {
        long lo, hi;
        char a[32], b[32];
        const char *dash = strchr(v, '-');
        if (!dash || (size_t)(dash - v) >= sizeof a || strlen(dash + 1) >= sizeof b) goto bad_range;
        memcpy(a, v, (size_t)(dash - v));
        a[dash - v] = 0;
        strcpy(b, dash + 1);
        if (parse_long(a, &lo) || parse_long(b, &hi) || lo < k->min || hi > k->max || lo > hi) goto bad_range;
        *(int *)(base + k->offset) = (int)lo;
        *(int *)(base + k->offset2) = (int)hi;
        return 0;
    bad_range:
        snprintf(err, errsize, "%s.%s: '%s' is not a port range like 30000-30999", k->section, k->name, v);
        return EINVAL;
    }
    }
    return EINVAL;
}

void config_defaults(struct gb_config *cfg)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++)
        if (set_value(cfg, &keys[i], keys[i].def, err, sizeof err) != 0) abort(); /* a bad default is a bug */
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

static int apply(struct gb_config *cfg, const char *section, const char *name, const char *value, char *err,
                 size_t errsize)
{
    const struct key_def *k = find_key(section, name);
    if (!k) {
        snprintf(err, errsize, "unknown key %s.%s", section, name);
        return EINVAL;
    }
    return set_value(cfg, k, value, err, errsize);
}

int config_load_text(struct gb_config *cfg, const char *text, size_t len, const char *name, char *err,
                     size_t errsize)
{
    char line[1024], section[64] = "";
    int lineno = 0, rc = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        size_t n = end - pos;
        lineno++;
        if (n >= sizeof line || memchr(text + pos, 0, n)) {
            snprintf(err, errsize, "%s:%d: line too long or not text", name, lineno);
            return EINVAL;
        }
        memcpy(line, text + pos, n);
        line[n] = 0;
        pos = end + 1;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || (size_t)(close - s - 1) >= sizeof section) {
                snprintf(err, errsize, "%s:%d: bad section header", name, lineno);
                rc = EINVAL;
                break;
            }
            *close = 0;
            snprintf(section, sizeof section, "%s", trim(s + 1));
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || !*section) {
            snprintf(err, errsize, "%s:%d: expected key = value inside a [section]", name, lineno);
            rc = EINVAL;
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        /* allow trailing comments after whitespace: "port = 5060   # SIP" */
        for (char *c = value; *c; c++)
            if ((*c == '#' || *c == ';') && c > value && isspace((unsigned char)c[-1])) {
                *c = 0;
                value = trim(value);
                break;
            }
        char kerr[256];
        if (apply(cfg, section, key, value, kerr, sizeof kerr) != 0) {
            snprintf(err, errsize, "%s:%d: %s", name, lineno, kerr);
            rc = EINVAL;
            break;
        }
    }
    return rc;
}

int config_load_file(struct gb_config *cfg, const char *path, char *err, size_t errsize)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsize, "cannot open config %s: %s", path, strerror(errno));
        return ENOENT;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > (1u << 20)) {
            fclose(f);
            free(text);
            snprintf(err, errsize, "config %s is larger than 1 MiB", path);
            return EINVAL;
        }
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *t = realloc(text, cap);
            if (!t) {
                fclose(f);
                free(text);
                return ENOMEM;
            }
            text = t;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    fclose(f);
    int rc = config_load_text(cfg, text ? text : "", len, path, err, errsize);
    free(text);
    return rc;
}

int config_set(struct gb_config *cfg, const char *assignment, char *err, size_t errsize)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq || dot == assignment) {
        snprintf(err, errsize, "override '%s' is not section.key=value", assignment);
        return EINVAL;
    }
    char section[64], name[64];
    size_t sl = (size_t)(dot - assignment), nl = (size_t)(eq - dot - 1);
    if (sl >= sizeof section || nl >= sizeof name) {
        snprintf(err, errsize, "override '%s': key too long", assignment);
        return EINVAL;
    }
    memcpy(section, assignment, sl);
    section[sl] = 0;
    memcpy(name, dot + 1, nl);
    name[nl] = 0;
    return apply(cfg, section, name, eq + 1, err, errsize);
}

int config_validate(const struct gb_config *cfg, char *err, size_t errsize)
{
    if (cfg->media.rtp_port >= cfg->media.rtp_port_min && cfg->media.rtp_port <= cfg->media.rtp_port_max) {
        snprintf(err, errsize, "media.rtp_port %d lies inside media.rtp_port_range %d-%d",
                 cfg->media.rtp_port, cfg->media.rtp_port_min, cfg->media.rtp_port_max);
        return EINVAL;
    }
    if (cfg->media.rtp_port_max - cfg->media.rtp_port_min < 1) {
        snprintf(err, errsize, "media.rtp_port_range needs at least two ports (RTP and RTCP)");
        return EINVAL;
    }
    if (strcasecmp(cfg->sip.charset, "GB2312") && strcasecmp(cfg->sip.charset, "UTF-8") &&
        strcasecmp(cfg->sip.charset, "GB18030")) {
        snprintf(err, errsize, "sip.charset: '%s' is not GB2312, GB18030 or UTF-8", cfg->sip.charset);
        return EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        const char *rule = cfg->relay.rules[i], *eq = strchr(rule, '=');
        if (rule[0] && (!eq || eq == rule ||
                        (strncasecmp(eq + 1, "rtmp://", 7) && strncasecmp(eq + 1, "rtmps://", 8)))) {
            snprintf(err, errsize, "relay.rule%d: '%s' is not pattern=rtmp://...", i + 1, rule);
            return EINVAL;
        }
    }
    if (cfg->sip.enabled && strlen(cfg->sip.id) != 20) {
        snprintf(err, errsize, "sip.id: '%s' is not a 20-digit GB28181 ID", cfg->sip.id);
        return EINVAL;
    }
    return 0;
}

static void format_value(const struct gb_config *cfg, const struct key_def *k, char *out, size_t size)
{
    const char *base = (const char *)cfg;
    switch (k->type) {
    case KT_BOOL: snprintf(out, size, "%s", *(const bool *)(base + k->offset) ? "on" : "off"); break;
    case KT_INT: snprintf(out, size, "%d", *(const int *)(base + k->offset)); break;
    case KT_STR: snprintf(out, size, "%s", base + k->offset); break;
    case KT_ENUM:
        if (k->offset == OFF(log.level))
            snprintf(out, size, "%s", base + k->offset);
        else
            snprintf(out, size, "%s", k->choices[*(const int *)(base + k->offset)]);
        break;
    case KT_RANGE:
        snprintf(out, size, "%d-%d", *(const int *)(base + k->offset), *(const int *)(base + k->offset2));
        break;
    }
}

void config_print(const struct gb_config *cfg, void (*out)(void *arg, const char *line), void *arg)
{
    const char *section = "";
    char line[512], value[CFG_STR_MAX];
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(section, keys[i].section) != 0) {
            section = keys[i].section;
            snprintf(line, sizeof line, "%s[%s]", i ? "\n" : "", section);
            out(arg, line);
        }
        format_value(cfg, &keys[i], value, sizeof value);
        snprintf(line, sizeof line, "# %s (default %s)", keys[i].doc, keys[i].def);
        out(arg, line);
        snprintf(line, sizeof line, "%s = %s", keys[i].name, value);
        out(arg, line);
    }
}
