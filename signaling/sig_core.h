/*
 * Private glue of the signaling module: the one context (control thread only), its counters, and the
 * functions the files of this folder call on each other. Nothing outside signaling/ includes this; the
 * public face is signaling.h.
 *
 * Files: signaling.c (start/stop, the 1 s sweep, metrics), sip_endpoint.c (libre stacks per local address,
 * request dispatch, replies, requests to devices), registrar.c (REGISTER + digest + bans), message.c
 * (incoming MANSCDP), query.c (DeviceInfo/Catalog/DeviceStatus queries and their answers), device.c
 * (registry), catalog.c (SumNum assembly), storage.c (SQLite), api_devices.c (HTTP API handlers),
 * invite*.c (media sessions: INVITE/ACK/BYE dialogs and the GB SDP text, see invite.h), ptz.c (PTZCmd
 * codec), device_control.c (DeviceControl/PresetQuery/ConfigDownload bodies), api_control.c (their API),
 * records.c (RecordInfo queries; record_list.c and paged_assembly.c assemble the pages, as catalog.c does),
 * events.c + storage_events.c + api_events.c (Alarm/MobilePosition history), subscribe.c + subscribe_notify.c
 * (SUBSCRIBE to devices, their NOTIFYs).
 */
#ifndef GB_SIGNALING_SIG_CORE_H
#define GB_SIGNALING_SIG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/libre.h"

#include "common/config.h"
#include "signaling/auth_ban.h"
#include "signaling/device.h"
#include "signaling/digest.h"
#include "signaling/manscdp.h"

#define LOG_MOD "sip"

/* Limits that have no config key (documented in docs/SIP.md). */
#define SIG_MAX_CHANNELS     8192 /* catalog items kept per device */
#define SIG_MAX_DEVICES      100000
#define SIG_BAN_TABLE_SLOTS  8192
#define SIG_STORAGE_FLUSH_MS 250 /* dirty devices are written this long after the first change */
#define SIG_MAX_BODY         MANSCDP_MAX_BODY
#define SIG_SWEEP_MS         1000

enum sig_counter {
    SC_REQUESTS = 0,        /* SIP requests received */
    SC_REGISTER,            /* REGISTER requests */
    SC_REGISTER_OK,         /* registrations (and refreshes) accepted */
    SC_UNREGISTER,          /* Expires: 0 accepted */
    SC_CHALLENGE,           /* 401 sent */
    SC_STALE_NONCE,         /* 401 stale=true sent */
    SC_AUTH_FAILED,         /* wrong password (403) */
    SC_BANNED,              /* requests refused because the ID or address is banned */
    SC_BANS,                /* bans started */
    SC_MESSAGE,             /* MESSAGE requests */
    SC_KEEPALIVE,           /* keepalives accepted */
    SC_KEEPALIVE_UNKNOWN,   /* keepalives refused (unknown or unregistered device) */
    SC_UNKNOWN_CMDTYPE,     /* MANSCDP CmdTypes answered 200 and ignored */
    SC_BAD_SIP,             /* malformed/truncated requests (wrong Content-Length, missing headers) */
    SC_BAD_BODY,            /* MANSCDP bodies that did not parse */
    SC_INVALID_ID,          /* unacceptable device IDs */
    SC_QUERIES_SENT,        /* MESSAGE queries sent to devices */
    SC_QUERIES_FAILED,      /* queries answered with an error or a timeout */
    SC_CATALOG_COMPLETE,    /* catalogs assembled completely */
    SC_CATALOG_PARTIAL,     /* catalogs kept partial after the timeout */
    SC_STORAGE_ERRORS,      /* SQLite statements that failed */
    SC_INVITE_SENT,         /* INVITEs sent */
    SC_INVITE_OK,           /* INVITEs answered 2xx */
    SC_INVITE_FAILED,       /* INVITEs refused, timed out or unsendable */
    SC_BYE_SENT,            /* BYEs sent */
    SC_BYE_RECEIVED,        /* BYEs from devices in a dialog */
    SC_PTZ_SENT,            /* PTZCmd DeviceControls sent (api_control.c) */
    SC_CONTROL_SENT,        /* other DeviceControls sent: keyframe, teleboot, record, guard, alarm reset */
    SC_CONTROL_FAILED,      /* DeviceControls refused, timed out or answered with Result ERROR */
    SC_CONTROL_BAD_REQUEST, /* PTZ/control/preset/config API calls refused as malformed (400) */
    SC_ALARMS,              /* Alarm notifies stored (events.c) */
    SC_POSITIONS,           /* MobilePosition notifies stored */
    SC_EVENTS_DROPPED,      /* Alarm/MobilePosition notifies refused (unknown device, bad body) */
    SC_SUBSCRIBE_SENT,      /* SUBSCRIBEs sent, refreshes and unsubscribes included (subscribe.c) */
    SC_SUBSCRIBE_FAILED,    /* SUBSCRIBEs refused or unanswered */
    SC_NOTIFY,              /* NOTIFY requests received */
    SC_COUNT
};

