/* Config: defaults, file parsing, -o overrides, and every kind of error naming its key; etc/gbgate.conf must
 * document every key of the table (so the shipped file never drifts from the code). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "testutil.h"

static char err[512];

static const char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/gbgate-cfg-%d.conf", getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(defaults_are_sane)
{
    struct gb_config c;
    config_defaults(&c);
    ck_assert_int_eq(c.sip.port, 5060);
    ck_assert_int_eq(c.http.port, 8080);
    ck_assert_int_eq(c.media.rtp_port, 10000);
    ck_assert_int_eq(c.media.rtp_port_min, 30000);
    ck_assert_int_eq(c.media.rtp_port_max, 30999);
    ck_assert(c.stream.gop_cache);
    ck_assert_int_eq(c.stream.audio_transcode, AUDIO_TRANSCODE_AUTO);
    ck_assert_str_eq(c.log.level, "info");
    ck_assert_int_eq(config_validate(&c, err, sizeof err), 0);
}
END_TEST

START_TEST(file_and_overrides)
{
    struct gb_config c;
    config_defaults(&c);
    const char *p =
        write_tmp("# comment\n[http]\nport = 8181   # trailing comment\n\n[stream]\ngop_cache=off\n"
                  "audio_transcode = OFF\n[media]\nrtp_port_range = 40000-40100\n");
    ck_assert_int_eq(config_load_file(&c, p, err, sizeof err), 0);
    ck_assert_int_eq(c.http.port, 8181);
    ck_assert(!c.stream.gop_cache);
    ck_assert_int_eq(c.stream.audio_transcode, AUDIO_TRANSCODE_OFF);
    ck_assert_int_eq(c.media.rtp_port_min, 40000);
    ck_assert_int_eq(c.media.rtp_port_max, 40100);
    ck_assert_int_eq(config_set(&c, "http.port=9000", err, sizeof err), 0);
    ck_assert_int_eq(c.http.port, 9000);
    ck_assert_int_eq(config_set(&c, "sip.password=a=b", err, sizeof err), 0);
    ck_assert_str_eq(c.sip.password, "a=b");
    unlink(p);
}
END_TEST

static void expect_error(const char *text, const char *needle)
{
    struct gb_config c;
    config_defaults(&c);
    const char *p = write_tmp(text);
    err[0] = 0;
    ck_assert_int_ne(config_load_file(&c, p, err, sizeof err), 0);
    ck_assert_msg(strstr(err, needle), "error '%s' does not name '%s'", err, needle);
    unlink(p);
}

START_TEST(errors_name_the_key)
{
    expect_error("[http]\nport = 99999\n", "http.port");
    expect_error("[http]\nport = 80x\n", "http.port");
    expect_error("[http]\nnosuch = 1\n", "http.nosuch");
    expect_error("[stream]\ngop_cache = maybe\n", "stream.gop_cache");
    expect_error("[stream]\naudio_transcode = always\n", "auto, on, off");
    expect_error("[media]\nrtp_port_range = 5-3\n", "media.rtp_port_range");
    expect_error("port = 1\n", "inside a [section]");
    expect_error("[http\nport=1\n", "bad section header");
    struct gb_config c;
    config_defaults(&c);
    ck_assert_int_ne(config_set(&c, "nodot=1", err, sizeof err), 0);
    ck_assert_int_ne(config_set(&c, "http.port", err, sizeof err), 0);
    ck_assert_int_ne(config_load_file(&c, "/nonexistent/gbgate.conf", err, sizeof err), 0);
    ck_assert(strstr(err, "/nonexistent/gbgate.conf"));
}
END_TEST

START_TEST(cross_key_validation)
{
    struct gb_config c;
    config_defaults(&c);
    config_set(&c, "media.rtp_port=30010", err, sizeof err);
    ck_assert_int_ne(config_validate(&c, err, sizeof err), 0);
    ck_assert(strstr(err, "media.rtp_port"));
    config_defaults(&c);
    config_set(&c, "sip.id=123", err, sizeof err);
    ck_assert_int_ne(config_validate(&c, err, sizeof err), 0);
    ck_assert(strstr(err, "sip.id"));
}
END_TEST

struct lines {
    char *text;
    size_t len;
};

static void collect(void *arg, const char *line)
{
    struct lines *l = arg;
    size_t n = strlen(line);
    l->text = realloc(l->text, l->len + n + 2);
    memcpy(l->text + l->len, line, n);
    l->text[l->len + n] = '\n';
    l->len += n + 1;
    l->text[l->len] = 0;
}

START_TEST(shipped_config_documents_every_key)
{
    struct gb_config c;
    config_defaults(&c);
    struct lines want = {0};
    config_print(&c, collect, &want);
    size_t len;
    uint8_t *shipped = test_read_file(GB_SOURCE_DIR "/etc/gbgate.conf", &len);
    ck_assert_ptr_nonnull(shipped);
    shipped = realloc(shipped, len + 1);
    shipped[len] = 0;
    /* every line the table prints (section, doc, key = default) is in the shipped file, in order */
    ck_assert_msg(strstr((char *)shipped, want.text), "etc/gbgate.conf is out of date: regenerate it with "
                                                      "build/gbgate --print-config");
    /* and the shipped file loads cleanly */
    ck_assert_int_eq(config_load_file(&c, GB_SOURCE_DIR "/etc/gbgate.conf", err, sizeof err), 0);
    free(shipped);
    free(want.text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, defaults_are_sane);
    tcase_add_test(tc, file_and_overrides);
    tcase_add_test(tc, errors_name_the_key);
    tcase_add_test(tc, cross_key_validation);
    tcase_add_test(tc, shipped_config_documents_every_key);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
