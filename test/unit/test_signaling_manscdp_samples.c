/*
 * MANSCDP decoding against the real captures in ../shared/sip-samples: every body whose Content-Type is
 * MANSCDP in the text dumps must parse with CmdType/SN/DeviceID, and a handful are checked field by field
 * (GB2312 catalog names without an encoding declaration, the Dahua catalog, a keepalive without encoding,
 * DeviceInfo, DeviceStatus with alarm items, RecordInfo, MediaStatus, Alarm).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signaling/manscdp.h"
#include "testutil.h"

/* ---------------------------------------------------------------- sample file splitting */

struct body {
    const uint8_t *p;
    size_t len;
};

/* True when the header block (up to the blank line) has a MANSCDP Content-Type (or compact "c:"). */
static bool headers_say_manscdp(const uint8_t *h, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && h[e] != '\n') e++;
        const char *line = (const char *)h + i;
        size_t n = e - i;
        size_t skip = 0;
        if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0)
            skip = 13;
        else if (n > 2 && strncasecmp(line, "c:", 2) == 0)
            skip = 2;
        if (skip) {
            while (skip < n && line[skip] == ' ') skip++;
            if (n - skip >= 19 && strncasecmp(line + skip, "application/manscdp", 19) == 0) return true;
        }
        i = e + 1;
    }
    return false;
}

/* The body of one SIP message text (headers, blank line, body); len 0 when it is not MANSCDP or empty. */
static struct body message_body(const uint8_t *m, size_t len)
{
    struct body b = {NULL, 0};
    for (size_t i = 0; i + 1 < len; i++) {
        size_t hdr_end = 0, body_start = 0;
        if (m[i] == '\n' && m[i + 1] == '\n')
            hdr_end = i, body_start = i + 2;
        else if (m[i] == '\n' && m[i + 1] == '\r' && i + 2 < len && m[i + 2] == '\n')
            hdr_end = i, body_start = i + 3;
        if (!body_start) continue;
        if (!headers_say_manscdp(m, hdr_end)) return b;
        size_t n = len - body_start;
        while (n > 0 && (m[body_start + n - 1] == '\n' || m[body_start + n - 1] == '\r')) n--;
        if (n == 0) return b;
        b.p = m + body_start;
        b.len = len - body_start; /* keep the trailing line ends: they are part of what devices send */
        return b;
    }
    return b;
}

/* Calls fn for every MANSCDP body of a dump whose messages are separated by "===== ..." lines; `label` is
 * the separator line. A file without separators is one message. */
typedef void (*body_fn)(const char *label, size_t label_len, struct body b, void *arg);

static size_t for_each_body(const uint8_t *data, size_t len, body_fn fn, void *arg)
{
    size_t count = 0, pos = 0;
    const char *label = "";
    size_t label_len = 0;
    while (pos < len) {
        /* the message runs to the next "\n=====" */
        size_t end = pos;
        while (end < len && !(data[end] == '\n' && end + 5 < len && memcmp(data + end + 1, "=====", 5) == 0))
            end++;
        size_t msg_start = pos;
        if (len - pos >= 5 && memcmp(data + pos, "=====", 5) == 0) {
            size_t eol = pos;
            while (eol < end && data[eol] != '\n') eol++;
            label = (const char *)data + pos;
            label_len = eol - pos;
            msg_start = eol < end ? eol + 1 : end;
        }
        struct body b = message_body(data + msg_start, end - msg_start);
        if (b.len) {
            fn(label, label_len, b, arg);
            count++;
        }
        pos = end + 1;
    }
    return count;
}

/* ---------------------------------------------------------------- every body parses */

struct scan {
    size_t failures;
    size_t gb_bodies; /* decoded from GB18030 */
};

