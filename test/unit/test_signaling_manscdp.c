/*
 * MANSCDP codec on synthetic bodies: charset quirks devices really produce, malformed and hostile input
 * (truncation, wrong root, size limit, entity bombs, XXE, invalid bytes, deep nesting, node floods), and the
 * writer/builders (exact bytes, GB2312/GB18030 output, escaping, buffer limits, round trips through the
 * typed decoders). The real captures are covered by test_signaling_manscdp_samples.c.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signaling/manscdp.h"
#include "testutil.h"

static int parse_str(const char *s, struct manscdp_msg **m)
{
    return manscdp_parse((const uint8_t *)s, strlen(s), m);
}

#define KEEPALIVE_BODY                                                                                       \
    "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n<Notify>\r\n<CmdType>Keepalive</CmdType>\r\n"            \
    "<SN>43</SN>\r\n<DeviceID>34020000001320000001</DeviceID>\r\n<Status>OK</Status>\r\n</Notify>\r\n"

/* ---------------------------------------------------------------- charset and framing quirks */

START_TEST(utf8_bytes_under_gb2312_declaration)
{
    const char *body =
        "<?xml version=\"1.0\" encoding=\"GB2312\"?><Response><CmdType>Catalog</CmdType><SN>1</SN>"
        "<DeviceID>34020000001320000001</DeviceID><DeviceList Num=\"1\"><Item><Name>杭州西湖</Name>"
        "</Item></DeviceList></Response>";
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    ck_assert_str_eq(manscdp_get(m, "DeviceList/Item/Name"), "杭州西湖");
    ck_assert_int_eq(manscdp_charset(m), MANSCDP_UTF8);
    manscdp_free(m);
}
END_TEST

START_TEST(gb_bytes_under_utf8_declaration_and_gbk_only_characters)
{
    /* 浙江 in GB2312 (D5E3 BDAD), then 镕 (U+9555) which is GBK only (E946), declared UTF-8 */
    const char *body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Notify><CmdType>Alarm</CmdType><SN>2</SN>"
                       "<DeviceID>1</DeviceID><AlarmDescription>\xD5\xE3\xBD\xAD\xE9\x46</AlarmDescription>"
                       "</Notify>";
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    ck_assert_str_eq(manscdp_get(m, "AlarmDescription"), "浙江镕");
    ck_assert_int_eq(manscdp_charset(m), MANSCDP_GB2312);
    struct manscdp_alarm al;
    ck_assert_int_eq(manscdp_decode_alarm(m, &al), 0);
    ck_assert_str_eq(al.alarm_description, "浙江镕");
    ck_assert_int_eq(al.alarm_priority, -1);
    ck_assert(!al.has_position);
    manscdp_free(m);
    /* the same GBK bytes under a GB2312 declaration and with no declaration at all */
    const char *variants[] = {"<?xml version=\"1.0\" encoding=\"gb2312\"?>", "<?xml version=\"1.0\"?>", ""};
    for (int i = 0; i < 3; i++) {
        char buf[512];
        snprintf(buf, sizeof(buf),
                 "%s<Notify><CmdType>Alarm</CmdType><SN>2</SN><DeviceID>1</DeviceID>"
                 "<AlarmDescription>\xD5\xE3\xBD\xAD\xE9\x46</AlarmDescription></Notify>",
                 variants[i]);
        ck_assert_int_eq(parse_str(buf, &m), 0);
        ck_assert_str_eq(manscdp_get(m, "AlarmDescription"), "浙江镕");
        manscdp_free(m);
    }
}
END_TEST

START_TEST(bom_blank_lines_trailing_nuls_and_garbage)
{
    static const uint8_t bom_body[] =
        "\xEF\xBB\xBF\r\n  \r\n<?xml version=\"1.0\"?>\n<Notify><CmdType>Keepalive"
        "</CmdType><SN>7</SN><DeviceID>X</DeviceID></Notify>";
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse(bom_body, sizeof(bom_body) - 1, &m), 0);
    ck_assert_str_eq(manscdp_cmdtype(m), "Keepalive");
    manscdp_free(m);

    uint8_t padded[1024];
    size_t n = strlen(KEEPALIVE_BODY);
    memcpy(padded, KEEPALIVE_BODY, n);
    memset(padded + n, 0, 40); /* UDP padding */
    memcpy(padded + n + 40, "junk</x>garbage>", 16);
    ck_assert_int_eq(manscdp_parse(padded, n + 56, &m), 0);
    uint32_t sn;
    ck_assert(manscdp_sn(m, &sn));
    ck_assert_uint_eq(sn, 43);
    manscdp_free(m);

    /* no declaration, lowercase names, whitespace around text, CDATA, entities */
    const char *loose =
        "<Response>\n <cmdtype> DeviceInfo </cmdtype>\n<sn>\t9\t</sn><deviceid>D</deviceid>"
        "<DeviceName><![CDATA[A<B]]> &amp; &#x6D59;</DeviceName><Channel> 4 </Channel></Response>";
    ck_assert_int_eq(parse_str(loose, &m), 0);
    ck_assert(manscdp_is(m, MANSCDP_RESPONSE, "DEVICEINFO"));
    struct manscdp_device_info di;
    ck_assert_int_eq(manscdp_decode_device_info(m, &di), 0);
    ck_assert_str_eq(di.device_name, "A<B & 浙");
    ck_assert_int_eq(di.channel, 4);
    ck_assert_str_eq(manscdp_device_id(m), "D");
    ck_assert_str_eq(manscdp_node_name(manscdp_first(m, "CMDTYPE")), "cmdtype");
    manscdp_free(m);
}
END_TEST

