/* Unit tests for signaling/mansrtsp: the INFO bodies real platforms send (wvp-GB28181-pro, the 2011 and 2016
 * standards, the gateway's own invite_info_*), what is refused and why, and the builder's exact bytes. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/mansrtsp.h"
#include "testutil.h"

static int parse(const char *body, struct mansrtsp_request *r, const char **why)
{
    return mansrtsp_parse(body, strlen(body), r, why);
}

START_TEST(wvp_bodies)
{
    struct mansrtsp_request r;
    const char *why = NULL;
    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0\r\n", &r, &why), 0);
    ck_assert_int_eq(r.method, MANSRTSP_PLAY);
    ck_assert_uint_eq(r.cseq, 3);
    ck_assert(r.has_scale);
    ck_assert_double_eq(r.scale, 2.0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_NONE);
    ck_assert(!r.has_pause_time);

    ck_assert_int_eq(parse("PAUSE RTSP/1.0\r\nCSeq: 4\r\nPauseTime: now\r\n", &r, &why), 0);
    ck_assert_int_eq(r.method, MANSRTSP_PAUSE);
    ck_assert_uint_eq(r.cseq, 4);
    ck_assert(r.has_pause_time && r.pause_now);
    ck_assert(!r.has_scale);

    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 5\r\nRange: npt=120-\r\n", &r, &why), 0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_FROM);
    ck_assert_double_eq(r.range_start, 120.0);

    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 6\r\nRange: npt=now-\r\n", &r, &why), 0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_NOW);
    ck_assert_uint_eq(r.cseq, 6);
}
END_TEST

START_TEST(other_platform_shapes)
{
    struct mansrtsp_request r;
    const char *why = NULL;
    /* GB28181-2011 version word, no space after the colon, bare LF, no final line end */
    ck_assert_int_eq(parse("PAUSE MANSRTSP/1.0\nCSeq:12\nPauseTime: now", &r, &why), 0);
    ck_assert_int_eq(r.method, MANSRTSP_PAUSE);
    ck_assert_uint_eq(r.cseq, 12);
    /* lower-case names, extra spaces, decimals, a header we do not know, the trailing blank line */
    ck_assert_int_eq(
        parse("play   RTSP/1.0\r\ncseq :  7 \r\nx-Session: abc\r\nrange: npt=0.000-\r\n\r\n", &r, &why), 0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_FROM);
    ck_assert_double_eq(r.range_start, 0.0);
    ck_assert_uint_eq(r.cseq, 7);
    /* hh:mm:ss, and a span */
    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 8\r\nRange: npt=00:02:00.5-01:00:00\r\n", &r, &why), 0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_SPAN);
    ck_assert_double_eq_tol(r.range_start, 120.5, 1e-9);
    ck_assert_double_eq(r.range_end, 3600.0);
    /* the scale limits and the usual values */
    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 9\r\nScale: 0.25\r\n", &r, &why), 0);
    ck_assert_double_eq(r.scale, 0.25);
    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 9\r\nScale: 8\r\n", &r, &why), 0);
    ck_assert_double_eq(r.scale, 8.0);
    ck_assert_int_eq(parse("PLAY RTSP/1.0\r\nCSeq: 9\r\nScale: 1\r\nRange: npt=now-\r\n", &r, &why), 0);
    ck_assert_double_eq(r.scale, 1.0);
    ck_assert_int_eq(r.range, MANSRTSP_RANGE_NOW);
    ck_assert_int_eq(parse("TEARDOWN RTSP/1.0\r\nCSeq: 10\r\n", &r, &why), 0);
    ck_assert_int_eq(r.method, MANSRTSP_TEARDOWN);
    ck_assert_int_eq(parse("PAUSE RTSP/1.0\r\nCSeq: 4294967295\r\nPauseTime: 35.5\r\n", &r, &why), 0);
    ck_assert_uint_eq(r.cseq, 4294967295u);
    ck_assert(r.has_pause_time && !r.pause_now);
    ck_assert_double_eq(r.pause_time, 35.5);
}
END_TEST

struct refused {
    const char *body;
    int err;
    const char *why_part; /* a word of the reason text */
};

