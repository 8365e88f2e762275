/*
 * Private glue of the signaling module: the one context (control thread only), its counters, and the
 * functions the files of this folder call on each other. Nothing outside signaling/ includes this; the
 * public face is signaling.h.
 *
 * Files: signaling.c (start/stop, the 1 s sweep, metrics), sip_endpoint.c (libre stacks per local address,
 * request dispatch, replies, requests to devices), registrar.c (REGISTER + digest + bans), message.c
 * (incoming MANSCDP), query.c (DeviceInfo/Catalog/DeviceStatus queries and their answers), device.c
 * (registry), catalog.c (SumNum assembly), storage.c (SQLite), api_devices.c (HTTP API handlers),
 * invite*.c (media sessions: INVITE/ACK/BYE dialogs and the GB SDP text, see invite.h).
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
#define SIG_NONCE_LIFETIME_S 600  /* a 401 nonce is good for this long; then 401 stale=true */
#define SIG_MAX_CHANNELS     8192 /* catalog items kept per device */
#define SIG_MAX_DEVICES      100000
#define SIG_BAN_TABLE_SLOTS  8192
#define SIG_STORAGE_FLUSH_MS 250 /* dirty devices are written this long after the first change */
#define SIG_MAX_BODY         MANSCDP_MAX_BODY
#define SIG_SWEEP_MS         1000

enum sig_counter {
    SC_REQUESTS = 0,      /* SIP requests received */
    SC_REGISTER,          /* REGISTER requests */
    SC_REGISTER_OK,       /* registrations (and refreshes) accepted */
    SC_UNREGISTER,        /* Expires: 0 accepted */
    SC_CHALLENGE,         /* 401 sent */
    SC_STALE_NONCE,       /* 401 stale=true sent */
    SC_AUTH_FAILED,       /* wrong password (403) */
    SC_BANNED,            /* requests refused because the ID or address is banned */
    SC_BANS,              /* bans started */
    SC_MESSAGE,           /* MESSAGE requests */
    SC_KEEPALIVE,         /* keepalives accepted */
    SC_KEEPALIVE_UNKNOWN, /* keepalives refused (unknown or unregistered device) */
    SC_UNKNOWN_CMDTYPE,   /* MANSCDP CmdTypes answered 200 and ignored */
    SC_BAD_SIP,           /* malformed/truncated requests (wrong Content-Length, missing headers) */
    SC_BAD_BODY,          /* MANSCDP bodies that did not parse */
    SC_INVALID_ID,        /* unacceptable device IDs */
    SC_QUERIES_SENT,      /* MESSAGE queries sent to devices */
    SC_QUERIES_FAILED,    /* queries answered with an error or a timeout */
    SC_CATALOG_COMPLETE,  /* catalogs assembled completely */
    SC_CATALOG_PARTIAL,   /* catalogs kept partial after the timeout */
    SC_STORAGE_ERRORS,    /* SQLite statements that failed */
    SC_INVITE_SENT,       /* INVITEs sent */
    SC_INVITE_OK,         /* INVITEs answered 2xx */
    SC_INVITE_FAILED,     /* INVITEs refused, timed out or unsendable */
    SC_BYE_SENT,          /* BYEs sent */
    SC_BYE_RECEIVED,      /* BYEs from devices in a dialog */
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
/* An incoming Response MESSAGE: catalog items, DeviceInfo, DeviceStatus. Returns true when it was expected.
 */
void query_handle_response(struct device *dev, const struct manscdp_msg *m);
/* Timeouts of catalogs and pending queries, periodic catalog refresh. */
void query_sweep(uint64_t now_mono);
/* Forgets the pending queries of a device being removed (their waiters get ENOENT). */
void query_forget_device(const char *device_id);
void query_close(void);

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

/* ---- api_devices.c ---- */
void api_devices_register(void);

#endif
