/* Private to the MANSCDP codec files (manscdp*.c): helpers the decoder and the writer share. */
#ifndef GB_SIGNALING_MANSCDP_PRIV_H
#define GB_SIGNALING_MANSCDP_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "signaling/manscdp.h"

/* Length (1-4) of the strict UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) starting at s, reading at most avail (>= 1) bytes; 0 when it is not valid UTF-8. */
size_t manscdp_utf8_seq_len(const uint8_t *s, size_t avail);
/* First occurrence of the NUL-terminated needle in hay[0..len), or NULL. */
const uint8_t *manscdp_find_bytes(const uint8_t *hay, size_t len, const char *needle);

/* A body made ready for libxml2 (manscdp_input.c): framing trimmed, DTDs refused, charset chosen, bare '&'
 * escaped. xml points into the caller's body, or into `owned` when it had to be rewritten. */
struct manscdp_input {
    const uint8_t *xml;
    size_t len;
    uint8_t *owned;
    const char *encoding;         /* what libxml2 must decode: "UTF-8" or "GB18030" */
    enum manscdp_charset charset; /* what to answer in */
};
/* 0, EMSGSIZE, EBADMSG (empty, or a DTD) or ENOMEM. Call manscdp_input_release() after a 0. */
int manscdp_input_prepare(const uint8_t *body, size_t len, struct manscdp_input *in);
void manscdp_input_release(struct manscdp_input *in);

#endif
