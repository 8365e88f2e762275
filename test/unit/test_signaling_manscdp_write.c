/*
 * MANSCDP writer and builders: exact bytes of the queries the platform sends, GB2312 output with the GB18030
 * fallback, escaping of anything a caller passes (markup, control characters, invalid UTF-8), buffer limits
 * including growth during the charset conversion, and round trips of the device-side bodies (what the camera
 * simulator sends) through manscdp_parse() and the typed decoders.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/manscdp.h"
#include "testutil.h"

START_TEST(build_queries_exact_bytes)
{
    char buf[1024];
    size_t len = 0;
    ck_assert_int_eq(manscdp_build_query(buf, sizeof(buf), &len, MANSCDP_GB2312, "Catalog", 17,
                                         "34020000001320000001", NULL, 0),
                     0);
    const char *want =
        "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Query>\r\n<CmdType>Catalog</CmdType>\r\n"
        "<SN>17</SN>\r\n<DeviceID>34020000001320000001</DeviceID>\r\n</Query>\r\n";
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(len, strlen(want));

    const struct manscdp_field f[] = {{"StartTime", "2024-05-17T00:00:00"},
                                      {"EndTime", "2024-05-17T23:59:59"},
                                      {"Info/A", "1"},
                                      {"Info/B", "2"},
                                      {"Info/C/D", "3"},
                                      {"Type", "all"}};
    ck_assert_int_eq(manscdp_build_query(buf, sizeof(buf), &len, MANSCDP_UTF8, "RecordInfo", 3, "X", f, 6),
                     0);
    want = "<?xml version=\"1.0\" "
           "encoding=\"UTF-8\"?>\r\n<Query>\r\n<CmdType>RecordInfo</CmdType>\r\n<SN>3</SN>\r\n"
           "<DeviceID>X</DeviceID>\r\n<StartTime>2024-05-17T00:00:00</StartTime>\r\n"
           "<EndTime>2024-05-17T23:59:59</EndTime>\r\n<Info>\r\n<A>1</A>\r\n<B>2</B>\r\n<C>\r\n<D>3</D>\r\n"
           "</C>\r\n</Info>\r\n<Type>all</Type>\r\n</Query>\r\n";
    ck_assert_str_eq(buf, want);

    ck_assert_int_eq(manscdp_build_ptz(buf, sizeof(buf), &len, MANSCDP_GB2312, 9, "34020000001310000001",
                                       "A50F0100000000B5"),
                     0);
    want = "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Control>\r\n<CmdType>DeviceControl</CmdType>\r\n"
           "<SN>9</SN>\r\n<DeviceID>34020000001310000001</DeviceID>\r\n<PTZCmd>A50F0100000000B5</PTZCmd>\r\n"
           "<Info>\r\n<ControlPriority>5</ControlPriority>\r\n</Info>\r\n</Control>\r\n";
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(manscdp_build_ptz(buf, sizeof(buf), &len, MANSCDP_GB2312, 9, "x", "A50F01000000B5"),
                     EINVAL);
    ck_assert_int_eq(manscdp_build_ptz(buf, sizeof(buf), &len, MANSCDP_GB2312, 9, "x", "A50F0100000000BZ"),
                     EINVAL);
    const struct manscdp_field badf[] = {{"Info//X", "1"}};
    ck_assert_int_eq(manscdp_build_query(buf, sizeof(buf), &len, MANSCDP_UTF8, "Q", 1, "X", badf, 1), EINVAL);
    const struct manscdp_field badn[] = {{"a b", "1"}};
    ck_assert_int_eq(manscdp_build_query(buf, sizeof(buf), &len, MANSCDP_UTF8, "Q", 1, "X", badn, 1), EINVAL);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(gb2312_output_and_gb18030_fallback)
{
    struct manscdp_catalog_item it;
    memset(&it, 0, sizeof(it));
    it.parental = it.safety_way = it.register_way = it.secrecy = it.port = it.ptz_type = -1;
    strcpy(it.device_id, "34020000001310000001");
    strcpy(it.name, "浙江省😀©"); /* GB2312, then outside GB2312 */
    strcpy(it.address, "A&B <\"'>\x01\xFFz");
    char buf[2048];
    size_t len;
    ck_assert_int_eq(
        manscdp_build_catalog_response(buf, sizeof(buf), &len, MANSCDP_GB2312, 5, "P", 1, &it, 1), 0);
    static const char name_gb[] = "<Name>\xD5\xE3\xBD\xAD\xCA\xA1\x94\x39\xFC\x36\x81\x30\x84\x38</Name>";
    ck_assert_ptr_nonnull(memmem(buf, len, name_gb, sizeof(name_gb) - 1));
    ck_assert_ptr_nonnull(strstr(buf, "<Address>A&amp;B &lt;&quot;&apos;&gt;?z</Address>"));
    ck_assert_ptr_nonnull(strstr(buf, "encoding=\"GB2312\""));
    ck_assert_ptr_null(strstr(buf, "Parental")); /* -1 fields are left out */
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    ck_assert_int_eq(manscdp_charset(m), MANSCDP_GB2312);
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    struct manscdp_catalog_item back;
    manscdp_decode_catalog_item(cat.first_item, &back);
    ck_assert_str_eq(back.name, "浙江省😀©");
    ck_assert_str_eq(back.address, "A&B <\"'>?z");
    manscdp_free(m);

    ck_assert_int_eq(manscdp_build_catalog_response(buf, sizeof(buf), &len, MANSCDP_UTF8, 5, "P", 1, &it, 1),
                     0);
    ck_assert_ptr_nonnull(strstr(buf, "<Name>浙江省😀©</Name>"));
    ck_assert_ptr_nonnull(strstr(buf, "encoding=\"UTF-8\""));
}
END_TEST

