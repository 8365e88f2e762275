/*
 * RTMP command decoding and reply encoding (see rtmp_command.h). Replies use the shapes nginx-rtmp, SRS and
 * Flash Media Server send, because players (Flash, FFmpeg, VLC through librtmp, OBS) only look at a few
 * fields but some look at exactly those.
 */
#include "relay/rtmp_command.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int rtmp_command_decode(const uint8_t *p, size_t len, bool amf3, struct rtmp_command *out)
{
    memset(out, 0, sizeof *out);
    out->object.type = AMF0_NULL;
    if (amf3 && len > 0 && p[0] == 0) { /* AMF3 command: a format byte, then AMF0 values */
        p++;
        len--;
    }
    struct amf0_reader r;
    struct amf0_value v;
    amf0_reader_init(&r, p, len);
    if (amf0_read(&r, &v) != 0 || amf0_string_copy(&v, out->name, sizeof out->name) != 0) return -EBADMSG;
    int rc = amf0_read(&r, &v);
    if (rc == -ENODATA) return 0; /* a bare name (some clients send "closeStream" like that) */
    if (rc != 0 || v.type != AMF0_NUMBER) return -EBADMSG;
    out->txn = v.number;
    rc = amf0_read(&r, &out->object);
    if (rc == -ENODATA) {
        out->object.type = AMF0_NULL;
        return 0;
    }
    if (rc != 0) return -EBADMSG;
    while (out->nargs < RTMP_COMMAND_MAX_ARGS) {
        rc = amf0_read(&r, &out->args[out->nargs]);
        if (rc == -ENODATA) break;
        if (rc != 0) return -EBADMSG;
        out->nargs++;
    }
    return 0;
}

static int prop_string(const struct amf0_value *obj, const char *name, char *out, size_t size)
{
    struct amf0_value v;
    out[0] = 0;
    if (amf0_object_get(obj, name, &v) != 0) return 0;
    int rc = amf0_string_copy(&v, out, size);
    if (rc == -EINVAL) out[0] = 0; /* not a string: treated as absent */
    return rc == -ENOSPC ? -ENOSPC : 0;
}

int rtmp_command_connect_info(const struct rtmp_command *c, char *app, size_t app_size, char *tc_url,
                              size_t tc_url_size, double *object_encoding)
{
    *object_encoding = 0;
    app[0] = tc_url[0] = 0;
    if (c->object.type != AMF0_OBJECT && c->object.type != AMF0_ECMA_ARRAY) return 0;
    if (prop_string(&c->object, "app", app, app_size) ||
        prop_string(&c->object, "tcUrl", tc_url, tc_url_size))
        return -ENOSPC;
    struct amf0_value v;
    if (amf0_object_get(&c->object, "objectEncoding", &v) == 0 && v.type == AMF0_NUMBER)
        *object_encoding = v.number;
    return 0;
}

int rtmp_command_arg_string(const struct rtmp_command *c, int i, char *out, size_t size)
{
    if (i >= c->nargs) return -EINVAL;
    return amf0_string_copy(&c->args[i], out, size);
}

int rtmp_command_arg_bool(const struct rtmp_command *c, int i, bool *out)
{
    if (i >= c->nargs || c->args[i].type != AMF0_BOOLEAN) return -EINVAL;
    *out = c->args[i].boolean;
    return 0;
}

static bool valid_stream_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
}

/* Copies s[0..len) without a query string. */
static size_t copy_until_query(const char *s, char *out, size_t size)
{
    size_t n = strcspn(s, "?");
    if (n >= size) n = size - 1;
    memcpy(out, s, n);
    out[n] = 0;
    return n;
}

int rtmp_stream_name(const char *app, const char *name, char *out, size_t size)
{
    char a[256], n[256];
    size_t alen = copy_until_query(app, a, sizeof a);
    while (alen > 0 && a[alen - 1] == '/') a[--alen] = 0;
    copy_until_query(name, n, sizeof n);
    const char *stream_in_app = "";
    if (strncmp(a, "live/", 5) == 0)
        stream_in_app = a + 5;
    else if (strcmp(a, "live") != 0)
        return -ENOENT;
    const char *s = n;
    if (strncmp(s, "live/", 5) == 0) s += 5;
    if (strncmp(s, "flv:", 4) == 0) s += 4;
    if (!*s) s = stream_in_app;
    size_t len = strlen(s);
    if (len > 4 && strcmp(s + len - 4, ".flv") == 0) len -= 4;
    if (len == 0 || len > 64 || len >= size) return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!valid_stream_char(s[i])) return -EINVAL;
    memcpy(out, s, len);
    out[len] = 0;
    return 0;
}

static void put_status_object(struct amf0_writer *w, const char *level, const char *code,
                              const char *description)
{
    amf0_put_object_start(w);
    amf0_put_prop_string(w, "level", level);
    amf0_put_prop_string(w, "code", code);
    amf0_put_prop_string(w, "description", description);
}

int rtmp_reply_connect_result(uint8_t *buf, size_t cap, double txn, double object_encoding)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "_result");
    amf0_put_number(&w, txn);
    amf0_put_object_start(&w);
    amf0_put_prop_string(&w, "fmsVer", "FMS/3,0,1,123");
    amf0_put_prop_number(&w, "capabilities", 31);
    amf0_put_object_end(&w);
    put_status_object(&w, "status", "NetConnection.Connect.Success", "Connection succeeded.");
    amf0_put_prop_number(&w, "objectEncoding", object_encoding);
    amf0_put_object_end(&w);
    return amf0_writer_finish(&w);
}

int rtmp_reply_error(uint8_t *buf, size_t cap, double txn, const char *code, const char *description)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "_error");
    amf0_put_number(&w, txn);
    amf0_put_null(&w);
    put_status_object(&w, "error", code, description);
    amf0_put_object_end(&w);
    return amf0_writer_finish(&w);
}

int rtmp_reply_result(uint8_t *buf, size_t cap, double txn, bool has_number, double number)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "_result");
    amf0_put_number(&w, txn);
    amf0_put_null(&w);
    if (has_number)
        amf0_put_number(&w, number);
    else
        amf0_put_undefined(&w);
    return amf0_writer_finish(&w);
}

int rtmp_reply_on_status(uint8_t *buf, size_t cap, const char *level, const char *code,
                         const char *description, const char *details)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "onStatus");
    amf0_put_number(&w, 0);
    amf0_put_null(&w);
    put_status_object(&w, level, code, description);
    if (details) amf0_put_prop_string(&w, "details", details);
    amf0_put_prop_string(&w, "clientid", "gbgate");
    amf0_put_object_end(&w);
    return amf0_writer_finish(&w);
}

int rtmp_data_sample_access(uint8_t *buf, size_t cap)
{
    struct amf0_writer w;
    amf0_writer_init(&w, buf, cap);
    amf0_put_string(&w, "|RtmpSampleAccess");
    amf0_put_boolean(&w, true);
    amf0_put_boolean(&w, true);
    return amf0_writer_finish(&w);
}
