/* Unit tests for signaling/record_list (and the paged_assembly under it): GB times, RecordInfo pages
 * assembled by SumNum in start order whatever order the pages come in, duplicated pages, SumNum 0, the item
 * limit, malformed items and bodies, and the real two-recording answer of a Hikvision NVR. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/manscdp.h"
#include "signaling/record_list.h"
#include "testutil.h"

#define CHANNEL "34020000001310000001"

/* A RecordInfo page built with the MANSCDP writer and decoded by the parser, as records.c receives it: `n`
 * one-hour-apart recordings starting `first` hours after 2026-01-01T00:00:00. */
static void add_page(struct paged_assembly *a, long long sum, int first, int n)
{
    char body[32768];
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, sizeof(body), MANSCDP_GB2312, MANSCDP_RESPONSE, "RecordInfo", 9, CHANNEL);
    if (sum >= 0) manscdp_writer_int(&w, "SumNum", sum);
    char num[16];
    snprintf(num, sizeof(num), "%d", n);
    manscdp_writer_open_attr(&w, "RecordList", "Num", num);
    for (int i = first; i < first + n; i++) {
        char st[RECORD_TIME_SIZE], et[RECORD_TIME_SIZE], path[64];
        record_time_format(1767225600 + i * 3600, st);
        record_time_format(1767225600 + i * 3600 + 1800, et);
        snprintf(path, sizeof(path), "/rec/%d.mp4", i);
        manscdp_writer_open(&w, "Item");
        manscdp_writer_text(&w, "DeviceID", CHANNEL);
        manscdp_writer_text(&w, "Name", "录像");
        manscdp_writer_text(&w, "FilePath", path);
        manscdp_writer_text(&w, "StartTime", st);
        manscdp_writer_text(&w, "EndTime", et);
        manscdp_writer_int(&w, "Secrecy", 0);
        manscdp_writer_text(&w, "Type", "time");
        manscdp_writer_int(&w, "FileSize", 1000 + i);
        manscdp_writer_close(&w);
    }
    size_t len;
    ck_assert_int_eq(manscdp_writer_finish(&w, &len), 0);
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse((const uint8_t *)body, len, &m), 0);
    struct manscdp_record_info page;
    ck_assert_int_eq(manscdp_decode_record_info(m, &page), 0);
    ck_assert_int_eq(record_list_add(a, &page, 500), 0);
    manscdp_free(m);
}

static const struct record_entry *entry(const struct paged_assembly *a, size_t i)
{
    return paged_assembly_at(a, i);
}

