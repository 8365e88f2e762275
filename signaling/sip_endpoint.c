/*
 * SIP endpoints: one libre SIP stack per local address (UDP + TCP on sip.port), because libre sends every
 * out-of-dialog request from the first transport it has. With one stack per address, a request to a device
 * leaves from the very address and port the device registered to, which is what a NAT in front of the device
 * lets back in; `sip.listen = 0.0.0.0` enumerates the interface addresses (libre cannot bind the wildcard).
 *
 * Everything a device sends arrives in request_handler(): the body is checked against Content-Length (libre
 * delivers a UDP datagram cut at its receive buffer as if it were whole), then REGISTER goes to the registrar
 * and MESSAGE to message.c. Replies are built here rather than with sip_treplyf() so that they go to the
 * source address and port even when the device did not ask for rport (NAT), always with Content-Length.
 * Replies are stateless: a retransmitted request is simply handled again (everything here is idempotent:
 * registrations, keepalives, catalog items de-duplicated by ID). A libre server transaction would keep a
 * 32 s timer per request, and libre inserts timers into one sorted list by walking it: with thousands of
 * devices registering at once that walk dominated the CPU.
 *
 * UDP receive size: libre reads datagrams into 8 KiB unless told otherwise on the socket, which is only
 * reachable from a received message. Each endpoint therefore sends itself one probe datagram at start; the
 * first message on a socket (the probe, normally) raises the limit to 64 KiB and the socket buffer to 4 MiB.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/sig_core.h"
#include "version.h"

#define UDP_RXSZ       65536
#define UDP_SOCKBUF    (4 * 1024 * 1024)
#define PROBE_CALL_ID  "gbgate-udp-rxsz-probe"
#define STACK_HASHSIZE 4096

struct sip_endpoint {
    struct le le;
    struct sip *sip;
    struct sip_lsnr *lsnr, *resp_lsnr;
    struct sa laddr;
    bool udp_tuned;
};

struct sip *endpoint_sip(struct sip_endpoint *ep)
{
    return ep ? ep->sip : NULL;
}

const char *sig_addr_str(const struct sa *sa, char *buf, size_t size)
{
    if (re_snprintf(buf, size, "%J", sa) < 0 && size) buf[0] = 0;
    return buf;
}

bool sig_msg_body(const struct sip_msg *msg, const uint8_t **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    size_t left = mbuf_get_left(msg->mb);
    if (pl_isset(&msg->clen)) {
        for (size_t i = 0; i < msg->clen.l; i++)
            if (msg->clen.p[i] < '0' || msg->clen.p[i] > '9') return false;
        if (msg->clen.l > 9) return false;
        size_t clen = pl_u32(&msg->clen);
        if (clen > left) return false; /* truncated datagram, or a lie */
        left = clen;
    }
    if (left) {
        *body = mbuf_buf(msg->mb);
        *len = left;
    }
    return true;
}

/* ---- replies ---- */

static int write_top_via(struct mbuf *mb, const struct sip_msg *msg, const struct sip_hdr *hdr)
{
    struct pl rp;
    int err = mbuf_printf(mb, "%r: ", &hdr->name);
    bool rport = !msg_param_exists(&msg->via.params, "rport", &rp);
    if (rport) {
        err |= mbuf_write_pl_skip(mb, &hdr->val, &rp);
        err |= mbuf_printf(mb, ";rport=%u", sa_port(&msg->src));
    } else {
        err |= mbuf_write_pl(mb, &hdr->val);
    }
    if (rport || !sa_cmp(&msg->src, &msg->via.addr, SA_ADDR))
        err |= mbuf_printf(mb, ";received=%j", &msg->src);
    return err | mbuf_write_str(mb, "\r\n");
}

int sig_reply(struct sip_endpoint *ep, const struct sip_msg *msg, uint16_t scode, const char *reason,
              const char *headers)
{
    if (!pl_strcmp(&msg->met, "ACK")) return 0;
    struct mbuf *mb = mbuf_alloc(1024);
    if (!mb) return ENOMEM;
    int err = mbuf_printf(mb, "SIP/2.0 %u %s\r\n", scode, reason);
    uint32_t vias = 0;
    for (struct le *le = msg->hdrl.head; le; le = le->next) {
        const struct sip_hdr *hdr = le->data;
        switch (hdr->id) {
        case SIP_HDR_VIA:
            if (vias++ == 0)
                err |= write_top_via(mb, msg, hdr);
            else
                err |= mbuf_printf(mb, "%r: %r\r\n", &hdr->name, &hdr->val);
            break;
        case SIP_HDR_TO:
            err |= mbuf_printf(mb, "%r: %r", &hdr->name, &hdr->val);
            if (!pl_isset(&msg->to.tag) && scode > 100) err |= mbuf_printf(mb, ";tag=%016llx", msg->tag);
            err |= mbuf_write_str(mb, "\r\n");
            break;
        case SIP_HDR_FROM:
        case SIP_HDR_CALL_ID:
        case SIP_HDR_CSEQ: err |= mbuf_printf(mb, "%r: %r\r\n", &hdr->name, &hdr->val); break;
        default: break;
        }
    }
    err |= mbuf_printf(mb, "Server: gbgate/%s\r\n%sContent-Length: 0\r\n\r\n", GBGATE_VERSION,
                       headers ? headers : "");
    if (!err) {
        mb->pos = 0;
        err = sip_send(ep->sip, msg->sock, msg->tp, &msg->src, mb);
    }
    mem_deref(mb);
    return err;
}