struct signaling {
    struct gb_config cfg; /* copy taken at start */
    struct list endpoints;
    struct auth_ban *bans;
    uint8_t nonce_secret[DIGEST_SECRET_LEN];
    struct tmr sweep_tmr, flush_tmr;
    uint32_t next_sn;
    uint64_t counters[SC_COUNT];
    bool started, shutting_down;
};

extern struct signaling *sig; /* NULL before signaling_start and after signaling_close */

static inline void sig_count(enum sig_counter c)
{
    if (sig) sig->counters[c]++;
}
uint32_t sig_next_sn(void);

/* ---- sip_endpoint.c ---- */
int endpoints_open(void);
void endpoints_close(void);
/* Answers msg (statelessly: a retransmission is handled again) to its source address; `headers` are extra
 * header lines each ending in CRLF, or NULL. Content-Length: 0 is added. */
int sig_reply(struct sip_endpoint *ep, const struct sip_msg *msg, uint16_t scode, const char *reason,
              const char *headers);
/* Sends an out-of-dialog MESSAGE with a MANSCDP body to the device's source address; resph gets the final
 * response (or err: ETIMEDOUT, ENOTCONN when its TCP connection is gone). */
int sig_send_message(struct device *dev, const char *body, size_t len, sip_resp_h *resph, void *arg);
struct sip *endpoint_sip(struct sip_endpoint *ep);
/* "ip:port" of the device's address into buf. */
const char *sig_addr_str(const struct sa *sa, char *buf, size_t size);
/* The request body, or NULL with *len 0. Rejects (false) a body shorter than its Content-Length. */
bool sig_msg_body(const struct sip_msg *msg, const uint8_t **body, size_t *len);

/* ---- registrar.c ---- */
void registrar_handle(struct sip_endpoint *ep, const struct sip_msg *msg);

/* ---- message.c ---- */
void message_handle(struct sip_endpoint *ep, const struct sip_msg *msg);

/* ---- query.c ---- */
void query_after_register(struct device *dev);
int query_catalog(struct device *dev);
int query_device_info(struct device *dev);
/* Sends DeviceStatus; done(arg, status_json-ready msg or NULL on error with err) once answered/failed. */
typedef void (*query_done_fn)(void *arg, int err, const struct manscdp_msg *answer);
int query_device_status(struct device *dev, query_done_fn done, void *arg);
/* A Query or Control sent on behalf of the API (device_control.c). done(arg, 0, answer) gets the device's
 * Response with the same CmdType (matched by our SN, or by CmdType and DeviceID when the device does not echo
 * the SN), or done(arg, 0, NULL) once the MESSAGE got its 2xx when no_answer is set (PTZ, TeleBoot, IFameCmd:
 * devices send no Response). Errors: ETIMEDOUT after sip.query_timeout_s, EPROTO when the device refused the
 * MESSAGE, ENOTCONN, ENOENT (device deleted), ESHUTDOWN. done is never called from inside query_send. */
struct query_spec {
    enum manscdp_root root; /* MANSCDP_QUERY or MANSCDP_CONTROL */
    const char *cmdtype;
    const char *target_id; /* <DeviceID>: a channel, or the device itself */
    const struct manscdp_field *fields;
    size_t nfields;
    bool no_answer;
};
int query_send(struct device *dev, const struct query_spec *spec, query_done_fn done, void *arg);
/* An incoming Response MESSAGE: catalog items, DeviceInfo, and the answers query_send waits for. */
void query_handle_response(struct device *dev, const struct manscdp_msg *m);
/* Timeouts of catalogs and pending queries, periodic catalog refresh. */
void query_sweep(uint64_t now_mono);
/* Forgets the pending queries of a device being removed (their waiters get ENOENT). */
void query_forget_device(const char *device_id);
void query_close(void);

/* ---- device_control.c ---- */
/* A device command of the control API: the DeviceControl element and value it sends, and whether devices
 * answer it with a Response (Result). */
struct control_command {
    const char *name, *element, *value;
    bool answered;
};
const struct control_command *control_command_find(const char *name); /* NULL when unknown */
const char *control_command_names(void);                              /* for error messages */
/* Each sends through query_send() (see there for done and the errors); target is the body's DeviceID. */
int control_send_ptz(struct device *dev, const char *target, const char *ptz_hex, query_done_fn done,
                     void *arg);
