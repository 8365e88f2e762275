/*
 * libFuzzer target for relay/amf0's decoder: reads every top-level value, walks every container recursively
 * (objects, ECMA arrays, typed objects through amf0_object_next, strict arrays through amf0_read), looks a
 * name up, and re-encodes what it decoded into a small buffer to exercise the writer's bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "relay/amf0.h"

static volatile uint8_t sink; /* keeps the reads that check bounds from being optimised away */

static void walk(const struct amf0_value *v, struct amf0_writer *w, int depth)
{
    char text[64];
    if (depth > AMF0_MAX_DEPTH + 1) __builtin_trap(); /* the decoder promised to bound the nesting */
    switch (v->type) {
    case AMF0_NUMBER: amf0_put_number(w, v->number); break;
    case AMF0_BOOLEAN: amf0_put_boolean(w, v->boolean); break;
    case AMF0_STRING:
    case AMF0_LONG_STRING:
        if (v->str_len) sink ^= v->str[v->str_len - 1];
        if (amf0_string_copy(v, text, sizeof text) == 0) amf0_put_string(w, text);
        break;
    case AMF0_OBJECT:
    case AMF0_ECMA_ARRAY:
    case AMF0_TYPED_OBJECT: {
        struct amf0_reader r;
        struct amf0_value child;
        const uint8_t *name;
        uint16_t name_len;
        amf0_reader_init(&r, v->body, v->body_len);
        amf0_put_object_start(w);
        while (amf0_object_next(&r, &name, &name_len, &child) == 1) {
            if (name_len) sink ^= name[name_len - 1];
            amf0_put_key(w, "k");
            walk(&child, w, depth + 1);
        }
        amf0_put_object_end(w);
        amf0_object_get(v, "app", &child);
        break;
    }
    case AMF0_STRICT_ARRAY: {
        struct amf0_reader r;
        struct amf0_value child;
        amf0_reader_init(&r, v->body, v->body_len);
        amf0_put_strict_array_start(w, v->count);
        for (uint32_t i = 0; i < v->count; i++) {
            if (amf0_read(&r, &child) != 0) __builtin_trap(); /* validated when the array was read */
            walk(&child, w, depth + 1);
        }
        break;
    }
    default: amf0_put_null(w); break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct amf0_reader r;
    struct amf0_value v;
    uint8_t out[512];
    struct amf0_writer w;
    amf0_writer_init(&w, out, sizeof out);
    amf0_reader_init(&r, data, size);
    while (amf0_read(&r, &v) == 0) walk(&v, &w, 0);
    amf0_writer_finish(&w);
    return 0;
}