static void check_body(const char *label, size_t label_len, struct body b, void *arg)
{
    struct scan *sc = arg;
    struct manscdp_msg *msg = NULL;
    int err = manscdp_parse(b.p, b.len, &msg);
    uint32_t sn = 0;
    if (err || !manscdp_cmdtype(msg)[0] || !manscdp_sn(msg, &sn) || !manscdp_device_id(msg)[0]) {
        printf("FAILED (%s): %.*s\n", strerror(err), (int)label_len, label);
        sc->failures++;
    } else if (manscdp_charset(msg) == MANSCDP_GB2312) {
        for (size_t i = 0; i < b.len; i++)
            if (b.p[i] >= 0x80) {
                sc->gb_bodies++;
                break;
            }
    }
    manscdp_free(msg);
}

START_TEST(every_sample_body_parses)
{
    static const char *const files[] = {
        "sip-samples/avstackdocs_pcaps_sip_messages.txt",
        "sip-samples/fri_sipstandarddebug_trace.txt",
        "sip-samples/fri_catalog_query_and_responses.sip.txt",
        "sip-samples/fri_embedded_ipc_invite_200ok_sdp.sip.txt",
        "sip-samples/fri_exosip_device_register_digest.sip.txt",
        "sip-samples/fri_honeywell_platform_register_digest.sip.txt",
        "sip-samples/fri_invite_rejected_488.sip.txt",
    };
    struct scan sc = {0};
    size_t total = 0, files_read = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *path = test_shared_path(files[i]);
        if (!path) continue;
        size_t len = 0;
        uint8_t *data = test_read_file(path, &len);
        ck_assert_ptr_nonnull(data);
        size_t n = for_each_body(data, len, check_body, &sc);
        printf("%s: %zu MANSCDP bodies\n", files[i], n);
        total += n;
        files_read++;
        free(data);
    }
    const char *vec_dir = test_shared_path("sip-samples/vectors");
    size_t vectors = 0, vector_files = 0;
    if (vec_dir) {
        DIR *d = opendir(vec_dir);
        ck_assert_ptr_nonnull(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (strncmp(de->d_name, "dr34m_", 6) != 0 || n < 5 || strcmp(de->d_name + n - 4, ".sip") != 0)
                continue;
            char path[1200];
            snprintf(path, sizeof(path), "%s/%s", vec_dir, de->d_name);
            size_t len = 0;
            uint8_t *data = test_read_file(path, &len);
            ck_assert_ptr_nonnull(data);
            vectors += for_each_body(data, len, check_body, &sc);
            vector_files++;
            free(data);
        }
        closedir(d);
        printf("sip-samples/vectors/dr34m_*.sip: %zu MANSCDP bodies\n", vectors);
        ck_assert_uint_eq(vector_files, 53);
        ck_assert_uint_eq(vectors, 13); /* MESSAGE bodies only: REGISTER, INVITE, INFO... are not MANSCDP */
        total += vectors;
    }
    printf("MANSCDP sample bodies checked: %zu (%zu with GB2312/GBK bytes), failures: %zu\n", total,
           sc.gb_bodies, sc.failures);
    ck_assert_uint_eq(sc.failures, 0);
    if (files_read == 7 && vec_dir) {
        ck_assert_uint_eq(total, 1200);
        ck_assert_uint_eq(sc.gb_bodies, 6);
    }
}
END_TEST

/* ---------------------------------------------------------------- field checks on chosen messages */

struct pick {
    const char *label_part;
    uint8_t *copy;
    size_t len;
};

static void pick_body(const char *label, size_t label_len, struct body b, void *arg)
{
    struct pick *p = arg;
    if (p->copy || !memmem(label, label_len, p->label_part, strlen(p->label_part))) return;
    p->copy = malloc(b.len);
    memcpy(p->copy, b.p, b.len);
    p->len = b.len;
}

/* Parses the body whose separator line contains label_part (or the only body of a vector file). */
static struct manscdp_msg *sample(const char *file, const char *label_part)
{
    const char *path = test_shared_path(file);
    if (!path) return NULL;
    size_t len = 0;
    uint8_t *data = test_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    struct pick p = {label_part, NULL, 0};
    for_each_body(data, len, pick_body, &p);
    free(data);
    ck_assert_msg(p.copy != NULL, "no body labelled %s in %s", label_part, file);
    struct manscdp_msg *msg = NULL;
    ck_assert_int_eq(manscdp_parse(p.copy, p.len, &msg), 0);
    free(p.copy);
    return msg;
}

