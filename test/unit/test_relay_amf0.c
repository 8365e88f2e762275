/* AMF0 encoder (exact bytes, overflow) and decoder (real RTMP command, every truncation, depth, markers). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "relay/amf0.h"
#include "testutil.h"

/* An RTMP "connect" command as OBS sends it (trimmed): "connect", 1, {app, type, tcUrl, fpad, audioCodecs}.
 */
static const uint8_t connect_cmd[] = {
    0x02, 0x00, 0x07, 'c',  'o',  'n',  'n',  'e',  'c',  't',                           /* "connect" */
    0x00, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,                                /* 1.0 */
    0x03,                                                                                /* object */
    0x00, 0x03, 'a',  'p',  'p',  0x02, 0x00, 0x04, 'l',  'i',  'v', 'e',                /* app: "live" */
    0x00, 0x04, 't',  'y',  'p',  'e',  0x02, 0x00, 0x0a, 'n',  'o', 'n', 'p', 'r', 'i', /* type: "nonprivate"
                                                                                          */
    'v',  'a',  't',  'e',                                                               /* (cont.) */
    0x00, 0x05, 't',  'c',  'U',  'r',  'l',  0x02, 0x00, 0x10, 'r', 't', 'm', 'p', ':', '/',
    '/',  'h',  'o',  's',  't',  '/',  'l',  'i',  'v',  'e',                 /* tcUrl */
    0x00, 0x04, 'f',  'p',  'a',  'd',  0x01, 0x00,                            /* fpad: false */
    0x00, 0x0b, 'a',  'u',  'd',  'i',  'o',  'C',  'o',  'd',  'e', 'c', 's', /* audioCodecs: 3575 */
    0x00, 0x40, 0xab, 0xee, 0x00, 0x00, 0x00, 0x00, 0x00,                      /* (cont.) */
    0x00, 0x00, 0x09,                                                          /* object end */
};

START_TEST(test_encode_scalars_exact)
{
    uint8_t buf[64];
    struct amf0_writer w;
    amf0_writer_init(&w, buf, sizeof buf);
    amf0_put_number(&w, 1.0);
    amf0_put_boolean(&w, true);
    amf0_put_string(&w, "ab");
    amf0_put_null(&w);
    amf0_put_undefined(&w);
    static const uint8_t want[] = {0x00, 0x3f, 0xf0, 0,    0,    0,   0,   0,    0,
                                   0x01, 0x01, 0x02, 0x00, 0x02, 'a', 'b', 0x05, 0x06};
    ck_assert_int_eq(amf0_writer_finish(&w), sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
}
END_TEST

START_TEST(test_encode_containers_exact)
{
    uint8_t buf[128];
    struct amf0_writer w;
    amf0_writer_init(&w, buf, sizeof buf);
    amf0_put_object_start(&w);
    amf0_put_prop_boolean(&w, "x", false);
    amf0_put_object_end(&w);
    amf0_put_ecma_array_start(&w, 1);
    amf0_put_prop_number(&w, "n", -2.0);
    amf0_put_object_end(&w);
    amf0_put_strict_array_start(&w, 2);
    amf0_put_null(&w);
    amf0_put_string(&w, "");
    static const uint8_t want[] = {
        0x03, 0x00, 0x01, 'x', 0x01, 0x00, 0x00, 0x00, 0x09, /* object */
        0x08, 0,    0,    0,   1,    0x00, 0x01, 'n',  0x00, 0xc0,
        0,    0,    0,    0,   0,    0,    0,    0x00, 0x00, 0x09, /* ECMA */
        0x0a, 0,    0,    0,   2,    0x05, 0x02, 0x00, 0x00,       /* strict */
    };
    ck_assert_int_eq(amf0_writer_finish(&w), sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
}
END_TEST

START_TEST(test_encode_long_string)
{
    static uint8_t buf[70010];
    static char s[70000];
    memset(s, 'q', sizeof s);
    struct amf0_writer w;
    amf0_writer_init(&w, buf, sizeof buf);
    amf0_put_string_len(&w, s, sizeof s);
    ck_assert_int_eq(amf0_writer_finish(&w), 5 + 70000);
    static const uint8_t want[] = {0x0c, 0x00, 0x01, 0x11, 0x70}; /* 70000 = 0x11170 */
    ck_assert_mem_eq(buf, want, sizeof want);
    struct amf0_reader r;
    struct amf0_value v;
    amf0_reader_init(&r, buf, 5 + 70000);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_LONG_STRING);
    ck_assert_uint_eq(v.str_len, 70000);
}
END_TEST

START_TEST(test_encode_overflow_stays_in_bounds)
{
    uint8_t buf[16];
    memset(buf, 0xee, sizeof buf);
    struct amf0_writer w;
    amf0_writer_init(&w, buf, 10); /* room for one number, not for the string */
    amf0_put_number(&w, 3.0);
    ck_assert_int_eq(amf0_writer_finish(&w), 9);
    amf0_put_string(&w, "hello");
    amf0_put_null(&w); /* would fit alone, but the writer is already in overflow */
    ck_assert_int_eq(amf0_writer_finish(&w), -ENOSPC);
    for (size_t i = 10; i < sizeof buf; i++) ck_assert_uint_eq(buf[i], 0xee); /* nothing past cap */
}
END_TEST

START_TEST(test_decode_connect)
{
    struct amf0_reader r;
    struct amf0_value v, prop;
    amf0_reader_init(&r, connect_cmd, sizeof connect_cmd);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert(amf0_string_eq(&v, "connect"));
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_NUMBER);
    ck_assert(v.number == 1.0);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_OBJECT);
    ck_assert(amf0_reader_done(&r));
    ck_assert_int_eq(amf0_read(&r, &prop), -ENODATA);

    ck_assert_int_eq(amf0_object_get(&v, "tcUrl", &prop), 0);
    char url[32];
    ck_assert_int_eq(amf0_string_copy(&prop, url, sizeof url), 0);
    ck_assert_str_eq(url, "rtmp://host/live");
    ck_assert_int_eq(amf0_string_copy(&prop, url, 16), -ENOSPC); /* 16 chars need 17 bytes */
    ck_assert_int_eq(amf0_object_get(&v, "audioCodecs", &prop), 0);
    ck_assert(prop.number == 3575.0);
    ck_assert_int_eq(amf0_object_get(&v, "fpad", &prop), 0);
    ck_assert_int_eq(prop.type, AMF0_BOOLEAN);
    ck_assert(!prop.boolean);
    ck_assert_int_eq(amf0_object_get(&v, "flashVer", &prop), -ENOENT);

    /* walking: five properties in order */
    struct amf0_reader obj;
    amf0_reader_init(&obj, v.body, v.body_len);
    const uint8_t *name;
    uint16_t name_len;
    int n = 0;
    while (amf0_object_next(&obj, &name, &name_len, &prop) == 1) n++;
    ck_assert_int_eq(n, 5);
}
END_TEST

