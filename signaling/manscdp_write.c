/*
 * MANSCDP encoding: a small streaming XML writer into a caller buffer, and the builders for the bodies the
 * platform sends (queries, PTZ control) and a device sends (keepalive, Catalog/DeviceInfo/DeviceStatus
 * responses, MediaStatus) - the latter used by the camera simulator and, later, by cascade.
 *
 * Shape: the body is written as UTF-8 first, then converted once by iconv in finish(). GB2312 output is
 * really GB18030 under a GB2312 declaration: identical bytes for every GB2312 character, and characters
 * outside GB2312 still come out (as GBK/GB18030 bytes) instead of failing the whole message; devices that
 * know only GB2312 show one odd character. Errors are sticky so callers write a whole body and check once.
 * Text is escaped; control characters (not allowed in XML 1.0) are dropped and invalid UTF-8 bytes become
 * '?', so whatever a caller passes, the body is well-formed.
 */
#include "signaling/manscdp.h"
#include "signaling/manscdp_priv.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct manscdp_writer *w, const char *s, size_t n)
{
    if (w->err) return;
    if (w->cap - w->len <= n) { /* keep one byte for the final NUL */
        w->err = ENOSPC;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void puts_(struct manscdp_writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static bool valid_name(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++) {
        char c = name[n];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
                  (n > 0 && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
        if (!ok) return false;
    }
    return n > 0 && n < sizeof(((struct manscdp_writer *)0)->open[0]);
}

static void put_escaped(struct manscdp_writer *w, const char *text)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t len = strlen(text);
    for (size_t i = 0; i < len && !w->err;) {
        uint8_t c = s[i];
        switch (c) {
        case '&': puts_(w, "&amp;"); break;
        case '<': puts_(w, "&lt;"); break;
        case '>': puts_(w, "&gt;"); break;
        case '"': puts_(w, "&quot;"); break;
        case '\'': puts_(w, "&apos;"); break;
        case '\r': puts_(w, "&#13;"); break; /* a raw CR would be read back as LF */
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break; /* not allowed in XML 1.0 */
            size_t n = manscdp_utf8_seq_len(s + i, len - i);
            if (n == 0) {
                put(w, "?", 1);
                i++;
                continue;
            }
            put(w, (const char *)s + i, n);
            i += n;
            continue;
        }
        i++;
    }
}

void manscdp_writer_open_attr(struct manscdp_writer *w, const char *name, const char *attr, const char *value)
{
    if (w->err) return;
    if (!valid_name(name) || (attr && !valid_name(attr))) {
        w->err = EINVAL;
        return;
    }
    if (w->depth >= MANSCDP_MAX_DEPTH) {
        w->err = EINVAL;
        return;
    }
    puts_(w, "<");
    puts_(w, name);
    if (attr) {
        puts_(w, " ");
        puts_(w, attr);
        puts_(w, "=\"");
        put_escaped(w, value ? value : "");
        puts_(w, "\"");
    }
    puts_(w, ">\r\n");
    strcpy(w->open[w->depth++], name);
}

void manscdp_writer_open(struct manscdp_writer *w, const char *name)
{
    manscdp_writer_open_attr(w, name, NULL, NULL);
}

void manscdp_writer_close(struct manscdp_writer *w)
{
    if (w->err) return;
    if (w->depth == 0) {
        w->err = EINVAL;
        return;
    }
    w->depth--;
    puts_(w, "</");
    puts_(w, w->open[w->depth]);
    puts_(w, ">\r\n");
}

void manscdp_writer_text(struct manscdp_writer *w, const char *name, const char *value)
{
    if (w->err || value == NULL) return;
    if (!valid_name(name)) {
        w->err = EINVAL;
        return;
    }
    puts_(w, "<");
    puts_(w, name);
    puts_(w, ">");
    put_escaped(w, value);
    puts_(w, "</");
    puts_(w, name);
    puts_(w, ">\r\n");
}

void manscdp_writer_int(struct manscdp_writer *w, const char *name, long long value)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", value);
    manscdp_writer_text(w, name, num);
}

void manscdp_writer_init(struct manscdp_writer *w, char *buf, size_t cap, enum manscdp_charset charset,
                         enum manscdp_root root, const char *cmdtype, uint32_t sn, const char *device_id)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    w->charset = charset;
    if (!buf || cap == 0) {
        w->err = ENOSPC;
        return;
    }
    buf[0] = '\0';
    if ((unsigned)root > MANSCDP_RESPONSE || !cmdtype) {
        w->err = EINVAL;
        return;
    }
    puts_(w, charset == MANSCDP_UTF8 ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
                                     : "<?xml version=\"1.0\" encoding=\"GB2312\"?>\r\n");
    manscdp_writer_open(w, manscdp_root_name(root));
    manscdp_writer_text(w, "CmdType", cmdtype);
    manscdp_writer_int(w, "SN", sn);
    manscdp_writer_text(w, "DeviceID", device_id ? device_id : "");
}