START_TEST(output_buffer_limits)
{
    char buf[4096];
    size_t len = 99;
    /* too small for the declaration already */
    ck_assert_int_eq(manscdp_build_keepalive(buf, 20, &len, MANSCDP_GB2312, 1, "D", true), ENOSPC);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(manscdp_build_keepalive(buf, 0, &len, MANSCDP_GB2312, 1, "D", true), ENOSPC);
    /* fits exactly (with the NUL), one byte less does not */
    ck_assert_int_eq(manscdp_build_keepalive(buf, sizeof(buf), &len, MANSCDP_GB2312, 1, "D", true), 0);
    size_t need = len + 1;
    ck_assert_int_eq(manscdp_build_keepalive(buf, need, &len, MANSCDP_GB2312, 1, "D", true), 0);
    ck_assert_int_eq(manscdp_build_keepalive(buf, need - 1, &len, MANSCDP_GB2312, 1, "D", true), ENOSPC);
    /* UTF-8 fits but the GB18030 form is longer (© is 2 bytes in UTF-8, 4 in GB18030) */
    struct manscdp_device_info di = {.channel = 1};
    strcpy(di.device_name, "©©©©");
    ck_assert_int_eq(manscdp_build_device_info_response(buf, sizeof(buf), &len, MANSCDP_UTF8, 1, "D", &di),
                     0);
    size_t utf8_len = len;
    /* GB2312 body: declaration 1 byte longer, each of the 4 (c) 2 bytes longer; +1 for the NUL */
    ck_assert_int_eq(manscdp_build_device_info_response(buf, utf8_len + 9, &len, MANSCDP_GB2312, 1, "D", &di),
                     ENOSPC);
    ck_assert_int_eq(
        manscdp_build_device_info_response(buf, utf8_len + 10, &len, MANSCDP_GB2312, 1, "D", &di), 0);
    ck_assert_uint_eq(len, utf8_len + 9);
}
END_TEST

START_TEST(writer_depth_and_misuse)
{
    char buf[4096];
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, sizeof(buf), MANSCDP_UTF8, MANSCDP_NOTIFY, "X", 1, "D");
    for (int i = 0; i < MANSCDP_MAX_DEPTH - 1; i++) manscdp_writer_open(&w, "a");
    ck_assert_int_eq(w.err, 0);
    manscdp_writer_open(&w, "a"); /* root + 16 = too deep */
    size_t len;
    ck_assert_int_eq(manscdp_writer_finish(&w, &len), EINVAL);

    manscdp_writer_init(&w, buf, sizeof(buf), MANSCDP_UTF8, MANSCDP_NOTIFY, "X", 1, "D");
    manscdp_writer_open_attr(&w, "L", "Num", "2\"");
    manscdp_writer_text(&w, "Skip", NULL);
    manscdp_writer_int(&w, "N", -5);
    ck_assert_int_eq(manscdp_writer_finish(&w, &len), 0); /* closes L and the root */
    ck_assert_ptr_nonnull(strstr(buf, "<L Num=\"2&quot;\">\r\n<N>-5</N>\r\n</L>\r\n</Notify>\r\n"));
    ck_assert_ptr_null(strstr(buf, "Skip"));
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    ck_assert_str_eq(manscdp_node_attr(manscdp_first(m, "L"), "num"), "2\"");
    manscdp_free(m);

    manscdp_writer_init(&w, buf, sizeof(buf), MANSCDP_UTF8, (enum manscdp_root)7, "X", 1, "D");
    ck_assert_int_eq(manscdp_writer_finish(&w, &len), EINVAL);
    manscdp_writer_init(&w, buf, sizeof(buf), MANSCDP_UTF8, MANSCDP_QUERY, "X", 1, "D");
    manscdp_writer_close(&w);
    manscdp_writer_close(&w); /* one more than opened */
    ck_assert_int_eq(manscdp_writer_finish(&w, &len), EINVAL);
}
END_TEST