START_TEST(generic_access_and_repeated_items)
{
    const char *body = "<Response><CmdType>Catalog</CmdType><SN>4294967295</SN><DeviceID>P</DeviceID>"
                       "<SumNum>3</SumNum><DeviceList Num=\"3\"><Item><DeviceID>a</DeviceID></Item>"
                       "<Other/><Item><DeviceID>b</DeviceID><Info><PTZType>1</PTZType></Info></Item>"
                       "<Item><DeviceID>c</DeviceID><Longitude>120.5</Longitude><Latitude>x</Latitude></Item>"
                       "</DeviceList></Response>";
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    uint32_t sn;
    ck_assert(manscdp_sn(m, &sn));
    ck_assert_uint_eq(sn, 4294967295u);
    ck_assert_uint_eq(manscdp_count(m, "DeviceList/Item"), 3);
    ck_assert_uint_eq(manscdp_count(m, "DeviceList/Nothing"), 0);
    ck_assert_str_eq(manscdp_get(m, "DeviceList/Item/Info/PTZType"), "1"); /* backtracks into the 2nd Item */
    ck_assert_ptr_null(manscdp_get(m, "DeviceList/Item/Name"));
    const char *ids[3];
    struct manscdp_catalog_item items[3];
    size_t k = 0;
    for (const struct manscdp_node *it = manscdp_first(m, "DeviceList/Item"); it;
         it = manscdp_next(it), k++) {
        ck_assert_uint_lt(k, 3);
        ids[k] = manscdp_node_get(it, "DeviceID");
        manscdp_decode_catalog_item(it, &items[k]);
    }
    ck_assert_uint_eq(k, 3);
    ck_assert_str_eq(ids[0], "a");
    ck_assert_str_eq(ids[2], "c");
    ck_assert_int_eq(items[0].ptz_type, -1);
    ck_assert_int_eq(items[1].ptz_type, 1);
    ck_assert(!items[2].has_position); /* Latitude not numeric */
    ck_assert_ptr_null(manscdp_node_attr(manscdp_root_node(m), "Num"));
    long long v;
    ck_assert(!manscdp_node_get_int(manscdp_root_node(m), "DeviceID", &v));
    ck_assert(manscdp_node_get_int(manscdp_root_node(m), "SumNum", &v));
    ck_assert_int_eq(v, 3);
    manscdp_free(m);

    /* an SN that is not a uint32 is reported as absent, the body still parses */
    ck_assert_int_eq(parse_str("<Query><CmdType>Catalog</CmdType><SN>4294967296</SN></Query>", &m), 0);
    ck_assert(!manscdp_sn(m, &sn));
    ck_assert_str_eq(manscdp_device_id(m), "");
    manscdp_free(m);
}
END_TEST

START_TEST(long_text_is_cut_on_a_character_boundary)
{
    char body[2048];
    char name[700] = "";
    for (int i = 0; i < 200; i++) strcat(name, "浙"); /* 600 bytes */
    snprintf(body, sizeof(body),
             "<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>1</DeviceID>"
             "<DeviceList Num=\"1\"><Item><Name>%s</Name></Item></DeviceList></Response>",
             name);
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    struct manscdp_catalog_item it;
    manscdp_decode_catalog_item(cat.first_item, &it);
    ck_assert_uint_eq(strlen(it.name), (MANSCDP_TEXT_SIZE - 1) / 3 * 3); /* whole characters only */
    ck_assert_int_eq(memcmp(it.name, name, strlen(it.name)), 0);
    ck_assert_int_eq(cat.sum_num, -1);
    manscdp_free(m);
}
END_TEST

/* ---------------------------------------------------------------- malformed and hostile input */

