/*
 * GB28181 SDP text: the INVITE offer and the reader of device answers (see invite_sdp.h for the rules).
 *
 * The reader walks the body once, line by line, without copying it: each line is cut into a type letter and
 * a value, values into space-separated fields. Only a few bounded fields are copied out (an address, a setup
 * word). A media section's c= and a=setup are gathered while inside it and kept when the section closes, so
 * the choice "first video section, else the first section" needs no second pass.
 */
#include "signaling/invite_sdp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "signaling/gbid.h"

/* ---- offer ---- */

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 32) return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    }
    return true;
}

/* An IPv4 or IPv6 literal's characters (the offer names an address, never a host name). */
static bool address_chars_ok(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof(((struct invite_answer *)0)->remote_ip)) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
              c == ':'))
            return false;
    }
    return true;
}

static const char *session_name(enum invite_kind kind)
{
    switch (kind) {
    case INVITE_PLAYBACK: return "Playback";
    case INVITE_DOWNLOAD: return "Download";
    case INVITE_PLAY:
    default: return "Play";
    }
}

int invite_sdp_offer(char *buf, size_t size, const struct invite_params *p, size_t *len)
{
    size_t ssrc_len = strnlen(p->ssrc, sizeof(p->ssrc));
    bool ssrc_ok = ssrc_len == GB_SSRC_LEN;
    for (size_t i = 0; ssrc_ok && i < ssrc_len; i++) ssrc_ok = p->ssrc[i] >= '0' && p->ssrc[i] <= '9';
    int min_port = p->transport == INVITE_TCP_ACTIVE ? 0 : 1; /* active: the device's port is what matters */
    if (!id_ok(p->channel_id) || !address_chars_ok(p->media_ip, strnlen(p->media_ip, sizeof(p->media_ip))) ||
        p->media_port < min_port || p->media_port > 65535 || !ssrc_ok || p->kind > INVITE_DOWNLOAD ||
        p->transport > INVITE_TCP_ACTIVE)
        return EINVAL;

    const char *ipv = strchr(p->media_ip, ':') ? "IP6" : "IP4";
    bool tcp = p->transport != INVITE_UDP;
    bool recorded = p->kind != INVITE_PLAY;
    size_t n = 0;
    int w;
#define ADD(...)                                                                                             \
    do {                                                                                                     \
        w = snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__);                                         \
        if (w < 0) return EINVAL;                                                                            \
        n += (size_t)w;                                                                                      \
    } while (0)
    ADD("v=0\r\no=%s 0 0 IN %s %s\r\ns=%s\r\n", p->channel_id, ipv, p->media_ip, session_name(p->kind));
    if (recorded) ADD("u=%s:0\r\n", p->channel_id);
    ADD("c=IN %s %s\r\n", ipv, p->media_ip);
    if (recorded)
        ADD("t=%llu %llu\r\n", (unsigned long long)p->start_time, (unsigned long long)p->end_time);
    else
        ADD("t=0 0\r\n");
    ADD("m=video %d %s 96 97 98 99\r\n", p->media_port, tcp ? "TCP/RTP/AVP" : "RTP/AVP");
    ADD("a=recvonly\r\na=rtpmap:96 PS/90000\r\na=rtpmap:97 MPEG4/90000\r\na=rtpmap:98 H264/90000\r\n"
        "a=rtpmap:99 H265/90000\r\n");
    if (tcp)
        ADD("a=setup:%s\r\na=connection:new\r\n", p->transport == INVITE_TCP_PASSIVE ? "passive" : "active");
    if (p->kind == INVITE_DOWNLOAD)
        ADD("a=downloadspeed:%d\r\n", p->download_speed > 0 ? p->download_speed : 1);
    ADD("y=%s\r\n", p->ssrc);
#undef ADD
    if (n >= size) return ENOSPC;
    *len = n;
    return 0;
}

/* ---- answer ---- */

