/*
 * MANSCDP input preparation: what happens to the body bytes before libxml2 sees them.
 *
 * - Framing: real bodies carry a BOM, leading blank lines, or trailing NULs/garbage after the root element
 *   (UDP padding, a sloppy Content-Length). The input is cut to [first '<', end of the root's end tag].
 * - Safety: a body with "<!DOCTYPE" or "<!ENTITY" is refused outright. MANSCDP never needs a DTD, and with
 *   none there is nothing to expand (billion laughs) or fetch (XXE).
 * - Charset: devices lie in the declaration (UTF-8 bytes under "GB2312", GBK under "GB2312", GB2312 under
 *   "UTF-8", none at all), so the bytes decide: valid UTF-8 is parsed as UTF-8, anything else as GB18030 (a
 *   superset of GB2312 and GBK). For an all-ASCII body the declaration only decides the charset to answer in.
 * - Bare '&': devices write names like "A&B" unescaped, which would cost the whole (catalog) message. An '&'
 *   that does not start one of the five predefined entities or a character reference is rewritten to
 *   "&amp;" (outside CDATA, comments and processing instructions), in a copy made only when needed.
 *
 * Every scan here is byte-level and charset-safe: '<', '>', '/', '!', '?' and '&' never occur inside GB18030
 * multi-byte sequences (trail bytes are 0x30-0x39 and 0x40-0xFE).
 */
#include "signaling/manscdp_priv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

size_t manscdp_utf8_seq_len(const uint8_t *s, size_t avail)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c < 0xC2 || c > 0xF4) return 0; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
    size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c == 0xE0) lo = 0xA0; /* overlong 3-byte */
    if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    if (c == 0xF0) lo = 0x90; /* overlong 4-byte */
    if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    if (avail < n || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if ((s[k] & 0xC0) != 0x80) return 0;
    return n;
}

static bool utf8_valid(const uint8_t *s, size_t len, bool *has_non_ascii)
{
    *has_non_ascii = false;
    for (size_t i = 0; i < len;) {
        size_t n = manscdp_utf8_seq_len(s + i, len - i);
        if (n == 0) return false;
        if (n > 1) *has_non_ascii = true;
        i += n;
    }
    return true;
}

const uint8_t *manscdp_find_bytes(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0 || len < n) return NULL;
    for (size_t i = 0; i + n <= len; i++)
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, n) == 0) return hay + i;
    return NULL;
}

/* Cuts the body to the XML proper: from the first '<' to the end of the root element's end tag (when it can
 * be found; otherwise to the end, and libxml2 reports the truncation). '<', '/' and '>' never occur inside
 * GB18030 multi-byte sequences, so this byte scan is charset-safe. */
static void trim_body(const uint8_t **body, size_t *len)
{
    const uint8_t *s = *body, *end = s + *len;
    while (s < end && *s != '<') s++; /* BOM, blank lines, NULs */
    const uint8_t *p = s, *name = NULL;
    while (p + 1 < end) { /* the root start tag: first '<' followed by a name character */
        if (p[0] == '<' && p[1] != '?' && p[1] != '!' && p[1] != '/' && !is_space(p[1]) && p[1] != '>') {
            name = p + 1;
            break;
        }
        p++;
    }
    size_t name_len = 0;
    if (name != NULL)
        while (name + name_len < end && name_len < 64 && !is_space(name[name_len]) && name[name_len] != '>' &&
               name[name_len] != '/')
            name_len++;
    if (name != NULL && name_len > 0 && name_len < 64 && (size_t)(end - name) > name_len + 2) {
        for (const uint8_t *q = end - 2 - name_len; q > name; q--) {
            if (q[0] != '<' || q[1] != '/' || memcmp(q + 2, name, name_len) != 0) continue;
            const uint8_t *t = q + 2 + name_len;
            while (t < end && is_space(*t)) t++;
            if (t < end && *t == '>') {
                end = t + 1;
                break;
            }
        }
    }
    *body = s;
    *len = (size_t)(end - s);
}

