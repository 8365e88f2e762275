/*
 * HTTP/SIP digest authentication (RFC 2617 MD5, with and without qop=auth; MD5-sess) for the registrar,
 * and the client half for the camera simulator.
 *
 * Pure functions over bytes: header values in, parsed fields or a verdict out. No sockets, no allocation,
 * every field bounded (a longer one is an error, never a truncation that could change its meaning).
 *
 * Nonces are stateless so that a thousand devices registering at once cost no table: an 8-hex-digit
 * timestamp followed by 24 hex digits of MD5(secret:timestamp). The registrar can then tell its own fresh
 * nonce, its own expired nonce (answered 401 with stale=true) and a nonce it never issued (a device that
 * sends Authorization on its first REGISTER with a made-up nonce: answered with a plain 401, not counted as
 * a failure). A nonce is not bound to the source address: devices re-register over new TCP connections.
 */
#ifndef GB_SIGNALING_DIGEST_H
#define GB_SIGNALING_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIGEST_FIELD_MAX  128 /* username, realm, nonce, cnonce, opaque, algorithm, qop, nc */
#define DIGEST_URI_MAX    256
#define DIGEST_HEX_LEN    32
#define DIGEST_NONCE_LEN  32
#define DIGEST_SECRET_LEN 16

/* An Authorization (credentials) or WWW-Authenticate (challenge) header value, split into its fields.
 * Absent fields are empty strings. */
struct digest_fields {
    char username[DIGEST_FIELD_MAX];
    char realm[DIGEST_FIELD_MAX];
    char nonce[DIGEST_FIELD_MAX];
    char uri[DIGEST_URI_MAX];
    char response[DIGEST_FIELD_MAX];
    char algorithm[DIGEST_FIELD_MAX];
    char qop[DIGEST_FIELD_MAX]; /* credentials: the chosen qop; challenge: the offered list */
    char nc[DIGEST_FIELD_MAX];
    char cnonce[DIGEST_FIELD_MAX];
    char opaque[DIGEST_FIELD_MAX];
    bool stale; /* challenge only */
};

/* Parses `Digest k=v, k="v", ...` (scheme case-insensitive, unknown parameters ignored, quoted strings with
 * backslash escapes). Returns 0, EPROTONOSUPPORT when the scheme is not Digest, EBADMSG on a syntax error
 * or a field longer than its buffer. */
int digest_parse(const char *hval, size_t len, struct digest_fields *out);

/* Credentials must carry username, nonce, uri and response (realm may be empty), a supported algorithm
 * (none, MD5, MD5-sess) and qop none or "auth". Returns 0, EBADMSG or EPROTONOSUPPORT. */
int digest_credentials_check(const struct digest_fields *cred);

/* HA1 = MD5(username:realm:password) as 32 lower-case hex digits + NUL. */
void digest_ha1(const char *username, const char *realm, const char *password, char out[DIGEST_HEX_LEN + 1]);

/* The expected response for credentials `cred` (username/realm taken from cred, the realm the device used,
 * whatever it is) with `password` and request `method`. Returns 0 or the digest_credentials_check error. */
int digest_expected_response(const struct digest_fields *cred, const char *method, const char *password,
                             char out[DIGEST_HEX_LEN + 1]);

/* True when cred's response matches password (hex compared case-insensitively). */
bool digest_verify(const struct digest_fields *cred, const char *method, const char *password);

/* ---- stateless nonces ---- */
enum digest_nonce_state {
    DIGEST_NONCE_VALID = 0,
    DIGEST_NONCE_STALE,   /* ours, but older than the lifetime (or from the future) */
    DIGEST_NONCE_FOREIGN, /* not one we issued with this secret */
};

void digest_nonce_make(const uint8_t secret[DIGEST_SECRET_LEN], uint32_t now_s,
                       char out[DIGEST_NONCE_LEN + 1]);
enum digest_nonce_state digest_nonce_check(const uint8_t secret[DIGEST_SECRET_LEN], const char *nonce,
                                           uint32_t now_s, uint32_t lifetime_s);

/* `Digest realm="r", nonce="n", algorithm=MD5[, qop="auth"][, stale=true]` into buf; returns the length
 * or -1 when it does not fit. Quotes and backslashes in realm are escaped. */
int digest_challenge_format(char *buf, size_t size, const char *realm, const char *nonce, bool offer_qop,
                            bool stale);

/* ---- client side (simulator) ---- */
/* Fills `cred` answering challenge `chall` and returns 0, or EPROTONOSUPPORT for an unsupported algorithm.
 * Uses qop=auth when offered (with cnonce and nc), RFC 2069 style otherwise. `realm` NULL = the challenge's.
 */
int digest_answer(const struct digest_fields *chall, const char *method, const char *uri,
                  const char *username, const char *password, const char *realm, const char *cnonce,
                  uint32_t nc, struct digest_fields *cred);
/* `Digest username="..", realm="..", nonce="..", uri="..", response="..", algorithm=MD5[, qop=auth, nc=..,
 * cnonce=".."][, opaque=".."]` into buf; returns the length or -1 when it does not fit. */
int digest_credentials_format(char *buf, size_t size, const struct digest_fields *cred);

#endif
