/*
 * Digest authentication: a small tokenizer for `Digest k=v, ...` header values, the RFC 2617 response
 * computation (verifier and client), stateless nonces and the challenge/credentials printers.
 * See digest.h for the contract. MD5 comes from libre.
 */
#include "signaling/digest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <re_types.h>
#include <re_md5.h>

#define MD5_LEN 16

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* MD5 of the NUL-terminated parts joined with ':' as hex. */
static void md5_join_hex(char out[DIGEST_HEX_LEN + 1], const char *const *parts, size_t nparts)
{
    /* Parts are bounded by the field sizes of struct digest_fields, so one stack buffer holds them. */
    char joined[8 * DIGEST_URI_MAX];
    size_t len = 0;
    for (size_t i = 0; i < nparts; i++) {
        size_t plen = strlen(parts[i]);
        if (len + plen + 1 >= sizeof(joined)) plen = sizeof(joined) - len - 2; /* cannot happen (bounded) */
        if (i) joined[len++] = ':';
        memcpy(joined + len, parts[i], plen);
        len += plen;
    }
    uint8_t digest[MD5_LEN];
    md5((const uint8_t *)joined, len, digest);
    hex_encode(digest, MD5_LEN, out);
}

/* ---- tokenizer ---- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_token_char(char c)
{
    return c > ' ' && c < 127 && c != ',' && c != '=' && c != '"';
}

/* Copies a value into dst[size]; EBADMSG when it does not fit. */
static int field_store(char *dst, size_t size, const char *src, size_t len)
{
    if (len >= size) return EBADMSG;
    memcpy(dst, src, len);
    dst[len] = 0;
    return 0;
}

static char *field_for(struct digest_fields *f, const char *name, size_t nlen, size_t *size)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } table[] = {
#define F(n) {#n, offsetof(struct digest_fields, n), sizeof(((struct digest_fields *)0)->n)}
        F(username),  F(realm), F(nonce), F(uri),    F(response),
        F(algorithm), F(qop),   F(nc),    F(cnonce), F(opaque),
#undef F
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strlen(table[i].name) == nlen && strncasecmp(table[i].name, name, nlen) == 0) {
            *size = table[i].size;
            return (char *)f + table[i].offset;
        }
    }
    return NULL;
}

int digest_parse(const char *hval, size_t len, struct digest_fields *out)
{
    memset(out, 0, sizeof(*out));
    size_t i = 0;
    while (i < len && is_space(hval[i])) i++;
    if (len - i < 6 || strncasecmp(hval + i, "Digest", 6) != 0) return EPROTONOSUPPORT;
    i += 6;
    if (i < len && !is_space(hval[i])) return EPROTONOSUPPORT; /* "DigestX" */

    char value[DIGEST_URI_MAX];
    while (i < len) {
        while (i < len && (is_space(hval[i]) || hval[i] == ',')) i++;
        if (i >= len) break;
        size_t name_start = i;
        while (i < len && is_token_char(hval[i])) i++;
        size_t name_len = i - name_start;
        if (name_len == 0) return EBADMSG;
        while (i < len && is_space(hval[i])) i++;
        if (i >= len || hval[i] != '=') return EBADMSG;
        i++;
        while (i < len && is_space(hval[i])) i++;

        size_t vlen = 0;
        if (i < len && hval[i] == '"') {
            i++;
            bool closed = false;
            while (i < len) {
                char c = hval[i++];
                if (c == '"') {
                    closed = true;
                    break;
                }
                if (c == '\\' && i < len) c = hval[i++];
                if (vlen + 1 >= sizeof(value)) return EBADMSG;
                value[vlen++] = c;
            }
            if (!closed) return EBADMSG;
        } else {
            while (i < len && is_token_char(hval[i])) {
                if (vlen + 1 >= sizeof(value)) return EBADMSG;
                value[vlen++] = hval[i++];
            }
        }
        while (i < len && is_space(hval[i])) i++;
        if (i < len && hval[i] != ',') return EBADMSG;

        if (name_len == 5 && strncasecmp(hval + name_start, "stale", 5) == 0) {
            out->stale = vlen == 4 && strncasecmp(value, "true", 4) == 0;
            continue;
        }
        size_t size;
        char *dst = field_for(out, hval + name_start, name_len, &size);
        if (!dst) continue; /* unknown parameter: ignored */
        int err = field_store(dst, size, value, vlen);
        if (err) return err;
    }
    return 0;
}

/* ---- verification ---- */

static bool algorithm_is_sess(const char *algorithm)
{
    return strcasecmp(algorithm, "MD5-sess") == 0;
}

