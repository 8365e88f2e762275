/* RTMP commands: decoding what players send (connect with its object, play with a name, pause, AMF3-wrapped
 * commands, truncated and malformed bodies), the stream name rules, and the replies decoded back. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "relay/amf0.h"
#include "relay/rtmp_command.h"
#include "testutil.h"

/* connect(1, {app: "live", tcUrl: "rtmp://h/live", objectEncoding: 3}) as encoded by FFmpeg */
static size_t build_connect(uint8_t *buf, size_t cap, const char *app)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "connect");
    amf0_put_number(&w, 1);
    amf0_put_object_start(&w);
    amf0_put_prop_string(&w, "app", app);
    amf0_put_prop_string(&w, "flashVer", "LNX 9,0,124,2");
    amf0_put_prop_string(&w, "tcUrl", "rtmp://h/live");
    amf0_put_prop_boolean(&w, "fpad", false);
    amf0_put_prop_number(&w, "objectEncoding", 3);
    amf0_put_object_end(&w);
    return (size_t)amf0_writer_finish(&w);
}

START_TEST(test_decode_connect)
{
    uint8_t buf[256];
    size_t n = build_connect(buf, sizeof buf, "live");
    struct rtmp_command c;
    ck_assert_int_eq(rtmp_command_decode(buf, n, false, &c), 0);
    ck_assert_str_eq(c.name, "connect");
    ck_assert(c.txn == 1);
    ck_assert_int_eq(c.object.type, AMF0_OBJECT);
    char app[16], tc[64];
    double enc;
    ck_assert_int_eq(rtmp_command_connect_info(&c, app, sizeof app, tc, sizeof tc, &enc), 0);
    ck_assert_str_eq(app, "live");
    ck_assert_str_eq(tc, "rtmp://h/live");
    ck_assert(enc == 3);
    /* an app that does not fit is an error, not a truncation */
    ck_assert_int_eq(rtmp_command_connect_info(&c, app, 4, tc, sizeof tc, &enc), -ENOSPC);
    /* every truncation of the body is rejected (the object is read whole), never read past */
    for (size_t cut = 0; cut < n; cut++) {
        int rc = rtmp_command_decode(buf, cut, false, &c);
        if (cut >= 19)
            ck_assert_int_eq(rc, cut == 19 ? 0 : -EBADMSG); /* name + txn alone is a command */
        else
            ck_assert_int_eq(rc, cut == 10 ? 0 : -EBADMSG); /* a bare name too */
    }
}
END_TEST

