/*
 * gbsim device: answering the platform's INVITE (live view) and sending the channel's media over the offered
 * transport, with the quirks real devices show (GB28181.md section 4), so that the gateway's tolerance can be
 * tested end to end:
 *   --answer-ssrc N        answer y=N (10 digits) and send with RTP SSRC N (0: y=0000000000, SSRC 0)
 *   --answer-no-sdp        200 OK without a body (media still goes to the offer's c=/m=)
 *   --answer-bare-lf       SDP lines end in a bare LF
 *   --answer-provisional   100 Trying and 101 Dialog Establishement (with a To tag) before the final answer
 *   --answer-delay-ms N    wait N ms before the final answer
 *   --answer-refuse CODE   refuse every INVITE with CODE (486 Busy Here, 488...)
 *   --answer-never         never answer (no 100 either)
 *   --bye-after S          end each session with the device's own BYE S seconds after the ACK
 *   --media-stop-after S   stop sending S seconds after the ACK but keep the dialog (the RTP timeout case)
 * Offer -> media: UDP to c=:m=; TCP/RTP/AVP with a=setup:passive (the platform listens): connect to c=:m=;
 * a=setup:active (the platform connects): listen on a port of our own, answered in m= with a=setup:passive.
 * The SSRC is the offer's y= unless --answer-ssrc. Sending starts at the ACK and stops at BYE or CANCEL.
 * Offers with s=Playback / s=Download (t=, a=downloadspeed) are answered the same way, with their own s= and
 * t=; device_playback.c then paces the media from the recording position and obeys the dialog's INFO
 * MANSRTSP (a refused body is answered 400). Live calls answer INFO 200 and ignore it, as before.
 *
 * Replies are stateless (like the rest of the simulator) but keep the INVITE message referenced, so that the
 * 101 and the delayed final answer carry the same To tag, and a retransmitted INVITE gets the same answer.
 * Every step prints one "gbsim: event=... device=... channel=... call=..." line on stderr for the tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/invite_sdp.h"
#include "test/sim/device_media.h"
#include "test/sim/device_playback.h"
#include "test/sim/device_sim.h"

struct sim_call {
    struct le le;
    struct sim_device *dev;
    struct sip_msg *invite; /* referenced */
    char call_id[128];
    char channel_id[21];
    int channel; /* 1-based */
    enum device_media_transport transport;
    char media_ip[64];
    int media_port, local_port;
    uint32_t ssrc;
    int final_code; /* 0 until the final answer went out */
    char sdp[1024];
    size_t sdp_len;
    struct device_media *media;
    struct tmr answer_tmr, bye_tmr, stop_tmr;
    struct device_playback_offer offer; /* s=Playback/Download, t=, a=downloadspeed (device_playback.c) */
    struct device_playback *pb;         /* the call's record; pacing for playback/download */
    const char *end_how;                /* for the record: how the call ended */
    uint32_t info_cseq; /* of the last INFO obeyed: a retransmission is answered, not obeyed */
    int info_code;
};

static const char *const transport_names[] = {"udp", "tcp-passive", "tcp-active"}; /* the platform's view */
static const char *const session_names[] = {"Play", "Playback", "Download"}; /* by enum device_call_kind */

static void event(const struct sim_call *c, const char *name, const char *extra)
{
    if (sim_opt.quiet_events) return;
    fprintf(stderr, "gbsim: event=%s device=%s channel=%s call=%s%s%s\n", name, sim_device_id(c->dev),
            c->channel_id, c->call_id, extra && extra[0] ? " " : "", extra ? extra : "");
}

static struct sim_call *find_call(struct sim_device *dev, const struct sip_msg *msg)
{
    for (struct le *le = sim_device_calls(dev)->head; le; le = le->next) {
        struct sim_call *c = le->data;
        if (!pl_strcmp(&msg->callid, c->call_id)) return c;
    }
    return NULL;
}

static void call_free(struct sim_call *c)
{
    tmr_cancel(&c->answer_tmr);
    tmr_cancel(&c->bye_tmr);
    tmr_cancel(&c->stop_tmr);
    device_playback_end(c->pb, c->end_how ? c->end_how : "closed");
    device_media_stop(c->media);
    c->invite = mem_deref(c->invite);
    list_unlink(&c->le);
    free(c);
}

/* ---- answers ---- */

