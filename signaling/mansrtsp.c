/*
 * MANSRTSP bodies (see mansrtsp.h for the accepted forms). The parser walks the body once, line by line,
 * without copying it; numbers are checked character by character against a small grammar (digits, one
 * optional fraction, or h:mm:ss for npt) before strtod reads a bounded NUL-terminated copy, so nothing past
 * the body is ever read and "1e9", "inf", "0x10" or " 2" never sneak through strtod's wider syntax.
 */
#include "signaling/mansrtsp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUMBER_MAX 24 /* characters of one number: 10 integer digits, '.', 9 fraction digits, h:mm:ss */

struct text {
    const char *p;
    size_t len;
};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool text_is(struct text t, const char *word)
{
    size_t n = strlen(word);
    if (t.len != n) return false;
    for (size_t i = 0; i < n; i++)
        if (lower(t.p[i]) != word[i]) return false;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static struct text trim(struct text t)
{
    while (t.len && is_space(t.p[0])) t.p++, t.len--;
    while (t.len && is_space(t.p[t.len - 1])) t.len--;
    return t;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "digits[.digits]" (at most 10 + 9 digits) -> *out. */
static bool parse_decimal(struct text t, double *out)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    while (i < t.len && is_digit(t.p[i])) i++, int_digits++;
    if (i < t.len && t.p[i] == '.') {
        i++;
        while (i < t.len && is_digit(t.p[i])) i++, frac_digits++;
    }
    if (i != t.len || int_digits == 0 || int_digits > 10 || frac_digits > 9) return false;
    char copy[NUMBER_MAX];
    memcpy(copy, t.p, t.len);
    copy[t.len] = 0;
    *out = strtod(copy, NULL);
    return true;
}

/* npt time: seconds ("120", "0.000") or "h:mm:ss[.frac]" (RFC 2326 npt-hhmmss). */
static bool parse_npt(struct text t, double *out)
{
    size_t colon1 = t.len, colon2 = t.len;
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] != ':') continue;
        if (colon1 == t.len)
            colon1 = i;
        else if (colon2 == t.len)
            colon2 = i;
        else
            return false;
    }
    if (colon1 == t.len) return parse_decimal(t, out) && *out <= MANSRTSP_NPT_MAX;
    if (colon2 == t.len || colon1 == 0 || colon1 > 6 || colon2 - colon1 != 3) return false;
    for (size_t i = 0; i < colon1; i++)
        if (!is_digit(t.p[i])) return false;
    const char *mm = t.p + colon1 + 1;
    if (!is_digit(mm[0]) || !is_digit(mm[1])) return false;
    double seconds;
    struct text ss = {t.p + colon2 + 1, t.len - colon2 - 1};
    if (ss.len < 2 || !is_digit(ss.p[0]) || !is_digit(ss.p[1]) || !parse_decimal(ss, &seconds) ||
        seconds >= 60)
        return false;
    int hours = 0, minutes = (mm[0] - '0') * 10 + (mm[1] - '0');
    for (size_t i = 0; i < colon1; i++) hours = hours * 10 + (t.p[i] - '0');
    if (minutes >= 60) return false;
    *out = hours * 3600.0 + minutes * 60.0 + seconds;
    return *out <= MANSRTSP_NPT_MAX;
}

/* "npt=now-", "npt=N-", "npt=N-M". */
static int parse_range(struct text v, struct mansrtsp_request *req, const char **why)
{
    static const char prefix[] = "npt=";
    size_t plen = sizeof(prefix) - 1;
    if (v.len < plen || !text_is((struct text){v.p, plen}, prefix)) {
        *why = "Range: only npt= ranges are supported (not clock=/smpte=)";
        return EINVAL;
    }
    struct text rest = {v.p + plen, v.len - plen};
    size_t dash = 0;
    while (dash < rest.len && rest.p[dash] != '-') dash++;
    if (dash == rest.len) {
        *why = "Range: npt without '-'";
        return EINVAL;
    }
    struct text from = trim((struct text){rest.p, dash});
    struct text to = trim((struct text){rest.p + dash + 1, rest.len - dash - 1});
    if (text_is(from, "now")) {
        if (to.len) {
            *why = "Range: npt=now- takes no end";
            return EINVAL;
        }
        req->range = MANSRTSP_RANGE_NOW;
        return 0;
    }
    if (!parse_npt(from, &req->range_start)) {
        *why = "Range: npt start is not a time";
        return EINVAL;
    }
    if (!to.len) {
        req->range = MANSRTSP_RANGE_FROM;
        return 0;
    }
    if (!parse_npt(to, &req->range_end)) {
        *why = "Range: npt end is not a time";
        return EINVAL;
    }
    if (req->range_end <= req->range_start) {
        *why = "Range: npt end is not after its start";
        return ERANGE;
    }
    req->range = MANSRTSP_RANGE_SPAN;
    return 0;
}

