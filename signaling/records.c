/*
 * Recordings on a device (GB28181.md section 3): GET /api/v1/devices/{id}/channels/{ch}/records sends a
 * RecordInfo query for a time range and answers once the device's pages (Response RecordInfo, matched by
 * device and SN, or by device and channel for devices that do not echo SN) add up to SumNum recordings.
 *
 * Each query is one `struct record_query` holding the API request until it is answered: complete -> 200;
 * sip.query_timeout_s without a new page -> 200 with "complete": false when some recordings came, 504 when
 * none did; the MESSAGE refused or unanswered -> 502/504; the device deleted -> 404; shutdown -> 503. The
 * assembly itself (pages out of order, duplicates, SumNum 0, the item limit) is record_list.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/api.h"
#include "common/clock.h"
#include "common/log.h"
#include "signaling/record_list.h"
#include "signaling/sig_core.h"

#define RECORDS_MAX_ITEMS   10000 /* recordings kept per answer (documented in docs/API_DEVICES.md) */
#define RECORDS_MAX_PENDING 64    /* RecordInfo queries in flight at once */
#define RECORDS_BODY_MAX    1024

struct record_query {
    struct le le;
    char device_id[DEVICE_ID_MAX];
    char channel_id[MANSCDP_ID_SIZE];
    uint32_t sn;
    struct paged_assembly *list;
    uint64_t deadline_mono; /* pushed back by every page */
    struct api_request *req;
};

static struct list queries;

static struct record_query *find_by_sn(const char *device_id, uint32_t sn)
{
    for (struct le *le = queries.head; le; le = le->next) {
        struct record_query *q = le->data;
        if (q->sn == sn && !strcmp(q->device_id, device_id)) return q;
    }
    return NULL;
}

static void query_free(struct record_query *q)
{
    list_unlink(&q->le);
    paged_assembly_destroy(q->list);
    free(q);
}

static json_t *record_json(const struct record_entry *e)
{
    const struct manscdp_record_item *it = &e->item;
    char start[RECORD_TIME_SIZE], end[RECORD_TIME_SIZE];
    if (e->start_s >= 0) record_time_format(e->start_s, start);
    if (e->end_s >= 0) record_time_format(e->end_s, end);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(it->name));
    json_object_set_new(o, "start", json_string(e->start_s >= 0 ? start : it->start_time));
    json_object_set_new(o, "end", json_string(e->end_s >= 0 ? end : it->end_time));
    json_object_set_new(o, "type", json_string(it->type));
    json_object_set_new(o, "file_path", json_string(it->file_path));
    json_object_set_new(o, "file_size", it->file_size >= 0 ? json_integer(it->file_size) : json_null());
    json_object_set_new(o, "secrecy", it->secrecy >= 0 ? json_integer(it->secrecy) : json_null());
    json_object_set_new(o, "recorder_id", json_string(it->recorder_id));
    return o;
}

/* Answers the API request with what came and frees the query. */
static void query_answer(struct record_query *q, bool complete)
{
    struct paged_assembly *a = q->list;
    json_t *arr = json_array();
    for (size_t i = 0; i < a->count; i++) json_array_append_new(arr, record_json(paged_assembly_at(a, i)));
    json_t *o = json_object();
    json_object_set_new(o, "device", json_string(q->device_id));
    json_object_set_new(o, "channel", json_string(q->channel_id));
    json_object_set_new(o, "sum_num", json_integer(a->sum_num >= 0 ? a->sum_num : (json_int_t)a->count));
    /* over RECORDS_MAX_ITEMS the answer is finished but not whole: the client sees both */
    json_object_set_new(o, "complete", json_boolean(complete && !a->dropped));
    json_object_set_new(o, "truncated", json_boolean(a->dropped > 0));
    json_object_set_new(o, "records", arr);
    if (complete)
        log_info(LOG_MOD, "device %s channel %s: %zu recordings in %u pages", q->device_id, q->channel_id,
                 a->count, a->messages);
    else
        log_warn(LOG_MOD, "device %s channel %s: RecordInfo timed out with %zu of %lld recordings",
                 q->device_id, q->channel_id, a->count, (long long)a->sum_num);
    api_reply_json(q->req, 200, o);
    query_free(q);
}

static void query_fail(struct record_query *q, int err)
{
    sig_reply_query_error(q->req, err ? err : EIO);
    sig_count(SC_QUERIES_FAILED);
    query_free(q);
}

/* ---- SIP ---- */

struct txn_ctx {
    char device_id[DEVICE_ID_MAX];
    uint32_t sn;
};

static void txn_response(int err, const struct sip_msg *msg, void *arg)
{
    struct txn_ctx *ctx = arg;
    if (!err && msg && msg->scode < 200) return;
    if (err || !msg || msg->scode >= 300) {
        struct record_query *q = sig ? find_by_sn(ctx->device_id, ctx->sn) : NULL;
        /* a page may already have come (devices answer before their 200 is through): keep what came */
        if (q && q->list->messages == 0) query_fail(q, err ? err : EPROTO);
    }
    free(ctx);
}

