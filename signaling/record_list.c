/* RecordInfo times and page assembly (see record_list.h). */
#include "signaling/record_list.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool record_time_parse(const char *text, int64_t *seconds)
{
    int y, mo, d, h, mi, s;
    if (!text || strlen(text) < 19) return false;
    if (!digits(text, 4, &y) || text[4] != '-' || !digits(text + 5, 2, &mo) || text[7] != '-' ||
        !digits(text + 8, 2, &d) || (text[10] != 'T' && text[10] != ' ') || !digits(text + 11, 2, &h) ||
        text[13] != ':' || !digits(text + 14, 2, &mi) || text[16] != ':' || !digits(text + 17, 2, &s))
        return false;
    const char *rest = text + 19;
    if (*rest == '.') {
        rest++;
        int n = 0;
        while (*rest >= '0' && *rest <= '9' && n < 9) rest++, n++;
        if (!n) return false;
    }
    if (*rest == 'Z') rest++;
    if (*rest) return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || s > 59)
        return false;
    *seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

void record_time_format(int64_t seconds, char out[RECORD_TIME_SIZE])
{
    int64_t days = seconds / 86400, rem = seconds % 86400;
    /* civil_from_days (the inverse of days_from_civil) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    unsigned secs = (unsigned)(rem >= 0 ? rem : 0);
    snprintf(out, RECORD_TIME_SIZE, "%04u-%02u-%02uT%02u:%02u:%02u", (unsigned)(y % 10000) % 10000u, m % 13u,
             d % 32u, secs / 3600 % 24u, secs / 60 % 60u, secs % 60u);
}

bool record_type_valid(const char *type)
{
    static const char *const types[] = {"all", "time", "alarm", "manual"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(type, types[i])) return true;
    return false;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const struct record_entry *a = pa, *b = pb;
    int c = cmp_i64(a->start_s, b->start_s);
    if (!c) c = cmp_i64(a->end_s, b->end_s);
    if (!c && a->start_s < 0) c = strcmp(a->item.start_time, b->item.start_time);
    if (!c && a->end_s < 0) c = strcmp(a->item.end_time, b->item.end_time);
    if (!c) c = strcmp(a->item.file_path, b->item.file_path);
    if (!c) c = strcmp(a->item.device_id, b->item.device_id);
    if (!c) c = strcmp(a->item.name, b->item.name);
    if (!c) c = strcasecmp(a->item.type, b->item.type);
    return c;
}

struct paged_assembly *record_list_create(uint32_t sn, size_t max_items, uint64_t now_ms)
{
    return paged_assembly_create(sn, sizeof(struct record_entry), max_items, entry_cmp, now_ms);
}

int record_list_add_item(struct paged_assembly *a, const struct manscdp_record_item *item)
{
    struct record_entry e;
    memset(&e, 0, sizeof(e));
    e.item = *item;
    if (!record_time_parse(item->start_time, &e.start_s)) e.start_s = -1;
    if (!record_time_parse(item->end_time, &e.end_s)) e.end_s = -1;
    return paged_assembly_add(a, &e);
}

int record_list_add(struct paged_assembly *a, const struct manscdp_record_info *page, uint64_t now_ms)
{
    paged_assembly_part(a, page->sum_num, now_ms);
    struct manscdp_record_item item;
    for (const struct manscdp_node *n = page->first_item; n; n = manscdp_next(n)) {
        manscdp_decode_record_item(n, &item);
        int err = record_list_add_item(a, &item);
        if (err) return err;
    }
    return 0;
}