START_TEST(refused_bodies)
{
    static const struct refused cases[] = {
        {"", EINVAL, "empty"},
        {"PLAY RTSP/1.0\r\n", EINVAL, "CSeq"},                            /* truncated before CSeq */
        {"PLAY RTS", EINVAL, "version"},                                  /* truncated request line */
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nSca", EINVAL, "Name:"},             /* truncated header */
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: \r\n", EINVAL, "value"},     /* truncated value */
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=12\r\n", EINVAL, "'-'"}, /* truncated range */
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 16\r\n", ERANGE, "0.25..8"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 0.1\r\n", ERANGE, "0.25..8"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 0\r\n", ERANGE, "0.25..8"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: -1.0\r\n", ERANGE, "reverse"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2e0\r\n", EINVAL, "number"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: inf\r\n", EINVAL, "number"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0.0\r\n", EINVAL, "number"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: clock=20240101T000000Z-\r\n", EINVAL, "npt"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=abc-\r\n", EINVAL, "start"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=now-10\r\n", EINVAL, "end"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=20-10\r\n", ERANGE, "after"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=1:60:00-\r\n", EINVAL, "start"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nRange: npt=99999999999-\r\n", EINVAL, "start"},
        {"PLAY RTSP/1.0\r\nCSeq: x\r\n", EINVAL, "CSeq"},
        {"PLAY RTSP/1.0\r\nCSeq: 99999999999\r\n", EINVAL, "CSeq"},
        {"PLAY RTSP/1.0\r\nCSeq: 4294967296\r\n", ERANGE, "2^32"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nCSeq: 4\r\n", EINVAL, "twice"},
        {"PLAY rtsp://10.0.0.1/x RTSP/1.0\r\nCSeq: 3\r\n", EINVAL, "version"},
        {"PALY MANSRTSP/1.0\r\nCSeq: 2\r\n", EINVAL, "method"},
        {"GET / HTTP/1.1\r\nHost: x\r\n", EINVAL, "method"},
        {"PLAY RTSP/2.0\r\nCSeq: 3\r\n", EINVAL, "version"},
        {"\r\nPLAY RTSP/1.0\r\nCSeq: 3\r\n", EINVAL, "blank"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\n\r\nScale: 2.0\r\n", EINVAL, "after the blank"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nScale 2.0\r\n", EINVAL, "Name:"},
        {"PLAY RTSP/1.0\r\nCSeq: 3\r\nSc@le: 2.0\r\n", EINVAL, "header name"},
        {"PLAY RTSP/1.0\rCSeq: 3\r\n", EINVAL, "control"},
        {"PLAY RTSP/1.0\r\nPauseTime: later\r\nCSeq: 3\r\n", EINVAL, "PauseTime"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mansrtsp_request r;
        const char *why = NULL;
        int err = parse(cases[i].body, &r, &why);
        ck_assert_msg(err == cases[i].err, "case %zu (%s): got %d want %d (%s)", i, cases[i].body, err,
                      cases[i].err, why);
        ck_assert_msg(why && strstr(why, cases[i].why_part), "case %zu: reason '%s' lacks '%s'", i, why,
                      cases[i].why_part);
    }
}
END_TEST

START_TEST(nul_and_size_bounds)
{
    struct mansrtsp_request r;
    const char *why = NULL;
    static const char with_nul[] = "PLAY RTSP/1.0\r\nCSeq: 3\0\r\n";
    ck_assert_int_eq(mansrtsp_parse(with_nul, sizeof(with_nul) - 1, &r, &why), EINVAL);
    ck_assert_ptr_nonnull(strstr(why, "control"));
    char big[MANSRTSP_MAX_BODY + 2];
    memset(big, ' ', sizeof(big));
    memcpy(big, "PLAY RTSP/1.0\r\nCSeq: 3\r\n", 24);
    ck_assert_int_eq(mansrtsp_parse(big, MANSRTSP_MAX_BODY + 1, &r, &why), EMSGSIZE);
    /* exactly the limit is still read (trailing spaces on a line are trimmed) */
    ck_assert_int_eq(mansrtsp_parse(big, MANSRTSP_MAX_BODY, &r, &why), 0);
    ck_assert_int_eq(mansrtsp_parse(NULL, 0, &r, NULL), EINVAL);
    /* the parser stops at len: what follows in memory is not read */
    ck_assert_int_eq(mansrtsp_parse("PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 16", 24, &r, &why), 0);
    ck_assert(!r.has_scale);
    ck_assert_int_eq(mansrtsp_parse("PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 16", 32, &r, &why), 0);
    ck_assert_double_eq(r.scale, 1.0);
}
END_TEST

static void check_build(const struct mansrtsp_request *req, const char *want)
{
    char buf[256];
    size_t len = 0;
    ck_assert_int_eq(mansrtsp_build(buf, sizeof(buf), req, &len), 0);
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(len, strlen(want));
    struct mansrtsp_request back;
    ck_assert_int_eq(mansrtsp_parse(buf, len, &back, NULL), 0);
    ck_assert_int_eq(back.method, req->method);
    ck_assert_uint_eq(back.cseq, req->cseq);
    ck_assert_int_eq(back.range, req->range);
    ck_assert_int_eq(back.has_scale, req->has_scale);
}

START_TEST(builder_bytes)
{
    /* the same bytes as signaling/invite.c's invite_info_* send */
    check_build(&(struct mansrtsp_request){.method = MANSRTSP_PLAY, .cseq = 3, .has_scale = true, .scale = 2},
                "PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 2.0\r\n");
    check_build(
        &(struct mansrtsp_request){.method = MANSRTSP_PLAY, .cseq = 3, .has_scale = true, .scale = 0.25},
        "PLAY RTSP/1.0\r\nCSeq: 3\r\nScale: 0.25\r\n");
    check_build(
        &(struct mansrtsp_request){
            .method = MANSRTSP_PAUSE, .cseq = 4, .has_pause_time = true, .pause_now = true},
        "PAUSE RTSP/1.0\r\nCSeq: 4\r\nPauseTime: now\r\n");
    check_build(&(struct mansrtsp_request){.method = MANSRTSP_PLAY, .cseq = 5, .range = MANSRTSP_RANGE_NOW},
                "PLAY RTSP/1.0\r\nCSeq: 5\r\nRange: npt=now-\r\n");
    check_build(
        &(struct mansrtsp_request){
            .method = MANSRTSP_PLAY, .cseq = 6, .range = MANSRTSP_RANGE_FROM, .range_start = 120},
        "PLAY RTSP/1.0\r\nCSeq: 6\r\nRange: npt=120-\r\n");
    check_build(&(struct mansrtsp_request){.method = MANSRTSP_PLAY,
                                           .cseq = 7,
                                           .range = MANSRTSP_RANGE_SPAN,
                                           .range_start = 10.5,
                                           .range_end = 20},
                "PLAY RTSP/1.0\r\nCSeq: 7\r\nRange: npt=10.5-20\r\n");
    check_build(&(struct mansrtsp_request){.method = MANSRTSP_TEARDOWN, .cseq = 8},
                "TEARDOWN RTSP/1.0\r\nCSeq: 8\r\n");

    char buf[256];
    size_t len;
    ck_assert_int_eq(
        mansrtsp_build(buf, sizeof(buf),
                       &(struct mansrtsp_request){.method = MANSRTSP_PLAY, .has_scale = true, .scale = 9},
                       &len),
        EINVAL);
    ck_assert_int_eq(mansrtsp_build(buf, sizeof(buf), &(struct mansrtsp_request){.method = 0}, &len), EINVAL);
    ck_assert_int_eq(mansrtsp_build(buf, sizeof(buf),
                                    &(struct mansrtsp_request){.method = MANSRTSP_PLAY,
                                                               .range = MANSRTSP_RANGE_FROM,
                                                               .range_start = -1},
                                    &len),
                     EINVAL);
    ck_assert_int_eq(
        mansrtsp_build(buf, 10, &(struct mansrtsp_request){.method = MANSRTSP_PLAY, .cseq = 1}, &len),
        ENOSPC);
}
END_TEST

/* Every MANSRTSP body of a real Hikvision platform's capture (sip-samples/avstackdocs_pcaps_sip_messages.txt,
 * pcaps 41 and 42: pause, resume at 1x, seek at 8x), each exactly its Content-Length bytes. */
START_TEST(hikvision_capture)
{
    const char *path = test_shared_path("sip-samples/avstackdocs_pcaps_sip_messages.txt");
    if (!path) return;
    size_t len = 0;
    char *text = (char *)test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    struct mansrtsp_request got[8];
    size_t n = 0;
    for (char *at = strstr(text, "Application/MANSRTSP"); at && n < 8;
         at = strstr(at + 1, "Application/MANSRTSP")) {
        /* the messages are CRLF with their own Content-Length, as captured */
        char *clen = strstr(at, "Content-Length:");
        char *body = strstr(at, "\r\n\r\n");
        ck_assert(clen && body && clen < body);
        body += 4;
        size_t blen = (size_t)strtoul(clen + 15, NULL, 10);
        ck_assert(blen > 0 && blen < 1024);
        const char *why = NULL;
        ck_assert_msg(mansrtsp_parse(body, blen, &got[n], &why) == 0, "%.*s: %s", (int)blen, body,
                      why ? why : "");
        n++;
    }
    free(text);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(got[0].method, MANSRTSP_PAUSE);
    ck_assert_uint_eq(got[0].cseq, 496);
    ck_assert(got[0].has_pause_time && !got[0].pause_now);
    ck_assert_double_eq(got[0].pause_time, 0);
    ck_assert_int_eq(got[1].method, MANSRTSP_PLAY);
    ck_assert_uint_eq(got[1].cseq, 497);
    ck_assert(got[1].has_scale && got[1].scale == 1.0 && got[1].range == MANSRTSP_RANGE_NONE);
    ck_assert_int_eq(got[2].method, MANSRTSP_PLAY);
    ck_assert_uint_eq(got[2].cseq, 505);
    ck_assert(got[2].has_scale && got[2].scale == 8.0);
    ck_assert_int_eq(got[2].range, MANSRTSP_RANGE_FROM);
    ck_assert_double_eq(got[2].range_start, 2134);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("signaling_mansrtsp");
    TCase *t = tcase_create("core");
    tcase_add_test(t, wvp_bodies);
    tcase_add_test(t, other_platform_shapes);
    tcase_add_test(t, refused_bodies);
    tcase_add_test(t, nul_and_size_bounds);
    tcase_add_test(t, builder_bytes);
    tcase_add_test(t, hikvision_capture);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return test_run_suite(suite());
}
