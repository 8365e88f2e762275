/*
 * gbsim device: RecordInfo answers. The made-up recording list is a pure function of the query, so tests
 * know exactly what to expect: one recording at every full hour inside [StartTime, EndTime), each 30
 * minutes long (cut at EndTime), named "gbsim-HHMM", file /record/YYYYMMDD/HHMMSS.mp4 of 1 MiB per minute,
 * Type "time" (or the type asked, when not "all"), at most SIM_RECORDS_MAX.
 * They go out --records-per-message K per MESSAGE (default 2), last page first (some NVRs do, and the
 * gateway must sort). --records-none answers SumNum 0; --records-ignore never answers (the 200 only).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signaling/record_list.h"
#include "test/sim/device_events.h"

#define SIM_RECORDS_MAX 20000
#define PAGE_MAX        (60 * 1024)

static int records_per_message = 2;
static bool records_none, records_ignore;
atomic_ullong sim_records_queries, sim_records_messages;

bool sim_records_option(int code, const char *arg)
{
    switch (code) {
    case SIM_OPT_RECORDS_PER:
        records_per_message = atoi(arg);
        return records_per_message >= 1 && records_per_message <= 100;
    case SIM_OPT_RECORDS_NONE: records_none = true; return true;
    case SIM_OPT_RECORDS_IGNORE: records_ignore = true; return true;
    default: return false;
    }
}

static void send_page(struct sim_device *dev, uint32_t sn, const char *channel, int64_t sum,
                      int64_t first_start, int64_t count, int64_t end_s, const char *type)
{
    static _Thread_local char body[PAGE_MAX];
    struct manscdp_writer w;
    manscdp_writer_init(&w, body, sizeof(body), sim_device_charset(), MANSCDP_RESPONSE, "RecordInfo", sn,
                        channel);
    manscdp_writer_text(&w, "Name", "gbsim");
    manscdp_writer_int(&w, "SumNum", sum);
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)count);
    manscdp_writer_open_attr(&w, "RecordList", "Num", num);
    for (int64_t i = 0; i < count; i++) {
        int64_t start = first_start + i * 3600, end = start + 1800 < end_s ? start + 1800 : end_s;
        char st[RECORD_TIME_SIZE], et[RECORD_TIME_SIZE], name[32], path[64];
        record_time_format(start, st);
        record_time_format(end, et);
        snprintf(name, sizeof(name), "gbsim-%.2s%.2s", st + 11, st + 14);
        snprintf(path, sizeof(path), "/record/%.4s%.2s%.2s/%.2s%.2s%.2s.mp4", st, st + 5, st + 8, st + 11,
                 st + 14, st + 17);
        manscdp_writer_open(&w, "Item");
        manscdp_writer_text(&w, "DeviceID", channel);
        manscdp_writer_text(&w, "Name", name);
        manscdp_writer_text(&w, "FilePath", path);
        manscdp_writer_text(&w, "Address", "gbsim");
        manscdp_writer_text(&w, "StartTime", st);
        manscdp_writer_text(&w, "EndTime", et);
        manscdp_writer_int(&w, "Secrecy", 0);
        manscdp_writer_text(&w, "Type", type);
        manscdp_writer_text(&w, "RecorderID", sim_device_id(dev));
        manscdp_writer_int(&w, "FileSize", (end - start) / 60 * 1048576);
        manscdp_writer_close(&w);
    }
    size_t len;
    if (!manscdp_writer_finish(&w, &len) && !sim_device_send_body(dev, body, len))
        atomic_fetch_add(&sim_records_messages, 1);
}

void sim_records_answer(struct sim_device *dev, const struct manscdp_msg *q)
{
    atomic_fetch_add(&sim_records_queries, 1);
    if (records_ignore) return;
    uint32_t sn = 0;
    manscdp_sn(q, &sn);
    const char *channel = manscdp_device_id(q), *type = manscdp_get(q, "Type");
    if (!type || !type[0] || !strcasecmp(type, "all")) type = "time";
    int64_t start_s, end_s;
    int64_t n = 0, first = 0;
    if (!records_none && record_time_parse(manscdp_get(q, "StartTime"), &start_s) &&
        record_time_parse(manscdp_get(q, "EndTime"), &end_s) && end_s > start_s) {
        first = (start_s + 3599) / 3600 * 3600; /* the first full hour at or after the start */
        n = first < end_s ? (end_s - first + 3599) / 3600 : 0;
        if (n > SIM_RECORDS_MAX) n = SIM_RECORDS_MAX;
    }
    if (n == 0) {
        send_page(dev, sn, channel, 0, 0, 0, 0, type);
        return;
    }
    int64_t per = records_per_message, pages = (n + per - 1) / per;
    for (int64_t p = pages - 1; p >= 0; p--) { /* last page first */
        int64_t k = p == pages - 1 ? n - p * per : per;
        send_page(dev, sn, channel, n, first + p * per * 3600, k, end_s, type);
    }
}