START_TEST(truncated_bodies_fail)
{
    const char *body = KEEPALIVE_BODY;
    size_t full = strlen(body);
    size_t end_of_root = (size_t)(strstr(body, "</Notify>") - body) + strlen("</Notify>");
    for (size_t n = 0; n < full; n++) {
        struct manscdp_msg *m = (struct manscdp_msg *)1;
        int err = manscdp_parse((const uint8_t *)body, n, &m);
        if (n < end_of_root) {
            ck_assert_msg(err == EBADMSG, "prefix %zu: %d", n, err);
            ck_assert_ptr_null(m);
        } else {
            ck_assert_int_eq(err, 0);
            manscdp_free(m);
        }
    }
}
END_TEST

START_TEST(not_manscdp)
{
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str("<Request><CmdType>Catalog</CmdType></Request>", &m), EPROTO);
    ck_assert_int_eq(parse_str("<Query><SN>1</SN><DeviceID>2</DeviceID></Query>", &m), EPROTO);
    ck_assert_int_eq(parse_str("<Query><CmdType>  </CmdType></Query>", &m), EPROTO);
    ck_assert_int_eq(parse_str("<Query><Info><CmdType>Catalog</CmdType></Info></Query>", &m), EPROTO);
    ck_assert_int_eq(parse_str("v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\n", &m), EBADMSG);
    ck_assert_int_eq(parse_str("<Query><CmdType>A</CmdType></Query><Query/>", &m), 0); /* cut after root */
    manscdp_free(m);
    ck_assert_int_eq(parse_str("<Query><CmdType>A</CmdType><Query><CmdType>A</CmdType>", &m), EBADMSG);
    ck_assert_int_eq(manscdp_parse((const uint8_t *)"", 0, &m), EBADMSG);
    ck_assert_int_eq(manscdp_parse(NULL, 5, &m), EBADMSG);
    ck_assert_ptr_null(m);
    static const uint8_t nul_inside[] = "<Query><CmdType>Cat\0alog</CmdType></Query>";
    ck_assert_int_eq(manscdp_parse(nul_inside, sizeof(nul_inside) - 1, &m), EBADMSG);
}
END_TEST

START_TEST(size_limit)
{
    size_t big = MANSCDP_MAX_BODY + 1;
    char *body = malloc(big + 1);
    const char *head = "<Query><CmdType>Catalog</CmdType><Pad>";
    const char *tail = "</Pad></Query>";
    memset(body, 'x', big);
    memcpy(body, head, strlen(head));
    memcpy(body + big - strlen(tail), tail, strlen(tail));
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse((uint8_t *)body, big, &m), EMSGSIZE);
    memmove(body + big - 1 - strlen(tail), tail, strlen(tail)); /* exactly at the limit: accepted */
    ck_assert_int_eq(manscdp_parse((uint8_t *)body, big - 1, &m), 0);
    ck_assert_uint_eq(strlen(manscdp_get(m, "Pad")), MANSCDP_MAX_BODY - strlen(head) - strlen(tail));
    manscdp_free(m);
    free(body);
}
END_TEST

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

START_TEST(entity_bombs_and_xxe_are_refused)
{
    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                         "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                         "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
                         "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
                         "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
                         "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
                         "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
                         "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
                         "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
                         "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">]>"
                         "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>&lol9;</DeviceID></Notify>";
    struct manscdp_msg *m = NULL;
    double t0 = now_ms();
    ck_assert_int_eq(parse_str(laughs, &m), EBADMSG);
    ck_assert_ptr_null(m);
    ck_assert_msg(now_ms() - t0 < 50, "bomb took %.1f ms", now_ms() - t0);

    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE q [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                      "<Query><CmdType>Catalog</CmdType><DeviceID>&xxe;</DeviceID></Query>";
    ck_assert_int_eq(parse_str(xxe, &m), EBADMSG);
    const char *xxe_param = "<!DOCTYPE q [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                            "<Query><CmdType>Catalog</CmdType></Query>";
    ck_assert_int_eq(parse_str(xxe_param, &m), EBADMSG);
    /* an undeclared entity reference is simply not well-formed: nothing is looked up */
    ck_assert_int_eq(parse_str("<Query><CmdType>Catalog</CmdType><DeviceID>&xxe;</DeviceID></Query>", &m),
                     EBADMSG);
    /* DOCTYPE hidden after leading whitespace and in the middle of the prolog */
    ck_assert_int_eq(parse_str("\r\n<?xml version=\"1.0\"?>\r\n<!-- c --><!DOCTYPE Query SYSTEM "
                               "\"file:///etc/passwd\"><Query><CmdType>A</CmdType></Query>",
                               &m),
                     EBADMSG);
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(invalid_bytes_in_both_charsets_and_silence)
{
    /* 0xFF is neither UTF-8 nor a GB18030 lead byte; 0x81 0x20 is a GB18030 lead with a bad trail */
    const char *bad[] = {
        "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>\xFF\xFE</DeviceID></Notify>",
        "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>\x81\x20</DeviceID></Notify>",
        "<Notify><CmdType>Keep\x80</CmdType></Notify>",
    };
    /* libxml2 must not print its complaints: capture stderr around the parses */
    fflush(stderr);
    int saved = dup(2);
    char tmpl[] = "/tmp/manscdp_stderr_XXXXXX";
    int fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 2);
    int errs[3];
    struct manscdp_msg *m;
    for (int i = 0; i < 3; i++) errs[i] = parse_str(bad[i], &m);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t written = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(tmpl);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(errs[i], EBADMSG);
    ck_assert_int_eq(written, 0);
}
END_TEST

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 8 + 128);
    strcpy(s, "<Query><CmdType>A</CmdType>");
    for (int i = 1; i < depth; i++) strcat(s, "<a>");
    for (int i = 1; i < depth; i++) strcat(s, "</a>");
    strcat(s, "</Query>");
    return s;
}

