/* Growable text buffer for building responses (metrics, headers). Aborts on out-of-memory like gbuf. */
#ifndef GB_COMMON_SBUF_H
#define GB_COMMON_SBUF_H

#include <stddef.h>

struct sbuf {
    char *p;
    size_t len, cap;
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_append(struct sbuf *b, const void *data, size_t len);
/* Hands the text over (caller frees) and resets b. */
char *sbuf_take(struct sbuf *b, size_t *len);
void sbuf_free(struct sbuf *b);

#endif