int control_send_command(struct device *dev, const char *target, const struct control_command *c,
                         query_done_fn done, void *arg);
int control_query_presets(struct device *dev, const char *target, query_done_fn done, void *arg);
#define CONTROL_CONFIG_TYPE_MAX 192 /* bytes of a ConfigType (every known type joined by '/' is 172) */
bool control_config_type_valid(const char *type); /* a known ConfigType, or several joined by '/' */
const char *control_config_type_names(void);
int control_query_config(struct device *dev, const char *target, const char *type, query_done_fn done,
                         void *arg);
/* Answers as JSON (new references): PresetList items as [{"index","name"}], and every element of a
 * ConfigDownload answer but the envelope (CmdType, SN, DeviceID, Result) as an object. */
struct json_t *control_presets_json(const struct manscdp_msg *answer);
struct json_t *control_config_json(const struct manscdp_msg *answer);

/* ---- invite.c ---- */
/* A request from a device in one of our dialogs (BYE, INFO...): answered here, true. False: not ours. */
bool invite_handle_request(struct sip_endpoint *ep, const struct sip_msg *msg);
/* A response no transaction took: a retransmitted 2xx of one of our INVITEs is ACKed again (true). */
bool invite_handle_response(const struct sip_msg *msg);
/* The device went offline, unregistered or was deleted: its sessions end (ended hook / failed answer). */
void invite_device_gone(const char *device_id, const char *why);
/* Frees every session without a word on the wire (signaling_close, before the endpoints close). */
void invite_close(void);

/* ---- device state transitions (signaling.c) ---- */
void sig_device_online(struct device *dev);
void sig_device_offline(struct device *dev, const char *why);
void sig_schedule_flush(void);

/* ---- api_devices.c, api_control.c ---- */
void api_devices_register(void);
void api_control_register(void); /* PTZ, presets, device commands, config (called by the above) */
struct api_request;
/* The API's answer to a device query that failed: 504 device_timeout (sip.query_timeout_s), 404 (device
 * deleted), 503 (shutting down), 409 (connection gone) or 502 (the device's error). False, and nothing
 * sent, when err is 0. Shared by every handler that waits for a device. */
bool sig_reply_query_error(struct api_request *req, int err);

/* ---- records.c: RecordInfo queries for GET .../channels/{ch}/records (paged answers, record_list.c) ---- */
void records_api_register(void);
/* A Response RecordInfo page from the device. */
void records_handle_response(struct device *dev, const struct manscdp_msg *m);
void records_sweep(uint64_t now_mono);
void records_forget_device(const char *device_id); /* its waiting API calls get 404 */
void records_close(void);

/* ---- events.c: Alarm and MobilePosition notifies (MESSAGE or NOTIFY), stored with bounded history ---- */
int events_open(void); /* after storage_open: the tables, the last positions */
void events_close(void);
/* A Notify from a device: Alarm (stored, answered with a Response Alarm Result OK) and MobilePosition
 * (stored). True when it was one of those. The SIP 200 is the caller's. */
bool events_handle_notify(struct device *dev, const struct manscdp_msg *m);
void events_forget_device(const char *device_id);
/* {"channel","time","longitude",...} of the device's newest position, or JSON null. */
struct json_t;
struct json_t *events_last_position_json(const char *device_id);
void events_api_register(void); /* api_events.c */

/* ---- subscribe.c: SUBSCRIBE Catalog/Alarm/MobilePosition to online devices, and their NOTIFYs ---- */
void subscribe_sweep(uint64_t now_mono); /* subscribes, refreshes, retries (called every second) */
/* A NOTIFY request: answered here (200, or 481 for an unknown device). */
void subscribe_handle_notify(struct sip_endpoint *ep, const struct sip_msg *msg);
void subscribe_device_gone(const char *device_id); /* offline/deleted: its subscriptions are forgotten */
/* "catalog,alarm,position" (also the CmdType names; "" or "none" = nothing) into a bit per kind; EINVAL with
 * the offending word in bad[] for anything else. */
int subscribe_parse_kinds(const char *list, unsigned *mask, char *bad, size_t bad_size);
const char *subscribe_kinds_text(unsigned mask, char *buf, size_t size);
/* What dev is subscribed to: its own setting (PUT /api/v1/devices/{id} "subscribe"), else sip.subscribe. */
unsigned subscribe_kinds_for(const struct device *dev);
/* Shutdown: Expires 0 to every active subscription; done(arg) once answered or after a bounded wait. */
void subscribe_shutdown(void (*done)(void *arg), void *arg);
void subscribe_close(void);
/* {"catalog":{"state","expires_at"},...} for the device JSON. */
struct json_t *subscribe_state_json(const char *device_id);

#endif