/* Cutting the command anywhere inside a value fails that value without moving the cursor. */
START_TEST(test_decode_every_truncation)
{
    static const size_t boundaries[] = {0, 10, 19, sizeof connect_cmd};
    for (size_t cut = 0; cut <= sizeof connect_cmd; cut++) {
        struct amf0_reader r;
        struct amf0_value v;
        amf0_reader_init(&r, connect_cmd, cut);
        int values = 0, err;
        while ((err = amf0_read(&r, &v)) == 0) values++;
        bool at_boundary = false;
        for (size_t i = 0; i < 4; i++) at_boundary |= cut == boundaries[i];
        ck_assert_int_eq(err, at_boundary ? -ENODATA : -EBADMSG);
        ck_assert_uint_eq(r.pos, boundaries[values]);
    }
}
END_TEST

static size_t nested_objects(uint8_t *buf, int depth)
{
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        buf[n++] = AMF0_OBJECT;
        if (i + 1 < depth) buf[n++] = 0, buf[n++] = 1, buf[n++] = 'k';
    }
    for (int i = 0; i < depth; i++) buf[n++] = 0, buf[n++] = 0, buf[n++] = AMF0_OBJECT_END;
    return n;
}

START_TEST(test_decode_depth_limit)
{
    uint8_t buf[512];
    struct amf0_reader r;
    struct amf0_value v;
    size_t n = nested_objects(buf, AMF0_MAX_DEPTH);
    amf0_reader_init(&r, buf, n);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_uint_eq(r.pos, n);
    n = nested_objects(buf, AMF0_MAX_DEPTH + 1);
    amf0_reader_init(&r, buf, n);
    ck_assert_int_eq(amf0_read(&r, &v), -ELOOP);
    ck_assert_uint_eq(r.pos, 0);
}
END_TEST

START_TEST(test_decode_markers)
{
    struct amf0_reader r;
    struct amf0_value v;
    static const uint8_t end_alone[] = {0x09};
    static const uint8_t amf3[] = {0x11, 0x04, 0x01};
    static const uint8_t movieclip[] = {0x04};
    static const uint8_t strict_too_many[] = {0x0a, 0x00, 0x10, 0x00, 0x00, 0x05, 0x05};
    static const uint8_t ecma_unclosed[] = {0x08, 0, 0, 0, 1, 0x00, 0x01, 'a', 0x05};
    amf0_reader_init(&r, end_alone, sizeof end_alone);
    ck_assert_int_eq(amf0_read(&r, &v), -EBADMSG);
    amf0_reader_init(&r, amf3, sizeof amf3);
    ck_assert_int_eq(amf0_read(&r, &v), -ENOTSUP);
    amf0_reader_init(&r, movieclip, sizeof movieclip);
    ck_assert_int_eq(amf0_read(&r, &v), -ENOTSUP);
    amf0_reader_init(&r, strict_too_many, sizeof strict_too_many);
    ck_assert_int_eq(amf0_read(&r, &v), -EBADMSG);
    amf0_reader_init(&r, ecma_unclosed, sizeof ecma_unclosed);
    ck_assert_int_eq(amf0_read(&r, &v), -EBADMSG);
    amf0_reader_init(&r, NULL, 0);
    ck_assert_int_eq(amf0_read(&r, &v), -ENODATA);
}
END_TEST