void records_handle_response(struct device *dev, const struct manscdp_msg *m)
{
    struct manscdp_record_info page;
    if (manscdp_decode_record_info(m, &page)) return;
    uint32_t sn = 0;
    struct record_query *q = manscdp_sn(m, &sn) ? find_by_sn(dev->id, sn) : NULL;
    if (!q) { /* no SN echoed (or a wrong one): the oldest query of this device for this channel */
        for (struct le *le = queries.head; le && !q; le = le->next) {
            struct record_query *c = le->data;
            if (!strcmp(c->device_id, dev->id) && !strcmp(c->channel_id, manscdp_device_id(m))) q = c;
        }
    }
    if (!q) return; /* late (after its timeout) or unsolicited */
    uint64_t now = clock_mono_ms();
    if (record_list_add(q->list, &page, now)) {
        query_answer(q, false);
        return;
    }
    q->deadline_mono = now + (uint64_t)sig->cfg.sip.query_timeout_s * 1000;
    if (paged_assembly_complete(q->list)) query_answer(q, true);
}

void records_sweep(uint64_t now_mono)
{
    struct le *le = queries.head;
    while (le) {
        struct record_query *q = le->data;
        le = le->next;
        if (now_mono < q->deadline_mono) continue;
        if (q->list->count)
            query_answer(q, false);
        else
            query_fail(q, ETIMEDOUT);
    }
}

void records_forget_device(const char *device_id)
{
    struct le *le = queries.head;
    while (le) {
        struct record_query *q = le->data;
        le = le->next;
        if (!strcmp(q->device_id, device_id)) query_fail(q, ENOENT);
    }
}

void records_close(void)
{
    struct le *le;
    while ((le = queries.head)) query_fail(le->data, ESHUTDOWN);
}

static int send_record_info(struct device *dev, struct record_query *q, const char *start, const char *end,
                            const char *type)
{
    const struct manscdp_field fields[] = {
        {"StartTime", start}, {"EndTime", end}, {"Secrecy", "0"}, {"Type", type}};
    char body[RECORDS_BODY_MAX];
    size_t len;
    enum manscdp_charset cs = strcasecmp(sig->cfg.sip.charset, "UTF-8") ? MANSCDP_GB2312 : MANSCDP_UTF8;
    int err = manscdp_build_query(body, sizeof(body), &len, cs, "RecordInfo", q->sn, q->channel_id, fields,
                                  sizeof(fields) / sizeof(fields[0]));
    if (err) return err;
    struct txn_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return ENOMEM;
    snprintf(ctx->device_id, sizeof(ctx->device_id), "%s", dev->id);
    ctx->sn = q->sn;
    err = sig_send_message(dev, body, len, txn_response, ctx);
    if (err) free(ctx);
    return err;
}

/* ---- API ---- */

/* A query-string time into its canonical form; replies 400 itself and returns false when bad. */
static bool param_time(struct api_request *req, const char *key, int64_t *seconds, char out[RECORD_TIME_SIZE])
{
    char text[64];
    if (!api_query_get(req, key, text, sizeof(text))) {
        api_reply_error(req, 400, "bad_time", "%s is required (e.g. 2026-01-01T00:00:00)", key);
        return false;
    }
    if (!record_time_parse(text, seconds)) {
        api_reply_error(req, 400, "bad_time", "%s '%s' is not a time like 2026-01-01T00:00:00", key, text);
        return false;
    }
    record_time_format(*seconds, out);
    return true;
}

static void handle_records(struct api_request *req)
{
    const char *device_id = req->params[0], *channel_id = req->params[1];
    int64_t start_s, end_s;
    char start[RECORD_TIME_SIZE], end[RECORD_TIME_SIZE], type[16] = "all";
    if (!param_time(req, "start", &start_s, start) || !param_time(req, "end", &end_s, end)) return;
    if (end_s <= start_s) {
        api_reply_error(req, 400, "bad_range", "end must be after start");
        return;
    }
    if (api_query_get(req, "type", type, sizeof(type)) && !record_type_valid(type)) {
        api_reply_error(req, 400, "bad_type", "type must be all, time, alarm or manual");
        return;
    }
    struct device *dev = registry_find(device_id);
    if (!dev) {
        api_reply_error(req, 404, "device_not_found", "no device %s", device_id);
        return;
    }
    if (!device_find_channel(dev, channel_id) && strcmp(device_id, channel_id)) {
        api_reply_error(req, 404, "channel_not_found", "device %s has no channel %s", device_id, channel_id);
        return;
    }
    if (!dev->online || !device_reachable(dev)) {
        api_reply_error(req, 409, "device_offline", "device %s is offline", device_id);
        return;
    }
    if (list_count(&queries) >= RECORDS_MAX_PENDING) {
        api_reply_error(req, 503, "too_many_queries", "%d recording queries are already waiting",
                        RECORDS_MAX_PENDING);
        return;
    }
    struct record_query *q = calloc(1, sizeof(*q));
    uint64_t now = clock_mono_ms();
    if (q) q->list = record_list_create(0, RECORDS_MAX_ITEMS, now);
    if (!q || !q->list) {
        if (q) free(q);
        api_reply_error(req, 503, "out_of_memory", "cannot start the query");
        return;
    }
    snprintf(q->device_id, sizeof(q->device_id), "%.32s", device_id);
    snprintf(q->channel_id, sizeof(q->channel_id), "%.31s", channel_id);
    q->sn = q->list->sn = sig_next_sn();
    q->deadline_mono = now + (uint64_t)sig->cfg.sip.query_timeout_s * 1000;
    q->req = req;
    list_append(&queries, &q->le, q);
    int err = send_record_info(dev, q, start, end, type);
    if (err) {
        list_unlink(&q->le);
        paged_assembly_destroy(q->list);
        free(q);
        api_reply_error(req, 502, "query_failed", "cannot query device %s: %s", device_id, strerror(err));
    }
}

void records_api_register(void)
{
    static bool registered;
    if (registered) return;
    registered = true;
    api_route("GET", "/api/v1/devices/{}/channels/{}/records", handle_records);
}