START_TEST(hikvision_gb2312_catalog_names)
{
    static const struct {
        const char *frame, *id, *name;
    } want[] = {
        {"10_catalog_query frame 3 ", "330000000000000099", "浙江省"},
        {"10_catalog_query frame 5 ", "330100000000000099", "杭州市"},
        {"10_catalog_query frame 7 ", "330106000000000099", "西湖区"},
        {"10_catalog_query frame 9 ", "330106020040858499", "西兴街道"},
    };
    for (size_t i = 0; i < 4; i++) {
        struct manscdp_msg *m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", want[i].frame);
        if (!m) return;
        /* declared as plain <?xml version="1.0"?>, bytes are GB2312 */
        ck_assert_int_eq(manscdp_charset(m), MANSCDP_GB2312);
        struct manscdp_catalog cat;
        ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
        ck_assert_int_eq(cat.sum_num, 9);
        ck_assert_int_eq(cat.list_num, 1);
        ck_assert_uint_eq(cat.item_count, 1);
        struct manscdp_catalog_item it;
        manscdp_decode_catalog_item(cat.first_item, &it);
        ck_assert_str_eq(it.device_id, want[i].id);
        ck_assert_str_eq(it.name, want[i].name);
        ck_assert_str_eq(it.manufacturer, "hik");
        ck_assert_str_eq(it.status, "ON");
        ck_assert(it.online);
        ck_assert_int_eq(it.port, 8000);
        ck_assert_int_eq(it.parental, 0);
        ck_assert_int_eq(it.register_way, 1);
        ck_assert_int_eq(it.safety_way, -1);
        ck_assert_int_eq(it.ptz_type, -1);
        ck_assert(it.has_position);
        ck_assert_str_eq(manscdp_node_get(cat.first_item, "Info/CameraType"), "0");
        ck_assert_str_eq(manscdp_node_get(cat.first_item, "RecLocation"), ""); /* <RecLocation/> */
        manscdp_free(m);
    }
}
END_TEST

START_TEST(honeywell_catalog_gb2312_middle_dot)
{
    /* Names were partly lost to '?' by the logging tool; the GB2312 middle dot A1 A4 survived. */
    struct manscdp_msg *m = sample("sip-samples/fri_catalog_query_and_responses.sip.txt", "t=1467713431435");
    if (!m) return;
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    ck_assert_int_eq(cat.sum_num, 5);
    struct manscdp_catalog_item it;
    manscdp_decode_catalog_item(cat.first_item, &it);
    ck_assert_str_eq(it.device_id, "44198700001510000003");
    ck_assert_str_eq(it.name, "????\xC2\xB7"); /* U+00B7 in UTF-8 */
    ck_assert_str_eq(it.business_group_id, "44000000002150000001");
    ck_assert_str_eq(it.parent_id, "46010000002000000100");
    ck_assert_int_eq(it.secrecy, -1);
    manscdp_free(m);
}
END_TEST