/* ---- requests to devices ---- */

int sig_send_message(struct device *dev, const char *body, size_t len, sip_resp_h *resph, void *arg)
{
    if (!sig || !device_reachable(dev)) return ENOTCONN;
    char uri[160];
    bool tcp = dev->transport == SIP_TRANSP_TCP;
    if (re_snprintf(uri, sizeof(uri), "sip:%s@%J%s", dev->id, &dev->addr, tcp ? ";transport=tcp" : "") < 0)
        return EINVAL;
    int err =
        sip_requestf(NULL, dev->ep->sip, true, "MESSAGE", uri, NULL, NULL, NULL, resph, arg,
                     "To: <sip:%s@%J>\r\n"
                     "From: <sip:%s@%s>;tag=%016llx\r\n"
                     "Call-ID: %016llx@%j\r\n"
                     "CSeq: %u MESSAGE\r\n"
                     "User-Agent: gbgate/%s\r\n"
                     "Content-Type: Application/MANSCDP+xml\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%b",
                     dev->id, &dev->addr, sig->cfg.sip.id, sig->cfg.sip.domain, rand_u64(), rand_u64(),
                     &dev->ep->laddr, (unsigned)(rand_u32() % 100000 + 1), GBGATE_VERSION, len, body, len);
    if (!err) sig_count(SC_QUERIES_SENT);
    return err;
}

/* ---- incoming requests ---- */

static void tune_udp_socket(struct sip_endpoint *ep, const struct sip_msg *msg)
{
    if (ep->udp_tuned || msg->tp != SIP_TRANSP_UDP || !msg->sock) return;
    udp_rxsz_set(msg->sock, UDP_RXSZ);
    (void)udp_sockbuf_set(msg->sock, UDP_SOCKBUF);
    ep->udp_tuned = true;
}

static bool request_handler(const struct sip_msg *msg, void *arg)
{
    struct sip_endpoint *ep = arg;
    tune_udp_socket(ep, msg);
    if (!pl_strcmp(&msg->callid, PROBE_CALL_ID) && sa_cmp(&msg->src, &ep->laddr, SA_ADDR)) return true;
    sig_count(SC_REQUESTS);
    if (!sig || sig->shutting_down) {
        sig_reply(ep, msg, 503, "Service Unavailable", NULL);
        return true;
    }

    const uint8_t *body;
    size_t len;
    if (!sig_msg_body(msg, &body, &len)) {
        static struct log_ratelimit rl = LOG_RATELIMIT_INIT(10000, 5);
        sig_count(SC_BAD_SIP);
        char src[64];
        if (log_ratelimit_ok(&rl, clock_mono_ms()))
            log_warn(LOG_MOD, "%.*s from %s: bad Content-Length \"%.*s\" (%zu body bytes received)",
                     (int)msg->met.l, msg->met.p, sig_addr_str(&msg->src, src, sizeof(src)), (int)msg->clen.l,
                     msg->clen.p, mbuf_get_left(msg->mb));
        sig_reply(ep, msg, 400, "Bad Request (Content-Length)", NULL);
        return true;
    }

    if (invite_handle_request(ep, msg))
        ; /* in one of our media dialogs (BYE from the device...) */
    else if (!pl_strcmp(&msg->met, "REGISTER"))
        registrar_handle(ep, msg);
    else if (!pl_strcmp(&msg->met, "MESSAGE"))
        message_handle(ep, msg);
    else if (!pl_strcmp(&msg->met, "OPTIONS"))
        sig_reply(ep, msg, 200, "OK", "Allow: REGISTER, MESSAGE, OPTIONS, ACK, BYE, NOTIFY\r\n");
    else if (!pl_strcmp(&msg->met, "ACK"))
        ; /* nothing to acknowledge outside a dialog */
    else if (!pl_strcmp(&msg->met, "BYE") || !pl_strcmp(&msg->met, "CANCEL"))
        sig_reply(ep, msg, 481, "Call/Transaction Does Not Exist", NULL);
    else if (!pl_strcmp(&msg->met, "NOTIFY"))
        subscribe_handle_notify(ep, msg); /* subscriptions: subscribe_notify.c */
    else
        sig_reply(ep, msg, 405, "Method Not Allowed",
                  "Allow: REGISTER, MESSAGE, OPTIONS, ACK, BYE, NOTIFY\r\n");
    return true;
}

/* Responses no client transaction took (libre ends an INVITE transaction at its 2xx; a retransmitted 2xx
 * comes here and is ACKed again by invite.c). */
