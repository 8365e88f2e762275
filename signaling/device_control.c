/*
 * Device control: the MANSCDP bodies of PTZ, the other DeviceControl commands, PresetQuery and ConfigDownload
 * (GB28181.md sections 3 and 7), sent through query_send(), and their answers turned into JSON for the API.
 *
 * What each command sends is a table (name -> element and value, and whether the standard has the device
 * answer with a Response), so the API, the docs and the simulator agree on one list. Devices answer
 * RecordCmd, GuardCmd and AlarmCmd with a DeviceControl Response carrying Result; they send nothing back for
 * PTZCmd, IFameCmd (the standard's own spelling) or TeleBoot, so those are done when the MESSAGE got its 200.
 * ConfigDownload answers are passed on as they came: every element below the Response becomes JSON, so a
 * config type this file never heard of still shows its values.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "signaling/sig_core.h"

static const struct control_command commands[] = {
    {"keyframe", "IFameCmd", "Send", false},         {"teleboot", "TeleBoot", "Boot", false},
    {"record_start", "RecordCmd", "Record", true},   {"record_stop", "RecordCmd", "StopRecord", true},
    {"guard", "GuardCmd", "SetGuard", true},         {"unguard", "GuardCmd", "ResetGuard", true},
    {"alarm_reset", "AlarmCmd", "ResetAlarm", true},
};

/* ConfigDownload types of GB/T 28181-2016 and -2022 (a query may join several with '/'). */
static const char *const config_types[] = {
    "BasicParam",          "VideoParamOpt",   "SVACEncodeConfig", "SVACDecodeConfig",
    "VideoParamAttribute", "VideoRecordPlan", "VideoAlarmRecord", "PictureMask",
    "FrameMirror",         "AlarmReport",     "OSDConfig",        "SnapShotConfig",
};

const struct control_command *control_command_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(commands[i].name, name)) return &commands[i];
    return NULL;
}

/* "a, b, c" from a table of names, built once into buf (control thread only). */
static const char *join_names(char *buf, size_t size, const char *const *names, size_t n, size_t stride)
{
    if (buf[0]) return buf;
    size_t len = 0;
    for (size_t i = 0; i < n && len < size; i++) {
        const char *name = *(const char *const *)((const char *)names + i * stride);
        int w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", name);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

const char *control_command_names(void)
{
    static char buf[160];
    return join_names(buf, sizeof(buf), &commands[0].name, sizeof(commands) / sizeof(commands[0]),
                      sizeof(commands[0]));
}

int control_send_ptz(struct device *dev, const char *target, const char *ptz_hex, query_done_fn done,
                     void *arg)
{
    const struct manscdp_field fields[] = {{"PTZCmd", ptz_hex}, {"Info/ControlPriority", "5"}};
    struct query_spec spec = {MANSCDP_CONTROL, "DeviceControl", target, fields, 2, true};
    int err = query_send(dev, &spec, done, arg);
    if (!err) sig_count(SC_PTZ_SENT);
    return err;
}

int control_send_command(struct device *dev, const char *target, const struct control_command *c,
                         query_done_fn done, void *arg)
{
    const struct manscdp_field fields[] = {{c->element, c->value}};
    struct query_spec spec = {MANSCDP_CONTROL, "DeviceControl", target, fields, 1, !c->answered};
    int err = query_send(dev, &spec, done, arg);
    if (!err) sig_count(SC_CONTROL_SENT);
    return err;
}

int control_query_presets(struct device *dev, const char *target, query_done_fn done, void *arg)
{
    struct query_spec spec = {MANSCDP_QUERY, "PresetQuery", target, NULL, 0, false};
    return query_send(dev, &spec, done, arg);
}

bool control_config_type_valid(const char *type)
{
    size_t len = type ? strlen(type) : 0;
    if (len == 0 || len >= CONTROL_CONFIG_TYPE_MAX) return false;
    const char *p = type;
    while (*p) {
        size_t n = strcspn(p, "/");
        bool known = false;
        for (size_t i = 0; i < sizeof(config_types) / sizeof(config_types[0]) && !known; i++)
            known = strlen(config_types[i]) == n && !strncmp(config_types[i], p, n);
        if (!known) return false;
        p += n;
        if (*p == '/' && !*++p) return false; /* a trailing '/' */
    }
    return true;
}

const char *control_config_type_names(void)
{
    static char buf[CONTROL_CONFIG_TYPE_MAX + 32];
    return join_names(buf, sizeof(buf), config_types, sizeof(config_types) / sizeof(config_types[0]),
                      sizeof(config_types[0]));
}

int control_query_config(struct device *dev, const char *target, const char *type, query_done_fn done,
                         void *arg)
{
    const struct manscdp_field fields[] = {{"ConfigType", type}};
    struct query_spec spec = {MANSCDP_QUERY, "ConfigDownload", target, fields, 1, false};
    return query_send(dev, &spec, done, arg);
}

/* ---- answers ---- */

json_t *control_presets_json(const struct manscdp_msg *answer)
{
    json_t *arr = json_array();
    for (const struct manscdp_node *it = manscdp_first(answer, "PresetList/Item"); it;
         it = manscdp_next(it)) {
        long long index;
        const char *name = manscdp_node_get(it, "PresetName");
        json_t *o = json_object();
        /* PresetID is a number in practice; kept as text when a device writes something else */
        const char *id = manscdp_node_get(it, "PresetID");
        if (manscdp_node_get_int(it, "PresetID", &index))
            json_object_set_new(o, "index", json_integer(index));
        else
            json_object_set_new(o, "index", json_string(id ? id : ""));
        json_object_set_new(o, "name", json_string(name ? name : ""));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* An element as JSON: its text when it has no children, else an object of its children where a name that
 * repeats becomes an array (Item lists). Depth is bounded by the parser (MANSCDP_MAX_DEPTH). */
static json_t *node_json(const struct manscdp_node *node)
{
    const struct manscdp_node *child = manscdp_node_child(node);
    if (!child) {
        const char *text = manscdp_node_get(node, NULL);
        return json_string(text ? text : "");
    }
    json_t *o = json_object();
    for (; child; child = manscdp_node_sibling(child)) {
        const char *name = manscdp_node_name(child);
        json_t *value = node_json(child), *prev = json_object_get(o, name);
        if (!value) continue; /* text that is not UTF-8 cannot happen (the parser converts), but be safe */
        if (!prev) {
            json_object_set_new(o, name, value);
        } else if (json_is_array(prev)) { /* node_json never makes arrays itself: this is a repeat */
            json_array_append_new(prev, value);
        } else {
            json_t *arr = json_array();
            json_array_append(arr, prev);
            json_array_append_new(arr, value);
            json_object_set_new(o, name, arr);
        }
    }
    return o;
}

json_t *control_config_json(const struct manscdp_msg *answer)
{
    static const char *const envelope[] = {"CmdType", "SN", "DeviceID", "Result"};
    json_t *o = json_object();
    for (const struct manscdp_node *c = manscdp_node_child(manscdp_root_node(answer)); c;
         c = manscdp_node_sibling(c)) {
        bool skip = false;
        for (size_t i = 0; i < 4 && !skip; i++) skip = !strcasecmp(manscdp_node_name(c), envelope[i]);
        json_t *value = skip ? NULL : node_json(c);
        if (value) json_object_set_new(o, manscdp_node_name(c), value);
    }
    return o;
}
