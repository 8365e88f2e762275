/*
 * MANSCDP codec: the XML bodies of GB28181 SIP MESSAGE/NOTIFY requests (GB28181.md section 3).
 *
 * Decoding: manscdp_parse() takes the raw body bytes and gives an immutable message whose strings are all
 * UTF-8, whatever the device sent (UTF-8 under a GB2312 declaration, GBK/GB18030 under GB2312, no declaration
 * at all...), with a BOM, blank lines or trailing NULs/garbage around it, or with unescaped '&' in names.
 * libxml2 parses with the network off and no DTD/entities at all (a body with <!DOCTYPE is refused), within
 * hard limits (MANSCDP_MAX_BODY bytes, MANSCDP_MAX_DEPTH, MANSCDP_MAX_NODES). The element tree is copied into
 * one block owned by the message, so every `const char *` and node pointer obtained from a message stays
 * valid until manscdp_free() and never needs freeing. Element names are matched ignoring ASCII case and
 * namespace prefixes (devices write "Alarmstatus" and "AlarmStatus"); text is trimmed of surrounding
 * whitespace.
 *
 * Encoding: a small writer into a caller buffer (no allocation except one scratch copy for the charset
 * conversion), plus builders for the bodies the platform and the camera simulator send. Text is written as
 * UTF-8 and converted at the end. MANSCDP_GB2312 (the default, what devices expect) declares
 * encoding="GB2312" but encodes with GB18030, which is byte-identical to GB2312 for every GB2312 character
 * and still represents anything else (rare names, emoji) instead of failing: a device that only knows GB2312
 * shows one odd character, which beats losing the message.
 *
 * Functions return 0 or an errno value: EMSGSIZE (body over the limit), EBADMSG (not well-formed XML, bad
 * bytes in both charsets, DTD, too deep or too many nodes), EPROTO (well-formed but not MANSCDP: wrong root
 * or no CmdType; or a typed decoder called on the wrong CmdType), ENOSPC (output buffer too small), ENOMEM.
 * Not thread-affine: any thread may parse or build; a message is used by one thread at a time.
 */
#ifndef GB_SIGNALING_MANSCDP_H
#define GB_SIGNALING_MANSCDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANSCDP_MAX_BODY  65536 /* bytes of XML accepted (one SIP message is at most 64 KiB) */
#define MANSCDP_MAX_DEPTH 16    /* element nesting; real bodies need 5 (Response/DeviceList/Item/Info/X) */
#define MANSCDP_MAX_NODES 8192  /* elements per body; a full 64 KiB catalog has ~2000 */

enum manscdp_root { MANSCDP_QUERY = 0, MANSCDP_CONTROL, MANSCDP_NOTIFY, MANSCDP_RESPONSE };

/* GB2312 on the wire means "GB18030 bytes, GB2312 declaration" (see the top comment). */
enum manscdp_charset { MANSCDP_GB2312 = 0, MANSCDP_UTF8 };

struct manscdp_msg;  /* a parsed body */
struct manscdp_node; /* one element inside it */

/* ---------------------------------------------------------------- decoding: generic */

int manscdp_parse(const uint8_t *body, size_t len, struct manscdp_msg **out);
void manscdp_free(struct manscdp_msg *msg); /* NULL is fine */

enum manscdp_root manscdp_root(const struct manscdp_msg *msg);
const char *manscdp_root_name(enum manscdp_root root); /* "Query", "Control", "Notify", "Response" */
/* Never NULL and never empty for a parsed message. */
const char *manscdp_cmdtype(const struct manscdp_msg *msg);
/* "" when absent. */
const char *manscdp_device_id(const struct manscdp_msg *msg);
/* SN as a number; false (and *sn = 0) when absent or not a decimal uint32. */
bool manscdp_sn(const struct manscdp_msg *msg, uint32_t *sn);
/* The charset the body bytes were decoded from (answer in the same one when replying). */
enum manscdp_charset manscdp_charset(const struct manscdp_msg *msg);
/* True when CmdType equals `cmdtype` ignoring ASCII case. */
bool manscdp_is(const struct manscdp_msg *msg, enum manscdp_root root, const char *cmdtype);