static void build_sdp(struct sim_call *c)
{
    const char *nl = sim_opt.answer_bare_lf ? "\n" : "\r\n";
    bool tcp = c->transport != DEVICE_MEDIA_UDP;
    int n =
        snprintf(c->sdp, sizeof(c->sdp),
                 "v=0%so=%s 0 0 IN IP4 %s%ss=%s%sc=IN IP4 %s%st=%llu %llu%sm=video %d %s 96%sa=sendonly%s"
                 "a=rtpmap:96 PS/90000%s",
                 nl, c->channel_id, sim_opt.local_ip, nl, session_names[c->offer.kind], nl, sim_opt.local_ip,
                 nl, (unsigned long long)c->offer.start, (unsigned long long)c->offer.end, nl, c->local_port,
                 tcp ? "TCP/RTP/AVP" : "RTP/AVP", nl, nl, nl);
    if (tcp)
        n += snprintf(c->sdp + n, sizeof(c->sdp) - (size_t)n, "a=setup:%s%sa=connection:new%s",
                      c->transport == DEVICE_MEDIA_TCP_CONNECT ? "active" : "passive", nl, nl);
    n += snprintf(c->sdp + n, sizeof(c->sdp) - (size_t)n, "y=%010u%sf=%s", c->ssrc, nl, nl);
    c->sdp_len = (size_t)n < sizeof(c->sdp) ? (size_t)n : sizeof(c->sdp) - 1;
}

static void send_final(struct sim_call *c)
{
    struct sip *sip = sim_device_sip(c->dev);
    if (c->final_code >= 300) {
        (void)sip_replyf(sip, c->invite, (uint16_t)c->final_code,
                         c->final_code == 486 ? "Busy Here" : "Refused", "Content-Length: 0\r\n\r\n");
        return;
    }
    struct sa laddr;
    if (sip_transp_laddr(sip, &laddr, c->invite->tp, &c->invite->src)) sa_init(&laddr, AF_INET);
    if (sim_opt.answer_no_sdp) {
        (void)sip_replyf(sip, c->invite, 200, "OK", "Contact: <sip:%s@%J>\r\nContent-Length: 0\r\n\r\n",
                         c->channel_id, &laddr);
        return;
    }
    (void)sip_replyf(sip, c->invite, 200, "OK",
                     "Contact: <sip:%s@%J>\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%b",
                     c->channel_id, &laddr, c->sdp_len, c->sdp, c->sdp_len);
}

static void answer_now(void *arg)
{
    struct sim_call *c = arg;
    c->final_code = sim_opt.answer_refuse ? sim_opt.answer_refuse : 200;
    send_final(c);
    char extra[96];
    snprintf(extra, sizeof(extra), "code=%d", c->final_code);
    event(c, "answer", extra);
    if (c->final_code >= 300) sim_stats.invites_refused++;
}

/* Reads the offer and prepares the media (sockets now: the answer carries their port). */
static int prepare_media(struct sim_call *c, const struct sip_msg *msg)
{
    const uint8_t *body = mbuf_buf(msg->mb);
    size_t len = mbuf_get_left(msg->mb);
    struct invite_answer offer; /* the SDP reader is symmetric: it reads an offer as well as an answer */
    memset(&offer, 0, sizeof(offer));
    invite_sdp_parse_answer(body, len, &offer);
    if (!offer.has_sdp || !offer.remote_port) return 488;
    if (offer.remote_tcp)
        c->transport = strcmp(offer.setup, "active") ? DEVICE_MEDIA_TCP_CONNECT : DEVICE_MEDIA_TCP_LISTEN;
    else
        c->transport = DEVICE_MEDIA_UDP;
    if (offer.remote_ip[0])
        snprintf(c->media_ip, sizeof(c->media_ip), "%s", offer.remote_ip);
    else
        re_snprintf(c->media_ip, sizeof(c->media_ip), "%j", &msg->src);
    c->media_port = offer.remote_port;
    c->ssrc = sim_opt.answer_ssrc >= 0 ? (uint32_t)sim_opt.answer_ssrc : offer.ssrc;
    device_playback_read_offer(body, len, &c->offer);
    c->pb = device_playback_create(&c->offer, c->dev, c->channel_id, c->call_id, c->invite);
    if (!device_media_available(c->channel)) {
        event(c, "no-media-configured", NULL);
        c->local_port = 9; /* discard: a port the answer can name */
        return 0;
    }
    char label[200];
    snprintf(label, sizeof(label), "device=%s channel=%s call=%.100s", sim_device_id(c->dev), c->channel_id,
             c->call_id);
    int err = device_media_start(&c->media, c->channel, c->transport, sim_opt.local_ip, c->media_ip,
                                 c->media_port, c->ssrc, &c->local_port, label);
    if (!err) device_playback_attach(c->pb, c->media);
    return err ? 500 : 0;
}