static int parse_scale(struct text v, struct mansrtsp_request *req, const char **why)
{
    if (v.len && v.p[0] == '-') {
        *why = "Scale: reverse play (negative scale) is not supported";
        return ERANGE;
    }
    if (v.len && v.p[0] == '+') v.p++, v.len--;
    if (!parse_decimal(v, &req->scale)) {
        *why = "Scale: not a number";
        return EINVAL;
    }
    if (req->scale < MANSRTSP_SCALE_MIN || req->scale > MANSRTSP_SCALE_MAX) {
        *why = "Scale: out of the range 0.25..8";
        return ERANGE;
    }
    req->has_scale = true;
    return 0;
}

static int parse_request_line(struct text line, struct mansrtsp_request *req, const char **why)
{
    size_t sp = 0;
    while (sp < line.len && !is_space(line.p[sp])) sp++;
    struct text method = {line.p, sp};
    struct text version = trim((struct text){line.p + sp, line.len - sp});
    if (text_is(method, "play"))
        req->method = MANSRTSP_PLAY;
    else if (text_is(method, "pause"))
        req->method = MANSRTSP_PAUSE;
    else if (text_is(method, "teardown"))
        req->method = MANSRTSP_TEARDOWN;
    else {
        *why = "request line: the method is not PLAY, PAUSE or TEARDOWN";
        return EINVAL;
    }
    if (!text_is(version, "rtsp/1.0") && !text_is(version, "mansrtsp/1.0")) {
        *why = "request line: the version is not RTSP/1.0 or MANSRTSP/1.0";
        return EINVAL;
    }
    return 0;
}

enum seen { SEEN_CSEQ = 1, SEEN_SCALE = 2, SEEN_RANGE = 4, SEEN_PAUSE = 8 };

static int parse_header(struct text line, struct mansrtsp_request *req, unsigned *seen, const char **why)
{
    size_t colon = 0;
    while (colon < line.len && line.p[colon] != ':') colon++;
    struct text name = trim((struct text){line.p, colon});
    if (colon == line.len || name.len == 0) {
        *why = "a header line without 'Name:'";
        return EINVAL;
    }
    for (size_t i = 0; i < name.len; i++) {
        char c = name.p[i];
        if (!(is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z') || c == '-' || c == '_')) {
            *why = "a header name with characters other than letters, digits, '-'";
            return EINVAL;
        }
    }
    struct text value = trim((struct text){line.p + colon + 1, line.len - colon - 1});
    unsigned bit = text_is(name, "cseq")        ? SEEN_CSEQ
                   : text_is(name, "scale")     ? SEEN_SCALE
                   : text_is(name, "range")     ? SEEN_RANGE
                   : text_is(name, "pausetime") ? SEEN_PAUSE
                                                : 0;
    if (!bit) return 0; /* Session, User-Agent...: not ours */
    if (*seen & bit) {
        *why = "a header given twice";
        return EINVAL;
    }
    *seen |= bit;
    if (!value.len) {
        *why = "a header without a value";
        return EINVAL;
    }
    switch (bit) {
    case SEEN_CSEQ: {
        uint64_t n = 0;
        for (size_t i = 0; i < value.len; i++) {
            if (!is_digit(value.p[i]) || i >= 10) {
                *why = "CSeq: not a number";
                return EINVAL;
            }
            n = n * 10 + (uint64_t)(value.p[i] - '0');
        }
        if (n > UINT32_MAX) {
            *why = "CSeq: over 2^32";
            return ERANGE;
        }
        req->cseq = (uint32_t)n;
        return 0;
    }
    case SEEN_SCALE: return parse_scale(value, req, why);
    case SEEN_RANGE: return parse_range(value, req, why);
    default:
        req->has_pause_time = true;
        if (text_is(value, "now")) {
            req->pause_now = true;
            return 0;
        }
        if (!parse_npt(value, &req->pause_time)) {
            *why = "PauseTime: neither 'now' nor a time";
            return EINVAL;
        }
        return 0;
    }
}

int mansrtsp_parse(const char *body, size_t len, struct mansrtsp_request *req, const char **why)
{
    const char *ignored;
    if (!why) why = &ignored;
    *why = "";
    memset(req, 0, sizeof(*req));
    if (!body || len == 0) {
        *why = "empty body";
        return EINVAL;
    }
    if (len > MANSRTSP_MAX_BODY) {
        *why = "body longer than 1024 bytes";
        return EMSGSIZE;
    }
    unsigned seen = 0;
    bool blank_seen = false, first = true;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && body[end] != '\n') end++;
        struct text line = {body + pos, end - pos};
        pos = end < len ? end + 1 : end;
        if (line.len && line.p[line.len - 1] == '\r') line.len--;
        for (size_t i = 0; i < line.len; i++) {
            unsigned char c = (unsigned char)line.p[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                *why = "a control byte inside a line";
                return EINVAL;
            }
        }
        if (trim(line).len == 0) { /* the blank line that ends the headers, or trailing line ends */
            if (first) {
                *why = "a blank line before the request line";
                return EINVAL;
            }
            blank_seen = true;
            continue;
        }
        if (blank_seen) {
            *why = "text after the blank line that ends the headers";
            return EINVAL;
        }
        int err = first ? parse_request_line(line, req, why) : parse_header(line, req, &seen, why);
        if (err) return err;
        first = false;
    }
    if (!(seen & SEEN_CSEQ)) {
        *why = first ? "no request line" : "no CSeq header";
        return EINVAL;
    }
    return 0;
}