START_TEST(dahua_catalog)
{
    struct manscdp_msg *m = sample("sip-samples/vectors/dr34m_09_MESSAGE_Catalog.sip", "");
    if (!m) return;
    ck_assert(manscdp_is(m, MANSCDP_RESPONSE, "catalog"));
    uint32_t sn;
    ck_assert(manscdp_sn(m, &sn));
    ck_assert_uint_eq(sn, 7);
    ck_assert_str_eq(manscdp_device_id(m), "34020000001320000002");
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    ck_assert_int_eq(cat.sum_num, 1);
    ck_assert_int_eq(cat.list_num, 1);
    struct manscdp_catalog_item it;
    manscdp_decode_catalog_item(cat.first_item, &it);
    ck_assert_str_eq(it.device_id, "34020000001310000001");
    ck_assert_str_eq(it.name, "DH71");
    ck_assert_str_eq(it.manufacturer, "Dahua");
    ck_assert_str_eq(it.model, "DH-SD-6C3230UE-HN");
    ck_assert_str_eq(it.owner, "0");
    ck_assert_str_eq(it.civil_code, "340200");
    ck_assert_str_eq(it.address, "axy");
    ck_assert_str_eq(it.parent_id, "34020000001320000002");
    ck_assert_str_eq(it.block, "");
    ck_assert_int_eq(it.parental, 0);
    ck_assert_int_eq(it.register_way, 1);
    ck_assert_int_eq(it.secrecy, 0);
    ck_assert_int_eq(it.ptz_type, 3);
    ck_assert(it.online);
    ck_assert(!it.has_position);
    ck_assert_ptr_null(manscdp_next(cat.first_item));
    ck_assert_str_eq(manscdp_node_get(cat.first_item, "Info/DownloadSpeed"), "1/2/4/8");
    manscdp_free(m);
}
END_TEST

START_TEST(keepalives_with_and_without_encoding)
{
    struct manscdp_msg *m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "02_keepalive frame 1 ");
    if (!m) return;
    struct manscdp_keepalive ka;
    ck_assert_int_eq(manscdp_decode_keepalive(m, &ka), 0);
    ck_assert(ka.status_ok);
    uint32_t sn;
    ck_assert(manscdp_sn(m, &sn));
    ck_assert_uint_eq(sn, 2749);
    ck_assert_str_eq(manscdp_device_id(m), "130909113319427420");
    ck_assert_int_eq(manscdp_charset(m), MANSCDP_GB2312); /* ASCII, no declaration: answer in the default */
    manscdp_free(m);

    m = sample("sip-samples/vectors/dr34m_05_MESSAGE_Keepalive.sip", "");
    ck_assert_int_eq(manscdp_decode_keepalive(m, &ka), 0);
    ck_assert_str_eq(ka.status, "OK");
    ck_assert(manscdp_sn(m, &sn));
    ck_assert_uint_eq(sn, 539);
    ck_assert_str_eq(manscdp_device_id(m), "34020000001320000002");
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), EPROTO);
    manscdp_free(m);
}
END_TEST

START_TEST(dahua_device_info_and_status)
{
    struct manscdp_msg *m = sample("sip-samples/vectors/dr34m_13_MESSAGE_DeviceInfo.sip", "");
    if (!m) return;
    struct manscdp_device_info di;
    ck_assert_int_eq(manscdp_decode_device_info(m, &di), 0);
    ck_assert_str_eq(di.result, "OK");
    ck_assert_str_eq(di.device_name, "DH-SD-6C3230UE-HN");
    ck_assert_str_eq(di.manufacturer, "Dahua");
    ck_assert_str_eq(di.model, "DH-SD-6C3230UE-HN");
    ck_assert_str_eq(di.firmware, "2.623.0000000.17.R,2019-01-19");
    ck_assert_int_eq(di.channel, 1);
    manscdp_free(m);

    m = sample("sip-samples/vectors/dr34m_17_MESSAGE_DeviceStatus.sip", "");
    struct manscdp_device_status ds;
    ck_assert_int_eq(manscdp_decode_device_status(m, &ds), 0);
    ck_assert(ds.online);
    ck_assert_str_eq(ds.status, "OK");
    ck_assert_str_eq(ds.encode, "ON");
    ck_assert_str_eq(ds.record, "OFF");
    ck_assert_str_eq(ds.device_time, "2024-05-17T14:24:54");
    ck_assert_uint_eq(ds.alarm_count, 2);
    struct manscdp_alarm_status_item al;
    manscdp_decode_alarm_status_item(ds.first_alarm, &al);
    ck_assert_str_eq(al.device_id, "34020000001340000001");
    ck_assert_str_eq(al.duty_status, "ONDUTY");
    manscdp_decode_alarm_status_item(manscdp_next(ds.first_alarm), &al);
    ck_assert_str_eq(al.device_id, "34020000001340000002");
    ck_assert_ptr_null(manscdp_next(manscdp_next(ds.first_alarm)));
    manscdp_free(m);

    m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "51_devicestatus_query frame 3 ");
    ck_assert_int_eq(manscdp_decode_device_status(m, &ds), 0);
    ck_assert(!ds.online);
    ck_assert_str_eq(ds.online_text, "OFFLINE");
    ck_assert_uint_eq(ds.alarm_count, 0); /* <Alarmstatus Num="0"/> */
    ck_assert_str_eq(manscdp_node_attr(manscdp_first(m, "Alarmstatus"), "Num"), "0");
    manscdp_free(m);

    m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "50_deviceinfo_query frame 3 ");
    ck_assert_int_eq(manscdp_decode_device_info(m, &di), 0);
    ck_assert_str_eq(di.manufacturer, "hikvision");
    ck_assert_str_eq(di.firmware, "Buld2.3");
    ck_assert_int_eq(di.channel, -1);
    ck_assert_str_eq(di.device_name, "");
    manscdp_free(m);
}
END_TEST