static void handle_invite(struct sim_device *dev, const struct sip_msg *msg)
{
    struct sip *sip = sim_device_sip(dev);
    struct sim_call *c = find_call(dev, msg);
    if (c) { /* a retransmission: the same answer again */
        if (c->final_code) send_final(c);
        return;
    }
    sim_stats.invites++;
    c = calloc(1, sizeof(*c));
    if (!c) return;
    c->dev = dev;
    pl_strcpy(&msg->callid, c->call_id, sizeof(c->call_id));
    pl_strcpy(&msg->uri.user, c->channel_id, sizeof(c->channel_id));
    c->channel = sim_device_channel_of(dev, &msg->uri.user);
    c->invite = mem_ref((struct sip_msg *)msg);
    tmr_init(&c->answer_tmr);
    tmr_init(&c->bye_tmr);
    tmr_init(&c->stop_tmr);
    list_append(sim_device_calls(dev), &c->le, c);
    if (sim_opt.answer_never) {
        event(c, "invite", "ignored=never-answer");
        return;
    }
    if (!c->channel) {
        event(c, "invite", "refused=404");
        (void)sip_replyf(sip, msg, 404, "Not Found", "Content-Length: 0\r\n\r\n");
        call_free(c);
        return;
    }
    if (sim_opt.answer_provisional || sim_opt.answer_delay_ms > 0)
        (void)sip_replyf(sip, msg, 100, "Trying", "Content-Length: 0\r\n\r\n");
    int code = sim_opt.answer_refuse ? 0 : prepare_media(c, msg);
    char extra[320];
    int n = snprintf(extra, sizeof(extra), "transport=%s media=%s:%d ssrc=%010u answer_port=%d",
                     transport_names[c->transport], c->media_ip[0] ? c->media_ip : "-", c->media_port,
                     c->ssrc, c->local_port);
    if (c->offer.kind != DEVICE_CALL_PLAY && n > 0 && (size_t)n < sizeof(extra))
        snprintf(extra + n, sizeof(extra) - (size_t)n, " kind=%s start=%llu end=%llu speed=%d",
                 device_call_kind_name(c->offer.kind), (unsigned long long)c->offer.start,
                 (unsigned long long)c->offer.end, c->offer.download_speed);
    event(c, "invite", extra);
    if (code) {
        c->end_how = "refused";
        (void)sip_replyf(sip, msg, (uint16_t)code,
                         code == 488 ? "Not Acceptable Here" : "Server Internal Error",
                         "Content-Length: 0\r\n\r\n");
        call_free(c);
        return;
    }
    build_sdp(c);
    if (sim_opt.answer_provisional)
        (void)sip_replyf(sip, msg, 101, "Dialog Establishement", "Content-Length: 0\r\n\r\n");
    int delay = sim_opt.answer_delay_ms > 0 ? sim_opt.answer_delay_ms : sim_opt.answer_provisional ? 200 : 0;
    if (delay)
        tmr_start(&c->answer_tmr, (uint64_t)delay, answer_now, c);
    else
        answer_now(c);
}

/* ---- the device ends the session ---- */

static void device_bye(void *arg)
{
    struct sim_call *c = arg;
    struct sim_device *dev = c->dev;
    const struct sip_msg *inv = c->invite;
    char uri[160], route_text[96];
    const struct sip_hdr *contact = sip_msg_hdr(inv, SIP_HDR_CONTACT);
    struct sip_addr caddr;
    if (contact && !sip_addr_decode(&caddr, &contact->val))
        pl_strcpy(&caddr.auri, uri, sizeof(uri));
    else
        re_snprintf(uri, sizeof(uri), "sip:%s@%J", sim_opt.server_id, &sim_opt.server);
    re_snprintf(route_text, sizeof(route_text), "sip:%J%s", &sim_opt.server,
                sim_opt.transport == SIP_TRANSP_TCP ? ";transport=tcp" : "");
    struct pl pl;
    struct uri route;
    pl_set_str(&pl, route_text);
    int err = uri_decode(&route, &pl);
    if (!err)
        err = sip_requestf(NULL, sim_device_sip(dev), true, "BYE", uri, &route, NULL, NULL, NULL, NULL,
                           "From: %r;tag=%016llx\r\n"
                           "To: %r\r\n"
                           "Call-ID: %r\r\n"
                           "CSeq: 1 BYE\r\n"
                           "User-Agent: gbsim\r\n"
                           "Content-Length: 0\r\n\r\n",
                           &inv->to.val, inv->tag, &inv->from.val, &inv->callid);
    sim_stats.byes_sent++;
    event(c, "bye-sent", err ? "error=send" : NULL);
    c->end_how = "bye-sent";
    call_free(c);
}

