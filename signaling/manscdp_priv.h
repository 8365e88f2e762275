/* Private to the MANSCDP codec files (manscdp*.c): helpers the decoder and the writer share. */
#ifndef GB_SIGNALING_MANSCDP_PRIV_H
#define GB_SIGNALING_MANSCDP_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the strict UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) starting at s, reading at most avail (>= 1) bytes; 0 when it is not valid UTF-8. */
size_t manscdp_utf8_seq_len(const uint8_t *s, size_t avail);

#endif
