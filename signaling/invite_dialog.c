/*
 * The wire side of media sessions: every request of an INVITE dialog written as text and handed to libre's
 * transaction layer, always towards the device's registered source address (over its own TCP connection when
 * it registered over TCP), never towards the Contact or Via of its messages - those are private addresses
 * behind a NAT (GB28181.md section 2, DEPENDENCIES.md on sipsess).
 *
 * The Request-URI (and To) of every request is `sip:<channel>@<device address>`, as the INVITE's: the way
 * wvp-GB28181-pro addresses its ACK and BYE, and what devices accept. The next hop is given to libre as a
 * separate route URI (`sip:<address>;transport=tcp`), so the Request-URI stays clean.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "signaling/invite_priv.h"
#include "signaling/invite_sdp.h"
#include "version.h"

bool dialog_target_refresh(struct invite_session *s)
{
    struct device *dev = registry_find(s->p.device_id);
    if (!dev || !dev->ep || !sa_isset(&dev->addr, SA_ALL)) return false;
    s->ep = dev->ep;
    s->dst = dev->addr;
    s->tp = dev->transport;
    return true;
}

bool dialog_target_reachable(const struct invite_session *s)
{
    struct device *dev = registry_find(s->p.device_id);
    return dev && device_reachable(dev);
}

/* One request in the dialog. `extra` are header lines (CRLF-terminated) or "". */
static int send_request(struct invite_session *s, struct sip_request **reqp, bool stateful,
                        const char *method, uint32_t cseq, const char *extra, const char *ctype,
                        const char *body, size_t body_len, sip_resp_h *resph)
{
    if (!s->ep) return ENOTCONN;
    char route_text[96];
    if (re_snprintf(route_text, sizeof(route_text), "sip:%J%s", &s->dst,
                    s->tp == SIP_TRANSP_TCP ? ";transport=tcp" : "") < 0)
        return EINVAL;
    struct pl pl;
    struct uri route;
    pl_set_str(&pl, route_text);
    int err = uri_decode(&route, &pl);
    if (err) return err;
    char ctype_line[64] = "";
    if (ctype) snprintf(ctype_line, sizeof(ctype_line), "Content-Type: %s\r\n", ctype);
    return sip_requestf(reqp, endpoint_sip(s->ep), stateful, method, s->ruri, &route, NULL, NULL, resph, s,
                        "From: <sip:%s@%s>;tag=%s\r\n"
                        "To: <%s>%s%s\r\n"
                        "Call-ID: %s\r\n"
                        "CSeq: %u %s\r\n"
                        "%s%s"
                        "User-Agent: gbgate/%s\r\n"
                        "%s"
                        "Content-Length: %zu\r\n"
                        "\r\n"
                        "%b",
                        sig->cfg.sip.id, sig->cfg.sip.domain, s->from_tag, s->ruri,
                        s->to_tag[0] ? ";tag=" : "", s->to_tag, s->call_id, cseq, method, s->route_set, extra,
                        GBGATE_VERSION, ctype_line, body_len, body ? body : "", body_len);
}

int dialog_send_invite(struct invite_session *s, const char *sdp, size_t sdp_len, sip_resp_h *resph)
{
    struct sa laddr;
    int err = sip_transp_laddr(endpoint_sip(s->ep), &laddr, s->tp, &s->dst);
    if (err) return err;
    char extra[256];
    if (re_snprintf(extra, sizeof(extra), "Contact: <sip:%s@%J>\r\nSubject: %s:%s,%s:0\r\n", sig->cfg.sip.id,
                    &laddr, s->p.channel_id, s->p.ssrc, sig->cfg.sip.id) < 0)
        return ENOSPC;
    if (!s->call_id[0]) re_snprintf(s->call_id, sizeof(s->call_id), "%016llx@%j", rand_u64(), &laddr);
    return send_request(s, &s->invite_req, true, "INVITE", s->invite_cseq, extra, "APPLICATION/SDP", sdp,
                        sdp_len, resph);
}

int dialog_send_ack(struct invite_session *s)
{
    return send_request(s, NULL, false, "ACK", s->invite_cseq, "", NULL, NULL, 0, NULL);
}

int dialog_send_bye(struct invite_session *s, const char *reason, sip_resp_h *resph)
{
    (void)reason; /* logged by the caller; devices do not read a Reason header */
    return send_request(s, &s->bye_req, true, "BYE", ++s->cseq, "", NULL, NULL, 0, resph);
}

int dialog_send_info(struct invite_session *s, const char *ctype, const char *body, size_t len,
                     sip_resp_h *resph)
{
    return send_request(s, NULL, true, "INFO", ++s->cseq, "", ctype, body, len, resph);
}

/* Record-Route of the answer, walked backwards: the UAC's route set is the reverse (RFC 3261 12.1.2). */
static bool record_route_handler(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    (void)msg;
    struct invite_session *s = arg;
    size_t used = strlen(s->route_set);
    int n = re_snprintf(s->route_set + used, sizeof(s->route_set) - used, "Route: %r\r\n", &hdr->val);
    if (n < 0 || used + (size_t)n >= sizeof(s->route_set) - 1) {
        s->route_set[used] = 0; /* does not fit: keep the routes that did */
        return true;
    }
    return false;
}

void dialog_learn(struct invite_session *s, const struct sip_msg *msg)
{
    if (pl_isset(&msg->to.tag) && msg->to.tag.l < sizeof(s->to_tag))
        pl_strcpy(&msg->to.tag, s->to_tag, sizeof(s->to_tag));
    if (msg->scode >= 200 && msg->scode < 300) {
        s->route_set[0] = 0;
        (void)sip_msg_hdr_apply(msg, false, SIP_HDR_RECORD_ROUTE, record_route_handler, s);
    }
}

bool dialog_matches(const struct invite_session *s, const struct sip_msg *msg)
{
    return !pl_strcmp(&msg->callid, s->call_id) && !pl_strcmp(&msg->to.tag, s->from_tag);
}

void invite_answer_from_response(const struct sip_msg *msg, struct invite_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->status = msg->scode;
    pl_strcpy(&msg->reason, a->reason, sizeof(a->reason));
    const uint8_t *body;
    size_t len;
    if (sig_msg_body(msg, &body, &len) && body) invite_sdp_parse_answer(body, len, a);
}