static void media_stop(void *arg)
{
    struct sim_call *c = arg;
    char extra[64];
    struct device_media_totals t = {0};
    if (c->media) device_media_counts(c->media, &t);
    snprintf(extra, sizeof(extra), "packets=%llu", (unsigned long long)t.packets);
    device_playback_detach(c->pb);
    device_media_stop(c->media);
    c->media = NULL;
    event(c, "media-stopped", extra);
}

/* ---- dispatch ---- */

bool sim_call_handle(struct sim_device *dev, const struct sip_msg *msg)
{
    struct sip *sip = sim_device_sip(dev);
    if (!pl_strcmp(&msg->met, "INVITE")) {
        handle_invite(dev, msg);
        return true;
    }
    struct sim_call *c = find_call(dev, msg);
    if (!pl_strcmp(&msg->met, "ACK")) {
        if (!c) return true;
        sim_stats.acks++;
        event(c, "ack", NULL);
        if (c->final_code >= 300) {
            call_free(c);
        } else if (c->final_code) {
            if (c->media) device_media_go(c->media);
            if (sim_opt.bye_after_s > 0)
                tmr_start(&c->bye_tmr, (uint64_t)(sim_opt.bye_after_s * 1000), device_bye, c);
            if (sim_opt.media_stop_s > 0)
                tmr_start(&c->stop_tmr, (uint64_t)(sim_opt.media_stop_s * 1000), media_stop, c);
        }
        return true;
    }
    if (!pl_strcmp(&msg->met, "BYE")) {
        if (!c) {
            (void)sip_reply(sip, msg, 481, "Call/Transaction Does Not Exist");
            return true;
        }
        (void)sip_reply(sip, msg, 200, "OK");
        sim_stats.byes_received++;
        char extra[96];
        struct device_media_totals t = {0};
        if (c->media) device_media_counts(c->media, &t);
        snprintf(extra, sizeof(extra), "packets=%llu", (unsigned long long)t.packets);
        event(c, "bye-received", extra);
        c->end_how = "bye-received";
        call_free(c);
        return true;
    }
    if (!pl_strcmp(&msg->met, "CANCEL")) {
        if (!c || c->final_code) {
            (void)sip_reply(sip, msg, c ? 200 : 481, c ? "OK" : "Call/Transaction Does Not Exist");
            return true;
        }
        (void)sip_reply(sip, msg, 200, "OK");
        (void)sip_replyf(sip, c->invite, 487, "Request Terminated", "Content-Length: 0\r\n\r\n");
        sim_stats.cancels++;
        event(c, "cancel", NULL);
        c->end_how = "cancel";
        call_free(c);
        return true;
    }
    if (c && !pl_strcmp(&msg->met, "INFO") && device_playback_kind(c->pb) != DEVICE_CALL_PLAY) {
        const char *why = "";
        if (!c->info_code || msg->cseq.num != c->info_cseq) {
            c->info_code = device_playback_info(c->pb, mbuf_buf(msg->mb), mbuf_get_left(msg->mb), &why);
            c->info_cseq = msg->cseq.num;
        }
        (void)sip_reply(sip, msg, (uint16_t)c->info_code, c->info_code == 200 ? "OK" : "Bad MANSRTSP Body");
        return true;
    }
    if (c) { /* INFO and the like in a dialog */
        (void)sip_reply(sip, msg, 200, "OK");
        return true;
    }
    return false;
}

void sim_calls_close(struct sim_device *dev)
{
    struct le *le;
    while ((le = sim_device_calls(dev)->head)) call_free(le->data);
}