START_TEST(test_decode_other_types)
{
    static const uint8_t in[] = {
        0x0b, 0x42, 0x77, 0x48, 0x76, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00,       /* date 1.6e12 ms, tz 0 */
        0x07, 0x00, 0x03,                                                       /* reference 3 */
        0x10, 0x00, 0x02, 'C',  'l',  0x00, 0x01, 'z',  0x05, 0x00, 0x00, 0x09, /* typed object Cl {z: null}
                                                                                 */
        0x0f, 0x00, 0x00, 0x00, 0x03, '<',  'a',  '>',                          /* XML */
        0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 'a',  0x06, 0x00, 0x01, 'b',  0x0d, 0x00, 0x00, 0x09,
        /* ECMA array saying 0 entries but holding 2 (the count is advisory) */
    };
    struct amf0_reader r;
    struct amf0_value v, p;
    amf0_reader_init(&r, in, sizeof in);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_DATE);
    ck_assert(v.number == 1600000000000.0);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_REFERENCE);
    ck_assert_uint_eq(v.ref, 3);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_TYPED_OBJECT);
    ck_assert_uint_eq(v.str_len, 2);
    ck_assert_int_eq(amf0_object_get(&v, "z", &p), 0);
    ck_assert_int_eq(p.type, AMF0_NULL);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_XML_DOCUMENT);
    ck_assert_uint_eq(v.str_len, 3);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_int_eq(v.type, AMF0_ECMA_ARRAY);
    ck_assert_uint_eq(v.count, 0);
    ck_assert_int_eq(amf0_object_get(&v, "b", &p), 0);
    ck_assert_int_eq(p.type, AMF0_UNSUPPORTED);
    ck_assert(amf0_reader_done(&r));
}
END_TEST

/* Encoder output decodes back to the same values. */
START_TEST(test_roundtrip)
{
    uint8_t buf[256];
    struct amf0_writer w;
    amf0_writer_init(&w, buf, sizeof buf);
    amf0_put_string(&w, "onMetaData");
    amf0_put_ecma_array_start(&w, 3);
    amf0_put_prop_number(&w, "width", 1920);
    amf0_put_prop_string(&w, "encoder", "gbgate");
    amf0_put_key(&w, "inner");
    amf0_put_strict_array_start(&w, 1);
    amf0_put_boolean(&w, true);
    amf0_put_object_end(&w);
    int len = amf0_writer_finish(&w);
    ck_assert_int_gt(len, 0);

    struct amf0_reader r;
    struct amf0_value v, p, e;
    amf0_reader_init(&r, buf, (size_t)len);
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert(amf0_string_eq(&v, "onMetaData"));
    ck_assert(!amf0_string_eq(&v, "onMetaDat"));
    ck_assert_int_eq(amf0_read(&r, &v), 0);
    ck_assert_uint_eq(v.count, 3);
    ck_assert_int_eq(amf0_object_get(&v, "width", &p), 0);
    ck_assert(p.number == 1920.0);
    ck_assert_int_eq(amf0_object_get(&v, "encoder", &p), 0);
    ck_assert(amf0_string_eq(&p, "gbgate"));
    ck_assert_int_eq(amf0_object_get(&v, "inner", &p), 0);
    ck_assert_int_eq(p.type, AMF0_STRICT_ARRAY);
    struct amf0_reader arr;
    amf0_reader_init(&arr, p.body, p.body_len);
    ck_assert_int_eq(amf0_read(&arr, &e), 0);
    ck_assert(e.type == AMF0_BOOLEAN && e.boolean);
    ck_assert(amf0_reader_done(&arr));
    ck_assert(amf0_reader_done(&r));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_amf0");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_encode_scalars_exact);
    tcase_add_test(tc, test_encode_containers_exact);
    tcase_add_test(tc, test_encode_long_string);
    tcase_add_test(tc, test_encode_overflow_stays_in_bounds);
    tcase_add_test(tc, test_decode_connect);
    tcase_add_test(tc, test_decode_every_truncation);
    tcase_add_test(tc, test_decode_depth_limit);
    tcase_add_test(tc, test_decode_markers);
    tcase_add_test(tc, test_decode_other_types);
    tcase_add_test(tc, test_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