/* For an all-ASCII body, the charset to answer in is the declared one (GB2312 unless it says UTF-8). */
static enum manscdp_charset declared_charset(const uint8_t *s, size_t len)
{
    if (len < 5 || memcmp(s, "<?xml", 5) != 0) return MANSCDP_GB2312;
    const uint8_t *decl_end = manscdp_find_bytes(s, len < 200 ? len : 200, "?>");
    if (decl_end == NULL) return MANSCDP_GB2312;
    size_t dlen = (size_t)(decl_end - s);
    for (size_t i = 0; i + 5 <= dlen; i++) {
        if (ascii_lower(s[i]) == 'u' && ascii_lower(s[i + 1]) == 't' && ascii_lower(s[i + 2]) == 'f' &&
            s[i + 3] == '-' && s[i + 4] == '8')
            return MANSCDP_UTF8;
    }
    return MANSCDP_GB2312;
}

/* ---------------------------------------------------------------- bare ampersands */

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* True when s[0] == '&' starts a reference libxml2 accepts without a DTD. */
static bool is_reference(const uint8_t *s, size_t avail)
{
    static const char *const predefined[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++) {
        size_t n = strlen(predefined[i]);
        if (avail >= n && memcmp(s, predefined[i], n) == 0) return true;
    }
    if (avail < 4 || s[1] != '#') return false;
    size_t i = 2;
    bool hex = s[2] == 'x';
    if (hex) i++;
    size_t first = i;
    while (i < avail && i < 16 && (hex ? is_hex(s[i]) : is_digit(s[i]))) i++;
    return i > first && i < avail && s[i] == ';';
}

/* Counts the '&' that do not start a reference (outside CDATA, comments and PIs) and, when out is not NULL,
 * copies s into out with each of them written as "&amp;" (out holds len + 4 * count bytes). */
static size_t escape_bare_amps(const uint8_t *s, size_t len, uint8_t *out)
{
    size_t count = 0, o = 0;
    for (size_t i = 0; i < len;) {
        const char *skip_to = NULL;
        if (s[i] == '<' && len - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0)
            skip_to = "]]>";
        else if (s[i] == '<' && len - i >= 4 && memcmp(s + i, "<!--", 4) == 0)
            skip_to = "-->";
        else if (s[i] == '<' && len - i >= 2 && s[i + 1] == '?')
            skip_to = "?>";
        if (skip_to) {
            const uint8_t *end = manscdp_find_bytes(s + i + 2, len - i - 2, skip_to);
            size_t n = end ? (size_t)(end - s) + strlen(skip_to) - i : len - i;
            if (out) memcpy(out + o, s + i, n);
            o += n, i += n;
            continue;
        }
        if (s[i] == '&' && !is_reference(s + i, len - i)) {
            count++;
            if (out) memcpy(out + o, "&amp;", 5);
            o += 5, i++;
            continue;
        }
        if (out) out[o] = s[i];
        o++, i++;
    }
    return count;
}

/* ---------------------------------------------------------------- entry point */

int manscdp_input_prepare(const uint8_t *body, size_t len, struct manscdp_input *in)
{
    memset(in, 0, sizeof(*in));
    if (body == NULL || len == 0) return EBADMSG;
    if (len > MANSCDP_MAX_BODY) return EMSGSIZE;
    trim_body(&body, &len);
    if (len == 0) return EBADMSG;
    if (manscdp_find_bytes(body, len, "<!DOCTYPE") || manscdp_find_bytes(body, len, "<!ENTITY"))
        return EBADMSG;

    bool non_ascii;
    if (utf8_valid(body, len, &non_ascii)) {
        in->encoding = "UTF-8";
        in->charset = non_ascii ? MANSCDP_UTF8 : declared_charset(body, len);
    } else {
        in->encoding = "GB18030";
        in->charset = MANSCDP_GB2312;
    }
    in->xml = body;
    in->len = len;
    size_t bare = memchr(body, '&', len) ? escape_bare_amps(body, len, NULL) : 0;
    if (bare) {
        in->owned = malloc(len + bare * 4);
        if (!in->owned) return ENOMEM;
        escape_bare_amps(body, len, in->owned);
        in->xml = in->owned;
        in->len = len + bare * 4;
    }
    return 0;
}

void manscdp_input_release(struct manscdp_input *in)
{
    free(in->owned);
    in->owned = NULL;
}
