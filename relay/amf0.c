/*
 * AMF0 encoder and bounded decoder (see amf0.h for the shape of the API).
 *
 * The decoder is recursive only through containers and carries an explicit depth, so the stack it can use is
 * bounded by AMF0_MAX_DEPTH whatever the input. Every read checks the remaining length first; the cursor
 * only moves once a whole value has been validated, so a failed read leaves the reader where it was.
 */
#include "relay/amf0.h"

#include <errno.h>
#include <string.h>

/* ---- encoder ---- */

void amf0_writer_init(struct amf0_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

int amf0_writer_finish(const struct amf0_writer *w)
{
    return w->overflow ? -ENOSPC : (int)w->len;
}

static uint8_t *reserve(struct amf0_writer *w, size_t n)
{
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_u8(struct amf0_writer *w, uint8_t v)
{
    uint8_t *p = reserve(w, 1);
    if (p) p[0] = v;
}

static void put_u16(struct amf0_writer *w, uint16_t v)
{
    uint8_t *p = reserve(w, 2);
    if (!p) return;
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u32(struct amf0_writer *w, uint32_t v)
{
    uint8_t *p = reserve(w, 4);
    if (!p) return;
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_bytes(struct amf0_writer *w, const void *src, size_t n)
{
    uint8_t *p = reserve(w, n);
    if (p && n) memcpy(p, src, n);
}

void amf0_put_number(struct amf0_writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t *p = reserve(w, 9);
    if (!p) return;
    p[0] = AMF0_NUMBER;
    for (int i = 0; i < 8; i++) p[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
}

void amf0_put_boolean(struct amf0_writer *w, bool v)
{
    put_u8(w, AMF0_BOOLEAN);
    put_u8(w, v ? 1 : 0);
}

void amf0_put_string_len(struct amf0_writer *w, const char *s, size_t len)
{
    if (len > UINT32_MAX) {
        w->overflow = true;
        return;
    }
    if (len <= UINT16_MAX) {
        put_u8(w, AMF0_STRING);
        put_u16(w, (uint16_t)len);
    } else {
        put_u8(w, AMF0_LONG_STRING);
        put_u32(w, (uint32_t)len);
    }
    put_bytes(w, s, len);
}

void amf0_put_string(struct amf0_writer *w, const char *s)
{
    amf0_put_string_len(w, s, strlen(s));
}

void amf0_put_null(struct amf0_writer *w)
{
    put_u8(w, AMF0_NULL);
}

void amf0_put_undefined(struct amf0_writer *w)
{
    put_u8(w, AMF0_UNDEFINED);
}

void amf0_put_object_start(struct amf0_writer *w)
{
    put_u8(w, AMF0_OBJECT);
}

void amf0_put_ecma_array_start(struct amf0_writer *w, uint32_t count)
{
    put_u8(w, AMF0_ECMA_ARRAY);
    put_u32(w, count);
}

void amf0_put_strict_array_start(struct amf0_writer *w, uint32_t count)
{
    put_u8(w, AMF0_STRICT_ARRAY);
    put_u32(w, count);
}

void amf0_put_object_end(struct amf0_writer *w)
{
    put_u16(w, 0);
    put_u8(w, AMF0_OBJECT_END);
}

void amf0_put_key(struct amf0_writer *w, const char *name)
{
    size_t len = strlen(name);
    if (len > UINT16_MAX) { /* a property name cannot be longer: refuse rather than write garbage */
        w->overflow = true;
        return;
    }
    put_u16(w, (uint16_t)len);
    put_bytes(w, name, len);
}

void amf0_put_prop_number(struct amf0_writer *w, const char *name, double v)
{
    amf0_put_key(w, name);
    amf0_put_number(w, v);
}

void amf0_put_prop_boolean(struct amf0_writer *w, const char *name, bool v)
{
    amf0_put_key(w, name);
    amf0_put_boolean(w, v);
}

void amf0_put_prop_string(struct amf0_writer *w, const char *name, const char *s)
{
    amf0_put_key(w, name);
    amf0_put_string(w, s);
}

/* ---- decoder ---- */

void amf0_reader_init(struct amf0_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double get_double(const uint8_t *p)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | p[i];
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static int read_value(const uint8_t *p, size_t len, size_t *used, struct amf0_value *v, int depth);

/* Validates a property list starting at p (name, value, ..., 00 00 09). On success *used covers the whole
 * list including the end marker, and *body_len the properties without it. */
static int skip_properties(const uint8_t *p, size_t len, size_t *used, size_t *body_len, int depth)
{
    if (depth > AMF0_MAX_DEPTH) return -ELOOP;
    size_t pos = 0;
    for (;;) {
        if (len - pos < 2) return -EBADMSG;
        uint16_t name_len = get_u16(p + pos);
        if (name_len == 0 && len - pos >= 3 && p[pos + 2] == AMF0_OBJECT_END) {
            *body_len = pos;
            *used = pos + 3;
            return 0;
        }
        if (len - pos - 2 < name_len) return -EBADMSG;
        pos += 2 + (size_t)name_len;
        struct amf0_value child;
        size_t n;
        int err = read_value(p + pos, len - pos, &n, &child, depth);
        if (err) return err == -ENODATA ? -EBADMSG : err;
        pos += n;
    }
}

static int skip_values(const uint8_t *p, size_t len, uint32_t count, size_t *used, int depth)
{
    if (depth > AMF0_MAX_DEPTH) return -ELOOP;
    if (count > len) return -EBADMSG; /* every value takes at least one byte */
    size_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct amf0_value child;
        size_t n;
        int err = read_value(p + pos, len - pos, &n, &child, depth);
        if (err) return err == -ENODATA ? -EBADMSG : err;
        pos += n;
    }
    *used = pos;
    return 0;
}

/* Decodes one value at p; depth is the nesting level of this value (0 = top). */
static int read_value(const uint8_t *p, size_t len, size_t *used, struct amf0_value *v, int depth)
{
    if (len == 0) return -ENODATA;
    memset(v, 0, sizeof *v);
    v->type = (enum amf0_type)p[0];
    size_t pos = 1, n = 0, body = 0;
    int err;
    switch (p[0]) {
    case AMF0_NUMBER:
        if (len < 9) return -EBADMSG;
        v->number = get_double(p + 1);
        pos = 9;
        break;
    case AMF0_BOOLEAN:
        if (len < 2) return -EBADMSG;
        v->boolean = p[1] != 0;
        pos = 2;
        break;
    case AMF0_STRING:
        if (len < 3 || len - 3 < get_u16(p + 1)) return -EBADMSG;
        v->str = p + 3;
        v->str_len = get_u16(p + 1);
        pos = 3 + v->str_len;
        break;
    case AMF0_LONG_STRING:
    case AMF0_XML_DOCUMENT:
        if (len < 5 || len - 5 < get_u32(p + 1)) return -EBADMSG;
        v->str = p + 5;
        v->str_len = get_u32(p + 1);
        pos = 5 + (size_t)v->str_len;
        break;
    case AMF0_NULL:
    case AMF0_UNDEFINED:
    case AMF0_UNSUPPORTED: break;
    case AMF0_REFERENCE:
        if (len < 3) return -EBADMSG;
        v->ref = get_u16(p + 1);
        pos = 3;
        break;
    case AMF0_DATE: /* ms since epoch as a double, then a 16-bit time zone that is reserved (0) */
        if (len < 11) return -EBADMSG;
        v->number = get_double(p + 1);
        pos = 11;
        break;
    case AMF0_TYPED_OBJECT:
        if (len < 3 || len - 3 < get_u16(p + 1)) return -EBADMSG;
        v->str = p + 3;
        v->str_len = get_u16(p + 1);
        pos = 3 + v->str_len;
        /* the class name is followed by a property list */
        __attribute__((fallthrough));
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
        if (p[0] == AMF0_ECMA_ARRAY) {
            if (len < 5) return -EBADMSG;
            v->count = get_u32(p + 1);
            pos = 5;
        }
        err = skip_properties(p + pos, len - pos, &n, &body, depth + 1);
        if (err) return err;
        v->body = p + pos;
        v->body_len = body;
        pos += n;
        break;
    case AMF0_STRICT_ARRAY:
        if (len < 5) return -EBADMSG;
        v->count = get_u32(p + 1);
        err = skip_values(p + 5, len - 5, v->count, &n, depth + 1);
        if (err) return err;
        v->body = p + 5;
        v->body_len = n;
        pos = 5 + n;
        break;
    case AMF0_OBJECT_END: return -EBADMSG; /* only valid as the end of a property list */
    default: return -ENOTSUP;              /* 0x04 movieclip, 0x0e recordset (reserved), 0x11 AVM+ (AMF3) */
    }
    *used = pos;
    return 0;
}

int amf0_read(struct amf0_reader *r, struct amf0_value *v)
{
    if (r->pos >= r->len) return -ENODATA;
    size_t used;
    int err = read_value(r->p + r->pos, r->len - r->pos, &used, v, 0);
    if (err) return err;
    r->pos += used;
    return 0;
}

int amf0_object_next(struct amf0_reader *r, const uint8_t **name, uint16_t *name_len, struct amf0_value *v)
{
    size_t left = r->len - r->pos;
    if (left == 0) return 0; /* a body never includes the end marker */
    const uint8_t *p = r->p + r->pos;
    if (left < 2) return -EBADMSG;
    uint16_t nlen = get_u16(p);
    if (nlen == 0 && left >= 3 && p[2] == AMF0_OBJECT_END) return 0; /* tolerate a body that kept it */
    if (left - 2 < nlen) return -EBADMSG;
    size_t used;
    int err = read_value(p + 2 + nlen, left - 2 - nlen, &used, v, 0);
    if (err) return err == -ENODATA ? -EBADMSG : err;
    *name = p + 2;
    *name_len = nlen;
    r->pos += 2 + (size_t)nlen + used;
    return 1;
}

int amf0_object_get(const struct amf0_value *obj, const char *name, struct amf0_value *out)
{
    if (obj->type != AMF0_OBJECT && obj->type != AMF0_ECMA_ARRAY && obj->type != AMF0_TYPED_OBJECT)
        return -EINVAL;
    size_t want = strlen(name);
    struct amf0_reader r;
    amf0_reader_init(&r, obj->body, obj->body_len);
    const uint8_t *key = NULL;
    uint16_t key_len = 0;
    int rc;
    while ((rc = amf0_object_next(&r, &key, &key_len, out)) == 1) {
        if (key_len == want && memcmp(key, name, want) == 0) return 0;
    }
    return rc == 0 ? -ENOENT : rc;
}

bool amf0_string_eq(const struct amf0_value *v, const char *s)
{
    if (v->type != AMF0_STRING && v->type != AMF0_LONG_STRING) return false;
    size_t n = strlen(s);
    return v->str_len == n && memcmp(v->str, s, n) == 0;
}

int amf0_string_copy(const struct amf0_value *v, char *out, size_t size)
{
    if (v->type != AMF0_STRING && v->type != AMF0_LONG_STRING) return -EINVAL;
    if (size == 0 || v->str_len >= size) return -ENOSPC;
    memcpy(out, v->str, v->str_len);
    out[v->str_len] = '\0';
    return 0;
}
