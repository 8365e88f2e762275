/*
 * Private to signaling/invite*.c: one media session with a device (an INVITE dialog kept by hand, see
 * invite.c for why) and the helpers that put its requests on the wire (invite_dialog.c).
 */
#ifndef GB_SIGNALING_INVITE_PRIV_H
#define GB_SIGNALING_INVITE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "signaling/invite.h"
#include "signaling/sig_core.h"

#define INVITE_ROUTE_SET_MAX 1024 /* Route header lines kept from the answer's Record-Route */
#define INVITE_TAG_MAX       128

enum inv_state {
    INV_CALLING,   /* INVITE sent, nothing back yet */
    INV_EARLY,     /* a provisional answer came (100/101/180...): a CANCEL can be sent */
    INV_UP,        /* 2xx received and ACKed: the media flows */
    INV_BYE_SENT,  /* BYE sent, waiting for its answer (bounded) */
    INV_ABANDONED, /* given up before the final answer (timeout, invite_bye, device gone): a late 2xx is ACKed
                      and answered with BYE; nothing reaches the caller any more */
};

struct invite_session {
    struct le le;
    uint64_t id;
    enum inv_state state;
    struct invite_params p;
    invite_answer_fn cb;
    void *arg;

    /* the dialog */
    char ruri[128];   /* sip:<channel>@<device address>: Request-URI and To of every request */
    char call_id[96]; /* <random>@<local address> */
    char from_tag[24];
    char to_tag[INVITE_TAG_MAX];           /* the device's tag, from its answer */
    char route_set[INVITE_ROUTE_SET_MAX];  /* "Route: ...\r\n" lines, usually empty */
    uint32_t invite_cseq, cseq, rtsp_cseq; /* cseq: the last one used in the dialog */

    /* where requests go: the device's registered source address and transport, and the local endpoint it
     * talks to (refreshed from the registry before each request: a NATed device may have moved) */
    struct sip_endpoint *ep;
    struct sa dst;
    enum sip_transp tp;

    /* libre requests in flight; libre clears these pointers itself when a request ends */
    struct sip_request *invite_req, *bye_req;
    struct tmr tmr; /* the INVITE's answer timeout, then the BYE's */
};

/* ---- invite_dialog.c ---- */

/* Fills the destination (ep, dst, tp) from the device's registration. False when the device is unknown or
 * has no address; a device that is only offline keeps its last address (a BYE is still worth a try). */
bool dialog_target_refresh(struct invite_session *s);
/* True when a request can reach the device now (UDP, or TCP with its connection open). */
bool dialog_target_reachable(const struct invite_session *s);
/* Sends the INVITE (stateful; resph gets the provisional and final answers). */
int dialog_send_invite(struct invite_session *s, const char *sdp, size_t sdp_len, sip_resp_h *resph);
/* ACK for the 2xx (stateless, CSeq of the INVITE). */
int dialog_send_ack(struct invite_session *s);
/* BYE, or INFO with a body, in the dialog (stateful, next CSeq). */
int dialog_send_bye(struct invite_session *s, const char *reason, sip_resp_h *resph);
int dialog_send_info(struct invite_session *s, const char *ctype, const char *body, size_t len,
                     sip_resp_h *resph);
/* Takes the device's tag and the route set from a 2xx (or a provisional with a tag). */
void dialog_learn(struct invite_session *s, const struct sip_msg *msg);
/* Does the request from the device belong to this dialog (Call-ID, our tag in its To)? */
bool dialog_matches(const struct invite_session *s, const struct sip_msg *msg);
/* Final answer -> struct invite_answer: status, reason, and the SDP fields read from the body (a body shorter
 * than its Content-Length is ignored). */
void invite_answer_from_response(const struct sip_msg *msg, struct invite_answer *a);

#endif