/* UTF-8 in w->buf -> GB18030 in w->buf, through a scratch copy (the result may be longer or shorter). */
static int convert_to_gb18030(struct manscdp_writer *w)
{
    bool ascii = true;
    for (size_t i = 0; i < w->len && ascii; i++) ascii = (uint8_t)w->buf[i] < 0x80;
    if (ascii) return 0;
    char *utf8 = malloc(w->len);
    if (!utf8) return ENOMEM;
    memcpy(utf8, w->buf, w->len);
    iconv_t cd = iconv_open("GB18030", "UTF-8");
    if (cd == (iconv_t)-1) {
        free(utf8);
        return ENOTSUP;
    }
    char *in = utf8, *out = w->buf;
    size_t in_left = w->len, out_left = w->cap - 1;
    int err = 0;
    if (iconv(cd, &in, &in_left, &out, &out_left) == (size_t)-1) err = errno == E2BIG ? ENOSPC : EILSEQ;
    iconv_close(cd);
    free(utf8);
    if (err) return err;
    w->len = (size_t)(out - w->buf);
    return 0;
}

int manscdp_writer_finish(struct manscdp_writer *w, size_t *len)
{
    while (!w->err && w->depth > 0) manscdp_writer_close(w);
    if (!w->err && w->charset != MANSCDP_UTF8) w->err = convert_to_gb18030(w);
    if (w->err) {
        if (w->buf && w->cap) w->buf[0] = '\0';
        if (len) *len = 0;
        return w->err;
    }
    w->buf[w->len] = '\0';
    if (len) *len = w->len;
    return 0;
}

/* ---------------------------------------------------------------- builders */

int manscdp_build(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, enum manscdp_root root,
                  const char *cmdtype, uint32_t sn, const char *device_id, const struct manscdp_field *fields,
                  size_t nfields)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, cap, charset, root, cmdtype, sn, device_id);
    char opened[MANSCDP_MAX_DEPTH][32]; /* the element chain opened for the previous field */
    unsigned nopened = 0;
    for (size_t i = 0; i < nfields && !w.err; i++) {
        char steps[MANSCDP_MAX_DEPTH][32];
        unsigned nsteps = 0;
        for (const char *p = fields[i].path; p && *p && !w.err;) {
            const char *slash = strchr(p, '/');
            size_t n = slash ? (size_t)(slash - p) : strlen(p);
            if (n == 0 || n >= sizeof(steps[0]) || nsteps + 2 >= MANSCDP_MAX_DEPTH)
                w.err = EINVAL;
            else {
                memcpy(steps[nsteps], p, n);
                steps[nsteps++][n] = '\0';
            }
            p = slash ? slash + 1 : p + n;
        }
        if (nsteps == 0) w.err = EINVAL;
        if (w.err) break;
        unsigned common = 0;
        while (common < nopened && common + 1 < nsteps && strcmp(opened[common], steps[common]) == 0)
            common++;
        for (; nopened > common; nopened--) manscdp_writer_close(&w);
        for (; nopened + 1 < nsteps; nopened++) {
            manscdp_writer_open(&w, steps[nopened]);
            strcpy(opened[nopened], steps[nopened]);
        }
        manscdp_writer_text(&w, steps[nsteps - 1], fields[i].value);
    }
    return manscdp_writer_finish(&w, len);
}

int manscdp_build_query(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, const char *cmdtype,
                        uint32_t sn, const char *device_id, const struct manscdp_field *fields,
                        size_t nfields)
{
    return manscdp_build(buf, cap, len, charset, MANSCDP_QUERY, cmdtype, sn, device_id, fields, nfields);
}

int manscdp_build_ptz(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                      const char *channel_id, const char *ptz_cmd_hex)
{
    size_t n = ptz_cmd_hex ? strlen(ptz_cmd_hex) : 0;
    bool hex = n == 16;
    for (size_t i = 0; i < n && hex; i++) {
        char c = ptz_cmd_hex[i];
        hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    }
    if (!hex) return EINVAL;
    const struct manscdp_field fields[] = {{"PTZCmd", ptz_cmd_hex}, {"Info/ControlPriority", "5"}};
    return manscdp_build(buf, cap, len, charset, MANSCDP_CONTROL, "DeviceControl", sn, channel_id, fields, 2);
}

int manscdp_build_keepalive(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                            const char *device_id, bool ok)
{
    const struct manscdp_field status = {"Status", ok ? "OK" : "ERROR"};
    return manscdp_build(buf, cap, len, charset, MANSCDP_NOTIFY, "Keepalive", sn, device_id, &status, 1);
}