/* Text (UTF-8, trimmed) of the first element at a '/'-separated path below the root, e.g. "Status",
 * "Info/PTZType", "DeviceList/Item/Name"; NULL when there is no such element, "" when it is empty. */
const char *manscdp_get(const struct manscdp_msg *msg, const char *path);

/* Node walking, for repeated items:
 *   for (const struct manscdp_node *it = manscdp_first(msg, "DeviceList/Item"); it; it = manscdp_next(it))
 *       name = manscdp_node_get(it, "Name");
 */
const struct manscdp_node *manscdp_root_node(const struct manscdp_msg *msg);
/* First element at path below the root; NULL when none. */
const struct manscdp_node *manscdp_first(const struct manscdp_msg *msg, const char *path);
/* First element at path below `node` ("" or NULL path = node itself). */
const struct manscdp_node *manscdp_node_find(const struct manscdp_node *node, const char *path);
/* Next sibling element with the same name; NULL at the end. */
const struct manscdp_node *manscdp_next(const struct manscdp_node *node);
/* Every child element in document order, whatever its name (for bodies shown as they came, ConfigDownload):
 * the first child, then each next sibling; NULL at the end. */
const struct manscdp_node *manscdp_node_child(const struct manscdp_node *node);
const struct manscdp_node *manscdp_node_sibling(const struct manscdp_node *node);
/* How many elements path matches: its first match and that element's same-named siblings after it. */
size_t manscdp_count(const struct manscdp_msg *msg, const char *path);
/* Text at a path below node (NULL/"" path = the node's own text); NULL when absent. */
const char *manscdp_node_get(const struct manscdp_node *node, const char *path);
const char *manscdp_node_name(const struct manscdp_node *node); /* local name, as written */
const char *manscdp_node_attr(const struct manscdp_node *node, const char *attr_name); /* NULL when absent */
/* Numbers at a path below node: false (out untouched) when absent or not a full decimal number. */
bool manscdp_node_get_int(const struct manscdp_node *node, const char *path, long long *out);
bool manscdp_node_get_double(const struct manscdp_node *node, const char *path, double *out);

/* ---------------------------------------------------------------- decoding: typed
 * Fixed-size UTF-8 strings (truncated on a character boundary when longer), "" when absent; ints -1 when
 * absent. Each decoder returns EPROTO when the message is not of its root/CmdType. */

#define MANSCDP_ID_SIZE   32  /* a 20-digit ID (with room for oddities, which gbid_valid() then rejects) */
#define MANSCDP_WORD_SIZE 32  /* status words, times, small numbers */
#define MANSCDP_TEXT_SIZE 192 /* names and addresses (64 CJK characters) */

/* <Notify> Keepalive. */
struct manscdp_keepalive {
    char status[MANSCDP_WORD_SIZE];
    bool status_ok; /* Status is OK (or absent, which some devices do) */
};
int manscdp_decode_keepalive(const struct manscdp_msg *msg, struct manscdp_keepalive *out);

/* <Response> Catalog, and <Notify> Catalog pushed to a subscriber (items then carry Event). */
struct manscdp_catalog {
    int64_t sum_num;   /* SumNum: items in the whole answer over all messages; -1 absent */
    int64_t list_num;  /* DeviceList Num attribute: items in this message; -1 absent */
    size_t item_count; /* DeviceList/Item elements actually present in this message */
    const struct manscdp_node *first_item; /* iterate with manscdp_next(); NULL when none */
};
struct manscdp_catalog_item {
    char device_id[MANSCDP_ID_SIZE];
    char event[MANSCDP_WORD_SIZE]; /* ON OFF VLOST DEFECT ADD DEL UPDATE (notify only) */
    char name[MANSCDP_TEXT_SIZE];
    char manufacturer[MANSCDP_TEXT_SIZE];
    char model[MANSCDP_TEXT_SIZE];
    char owner[MANSCDP_TEXT_SIZE];
    char civil_code[MANSCDP_ID_SIZE];
    char block[MANSCDP_TEXT_SIZE];
    char address[MANSCDP_TEXT_SIZE];
    char parent_id[MANSCDP_TEXT_SIZE]; /* may hold several IDs separated by '/' (2016 edition) */
    char business_group_id[MANSCDP_ID_SIZE];
    char ip_address[MANSCDP_TEXT_SIZE];
    char status[MANSCDP_WORD_SIZE]; /* as sent: ON, OFF, ONLINE, OFFLINE, OK ... */
    bool online;                    /* Status is ON, ONLINE or OK */
    /* -1 when absent; ptz_type is Info/PTZType (1 dome, 2 half dome, 3 fixed, 4 remote) */
    int parental, safety_way, register_way, secrecy, port, ptz_type;
    bool has_position; /* both Longitude and Latitude numeric */
    double longitude, latitude;
};
int manscdp_decode_catalog(const struct manscdp_msg *msg, struct manscdp_catalog *out);
/* Decodes one DeviceList/Item node (any node with those children, in fact). */
void manscdp_decode_catalog_item(const struct manscdp_node *item, struct manscdp_catalog_item *out);

