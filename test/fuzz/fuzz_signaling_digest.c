/* libFuzzer target for signaling/digest: Authorization/WWW-Authenticate parsing, verification, nonce checks
 * and the printers (whatever parses must print and parse back to the same fields). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct digest_fields f, back;
    if (digest_parse((const char *)data, size, &f) == 0) {
        (void)digest_credentials_check(&f);
        (void)digest_verify(&f, "REGISTER", "12345678");
        char line[4096];
        int n = digest_credentials_format(line, sizeof(line), &f);
        if (n > 0 && digest_parse(line, (size_t)n, &back) == 0) {
            if (strcmp(back.username, f.username) || strcmp(back.realm, f.realm) ||
                strcmp(back.nonce, f.nonce) || strcmp(back.uri, f.uri) || strcmp(back.response, f.response))
                abort(); /* print -> parse must be the identity on these fields */
        }
        struct digest_fields cred;
        (void)digest_answer(&f, "REGISTER", "sip:34020000002000000001@3402000000", "34020000001320000001",
                            "12345678", NULL, "cnonce", 1, &cred);
        char chall[1024];
        (void)digest_challenge_format(chall, sizeof(chall), f.realm, f.nonce, true, f.stale);
    }
    /* the same bytes as a nonce */
    char nonce[64];
    size_t n = size < sizeof(nonce) - 1 ? size : sizeof(nonce) - 1;
    memcpy(nonce, data, n);
    nonce[n] = 0;
    uint8_t secret[DIGEST_SECRET_LEN] = {1, 2, 3};
    (void)digest_nonce_check(secret, nonce, 1000, 600);
    return 0;
}
