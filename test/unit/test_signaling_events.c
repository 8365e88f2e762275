/* Unit tests for signaling/storage_events: alarm history bounded in total and position history bounded per
 * device (pruned with each insert), newest first, the device/since/limit filters, clearing, forgetting a
 * deleted device, and the newest position per device (what warms the device JSON's last_position). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "signaling/storage.h"
#include "signaling/storage_events.h"
#include "testutil.h"

#define DEV_A "34020000001320000001"
#define DEV_B "34020000001320000002"

static void setup(void)
{
    ck_assert_int_eq(storage_open(":memory:"), 0);
    ck_assert_int_eq(storage_events_open(), 0);
}

static void teardown(void)
{
    storage_events_close();
    storage_close();
}

struct rows {
    int n;
    int64_t ids[64];
    char text[64][512];
    double longitude[64];
};

static void alarm_row(void *arg, const struct stored_alarm *a)
{
    struct rows *r = arg;
    r->ids[r->n] = a->id;
    snprintf(r->text[r->n], sizeof(r->text[0]), "%s|%s|%d|%d|%d|%s|%s|%d|%.1f|%.1f|%llu", a->device_id,
             a->channel_id, a->priority, a->method, a->type, a->time, a->description, a->has_position,
             a->longitude, a->latitude, (unsigned long long)a->received_at);
    r->n++;
}

static void position_row(void *arg, const struct stored_position *p)
{
    struct rows *r = arg;
    snprintf(r->text[r->n], sizeof(r->text[0]), "%s|%s|%s|%.1f|%.1f|%.1f", p->device_id, p->channel_id,
             p->time, p->speed, p->direction, p->altitude);
    r->longitude[r->n++] = p->longitude;
}

static struct stored_alarm alarm(const char *dev, int n)
{
    struct stored_alarm a;
    memset(&a, 0, sizeof(a));
    snprintf(a.device_id, sizeof(a.device_id), "%s", dev);
    snprintf(a.channel_id, sizeof(a.channel_id), "3402000000134000000%d", n % 10);
    a.priority = n % 4 + 1;
    a.method = 2;
    a.type = -1;
    snprintf(a.time, sizeof(a.time), "2026-01-01T08:00:%02d", n);
    snprintf(a.description, sizeof(a.description), "报警 %d", n);
    a.has_position = n % 2;
    a.longitude = 117.2;
    a.latitude = 31.8;
    a.received_at = 1000 * (uint64_t)n;
    return a;
}

START_TEST(alarms_bounded_newest_first_filtered)
{
    for (int i = 1; i <= 12; i++) {
        struct stored_alarm a = alarm(i % 3 ? DEV_A : DEV_B, i);
        ck_assert_int_eq(storage_alarm_add(&a, 8), 0);
        ck_assert_int_eq(a.id, i);
    }
    struct rows r = {0};
    ck_assert_int_eq(storage_alarms_list(NULL, 0, 100, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 8); /* 12 stored, bounded to the newest 8 */
    for (int i = 0; i < 8; i++) ck_assert_int_eq(r.ids[i], 12 - i);
    ck_assert_str_eq(r.text[0],
                     DEV_B "|34020000001340000002|1|2|-1|2026-01-01T08:00:12|报警 12|0|117.2|31.8|12000");
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_alarms_list(DEV_B, 0, 100, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 3); /* 6, 9, 12 (3 was pruned) */
    ck_assert_int_eq(r.ids[2], 6);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_alarms_list("", 10000, 100, alarm_row, &r), 0); /* received at or after 10 s */
    ck_assert_int_eq(r.n, 3);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_alarms_list(NULL, 0, 2, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 2);
    struct stored_alarm a = alarm(DEV_A, 13);
    ck_assert_int_eq(storage_alarm_add(&a, 0), 0); /* history 0 keeps nothing */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_alarms_list(NULL, 0, 100, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 0);
    a = alarm(DEV_A, 14);
    ck_assert_int_eq(storage_alarm_add(&a, 5), 0);
    ck_assert_int_eq(storage_alarms_clear(), 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_alarms_list(NULL, 0, 100, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 0);
}
END_TEST

START_TEST(positions_bounded_per_device)
{
    for (int i = 1; i <= 10; i++) {
        struct stored_position p;
        memset(&p, 0, sizeof(p));
        snprintf(p.device_id, sizeof(p.device_id), "%s", i <= 7 ? DEV_A : DEV_B);
        snprintf(p.channel_id, sizeof(p.channel_id), "%.31s", p.device_id);
        snprintf(p.time, sizeof(p.time), "2026-01-01T08:00:%02d", i);
        p.longitude = 116 + i / 1000.0;
        p.speed = 10.5;
        p.direction = 90;
        p.altitude = 50;
        ck_assert_int_eq(storage_position_add(&p, 4), 0);
    }
    struct rows r = {0};
    ck_assert_int_eq(storage_positions_list(DEV_A, 100, position_row, &r), 0);
    ck_assert_int_eq(r.n, 4); /* 7 sent, the newest 4 kept */
    ck_assert_str_eq(r.text[0], DEV_A "|" DEV_A "|2026-01-01T08:00:07|10.5|90.0|50.0");
    ck_assert_double_eq_tol(r.longitude[3], 116.004, 1e-9);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_positions_list(DEV_B, 100, position_row, &r), 0);
    ck_assert_int_eq(r.n, 3); /* the other device's rows were not pruned by A's */
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_positions_latest(position_row, &r), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert(strstr(r.text[0], "08:00:07") || strstr(r.text[1], "08:00:07"));
    ck_assert(strstr(r.text[0], "08:00:10") || strstr(r.text[1], "08:00:10"));

    struct stored_alarm a = alarm(DEV_A, 1);
    ck_assert_int_eq(storage_alarm_add(&a, 10), 0);
    ck_assert_int_eq(storage_events_forget_device(DEV_A), 0);
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(storage_positions_list(DEV_A, 100, position_row, &r), 0);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_eq(storage_alarms_list(DEV_A, 0, 100, alarm_row, &r), 0);
    ck_assert_int_eq(r.n, 0);
    ck_assert_int_eq(storage_positions_list(DEV_B, 100, position_row, &r), 0);
    ck_assert_int_eq(r.n, 3);
}
END_TEST

static Suite *events_suite(void)
{
    Suite *s = suite_create("signaling_events");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, alarms_bounded_newest_first_filtered);
    tcase_add_test(tc, positions_bounded_per_device);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(events_suite());
}