START_TEST(times_parse_and_format)
{
    int64_t s;
    ck_assert(record_time_parse("2026-01-01T00:00:00", &s));
    ck_assert_int_eq(s, 1767225600);
    ck_assert(record_time_parse("2026-01-01 00:00:00", &s)); /* a space instead of the T */
    ck_assert_int_eq(s, 1767225600);
    ck_assert(record_time_parse("2024-02-29T23:59:59.123Z", &s));
    ck_assert_int_eq(s, 1709251199);
    char out[RECORD_TIME_SIZE];
    record_time_format(1709251199, out);
    ck_assert_str_eq(out, "2024-02-29T23:59:59");
    record_time_format(1767225600 + 86400 * 59 + 3723, out);
    ck_assert_str_eq(out, "2026-03-01T01:02:03");
    static const char *const bad[] = {"",
                                      "2026-01-01",
                                      "2026-01-01T00:00",
                                      "2026-13-01T00:00:00",
                                      "2026-02-29T00:00:00", /* not a leap year */
                                      "2026-04-31T00:00:00",
                                      "2026-01-01T24:00:00",
                                      "2026-01-01T00:60:00",
                                      "2026-01-01X00:00:00",
                                      "2026-01-01T00:00:00+08:00",
                                      "2026-01-01T00:00:00.",
                                      "1969-12-31T23:59:59",
                                      "２０２６-01-01T00:00:00",
                                      "2026-1-01T00:00:00 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!record_time_parse(bad[i], &s), "accepted '%s'", bad[i]);
    ck_assert(!record_time_parse(NULL, &s));
    ck_assert(record_type_valid("all") && record_type_valid("alarm") && !record_type_valid("ALL") &&
              !record_type_valid(""));
}
END_TEST

START_TEST(pages_out_of_order_and_duplicated)
{
    struct paged_assembly *a = record_list_create(9, 100, 0);
    add_page(a, 7, 4, 3); /* last page first */
    ck_assert(!paged_assembly_complete(a));
    add_page(a, 7, 0, 2);
    add_page(a, 7, 0, 2); /* the same page again (a retransmitted MESSAGE) */
    ck_assert_uint_eq(a->count, 5);
    ck_assert_uint_eq(a->duplicates, 2);
    ck_assert(!paged_assembly_complete(a));
    add_page(a, 7, 2, 2);
    ck_assert(paged_assembly_complete(a));
    ck_assert_uint_eq(a->count, 7);
    ck_assert_uint_eq(a->messages, 4);
    ck_assert_int_eq(a->sum_num, 7);
    ck_assert_uint_eq(a->updated_ms, 500);
    for (size_t i = 0; i < 7; i++) {
        const struct record_entry *e = entry(a, i);
        ck_assert_int_eq(e->start_s, 1767225600 + (int64_t)i * 3600);
        ck_assert_int_eq(e->end_s, e->start_s + 1800);
        ck_assert_int_eq(e->item.file_size, 1000 + (int64_t)i);
        ck_assert_str_eq(e->item.name, "录像");
        ck_assert_str_eq(e->item.type, "time");
        ck_assert_int_eq(e->item.secrecy, 0);
    }
    size_t n;
    struct record_entry *taken = paged_assembly_take(a, &n);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(taken[6].item.file_path, "/rec/6.mp4");
    ck_assert_uint_eq(a->count, 0);
    free(taken);
    paged_assembly_destroy(a);
}
END_TEST

START_TEST(sumnum_zero_missing_and_limit)
{
    struct paged_assembly *a = record_list_create(1, 100, 0);
    add_page(a, 0, 0, 0); /* "no recordings" */
    ck_assert(paged_assembly_complete(a));
    ck_assert_uint_eq(a->count, 0);
    size_t n = 99;
    ck_assert_ptr_null(paged_assembly_take(a, &n));
    ck_assert_uint_eq(n, 0);
    paged_assembly_destroy(a);

    a = record_list_create(2, 100, 0);
    add_page(a, -1, 0, 3); /* no SumNum: never complete, the caller's timeout decides */
    ck_assert(!paged_assembly_complete(a));
    ck_assert_uint_eq(a->count, 3);
    paged_assembly_destroy(a);

    /* SumNum over the limit: complete once the limit is reached, the rest dropped (no huge allocation) */
    a = record_list_create(3, 5, 0);
    add_page(a, 2000000000LL, 0, 4);
    ck_assert(!paged_assembly_complete(a));
    add_page(a, 2000000000LL, 4, 4);
    ck_assert(paged_assembly_complete(a));
    ck_assert_uint_eq(a->count, 5);
    ck_assert_uint_eq(a->dropped, 3);
    ck_assert_int_eq(entry(a, 4)->start_s, 1767225600 + 4 * 3600);
    paged_assembly_destroy(a);
}
END_TEST

START_TEST(malformed_items_kept_in_order)
{
    struct paged_assembly *a = record_list_create(1, 10, 0);
    struct manscdp_record_item it;
    memset(&it, 0, sizeof(it));
    snprintf(it.start_time, sizeof(it.start_time), "2026-01-01T05:00:00");
    snprintf(it.end_time, sizeof(it.end_time), "2026-01-01T06:00:00");
    ck_assert_int_eq(record_list_add_item(a, &it), 0);
    snprintf(it.start_time, sizeof(it.start_time), "yesterday");
    ck_assert_int_eq(record_list_add_item(a, &it), 0);
    snprintf(it.start_time, sizeof(it.start_time), "2026-01-01 01:00:00"); /* space form */
    ck_assert_int_eq(record_list_add_item(a, &it), 0);
    snprintf(it.start_time, sizeof(it.start_time), "2026-01-01T01:00:00"); /* the same time: a duplicate */
    ck_assert_int_eq(record_list_add_item(a, &it), 0);
    ck_assert_uint_eq(a->count, 3);
    ck_assert_uint_eq(a->duplicates, 1);
    ck_assert_int_eq(entry(a, 0)->start_s, -1); /* unreadable time sorts first, kept as sent */
    ck_assert_str_eq(entry(a, 0)->item.start_time, "yesterday");
    ck_assert_int_eq(entry(a, 1)->start_s, 1767229200);
    ck_assert_int_eq(entry(a, 2)->start_s, 1767243600);
    paged_assembly_destroy(a);

    /* bodies that are not RecordInfo responses are refused by the decoder */
    static const char *const bodies[] = {
        "<Query><CmdType>RecordInfo</CmdType><SN>1</SN><DeviceID>1</DeviceID></Query>",
        "<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>1</DeviceID></Response>"};
    for (size_t i = 0; i < 2; i++) {
        struct manscdp_msg *m;
        ck_assert_int_eq(manscdp_parse((const uint8_t *)bodies[i], strlen(bodies[i]), &m), 0);
        struct manscdp_record_info page;
        ck_assert_int_eq(manscdp_decode_record_info(m, &page), EPROTO);
        manscdp_free(m);
    }
    ck_assert_ptr_null(paged_assembly_create(1, 0, 10, NULL, 0));
}
END_TEST

START_TEST(real_nvr_answer)
{
    const char *path = test_shared_path("sip-samples/vectors/dr34m_36_MESSAGE_RecordInfo.sip");
    if (!path) return;
    size_t len;
    uint8_t *sip = test_read_file(path, &len);
    ck_assert_ptr_nonnull(sip);
    const uint8_t *body = NULL;
    for (size_t i = 0; i + 4 <= len && !body; i++)
        if (!memcmp(sip + i, "\r\n\r\n", 4)) body = sip + i + 4;
    ck_assert_ptr_nonnull(body);
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse(body, len - (size_t)(body - sip), &m), 0);
    struct manscdp_record_info page;
    ck_assert_int_eq(manscdp_decode_record_info(m, &page), 0);
    struct paged_assembly *a = record_list_create(18, 100, 0);
    ck_assert_int_eq(record_list_add(a, &page, 1), 0);
    ck_assert(paged_assembly_complete(a));
    ck_assert_uint_eq(a->count, 2);
    ck_assert_str_eq(entry(a, 0)->item.start_time, "2024-05-04T14:43:16");
    ck_assert_str_eq(entry(a, 1)->item.file_path, "1714806986_1714808977");
    ck_assert_int_eq(entry(a, 1)->end_s - entry(a, 1)->start_s, 33 * 60 + 11);
    paged_assembly_destroy(a);
    manscdp_free(m);
    free(sip);
}
END_TEST

static Suite *records_suite(void)
{
    Suite *s = suite_create("signaling_records");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, times_parse_and_format);
    tcase_add_test(tc, pages_out_of_order_and_duplicated);
    tcase_add_test(tc, sumnum_zero_missing_and_limit);
    tcase_add_test(tc, malformed_items_kept_in_order);
    tcase_add_test(tc, real_nvr_answer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(records_suite());
}