static bool response_handler(const struct sip_msg *msg, void *arg)
{
    (void)arg;
    return invite_handle_response(msg);
}

/* ---- opening ---- */

static void endpoint_destructor(void *arg)
{
    struct sip_endpoint *ep = arg;
    list_unlink(&ep->le);
    ep->lsnr = mem_deref(ep->lsnr);
    ep->resp_lsnr = mem_deref(ep->resp_lsnr);
    if (ep->sip) sip_close(ep->sip, true);
    ep->sip = mem_deref(ep->sip);
}

static void send_probe(const struct sa *laddr)
{
    int fd = socket(sa_af(laddr), SOCK_DGRAM, 0);
    if (fd < 0) return;
    char buf[512];
    int n =
        re_snprintf(buf, sizeof(buf),
                    "OPTIONS sip:probe@%J SIP/2.0\r\nVia: SIP/2.0/UDP %J;branch=z9hG4bK%016llx\r\n"
                    "From: <sip:probe@%J>;tag=1\r\nTo: <sip:probe@%J>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                    "Content-Length: 0\r\n\r\n",
                    laddr, laddr, rand_u64(), laddr, laddr, PROBE_CALL_ID);
    if (n > 0) (void)sendto(fd, buf, (size_t)n, 0, &laddr->u.sa, laddr->len);
    close(fd);
}

static int endpoint_open(const struct sa *laddr)
{
    struct sip_endpoint *ep = mem_zalloc(sizeof(*ep), endpoint_destructor);
    if (!ep) return ENOMEM;
    ep->laddr = *laddr;
    char software[64];
    snprintf(software, sizeof(software), "gbgate/%s", GBGATE_VERSION);
    int err = sip_alloc(&ep->sip, NULL, STACK_HASHSIZE, STACK_HASHSIZE, STACK_HASHSIZE, software, NULL, NULL);
    if (!err) err = sip_transp_add(ep->sip, SIP_TRANSP_UDP, laddr);
    if (!err) err = sip_transp_add(ep->sip, SIP_TRANSP_TCP, laddr);
    if (!err) err = sip_listen(&ep->lsnr, ep->sip, true, request_handler, ep);
    if (!err) err = sip_listen(&ep->resp_lsnr, ep->sip, false, response_handler, ep);
    if (err) {
        char a[64];
        log_error(LOG_MOD, "cannot listen on %s (UDP+TCP): %s", sig_addr_str(laddr, a, sizeof(a)),
                  strerror(err));
        mem_deref(ep);
        return err;
    }
    list_append(&sig->endpoints, &ep->le, ep);
    send_probe(laddr);
    char a[64];
    log_info(LOG_MOD, "listening on %s (UDP+TCP)", sig_addr_str(laddr, a, sizeof(a)));
    return 0;
}

struct if_ctx {
    uint16_t port;
    int err;
    int opened;
    struct sa seen[64];
    int nseen;
};

static bool if_handler(const char *ifname, const struct sa *sa, void *arg)
{
    struct if_ctx *c = arg;
    if (sa_is_linklocal(sa)) return false; /* needs a scope id; nobody registers there */
    for (int i = 0; i < c->nseen; i++)
        if (sa_cmp(&c->seen[i], sa, SA_ADDR)) return false;
    if (c->nseen < (int)(sizeof(c->seen) / sizeof(c->seen[0]))) c->seen[c->nseen++] = *sa;
    struct sa laddr = *sa;
    sa_set_port(&laddr, c->port);
    int err = endpoint_open(&laddr);
    if (err) {
        /* An IPv4 address that cannot be bound means the port is taken: fail. IPv6 is best effort. */
        if (sa_af(sa) == AF_INET && !c->err) c->err = err;
        char a[64];
        log_warn(LOG_MOD, "interface %s: %s not used", ifname, sig_addr_str(&laddr, a, sizeof(a)));
    } else {
        c->opened++;
    }
    return false;
}

int endpoints_open(void)
{
    const char *listen = sig->cfg.sip.listen;
    uint16_t port = (uint16_t)sig->cfg.sip.port;
    if (!strcmp(listen, "0.0.0.0") || !strcmp(listen, "::") || !listen[0]) {
        struct if_ctx c = {.port = port};
        int err = net_if_apply(if_handler, &c);
        if (err) {
            log_error(LOG_MOD, "cannot list interface addresses: %s", strerror(err));
            return err;
        }
        if (c.err) return c.err;
        if (!c.opened) {
            log_error(LOG_MOD, "no interface address to listen on");
            return EADDRNOTAVAIL;
        }
        return 0;
    }
    struct sa laddr;
    int err = sa_set_str(&laddr, listen, port);
    if (err) {
        log_error(LOG_MOD, "sip.listen: '%s' is not an IP address", listen);
        return EINVAL;
    }
    return endpoint_open(&laddr);
}

void endpoints_close(void)
{
    if (!sig) return;
    struct le *le;
    while ((le = list_head(&sig->endpoints))) mem_deref(le->data);
}
