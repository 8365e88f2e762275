/*
 * MANSCDP typed decoders: the bodies the platform acts on (Keepalive, Catalog, DeviceInfo, DeviceStatus,
 * RecordInfo, Alarm, MobilePosition, MediaStatus) into fixed-size structs.
 *
 * Built only on the generic accessors of manscdp.c, so they never see libxml2. Fixed-size fields keep the
 * structs copyable into the registry without allocation; over-long text is cut on a UTF-8 character
 * boundary. Missing fields are "" or -1 rather than errors: devices leave out whatever they like, and the
 * caller decides what it cannot live without (usually only DeviceID).
 */
#include "signaling/manscdp.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Copies the text at path (or "") into dst, cut at a character boundary to fit. */
static void get_text(char *dst, size_t size, const struct manscdp_node *node, const char *path)
{
    const char *s = manscdp_node_get(node, path);
    size_t n = s ? strlen(s) : 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80) n--; /* s[n] is a continuation byte: back up */
        /* the cut may expose inner whitespace: keep the "always trimmed" promise */
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    }
    if (n) memcpy(dst, s, n);
    dst[n] = '\0';
}

static int get_int(const struct manscdp_node *node, const char *path)
{
    long long v;
    if (!manscdp_node_get_int(node, path, &v) || v < 0 || v > INT32_MAX) return -1;
    return (int)v;
}

static int64_t get_i64(const struct manscdp_node *node, const char *path)
{
    long long v;
    if (!manscdp_node_get_int(node, path, &v) || v < 0) return -1;
    return v;
}

static double get_double(const struct manscdp_node *node, const char *path)
{
    double v = 0;
    return manscdp_node_get_double(node, path, &v) ? v : 0;
}

static bool get_position(const struct manscdp_node *node, double *longitude, double *latitude)
{
    *longitude = *latitude = 0;
    double lo, la;
    if (!manscdp_node_get_double(node, "Longitude", &lo) || !manscdp_node_get_double(node, "Latitude", &la))
        return false;
    *longitude = lo;
    *latitude = la;
    return true;
}

/* The Num attribute of a list element (DeviceList Num="3"), -1 when absent or not a number. */
static int64_t get_list_num(const struct manscdp_node *root, const char *list_name)
{
    const struct manscdp_node *list = manscdp_node_find(root, list_name);
    const char *num = list ? manscdp_node_attr(list, "Num") : NULL;
    if (!num) return -1;
    int64_t v = 0;
    const char *p = num;
    while (*p == ' ') p++;
    const char *digits = p;
    while (*p >= '0' && *p <= '9' && v < INT32_MAX) v = v * 10 + (*p++ - '0');
    while (*p == ' ') p++;
    return (p != digits && *p == '\0') ? v : -1;
}

static bool word_in(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcasecmp(s, *words) == 0) return true;
    return false;
}

/* ---------------------------------------------------------------- Keepalive */

int manscdp_decode_keepalive(const struct manscdp_msg *msg, struct manscdp_keepalive *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_NOTIFY, "Keepalive")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    get_text(out->status, sizeof(out->status), root, "Status");
    out->status_ok = out->status[0] == '\0' || strcasecmp(out->status, "OK") == 0;
    return 0;
}

/* ---------------------------------------------------------------- Catalog */

int manscdp_decode_catalog(const struct manscdp_msg *msg, struct manscdp_catalog *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_RESPONSE, "Catalog") && !manscdp_is(msg, MANSCDP_NOTIFY, "Catalog"))
        return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    out->sum_num = get_i64(root, "SumNum");
    out->list_num = get_list_num(root, "DeviceList");
    out->first_item = manscdp_first(msg, "DeviceList/Item");
    out->item_count = out->first_item ? manscdp_count(msg, "DeviceList/Item") : 0;
    return 0;
}

void manscdp_decode_catalog_item(const struct manscdp_node *item, struct manscdp_catalog_item *out)
{
    static const char *const online_words[] = {"ON", "ONLINE", "OK", NULL};
    memset(out, 0, sizeof(*out));
    get_text(out->device_id, sizeof(out->device_id), item, "DeviceID");
    get_text(out->event, sizeof(out->event), item, "Event");
    get_text(out->name, sizeof(out->name), item, "Name");
    get_text(out->manufacturer, sizeof(out->manufacturer), item, "Manufacturer");
    get_text(out->model, sizeof(out->model), item, "Model");
    get_text(out->owner, sizeof(out->owner), item, "Owner");
    get_text(out->civil_code, sizeof(out->civil_code), item, "CivilCode");
    get_text(out->block, sizeof(out->block), item, "Block");
    get_text(out->address, sizeof(out->address), item, "Address");
    get_text(out->parent_id, sizeof(out->parent_id), item, "ParentID");
    get_text(out->business_group_id, sizeof(out->business_group_id), item, "BusinessGroupID");
    get_text(out->ip_address, sizeof(out->ip_address), item, "IPAddress");
    get_text(out->status, sizeof(out->status), item, "Status");
    out->online = word_in(out->status, online_words);
    out->parental = get_int(item, "Parental");
    out->safety_way = get_int(item, "SafetyWay");
    out->register_way = get_int(item, "RegisterWay");
    out->secrecy = get_int(item, "Secrecy");
    out->port = get_int(item, "Port");
    out->ptz_type = get_int(item, "Info/PTZType");
    if (out->ptz_type < 0) out->ptz_type = get_int(item, "PTZType"); /* some platforms flatten Info */
    out->has_position = get_position(item, &out->longitude, &out->latitude);
}