/* <Response> DeviceInfo. */
struct manscdp_device_info {
    char result[MANSCDP_WORD_SIZE]; /* OK / ERROR, "" when absent */
    char device_name[MANSCDP_TEXT_SIZE];
    char manufacturer[MANSCDP_TEXT_SIZE];
    char model[MANSCDP_TEXT_SIZE];
    char firmware[MANSCDP_TEXT_SIZE];
    int channel; /* -1 absent */
};
int manscdp_decode_device_info(const struct manscdp_msg *msg, struct manscdp_device_info *out);

/* <Response> DeviceStatus. */
struct manscdp_device_status {
    char result[MANSCDP_WORD_SIZE];
    char online_text[MANSCDP_WORD_SIZE]; /* ONLINE / OFFLINE */
    bool online;
    char status[MANSCDP_WORD_SIZE]; /* OK / ERROR */
    char encode[MANSCDP_WORD_SIZE]; /* ON / OFF */
    char record[MANSCDP_WORD_SIZE]; /* ON / OFF */
    char device_time[MANSCDP_WORD_SIZE];
    size_t alarm_count;                     /* Alarmstatus/Item elements */
    const struct manscdp_node *first_alarm; /* iterate with manscdp_next() */
};
struct manscdp_alarm_status_item {
    char device_id[MANSCDP_ID_SIZE];
    char duty_status[MANSCDP_WORD_SIZE]; /* ONDUTY OFFDUTY ALARM */
};
int manscdp_decode_device_status(const struct manscdp_msg *msg, struct manscdp_device_status *out);
void manscdp_decode_alarm_status_item(const struct manscdp_node *item, struct manscdp_alarm_status_item *out);

/* <Response> RecordInfo (paged like Catalog). */
struct manscdp_record_info {
    char name[MANSCDP_TEXT_SIZE];
    int64_t sum_num, list_num; /* -1 absent */
    size_t item_count;
    const struct manscdp_node *first_item;
};
struct manscdp_record_item {
    char device_id[MANSCDP_ID_SIZE];
    char name[MANSCDP_TEXT_SIZE];
    char file_path[MANSCDP_TEXT_SIZE];
    char address[MANSCDP_TEXT_SIZE];
    char start_time[MANSCDP_WORD_SIZE]; /* yyyy-MM-ddTHH:mm:ss, as sent */
    char end_time[MANSCDP_WORD_SIZE];
    char type[MANSCDP_WORD_SIZE]; /* time, alarm, manual, all */
    char recorder_id[MANSCDP_ID_SIZE];
    int secrecy;       /* -1 absent */
    int64_t file_size; /* -1 absent */
};
int manscdp_decode_record_info(const struct manscdp_msg *msg, struct manscdp_record_info *out);
void manscdp_decode_record_item(const struct manscdp_node *item, struct manscdp_record_item *out);

/* <Notify> Alarm. */
struct manscdp_alarm {
    int alarm_priority, alarm_method, alarm_type; /* -1 absent; alarm_type from Info/AlarmType */
    char alarm_time[MANSCDP_WORD_SIZE];
    char alarm_description[MANSCDP_TEXT_SIZE];
    bool has_position;
    double longitude, latitude;
};
int manscdp_decode_alarm(const struct manscdp_msg *msg, struct manscdp_alarm *out);