START_TEST(deep_nesting_and_node_floods)
{
    struct manscdp_msg *m;
    char *s = nested(MANSCDP_MAX_DEPTH);
    ck_assert_int_eq(parse_str(s, &m), 0);
    manscdp_free(m);
    free(s);
    s = nested(MANSCDP_MAX_DEPTH + 1);
    ck_assert_int_eq(parse_str(s, &m), EBADMSG);
    free(s);
    s = nested(5000); /* beyond libxml2's own limit too */
    ck_assert_int_eq(parse_str(s, &m), EBADMSG);
    free(s);

    size_t n = MANSCDP_MAX_NODES; /* with the root and CmdType that is 2 over */
    char *flood = malloc(n * 4 + 64);
    strcpy(flood, "<Query><CmdType>A</CmdType>");
    char *p = flood + strlen(flood);
    for (size_t i = 0; i < n; i++, p += 4) memcpy(p, "<a/>", 4);
    strcpy(p, "</Query>");
    ck_assert_int_eq(parse_str(flood, &m), EBADMSG);
    strcpy(flood + strlen("<Query><CmdType>A</CmdType>") + (n - 2) * 4, "</Query>"); /* exactly the limit */
    ck_assert_int_eq(parse_str(flood, &m), 0);
    ck_assert_uint_eq(manscdp_count(m, "a"), n - 2);
    manscdp_free(m);
    free(flood);
}
END_TEST

/* ---------------------------------------------------------------- writer and builders */

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

START_TEST(mobile_position_notify)
{
    const char *body = "<?xml version=\"1.0\" encoding=\"GB2312\"?><Notify><CmdType>MobilePosition</CmdType>"
                       "<SN>5</SN><DeviceID>34020000001320000001</DeviceID><Time>2024-05-17T10:00:00</Time>"
                       "<Longitude>120.1551</Longitude><Latitude>30.2741</Latitude><Speed>12.5</Speed>"
                       "<Direction>90</Direction><Altitude>nan</Altitude></Notify>";
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    struct manscdp_mobile_position mp;
    ck_assert_int_eq(manscdp_decode_mobile_position(m, &mp), 0);
    ck_assert_str_eq(mp.time, "2024-05-17T10:00:00");
    ck_assert(mp.has_position);
    ck_assert(mp.longitude == 120.1551 && mp.latitude == 30.2741);
    ck_assert(mp.speed == 12.5 && mp.direction == 90 && mp.altitude == 0); /* "nan" is not a number here */
    struct manscdp_media_status ms;
    ck_assert_int_eq(manscdp_decode_media_status(m, &ms), EPROTO);
    manscdp_free(m);
}
END_TEST

static Suite *manscdp_suite(void)
{
    Suite *s = suite_create("signaling_manscdp");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, utf8_bytes_under_gb2312_declaration);
    tcase_add_test(tc, gb_bytes_under_utf8_declaration_and_gbk_only_characters);
    tcase_add_test(tc, bom_blank_lines_trailing_nuls_and_garbage);
    tcase_add_test(tc, generic_access_and_repeated_items);
    tcase_add_test(tc, long_text_is_cut_on_a_character_boundary);
    tcase_add_test(tc, mobile_position_notify);
    suite_add_tcase(s, tc);
    tc = tcase_create("hostile");
    tcase_add_test(tc, truncated_bodies_fail);
    tcase_add_test(tc, not_manscdp);
    tcase_add_test(tc, size_limit);
    tcase_add_test(tc, entity_bombs_and_xxe_are_refused);
    tcase_add_test(tc, invalid_bytes_in_both_charsets_and_silence);
    tcase_add_test(tc, deep_nesting_and_node_floods);
    suite_add_tcase(s, tc);
    tc = tcase_create("encode");
    tcase_add_test(tc, build_queries_exact_bytes);
    tcase_add_test(tc, gb2312_output_and_gb18030_fallback);
    tcase_add_test(tc, output_buffer_limits);
    tcase_add_test(tc, writer_depth_and_misuse);
    tcase_add_test(tc, device_side_builders_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(manscdp_suite());
}
