/*
 * AMF0 (Action Message Format 0): the value encoding of FLV script tags (onMetaData) and RTMP commands.
 *
 * Encoder: a bounded writer over a caller-supplied byte array. Every put appends or, when the array is full,
 * marks the writer as overflowed; the caller checks once at the end (amf0_writer_finish), so building a
 * message is a straight list of puts without an error check after each one.
 *
 * Decoder: a cursor over a complete message (RTMP messages and FLV tags arrive whole). amf0_read() decodes
 * one value; strings and container bodies point into the input (no allocation, no copy). Reading a container
 * validates and skips its whole nested content, depth-limited by AMF0_MAX_DEPTH, so a value that was read is
 * known to be well formed; its members are then walked with amf0_object_next() / amf0_read() over
 * value.body. Truncated or malformed input is an error, never an out-of-bounds read.
 */
#ifndef GB_RELAY_AMF0_H
#define GB_RELAY_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum amf0_type {
    AMF0_NUMBER = 0x00,
    AMF0_BOOLEAN = 0x01,
    AMF0_STRING = 0x02,
    AMF0_OBJECT = 0x03,
    AMF0_NULL = 0x05,
    AMF0_UNDEFINED = 0x06,
    AMF0_REFERENCE = 0x07,
    AMF0_ECMA_ARRAY = 0x08,
    AMF0_OBJECT_END = 0x09,
    AMF0_STRICT_ARRAY = 0x0a,
    AMF0_DATE = 0x0b,
    AMF0_LONG_STRING = 0x0c,
    AMF0_UNSUPPORTED = 0x0d,
    AMF0_XML_DOCUMENT = 0x0f,
    AMF0_TYPED_OBJECT = 0x10,
};

/* Nesting limit of the decoder (objects in objects ...); deeper input is rejected with -ELOOP. */
#define AMF0_MAX_DEPTH 16

/* ---- encoder ---- */

struct amf0_writer {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

void amf0_writer_init(struct amf0_writer *w, uint8_t *buf, size_t cap);
/* Bytes written so far, or -ENOSPC when any put did not fit. */
int amf0_writer_finish(const struct amf0_writer *w);

void amf0_put_number(struct amf0_writer *w, double v);
void amf0_put_boolean(struct amf0_writer *w, bool v);
/* String (0x02), or long string (0x0c) when longer than 65535 bytes. */
void amf0_put_string(struct amf0_writer *w, const char *s);
void amf0_put_string_len(struct amf0_writer *w, const char *s, size_t len);
void amf0_put_null(struct amf0_writer *w);
void amf0_put_undefined(struct amf0_writer *w);
/* Containers: start, then properties (object, ECMA array) or plain values (strict array), then end.
 * Objects and ECMA arrays are closed with amf0_put_object_end(); strict arrays have no end marker. */
void amf0_put_object_start(struct amf0_writer *w);
void amf0_put_ecma_array_start(struct amf0_writer *w, uint32_t count);
void amf0_put_strict_array_start(struct amf0_writer *w, uint32_t count);
void amf0_put_object_end(struct amf0_writer *w); /* 00 00 09 */
/* A property name (u16 length + bytes, no type marker), to be followed by one value. */
void amf0_put_key(struct amf0_writer *w, const char *name);
/* Shorthands: key + value. */
void amf0_put_prop_number(struct amf0_writer *w, const char *name, double v);
void amf0_put_prop_boolean(struct amf0_writer *w, const char *name, bool v);
void amf0_put_prop_string(struct amf0_writer *w, const char *name, const char *s);

/* ---- decoder ---- */

struct amf0_reader {
    const uint8_t *p;
    size_t len, pos;
};

struct amf0_value {
    enum amf0_type type;
    double number;      /* NUMBER, DATE (ms since epoch) */
    bool boolean;       /* BOOLEAN */
    uint16_t ref;       /* REFERENCE index */
    const uint8_t *str; /* STRING, LONG_STRING, XML_DOCUMENT, TYPED_OBJECT class name: not NUL-terminated */
    uint32_t str_len;
    uint32_t count;      /* ECMA_ARRAY (advisory, as sent), STRICT_ARRAY (exact) */
    const uint8_t *body; /* OBJECT, ECMA_ARRAY, TYPED_OBJECT: the properties (end marker excluded);
                            STRICT_ARRAY: the `count` values */
    size_t body_len;
};

void amf0_reader_init(struct amf0_reader *r, const uint8_t *p, size_t len);
static inline bool amf0_reader_done(const struct amf0_reader *r)
{
    return r->pos >= r->len;
}
/* Decodes the next value. Returns 0, -ENODATA at the end of input, -EBADMSG when truncated or malformed,
 * -ELOOP when nested deeper than AMF0_MAX_DEPTH, -ENOTSUP for AMF3 (0x11) and reserved markers. On error the
 * cursor does not move. */
int amf0_read(struct amf0_reader *r, struct amf0_value *v);
/* Walks a property list (the body of an OBJECT, ECMA_ARRAY or TYPED_OBJECT value, read with a reader set on
 * value.body / value.body_len). Returns 1 with the next name and value, 0 at the end, or a negative error. */
int amf0_object_next(struct amf0_reader *r, const uint8_t **name, uint16_t *name_len, struct amf0_value *v);
/* Finds a property by name in an OBJECT / ECMA_ARRAY / TYPED_OBJECT value. Returns 0, -ENOENT, or an error.
 */
int amf0_object_get(const struct amf0_value *obj, const char *name, struct amf0_value *out);
/* True when v is a STRING / LONG_STRING equal to s. */
bool amf0_string_eq(const struct amf0_value *v, const char *s);
/* Copies a STRING / LONG_STRING into out (NUL-terminated). Returns 0, -EINVAL (not a string) or -ENOSPC. */
int amf0_string_copy(const struct amf0_value *v, char *out, size_t size);

#endif
