/*
 * RTMP commands (RTMP spec section 7.2): decoding what a player sends (AMF0 command messages: name,
 * transaction id, command object, arguments) and encoding the replies a play server gives (_result, _error,
 * onStatus, |RtmpSampleAccess). Pure functions over byte arrays, on top of relay/amf0.h: every string and
 * object the decoder returns points into the message and is valid as long as it is.
 */
#ifndef GB_RELAY_RTMP_COMMAND_H
#define GB_RELAY_RTMP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/amf0.h"

#define RTMP_COMMAND_NAME_MAX 64
#define RTMP_COMMAND_MAX_ARGS 4

struct rtmp_command {
    char name[RTMP_COMMAND_NAME_MAX]; /* "connect", "play", ... */
    double txn;                       /* transaction id (0 when the client expects no answer) */
    struct amf0_value object;         /* command object: OBJECT, or NULL/UNDEFINED when absent */
    int nargs;                        /* optional arguments after the object (more are ignored) */
    struct amf0_value args[RTMP_COMMAND_MAX_ARGS];
};

/* Decodes an AMF0 command message body (type 20), or an AMF3 command (type 17: a leading 0 byte, then
 * AMF0, as Flash sends it with objectEncoding 3). Returns 0, or -EBADMSG when the name is not a string that
 * fits, the transaction id is not a number, or a value is malformed. */
int rtmp_command_decode(const uint8_t *p, size_t len, bool amf3, struct rtmp_command *out);

/* connect's command object: app, tcUrl (NUL-terminated copies, "" when absent or not a string, truncated
 * never: -ENOSPC when too long) and objectEncoding (0 when absent). */
int rtmp_command_connect_info(const struct rtmp_command *c, char *app, size_t app_size, char *tc_url,
                              size_t tc_url_size, double *object_encoding);
/* The string argument at index i (play's stream name is args[0]); -EINVAL when absent or not a string. */
int rtmp_command_arg_string(const struct rtmp_command *c, int i, char *out, size_t size);
/* pause: args[0] boolean (true = pause). Returns -EINVAL when missing. */
int rtmp_command_arg_bool(const struct rtmp_command *c, int i, bool *out);

/* The stream id a player asks for, from connect's app and play's name: rtmp://host/live/{stream} gives
 * app "live" and name "{stream}"; accepted variants: a query string after either ("live?token=..",
 * "cam1?token=.."), the name prefixed with the app ("live/cam1"), an "flv:" prefix or ".flv" suffix, and
 * the stream in the app with an empty name ("live/cam1", ""). The app must be "live". Returns 0, -ENOENT
 * (another app), or -EINVAL (no name, or not [A-Za-z0-9_.-]{1,64}). */
int rtmp_stream_name(const char *app, const char *name, char *out, size_t size);

/* ---- replies (message bodies; the caller puts them in chunks) ---- */

/* _result of connect: properties {fmsVer, capabilities} and information {level "status",
 * code "NetConnection.Connect.Success", description, objectEncoding}. Returns the length or -ENOSPC. */
int rtmp_reply_connect_result(uint8_t *buf, size_t cap, double txn, double object_encoding);
/* _error: null, then {level "error", code, description}. */
int rtmp_reply_error(uint8_t *buf, size_t cap, double txn, const char *code, const char *description);
/* _result with null and a number (createStream's stream id, getStreamLength's 0), or with null and
 * undefined when has_number is false (releaseStream and friends). */
int rtmp_reply_result(uint8_t *buf, size_t cap, double txn, bool has_number, double number);
/* onStatus, transaction 0, null, {level, code, description[, details]}; details may be NULL. */
int rtmp_reply_on_status(uint8_t *buf, size_t cap, const char *level, const char *code,
                         const char *description, const char *details);
/* The data message sent before the media: |RtmpSampleAccess(true, true) (lets Flash read the samples). */
int rtmp_data_sample_access(uint8_t *buf, size_t cap);

#endif