static void write_nonempty(struct manscdp_writer *w, const char *name, const char *value)
{
    if (value && value[0]) manscdp_writer_text(w, name, value);
}

static void write_nonneg(struct manscdp_writer *w, const char *name, long long value)
{
    if (value >= 0) manscdp_writer_int(w, name, value);
}

static void write_double(struct manscdp_writer *w, const char *name, double value)
{
    char num[48];
    snprintf(num, sizeof(num), "%.6f", value);
    manscdp_writer_text(w, name, num);
}

static void write_catalog_item(struct manscdp_writer *w, const struct manscdp_catalog_item *it)
{
    manscdp_writer_open(w, "Item");
    manscdp_writer_text(w, "DeviceID", it->device_id);
    write_nonempty(w, "Event", it->event);
    write_nonempty(w, "Name", it->name);
    write_nonempty(w, "Manufacturer", it->manufacturer);
    write_nonempty(w, "Model", it->model);
    write_nonempty(w, "Owner", it->owner);
    write_nonempty(w, "CivilCode", it->civil_code);
    write_nonempty(w, "Block", it->block);
    write_nonempty(w, "Address", it->address);
    write_nonneg(w, "Parental", it->parental);
    write_nonempty(w, "ParentID", it->parent_id);
    write_nonempty(w, "BusinessGroupID", it->business_group_id);
    write_nonneg(w, "SafetyWay", it->safety_way);
    write_nonneg(w, "RegisterWay", it->register_way);
    write_nonneg(w, "Secrecy", it->secrecy);
    write_nonempty(w, "IPAddress", it->ip_address);
    write_nonneg(w, "Port", it->port);
    write_nonempty(w, "Status", it->status);
    if (it->has_position) {
        write_double(w, "Longitude", it->longitude);
        write_double(w, "Latitude", it->latitude);
    }
    if (it->ptz_type >= 0) {
        manscdp_writer_open(w, "Info");
        manscdp_writer_int(w, "PTZType", it->ptz_type);
        manscdp_writer_close(w);
    }
    manscdp_writer_close(w);
}

int manscdp_build_catalog_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                   uint32_t sn, const char *device_id, uint32_t sum_num,
                                   const struct manscdp_catalog_item *items, size_t n)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, cap, charset, MANSCDP_RESPONSE, "Catalog", sn, device_id);
    manscdp_writer_int(&w, "SumNum", sum_num);
    char num[24];
    snprintf(num, sizeof(num), "%zu", n);
    manscdp_writer_open_attr(&w, "DeviceList", "Num", num);
    for (size_t i = 0; i < n && !w.err; i++) write_catalog_item(&w, &items[i]);
    return manscdp_writer_finish(&w, len);
}

int manscdp_build_device_info_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                       uint32_t sn, const char *device_id,
                                       const struct manscdp_device_info *info)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, cap, charset, MANSCDP_RESPONSE, "DeviceInfo", sn, device_id);
    write_nonempty(&w, "DeviceName", info->device_name);
    manscdp_writer_text(&w, "Result", info->result[0] ? info->result : "OK");
    write_nonempty(&w, "Manufacturer", info->manufacturer);
    write_nonempty(&w, "Model", info->model);
    write_nonempty(&w, "Firmware", info->firmware);
    write_nonneg(&w, "Channel", info->channel);
    return manscdp_writer_finish(&w, len);
}

int manscdp_build_device_status_response(char *buf, size_t cap, size_t *len, enum manscdp_charset charset,
                                         uint32_t sn, const char *device_id,
                                         const struct manscdp_device_status *status)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, cap, charset, MANSCDP_RESPONSE, "DeviceStatus", sn, device_id);
    manscdp_writer_text(&w, "Result", status->result[0] ? status->result : "OK");
    manscdp_writer_text(
        &w, "Online", status->online_text[0] ? status->online_text : (status->online ? "ONLINE" : "OFFLINE"));
    manscdp_writer_text(&w, "Status", status->status[0] ? status->status : "OK");
    write_nonempty(&w, "Encode", status->encode);
    write_nonempty(&w, "Record", status->record);
    write_nonempty(&w, "DeviceTime", status->device_time);
    return manscdp_writer_finish(&w, len);
}

int manscdp_build_media_status(char *buf, size_t cap, size_t *len, enum manscdp_charset charset, uint32_t sn,
                               const char *device_id, int notify_type)
{
    struct manscdp_writer w;
    manscdp_writer_init(&w, buf, cap, charset, MANSCDP_NOTIFY, "MediaStatus", sn, device_id);
    manscdp_writer_int(&w, "NotifyType", notify_type);
    return manscdp_writer_finish(&w, len);
}