START_TEST(test_decode_play_pause_amf3)
{
    uint8_t buf[128];
    struct amf0_writer w;
    amf0_writer_init(&w, buf + 1, sizeof buf - 1);
    buf[0] = 0; /* AMF3 command: format byte */
    amf0_put_string(&w, "play");
    amf0_put_number(&w, 0);
    amf0_put_null(&w);
    amf0_put_string(&w, "cam1?token=x");
    amf0_put_number(&w, -2000);
    amf0_put_boolean(&w, true);
    size_t n = (size_t)amf0_writer_finish(&w);
    struct rtmp_command c;
    ck_assert_int_eq(rtmp_command_decode(buf, n + 1, true, &c), 0);
    ck_assert_str_eq(c.name, "play");
    ck_assert_int_eq(c.nargs, 3);
    char name[64];
    ck_assert_int_eq(rtmp_command_arg_string(&c, 0, name, sizeof name), 0);
    ck_assert_str_eq(name, "cam1?token=x");
    ck_assert_int_eq(rtmp_command_arg_string(&c, 1, name, sizeof name), -EINVAL); /* a number */
    ck_assert_int_eq(rtmp_command_arg_string(&c, 5, name, sizeof name), -EINVAL);
    bool b;
    ck_assert_int_eq(rtmp_command_arg_bool(&c, 2, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(rtmp_command_arg_bool(&c, 0, &b), -EINVAL);
    /* the same bytes as AMF0 start with 0x00, which is a number marker: "name is not a string" */
    ck_assert_int_eq(rtmp_command_decode(buf, n + 1, false, &c), -EBADMSG);
}
END_TEST

START_TEST(test_decode_malformed)
{
    struct rtmp_command c;
    static const uint8_t number_first[] = {0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(rtmp_command_decode(number_first, sizeof number_first, false, &c), -EBADMSG);
    static const uint8_t txn_string[] = {0x02, 0, 1, 'x', 0x02, 0, 1, 'y'};
    ck_assert_int_eq(rtmp_command_decode(txn_string, sizeof txn_string, false, &c), -EBADMSG);
    static const uint8_t amf3_marker[] = {0x02, 0, 1, 'x', 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x11};
    ck_assert_int_eq(rtmp_command_decode(amf3_marker, sizeof amf3_marker, false, &c), -EBADMSG);
    uint8_t long_name[3 + 100] = {0x02, 0, 100};
    memset(long_name + 3, 'a', 100);
    ck_assert_int_eq(rtmp_command_decode(long_name, sizeof long_name, false, &c), -EBADMSG);
    ck_assert_int_eq(rtmp_command_decode(NULL, 0, false, &c), -EBADMSG);
    ck_assert_int_eq(rtmp_command_decode(NULL, 0, true, &c), -EBADMSG);
}
END_TEST

START_TEST(test_stream_names)
{
    char out[65];
    struct {
        const char *app, *name, *want;
        int rc;
    } cases[] = {
        {"live", "cam1", "cam1", 0},
        {"live/", "cam1", "cam1", 0},
        {"live?token=1", "cam1", "cam1", 0},
        {"live", "cam1?token=abc", "cam1", 0},
        {"live", "live/cam1", "cam1", 0},
        {"live", "cam1.flv", "cam1", 0},
        {"live", "flv:cam1", "cam1", 0},
        {"live/34020000001320000001_34020000001310000001", "", "34020000001320000001_34020000001310000001",
         0},
        {"live/x", "cam2", "cam2", 0},
        {"live", "a.b-c_d", "a.b-c_d", 0},
        {"vod", "cam1", NULL, -ENOENT},
        {"", "cam1", NULL, -ENOENT},
        {"live", "", NULL, -EINVAL},
        {"live", "mp4:cam1", NULL, -EINVAL},
        {"live", "../etc", NULL, -EINVAL},
        {"live", "a/b", NULL, -EINVAL},
        {"live", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, -EINVAL}, /* 65 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = rtmp_stream_name(cases[i].app, cases[i].name, out, sizeof out);
        ck_assert_msg(rc == cases[i].rc, "case %zu: rc %d", i, rc);
        if (!rc) ck_assert_str_eq(out, cases[i].want);
    }
}
END_TEST

/* Decodes a reply and returns the value of `field` in its status object (the last object argument). */
static void status_field(const uint8_t *p, int n, const char *field, char *out, size_t size)
{
    struct rtmp_command c;
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(rtmp_command_decode(p, (size_t)n, false, &c), 0);
    ck_assert_int_ge(c.nargs, 1);
    struct amf0_value v;
    ck_assert_int_eq(amf0_object_get(&c.args[c.nargs - 1], field, &v), 0);
    ck_assert_int_eq(amf0_string_copy(&v, out, size), 0);
}

START_TEST(test_replies)
{
    uint8_t buf[512];
    char s[128];
    int n = rtmp_reply_connect_result(buf, sizeof buf, 1, 3);
    status_field(buf, n, "code", s, sizeof s);
    ck_assert_str_eq(s, "NetConnection.Connect.Success");
    struct rtmp_command c;
    rtmp_command_decode(buf, (size_t)n, false, &c);
    ck_assert_str_eq(c.name, "_result");
    ck_assert(c.txn == 1);
    struct amf0_value v;
    ck_assert_int_eq(amf0_object_get(&c.object, "fmsVer", &v), 0);
    ck_assert_int_eq(amf0_object_get(&c.args[0], "objectEncoding", &v), 0);
    ck_assert(v.number == 3);

    n = rtmp_reply_on_status(buf, sizeof buf, "error", "NetStream.Play.StreamNotFound", "no", "cam9");
    status_field(buf, n, "code", s, sizeof s);
    ck_assert_str_eq(s, "NetStream.Play.StreamNotFound");
    status_field(buf, n, "level", s, sizeof s);
    ck_assert_str_eq(s, "error");
    status_field(buf, n, "details", s, sizeof s);
    ck_assert_str_eq(s, "cam9");

    n = rtmp_reply_result(buf, sizeof buf, 4, true, 1);
    ck_assert_int_eq(rtmp_command_decode(buf, (size_t)n, false, &c), 0);
    ck_assert(c.txn == 4);
    ck_assert_int_eq(c.object.type, AMF0_NULL);
    ck_assert_int_eq(c.args[0].type, AMF0_NUMBER);
    ck_assert(c.args[0].number == 1);
    n = rtmp_reply_result(buf, sizeof buf, 5, false, 0);
    ck_assert_int_eq(rtmp_command_decode(buf, (size_t)n, false, &c), 0);
    ck_assert_int_eq(c.args[0].type, AMF0_UNDEFINED);

    n = rtmp_reply_error(buf, sizeof buf, 6, "NetStream.Publish.Denied", "no");
    status_field(buf, n, "code", s, sizeof s);
    ck_assert_str_eq(s, "NetStream.Publish.Denied");

    n = rtmp_data_sample_access(buf, sizeof buf);
    static const uint8_t want[] = {0x02, 0,   17,  '|', 'R', 't', 'm', 'p', 'S',  'a',  'm',  'p',
                                   'l',  'e', 'A', 'c', 'c', 'e', 's', 's', 0x01, 0x01, 0x01, 0x01};
    ck_assert_int_eq(n, sizeof want);
    ck_assert_mem_eq(buf, want, sizeof want);
    /* too small a buffer is reported, not overrun */
    ck_assert_int_eq(rtmp_reply_connect_result(buf, 20, 1, 0), -ENOSPC);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_rtmp_command");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_decode_connect);
    tcase_add_test(tc, test_decode_play_pause_amf3);
    tcase_add_test(tc, test_decode_malformed);
    tcase_add_test(tc, test_stream_names);
    tcase_add_test(tc, test_replies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