START_TEST(device_side_builders_round_trip)
{
    static char buf[MANSCDP_MAX_BODY];
    size_t len;
    struct manscdp_msg *m;
    ck_assert_int_eq(
        manscdp_build_keepalive(buf, sizeof(buf), &len, MANSCDP_GB2312, 77, "34020000001320000001", false),
        0);
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    struct manscdp_keepalive ka;
    ck_assert_int_eq(manscdp_decode_keepalive(m, &ka), 0);
    ck_assert(!ka.status_ok);
    ck_assert_str_eq(ka.status, "ERROR");
    manscdp_free(m);

    /* 100 channels in one message stays well inside the 64 KiB body limit */
    static struct manscdp_catalog_item items[100];
    for (int i = 0; i < 100; i++) {
        struct manscdp_catalog_item *it = &items[i];
        memset(it, 0, sizeof(*it));
        snprintf(it->device_id, sizeof(it->device_id), "340200000013100%05d", i);
        snprintf(it->name, sizeof(it->name), "西湖摄像机%d", i);
        strcpy(it->manufacturer, "gbgate");
        strcpy(it->status, i % 2 ? "OFF" : "ON");
        it->parental = 0, it->safety_way = -1, it->register_way = 1, it->secrecy = 0, it->port = -1;
        it->ptz_type = i % 4;
        it->has_position = i == 5;
        it->longitude = 120.123456, it->latitude = 30.5;
    }
    ck_assert_int_eq(manscdp_build_catalog_response(buf, sizeof(buf), &len, MANSCDP_GB2312, 8,
                                                    "34020000001320000001", 250, items, 100),
                     0);
    ck_assert_uint_lt(len, MANSCDP_MAX_BODY);
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    ck_assert_int_eq(cat.sum_num, 250);
    ck_assert_int_eq(cat.list_num, 100);
    ck_assert_uint_eq(cat.item_count, 100);
    int i = 0;
    for (const struct manscdp_node *n = cat.first_item; n; n = manscdp_next(n), i++) {
        struct manscdp_catalog_item back;
        manscdp_decode_catalog_item(n, &back);
        ck_assert_str_eq(back.device_id, items[i].device_id);
        ck_assert_str_eq(back.name, items[i].name);
        ck_assert_int_eq(back.online, i % 2 == 0);
        ck_assert_int_eq(back.ptz_type, i % 4);
        ck_assert_int_eq(back.register_way, 1);
        ck_assert_int_eq(back.safety_way, -1);
        ck_assert_int_eq(back.has_position, i == 5);
        if (i == 5) ck_assert(back.longitude == 120.123456 && back.latitude == 30.5);
    }
    ck_assert_int_eq(i, 100);
    manscdp_free(m);

    struct manscdp_device_status st = {.online = true};
    strcpy(st.record, "ON");
    strcpy(st.device_time, "2026-11-24T09:30:15");
    ck_assert_int_eq(manscdp_build_device_status_response(buf, sizeof(buf), &len, MANSCDP_UTF8, 3, "D", &st),
                     0);
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    struct manscdp_device_status sb;
    ck_assert_int_eq(manscdp_decode_device_status(m, &sb), 0);
    ck_assert(sb.online);
    ck_assert_str_eq(sb.result, "OK");
    ck_assert_str_eq(sb.record, "ON");
    ck_assert_str_eq(sb.encode, "");
    ck_assert_str_eq(sb.device_time, "2026-11-24T09:30:15");
    manscdp_free(m);

    ck_assert_int_eq(
        manscdp_build_media_status(buf, sizeof(buf), &len, MANSCDP_GB2312, 4, "D", MANSCDP_NOTIFY_MEDIA_END),
        0);
    ck_assert_int_eq(manscdp_parse((uint8_t *)buf, len, &m), 0);
    struct manscdp_media_status ms;
    ck_assert_int_eq(manscdp_decode_media_status(m, &ms), 0);
    ck_assert_int_eq(ms.notify_type, 121);
    manscdp_free(m);
}
END_TEST

START_TEST(invalid_utf8_is_replaced_not_passed_on)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xC0\x80z", "a??z"},                   /* overlong NUL */
        {"a\xED\xA0\x80z", "a???z"},              /* UTF-16 surrogate */
        {"a\xF4\x90\x80\x80z", "a????z"},         /* above U+10FFFF */
        {"a\xE6\xB5z", "a??z"},                   /* truncated sequence */
        {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"}, /* a valid 4-byte one stays */
        {"tab\there\nnl\r", "tab\there\nnl&#13;"},
    };
    char buf[512];
    size_t len;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct manscdp_field f = {"Name", cases[i].in};
        ck_assert_int_eq(
            manscdp_build(buf, sizeof(buf), &len, MANSCDP_UTF8, MANSCDP_NOTIFY, "X", 1, "D", &f, 1), 0);
        char want[64];
        snprintf(want, sizeof(want), "<Name>%s</Name>", cases[i].out);
        ck_assert_msg(strstr(buf, want) != NULL, "case %zu: %s", i, buf);
    }
}
END_TEST

static Suite *write_suite(void)
{
    Suite *s = suite_create("signaling_manscdp_write");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, build_queries_exact_bytes);
    tcase_add_test(tc, gb2312_output_and_gb18030_fallback);
    tcase_add_test(tc, output_buffer_limits);
    tcase_add_test(tc, writer_depth_and_misuse);
    tcase_add_test(tc, device_side_builders_round_trip);
    tcase_add_test(tc, invalid_utf8_is_replaced_not_passed_on);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(write_suite());
}