START_TEST(record_info_media_status_alarm)
{
    struct manscdp_msg *m =
        sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "30_recordinfo_query frame 3 ");
    if (!m) return;
    struct manscdp_record_info ri;
    ck_assert_int_eq(manscdp_decode_record_info(m, &ri), 0);
    ck_assert_str_eq(ri.name, "Camera 15");
    ck_assert_int_eq(ri.sum_num, 7);
    ck_assert_int_eq(ri.list_num, 1);
    ck_assert_uint_eq(ri.item_count, 1);
    struct manscdp_record_item rec;
    manscdp_decode_record_item(ri.first_item, &rec);
    ck_assert_str_eq(rec.device_id, "33010602001310019179");
    ck_assert_str_eq(rec.name, "0_1_1378792169_0.h264");
    ck_assert_str_eq(rec.start_time, "2013-09-10T14:00:00");
    ck_assert_str_eq(rec.end_time, "2013-09-10T14:08:22");
    ck_assert_str_eq(rec.type, "time");
    ck_assert_str_eq(rec.file_path, "");
    ck_assert_int_eq(rec.secrecy, 0);
    ck_assert_int_eq(rec.file_size, -1);
    manscdp_free(m);

    m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "43_download_invite frame 5 ");
    struct manscdp_media_status ms;
    ck_assert_int_eq(manscdp_decode_media_status(m, &ms), 0);
    ck_assert_int_eq(ms.notify_type, MANSCDP_NOTIFY_MEDIA_END);
    manscdp_free(m);

    m = sample("sip-samples/avstackdocs_pcaps_sip_messages.txt", "55_subscribe_notify_case frame 27 ");
    struct manscdp_alarm al;
    ck_assert_int_eq(manscdp_decode_alarm(m, &al), 0);
    ck_assert_int_eq(al.alarm_priority, 4);
    ck_assert_int_eq(al.alarm_method, 5);
    ck_assert_int_eq(al.alarm_type, 2);
    ck_assert_str_eq(al.alarm_time, "2019-07-16T20:30:19");
    ck_assert(al.has_position);
    ck_assert(al.longitude == 0.0 && al.latitude == 0.0);
    ck_assert_str_eq(manscdp_device_id(m), "34020000001310000001");
    manscdp_free(m);
}
END_TEST

static Suite *samples_suite(void)
{
    Suite *s = suite_create("signaling_manscdp_samples");
    TCase *tc = tcase_create("samples");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_sample_body_parses);
    tcase_add_test(tc, hikvision_gb2312_catalog_names);
    tcase_add_test(tc, honeywell_catalog_gb2312_middle_dot);
    tcase_add_test(tc, dahua_catalog);
    tcase_add_test(tc, keepalives_with_and_without_encoding);
    tcase_add_test(tc, dahua_device_info_and_status);
    tcase_add_test(tc, record_info_media_status_alarm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(samples_suite());
}
