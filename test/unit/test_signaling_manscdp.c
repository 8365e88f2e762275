/*
 * MANSCDP codec on synthetic bodies: charset quirks devices really produce, malformed and hostile input
 * (truncation, wrong root, size limit, entity bombs, XXE, invalid bytes, deep nesting, node floods). The
 * writer is tested in test_signaling_manscdp_write.c, the real captures in test_signaling_manscdp_samples.c.
 */
#include <check.h>
#include <errno.h>
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

START_TEST(bare_ampersands_are_repaired)
{
    /* what devices write for names like "A&B"; references, CDATA and comments are left alone */
    const char *body =
        "<?xml version=\"1.0\"?><Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>&</DeviceID>"
        "<Name>R&D &amp; A&B &#x41;&#66; &lt;&gt;&quot;&apos; &# &#x; &#12a; &nbsp;</Name>"
        "<!-- a & b --><Model><![CDATA[x&amp;y]]></Model><Owner>\xB6\xAB&\xB7\xBD</Owner>"
        "</Response>";
    struct manscdp_msg *m;
    ck_assert_int_eq(parse_str(body, &m), 0);
    ck_assert_str_eq(manscdp_device_id(m), "&");
    ck_assert_str_eq(manscdp_get(m, "Name"), "R&D & A&B AB <>\"' &# &#x; &#12a; &nbsp;");
    ck_assert_str_eq(manscdp_get(m, "Model"), "x&amp;y");
    ck_assert_str_eq(manscdp_get(m, "Owner"), "东&方"); /* GB2312 bytes around the '&' */
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

    /* a cut that lands after inner whitespace does not leave it dangling (found by the fuzzer) */
    char spaced[400];
    memset(spaced, 'a', 188);
    strcpy(spaced + 188, "  \n  bbbbbbbb");
    snprintf(body, sizeof(body),
             "<Notify><CmdType>Alarm</CmdType><AlarmDescription>%s</AlarmDescription></Notify>", spaced);
    ck_assert_int_eq(parse_str(body, &m), 0);
    struct manscdp_alarm al;
    ck_assert_int_eq(manscdp_decode_alarm(m, &al), 0);
    ck_assert_uint_eq(strlen(al.alarm_description), 188);
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
    ck_assert_msg(now_ms() - t0 < 500, "bomb took %.1f ms", now_ms() - t0);

    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE q [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
                      "<Query><CmdType>Catalog</CmdType><DeviceID>&xxe;</DeviceID></Query>";
    ck_assert_int_eq(parse_str(xxe, &m), EBADMSG);
    const char *xxe_param = "<!DOCTYPE q [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>"
                            "<Query><CmdType>Catalog</CmdType></Query>";
    ck_assert_int_eq(parse_str(xxe_param, &m), EBADMSG);
    /* without a DTD an entity reference is just text: nothing is looked up */
    ck_assert_int_eq(parse_str("<Query><CmdType>Catalog</CmdType><DeviceID>&xxe;</DeviceID></Query>", &m), 0);
    ck_assert_str_eq(manscdp_device_id(m), "&xxe;");
    manscdp_free(m);
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
    tcase_add_test(tc, bare_ampersands_are_repaired);
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
    return s;
}

int main(void)
{
    return test_run_suite(manscdp_suite());
}