struct field {
    const char *p;
    size_t len;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The next space-separated field of [*pos, end), or an empty field at the end. */
static struct field next_field(const char *s, size_t *pos, size_t end)
{
    size_t i = *pos;
    while (i < end && is_space(s[i])) i++;
    size_t b = i;
    while (i < end && !is_space(s[i])) i++;
    *pos = i;
    return (struct field){s + b, i - b};
}

static bool field_is(struct field f, const char *word)
{
    size_t n = strlen(word);
    if (f.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        char c = f.p[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != word[i]) return false;
    }
    return true;
}

static bool field_contains_tcp(struct field f)
{
    for (size_t i = 0; i + 3 <= f.len; i++) {
        char a = f.p[i], b = f.p[i + 1], c = f.p[i + 2];
        if ((a == 't' || a == 'T') && (b == 'c' || b == 'C') && (c == 'p' || c == 'P')) return true;
    }
    return false;
}

/* "5514" or "5514/2" -> 5514; anything else (or > 65535) -> 0. */
static int parse_port(struct field f)
{
    int port = 0;
    size_t i = 0;
    for (; i < f.len && f.p[i] >= '0' && f.p[i] <= '9'; i++) {
        port = port * 10 + (f.p[i] - '0');
        if (port > 65535) return 0;
    }
    if (i == 0 || (i < f.len && f.p[i] != '/')) return 0;
    return port;
}

/* c=IN IP4 10.64.49.218[/ttl] -> the address, when it looks like one. */
static void parse_connection(const char *v, size_t vlen, char out[64])
{
    size_t pos = 0;
    struct field net = next_field(v, &pos, vlen);
    struct field type = next_field(v, &pos, vlen);
    struct field addr = next_field(v, &pos, vlen);
    (void)type; /* IP4/IP6: the address says which */
    if (!field_is(net, "in")) return;
    size_t n = 0;
    while (n < addr.len && addr.p[n] != '/') n++;
    if (!address_chars_ok(addr.p, n)) return;
    memcpy(out, addr.p, n);
    out[n] = 0;
}

/* a=setup:active -> "active" (lower case, at most 15 characters). */
static void parse_setup(const char *v, size_t vlen, char out[16])
{
    static const char prefix[] = "setup:";
    size_t plen = sizeof(prefix) - 1;
    if (vlen < plen || !field_is((struct field){v, plen}, prefix)) return;
    size_t pos = plen;
    struct field word = next_field(v, &pos, vlen);
    if (word.len == 0 || word.len > 15) return;
    for (size_t i = 0; i < word.len; i++) {
        char c = word.p[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[word.len] = 0;
}

struct media_section {
    bool open, video;
    int port;
    bool tcp;
    char c[64];
    char setup[16];
};

struct answer_reader {
    char session_c[64], session_setup[16];
    struct media_section cur, video, first;
    bool have_ssrc;
    uint32_t ssrc;
    bool any_line;
};

static void close_section(struct answer_reader *r)
{
    if (!r->cur.open) return;
    if (r->cur.video && !r->video.open) r->video = r->cur;
    if (!r->first.open) r->first = r->cur;
    memset(&r->cur, 0, sizeof(r->cur));
}

static void on_line(struct answer_reader *r, char type, const char *v, size_t vlen)
{
    switch (type) {
    case 'm': {
        close_section(r);
        size_t pos = 0;
        struct field media = next_field(v, &pos, vlen);
        struct field port = next_field(v, &pos, vlen);
        struct field proto = next_field(v, &pos, vlen);
        r->cur.open = true;
        r->cur.video = field_is(media, "video");
        r->cur.port = parse_port(port);
        r->cur.tcp = field_contains_tcp(proto);
        break;
    }
    case 'c': parse_connection(v, vlen, r->cur.open ? r->cur.c : r->session_c); break;
    case 'a': parse_setup(v, vlen, r->cur.open ? r->cur.setup : r->session_setup); break;
    case 'y':
        if (!r->have_ssrc && gb_ssrc_parse(v, vlen, &r->ssrc)) r->have_ssrc = true;
        break;
    default: break;
    }
}

void invite_sdp_parse_answer(const uint8_t *body, size_t len, struct invite_answer *a)
{
    a->has_sdp = false;
    a->ssrc = 0;
    a->has_ssrc = false;
    a->remote_ip[0] = 0;
    a->remote_port = 0;
    a->remote_tcp = false;
    a->setup[0] = 0;
    if (!body) return;
    if (len > INVITE_SDP_ANSWER_MAX) len = INVITE_SDP_ANSWER_MAX;

    struct answer_reader r;
    memset(&r, 0, sizeof(r));
    const char *s = (const char *)body;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && s[end] != '\r' && s[end] != '\n') end++;
        size_t i = pos;
        pos = end < len && s[end] == '\r' ? end + 1 : end;
        if (pos < len && s[pos] == '\n') pos++;

        while (i < end && is_space(s[i])) i++;
        if (i >= end) continue;
        char type = s[i++];
        if (type >= 'A' && type <= 'Z') type = (char)(type - 'A' + 'a');
        if (type < 'a' || type > 'z') continue;
        while (i < end && is_space(s[i])) i++;
        if (i >= end || s[i] != '=') continue;
        i++;
        size_t vend = end;
        while (i < vend && is_space(s[i])) i++;
        while (vend > i && is_space(s[vend - 1])) vend--;
        r.any_line = true;
        on_line(&r, type, s + i, vend - i);
    }
    close_section(&r);

    const struct media_section *m = r.video.open ? &r.video : r.first.open ? &r.first : NULL;
    a->has_sdp = r.any_line;
    a->has_ssrc = r.have_ssrc;
    a->ssrc = r.have_ssrc ? r.ssrc : 0;
    const char *c = m && m->c[0] ? m->c : r.session_c;
    snprintf(a->remote_ip, sizeof(a->remote_ip), "%s", c);
    if (m) {
        a->remote_port = m->port;
        a->remote_tcp = m->tcp;
    }
    snprintf(a->setup, sizeof(a->setup), "%s", m && m->setup[0] ? m->setup : r.session_setup);
}
