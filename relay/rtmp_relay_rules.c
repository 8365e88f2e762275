/*
 * [relay] rules: "ruleN = pattern=url" starts a relay for every stream whose id matches the shell pattern
 * (fnmatch), to url with {id} replaced by the stream id. Each worker applies them to its own streams once a
 * second (from the RTMP server's timer), so a rule needs no hook into stream opening and costs nothing when
 * there are no rules; a stream is looked at once per instance (id + open time), so a relay deleted through
 * the API is not restarted for the same stream.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "media/stream.h"
#include "relay/rtmp_priv.h"
#include "relay/rtmp_relay_priv.h"

#define MODULE    "relay"
#define MAX_RULES 4

static const char *rules[MAX_RULES];
static int nrules;

void rtmp_relay_rules_init(const struct gb_config *cfg)
{
    nrules = 0;
    for (int i = 0; i < MAX_RULES && i < (int)(sizeof cfg->relay.rules / sizeof cfg->relay.rules[0]); i++)
        if (cfg->relay.rules[i][0]) rules[nrules++] = cfg->relay.rules[i];
}

/* "pattern=url" -> pattern and url with {id} replaced. False when the id does not match. */
static bool rule_url(const char *rule, const char *id, char *url, size_t size)
{
    const char *eq = strchr(rule, '=');
    char pattern[CFG_STR_MAX];
    if (!eq || (size_t)(eq - rule) >= sizeof pattern) return false;
    memcpy(pattern, rule, (size_t)(eq - rule));
    pattern[eq - rule] = 0;
    if (fnmatch(pattern, id, 0) != 0) return false;
    size_t o = 0;
    for (const char *p = eq + 1; *p && o + 1 < size; p++) {
        if (!strncmp(p, "{id}", 4)) {
            o += (size_t)snprintf(url + o, size - o, "%s", id);
            if (o >= size) o = size - 1;
            p += 3;
        } else {
            url[o++] = *p;
        }
    }
    url[o] = 0;
    return true;
}

/* Streams of this worker already looked at (id + open time), so a rule relay starts once per stream. */
struct seen_stream {
    char id[STREAM_ID_MAX + 1];
    uint64_t created_ms;
    bool alive;
};
static _Thread_local struct seen_stream *seen;
static _Thread_local size_t nseen, seen_cap;
static _Thread_local uint64_t last_scan_ms;

static void scan_one(struct stream *s, void *arg)
{
    const struct stream_entry *e = stream_entry(s);
    char url[RELAY_URL_MAX];
    bool match = false;
    for (int i = 0; i < nrules && !match; i++) match = rule_url(rules[i], e->id, url, sizeof url);
    if (!match) return;
    for (size_t i = 0; i < nseen; i++) {
        if (!strcmp(seen[i].id, e->id) && seen[i].created_ms == e->created_ms) {
            seen[i].alive = true;
            return;
        }
    }
    if (nseen == seen_cap) {
        size_t ncap = seen_cap ? seen_cap * 2 : 16;
        struct seen_stream *n = realloc(seen, ncap * sizeof *n);
        if (!n) return;
        seen = n;
        seen_cap = ncap;
    }
    struct seen_stream *ss = &seen[nseen++];
    snprintf(ss->id, sizeof ss->id, "%s", e->id);
    ss->created_ms = e->created_ms;
    ss->alive = true;
    for (int i = 0; i < nrules; i++) {
        char rid[16];
        if (!rule_url(rules[i], e->id, url, sizeof url)) continue;
        int rc = rtmp_relay_start(e->id, url, "rule", worker_index(worker_current()), e->created_ms, rid);
        if (rc)
            log_warn(MODULE, "[%s] relay rule %d: cannot start a relay to %s: %s", e->id, i + 1, url,
                     strerror(rc));
    }
}

void rtmp_relays_scan(struct worker *w, uint64_t now_ms)
{
    if (nrules == 0 || now_ms - last_scan_ms < 1000) return;
    last_scan_ms = now_ms;
    for (size_t i = 0; i < nseen; i++) seen[i].alive = false;
    worker_foreach_stream(w, scan_one, NULL);
    size_t out = 0;
    for (size_t i = 0; i < nseen; i++)
        if (seen[i].alive) seen[out++] = seen[i];
    nseen = out;
    if (nseen == 0) {
        free(seen);
        seen = NULL;
        seen_cap = 0;
    }
}

void rtmp_relays_worker_exit(void)
{
    free(seen);
    seen = NULL;
    nseen = seen_cap = 0;
    rtmp_relays_shutdown();
}