int digest_credentials_check(const struct digest_fields *cred)
{
    if (!cred->username[0] || !cred->nonce[0] || !cred->uri[0] || !cred->response[0]) return EBADMSG;
    if (cred->algorithm[0] && strcasecmp(cred->algorithm, "MD5") != 0 && !algorithm_is_sess(cred->algorithm))
        return EPROTONOSUPPORT;
    if (cred->qop[0] && strcasecmp(cred->qop, "auth") != 0) return EPROTONOSUPPORT;
    if (cred->qop[0] && (!cred->nc[0] || !cred->cnonce[0])) return EBADMSG;
    if (algorithm_is_sess(cred->algorithm) && !cred->cnonce[0]) return EBADMSG;
    return 0;
}

void digest_ha1(const char *username, const char *realm, const char *password, char out[DIGEST_HEX_LEN + 1])
{
    const char *parts[] = {username, realm, password};
    md5_join_hex(out, parts, 3);
}

/* The response for cred's fields (its own response field is not looked at). */
static int compute_response(const struct digest_fields *cred, const char *method, const char *password,
                            char out[DIGEST_HEX_LEN + 1])
{
    if (strlen(password) >= DIGEST_URI_MAX || strlen(method) >= DIGEST_FIELD_MAX) return EBADMSG;

    char ha1[DIGEST_HEX_LEN + 1], ha2[DIGEST_HEX_LEN + 1];
    digest_ha1(cred->username, cred->realm, password, ha1);
    if (algorithm_is_sess(cred->algorithm)) {
        const char *sess[] = {ha1, cred->nonce, cred->cnonce};
        md5_join_hex(ha1, sess, 3);
    }
    const char *a2[] = {method, cred->uri};
    md5_join_hex(ha2, a2, 2);
    if (cred->qop[0]) {
        const char *parts[] = {ha1, cred->nonce, cred->nc, cred->cnonce, cred->qop, ha2};
        md5_join_hex(out, parts, 6);
    } else {
        const char *parts[] = {ha1, cred->nonce, ha2};
        md5_join_hex(out, parts, 3);
    }
    return 0;
}

int digest_expected_response(const struct digest_fields *cred, const char *method, const char *password,
                             char out[DIGEST_HEX_LEN + 1])
{
    int err = digest_credentials_check(cred);
    return err ? err : compute_response(cred, method, password, out);
}

bool digest_verify(const struct digest_fields *cred, const char *method, const char *password)
{
    char expected[DIGEST_HEX_LEN + 1];
    if (digest_expected_response(cred, method, password, expected)) return false;
    return strlen(cred->response) == DIGEST_HEX_LEN && strcasecmp(cred->response, expected) == 0;
}

/* ---- nonces ---- */

static void nonce_mac(const uint8_t secret[DIGEST_SECRET_LEN], const char ts_hex[9],
                      char mac[DIGEST_HEX_LEN + 1])
{
    char secret_hex[2 * DIGEST_SECRET_LEN + 1];
    hex_encode(secret, DIGEST_SECRET_LEN, secret_hex);
    const char *parts[] = {secret_hex, ts_hex};
    md5_join_hex(mac, parts, 2);
}

void digest_nonce_make(const uint8_t secret[DIGEST_SECRET_LEN], uint32_t now_s,
                       char out[DIGEST_NONCE_LEN + 1])
{
    char ts_hex[9], mac[DIGEST_HEX_LEN + 1];
    snprintf(ts_hex, sizeof(ts_hex), "%08x", now_s);
    nonce_mac(secret, ts_hex, mac);
    memcpy(out, ts_hex, 8);
    memcpy(out + 8, mac, DIGEST_NONCE_LEN - 8);
    out[DIGEST_NONCE_LEN] = 0;
}

enum digest_nonce_state digest_nonce_check(const uint8_t secret[DIGEST_SECRET_LEN], const char *nonce,
                                           uint32_t now_s, uint32_t lifetime_s)
{
    if (strlen(nonce) != DIGEST_NONCE_LEN) return DIGEST_NONCE_FOREIGN;
    char ts_hex[9], mac[DIGEST_HEX_LEN + 1];
    uint32_t ts = 0;
    for (int i = 0; i < 8; i++) {
        char c = nonce[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0) return DIGEST_NONCE_FOREIGN;
        ts = ts << 4 | (uint32_t)v;
        ts_hex[i] = c;
    }
    ts_hex[8] = 0;
    nonce_mac(secret, ts_hex, mac);
    if (memcmp(nonce + 8, mac, DIGEST_NONCE_LEN - 8) != 0) return DIGEST_NONCE_FOREIGN;
    if (ts > now_s || now_s - ts > lifetime_s) return DIGEST_NONCE_STALE;
    return DIGEST_NONCE_VALID;
}