/* ---------------------------------------------------------------- DeviceInfo / DeviceStatus */

int manscdp_decode_device_info(const struct manscdp_msg *msg, struct manscdp_device_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_RESPONSE, "DeviceInfo")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    get_text(out->result, sizeof(out->result), root, "Result");
    get_text(out->device_name, sizeof(out->device_name), root, "DeviceName");
    get_text(out->manufacturer, sizeof(out->manufacturer), root, "Manufacturer");
    get_text(out->model, sizeof(out->model), root, "Model");
    get_text(out->firmware, sizeof(out->firmware), root, "Firmware");
    out->channel = get_int(root, "Channel");
    return 0;
}

int manscdp_decode_device_status(const struct manscdp_msg *msg, struct manscdp_device_status *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_RESPONSE, "DeviceStatus")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    get_text(out->result, sizeof(out->result), root, "Result");
    get_text(out->online_text, sizeof(out->online_text), root, "Online");
    out->online = strcasecmp(out->online_text, "ONLINE") == 0 || strcasecmp(out->online_text, "ON") == 0;
    get_text(out->status, sizeof(out->status), root, "Status");
    get_text(out->encode, sizeof(out->encode), root, "Encode");
    get_text(out->record, sizeof(out->record), root, "Record");
    get_text(out->device_time, sizeof(out->device_time), root, "DeviceTime");
    out->first_alarm = manscdp_first(msg, "Alarmstatus/Item");
    out->alarm_count = out->first_alarm ? manscdp_count(msg, "Alarmstatus/Item") : 0;
    return 0;
}

void manscdp_decode_alarm_status_item(const struct manscdp_node *item, struct manscdp_alarm_status_item *out)
{
    memset(out, 0, sizeof(*out));
    get_text(out->device_id, sizeof(out->device_id), item, "DeviceID");
    get_text(out->duty_status, sizeof(out->duty_status), item, "DutyStatus");
}

/* ---------------------------------------------------------------- RecordInfo */

int manscdp_decode_record_info(const struct manscdp_msg *msg, struct manscdp_record_info *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_RESPONSE, "RecordInfo")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    get_text(out->name, sizeof(out->name), root, "Name");
    out->sum_num = get_i64(root, "SumNum");
    out->list_num = get_list_num(root, "RecordList");
    out->first_item = manscdp_first(msg, "RecordList/Item");
    out->item_count = out->first_item ? manscdp_count(msg, "RecordList/Item") : 0;
    return 0;
}

void manscdp_decode_record_item(const struct manscdp_node *item, struct manscdp_record_item *out)
{
    memset(out, 0, sizeof(*out));
    get_text(out->device_id, sizeof(out->device_id), item, "DeviceID");
    get_text(out->name, sizeof(out->name), item, "Name");
    get_text(out->file_path, sizeof(out->file_path), item, "FilePath");
    get_text(out->address, sizeof(out->address), item, "Address");
    get_text(out->start_time, sizeof(out->start_time), item, "StartTime");
    get_text(out->end_time, sizeof(out->end_time), item, "EndTime");
    get_text(out->type, sizeof(out->type), item, "Type");
    get_text(out->recorder_id, sizeof(out->recorder_id), item, "RecorderID");
    out->secrecy = get_int(item, "Secrecy");
    out->file_size = get_i64(item, "FileSize");
}

/* ---------------------------------------------------------------- Notifies */

int manscdp_decode_alarm(const struct manscdp_msg *msg, struct manscdp_alarm *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_NOTIFY, "Alarm")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    out->alarm_priority = get_int(root, "AlarmPriority");
    out->alarm_method = get_int(root, "AlarmMethod");
    out->alarm_type = get_int(root, "Info/AlarmType");
    if (out->alarm_type < 0) out->alarm_type = get_int(root, "AlarmType");
    get_text(out->alarm_time, sizeof(out->alarm_time), root, "AlarmTime");
    get_text(out->alarm_description, sizeof(out->alarm_description), root, "AlarmDescription");
    out->has_position = get_position(root, &out->longitude, &out->latitude);
    return 0;
}

int manscdp_decode_mobile_position(const struct manscdp_msg *msg, struct manscdp_mobile_position *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_NOTIFY, "MobilePosition")) return EPROTO;
    const struct manscdp_node *root = manscdp_root_node(msg);
    get_text(out->time, sizeof(out->time), root, "Time");
    out->has_position = get_position(root, &out->longitude, &out->latitude);
    out->speed = get_double(root, "Speed");
    out->direction = get_double(root, "Direction");
    out->altitude = get_double(root, "Altitude");
    return 0;
}

int manscdp_decode_media_status(const struct manscdp_msg *msg, struct manscdp_media_status *out)
{
    memset(out, 0, sizeof(*out));
    if (!manscdp_is(msg, MANSCDP_NOTIFY, "MediaStatus")) return EPROTO;
    out->notify_type = get_int(manscdp_root_node(msg), "NotifyType");
    return 0;
}