/* ---- building ---- */

const char *mansrtsp_method_name(enum mansrtsp_method m)
{
    switch (m) {
    case MANSRTSP_PLAY: return "PLAY";
    case MANSRTSP_PAUSE: return "PAUSE";
    case MANSRTSP_TEARDOWN: return "TEARDOWN";
    default: return NULL;
    }
}

/* Millisecond precision, trailing zeros cut but at least min_decimals kept: 2 -> "2.0", 120 -> "120". */
static void format_number(char out[32], double v, int min_decimals)
{
    snprintf(out, 32, "%.3f", v);
    char *dot = strchr(out, '.');
    if (!dot) return;
    char *end = out + strlen(out);
    while (end > dot + 1 + min_decimals && end[-1] == '0') *--end = 0;
    if (end == dot + 1) *dot = 0;
}

static bool npt_ok(double v)
{
    return v >= 0 && v <= MANSRTSP_NPT_MAX;
}

int mansrtsp_build(char *buf, size_t size, const struct mansrtsp_request *req, size_t *len)
{
    const char *method = mansrtsp_method_name(req->method);
    if (!method ||
        (req->has_scale && !(req->scale >= MANSRTSP_SCALE_MIN && req->scale <= MANSRTSP_SCALE_MAX)))
        return EINVAL;
    if (req->range > MANSRTSP_RANGE_SPAN ||
        (req->range >= MANSRTSP_RANGE_FROM && !npt_ok(req->range_start)) ||
        (req->range == MANSRTSP_RANGE_SPAN &&
         !(npt_ok(req->range_end) && req->range_end > req->range_start)) ||
        (req->has_pause_time && !req->pause_now && !npt_ok(req->pause_time)))
        return EINVAL;
    char a[32], b[32], scale[48] = "", range[96] = "", pause[48] = "";
    if (req->has_scale) {
        format_number(a, req->scale, 1);
        snprintf(scale, sizeof(scale), "Scale: %s\r\n", a);
    }
    switch (req->range) {
    case MANSRTSP_RANGE_NOW: snprintf(range, sizeof(range), "Range: npt=now-\r\n"); break;
    case MANSRTSP_RANGE_FROM:
        format_number(a, req->range_start, 0);
        snprintf(range, sizeof(range), "Range: npt=%s-\r\n", a);
        break;
    case MANSRTSP_RANGE_SPAN:
        format_number(a, req->range_start, 0);
        format_number(b, req->range_end, 0);
        if (!strcmp(a, b)) return EINVAL; /* closer than a millisecond: would not parse back */
        snprintf(range, sizeof(range), "Range: npt=%s-%s\r\n", a, b);
        break;
    default: break;
    }
    if (req->has_pause_time) {
        if (!req->pause_now) format_number(a, req->pause_time, 0);
        snprintf(pause, sizeof(pause), "PauseTime: %s\r\n", req->pause_now ? "now" : a);
    }
    int n = snprintf(buf, size, "%s RTSP/1.0\r\nCSeq: %u\r\n%s%s%s", method, req->cseq, scale, range, pause);
    if (n < 0) return EINVAL;
    if ((size_t)n >= size) return ENOSPC;
    *len = (size_t)n;
    return 0;
}