/* ---- printers ---- */

/* Writes s as a quoted-string body (escaping '"' and '\\'); returns false when it does not fit. */
static bool append_quoted(char *buf, size_t size, size_t *pos, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') {
            if (*pos + 1 >= size) return false;
            buf[(*pos)++] = '\\';
        }
        if (*pos + 1 >= size) return false;
        buf[(*pos)++] = *s;
    }
    buf[*pos] = 0;
    return true;
}

static bool append_raw(char *buf, size_t size, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n >= size) return false;
    memcpy(buf + *pos, s, n + 1);
    *pos += n;
    return true;
}

/* Parameters follow "Digest " (7 characters): every one but the first is preceded by ", ". */
static bool append_param(char *buf, size_t size, size_t *pos, const char *name, const char *value,
                         bool quoted)
{
    return append_raw(buf, size, pos, *pos > 7 ? ", " : "") && append_raw(buf, size, pos, name) &&
           append_raw(buf, size, pos, quoted ? "=\"" : "=") && append_quoted(buf, size, pos, value) &&
           append_raw(buf, size, pos, quoted ? "\"" : "");
}

int digest_challenge_format(char *buf, size_t size, const char *realm, const char *nonce, bool offer_qop,
                            bool stale)
{
    size_t pos = 0;
    if (!size) return -1;
    buf[0] = 0;
    bool ok = append_raw(buf, size, &pos, "Digest ") && append_param(buf, size, &pos, "realm", realm, true) &&
              append_param(buf, size, &pos, "nonce", nonce, true) &&
              append_param(buf, size, &pos, "algorithm", "MD5", false);
    if (ok && offer_qop) ok = append_param(buf, size, &pos, "qop", "auth", true);
    if (ok && stale) ok = append_param(buf, size, &pos, "stale", "true", false);
    return ok ? (int)pos : -1;
}

static int copy_field(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    return field_store(dst, size, src, n);
}

int digest_answer(const struct digest_fields *chall, const char *method, const char *uri,
                  const char *username, const char *password, const char *realm, const char *cnonce,
                  uint32_t nc, struct digest_fields *cred)
{
    memset(cred, 0, sizeof(*cred));
    if (chall->algorithm[0] && strcasecmp(chall->algorithm, "MD5") != 0) return EPROTONOSUPPORT;
    int err = copy_field(cred->username, sizeof(cred->username), username) ||
              copy_field(cred->realm, sizeof(cred->realm), realm ? realm : chall->realm) ||
              copy_field(cred->nonce, sizeof(cred->nonce), chall->nonce) ||
              copy_field(cred->uri, sizeof(cred->uri), uri) ||
              copy_field(cred->opaque, sizeof(cred->opaque), chall->opaque);
    if (err) return EBADMSG;
    strcpy(cred->algorithm, "MD5");
    /* The challenge's qop is a list such as "auth,auth-int": answer with auth when it is offered. */
    if (strstr(chall->qop, "auth")) {
        strcpy(cred->qop, "auth");
        snprintf(cred->nc, sizeof(cred->nc), "%08x", nc);
        if (copy_field(cred->cnonce, sizeof(cred->cnonce), cnonce)) return EBADMSG;
    }
    return compute_response(cred, method, password, cred->response);
}

int digest_credentials_format(char *buf, size_t size, const struct digest_fields *cred)
{
    size_t pos = 0;
    if (!size) return -1;
    buf[0] = 0;
    bool ok = append_raw(buf, size, &pos, "Digest ") &&
              append_param(buf, size, &pos, "username", cred->username, true) &&
              append_param(buf, size, &pos, "realm", cred->realm, true) &&
              append_param(buf, size, &pos, "nonce", cred->nonce, true) &&
              append_param(buf, size, &pos, "uri", cred->uri, true) &&
              append_param(buf, size, &pos, "response", cred->response, true) &&
              append_param(buf, size, &pos, "algorithm", cred->algorithm[0] ? cred->algorithm : "MD5", false);
    if (ok && cred->qop[0])
        ok = append_param(buf, size, &pos, "qop", cred->qop, false) &&
             append_param(buf, size, &pos, "nc", cred->nc, false) &&
             append_param(buf, size, &pos, "cnonce", cred->cnonce, true);
    if (ok && cred->opaque[0]) ok = append_param(buf, size, &pos, "opaque", cred->opaque, true);
    return ok ? (int)pos : -1;
}