/* <Notify> MobilePosition. */
struct manscdp_mobile_position {
    char time[MANSCDP_WORD_SIZE];
    bool has_position;
    double longitude, latitude;
    double speed, direction, altitude; /* 0 when absent */
};
int manscdp_decode_mobile_position(const struct manscdp_msg *msg, struct manscdp_mobile_position *out);

/* <Notify> MediaStatus. */
#define MANSCDP_NOTIFY_MEDIA_END 121 /* playback/download finished */
struct manscdp_media_status {
    int notify_type; /* -1 absent */
};
int manscdp_decode_media_status(const struct manscdp_msg *msg, struct manscdp_media_status *out);

/* ---------------------------------------------------------------- encoding */

/* Streaming writer into a caller buffer. Errors are sticky: call the writer functions freely and check the
 * result of manscdp_writer_finish() once. Element names are ASCII literals; text values are UTF-8 and
 * escaped. */
struct manscdp_writer {
    char *buf;
    size_t cap, len;
    int err; /* first error, 0 while fine */
    enum manscdp_charset charset;
    unsigned depth;
    char open[MANSCDP_MAX_DEPTH][32]; /* names of the open elements, closed by finish() if left open */
};

/* Writes the declaration, <root>, CmdType, SN and DeviceID. */
void manscdp_writer_init(struct manscdp_writer *w, char *buf, size_t cap, enum manscdp_charset charset,
                         enum manscdp_root root, const char *cmdtype, uint32_t sn, const char *device_id);
void manscdp_writer_open(struct manscdp_writer *w, const char *name);
/* <name attr="value"> (e.g. DeviceList Num="3"). */
void manscdp_writer_open_attr(struct manscdp_writer *w, const char *name, const char *attr,
                              const char *value);
void manscdp_writer_close(struct manscdp_writer *w);
/* <name>value</name>; a NULL value writes nothing. */
void manscdp_writer_text(struct manscdp_writer *w, const char *name, const char *value);
void manscdp_writer_int(struct manscdp_writer *w, const char *name, long long value);
/* Closes what is open, converts to the charset in place; *len = body length (buffer also NUL-terminated). */
int manscdp_writer_finish(struct manscdp_writer *w, size_t *len);

/* Generic builder: (path, value) pairs below the root, paths '/'-separated; consecutive pairs sharing a
 * prefix share the elements ("Info/ControlPriority" then "Info/Other" give one <Info>). */
struct manscdp_field {
    const char *path;
    const char *value;
};
int manscdp_build(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, enum manscdp_root root,
                  const char *cmdtype, uint32_t sn, const char *device_id, const struct manscdp_field *fields,
                  size_t nfields);

/* <Query>: Catalog, DeviceInfo, DeviceStatus, RecordInfo (with StartTime/EndTime/... as fields), ... */
int manscdp_build_query(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, const char *cmdtype,
                        uint32_t sn, const char *device_id, const struct manscdp_field *fields,
                        size_t nfields);
/* <Control> DeviceControl with PTZCmd (16 hex characters) and Info/ControlPriority 5. */
int manscdp_build_ptz(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                      const char *channel_id, const char *ptz_cmd_hex);

/* What a device (the simulator, or the gateway in cascade) sends. */
int manscdp_build_keepalive(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                            const char *device_id, bool ok);
/* One Catalog response message: SumNum = sum_num, DeviceList Num = n, items[0..n). Empty strings and -1
 * numbers are left out; has_position writes Longitude/Latitude. */
int manscdp_build_catalog_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                   uint32_t sn, const char *device_id, uint32_t sum_num,
                                   const struct manscdp_catalog_item *items, size_t n);
int manscdp_build_device_info_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                       uint32_t sn, const char *device_id,
                                       const struct manscdp_device_info *info);
/* Alarmstatus items are not written (alarm_count/first_alarm are ignored). */
int manscdp_build_device_status_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                         uint32_t sn, const char *device_id,
                                         const struct manscdp_device_status *status);
/* <Notify> MediaStatus NotifyType 121 (a device ending a playback/download). */
int manscdp_build_media_status(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                               const char *device_id, int notify_type);

#endif
