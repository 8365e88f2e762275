/*
 * One simulated device: REGISTER with digest (and the quirks of GB28181.md sections 2-3 on request),
 * refresh before expiry, keepalives, and answers to the platform's queries.
 *
 * Each device has its own libre SIP stack bound to local_ip:0, so the platform sees one source address per
 * device and its requests come back to the right device without any routing here.
 *
 * Registration refreshes and keepalives are due times driven by one ticker in device_main.c, not a libre
 * timer per device: libre keeps every timer in one sorted list and inserts by walking it, so a thousand
 * long-lived per-device timers made every short transaction timer expensive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "test/sim/device_events.h"
#include "test/sim/device_sim.h"

#define BODY_MAX (60 * 1024)

struct sim_device {
    int index;
    char id[21];
    struct sip *sip;
    struct sip_lsnr *lsnr;
    struct sa laddr;
    char call_id[48], from_tag[24];
    uint32_t cseq, nc, ka_sn;
    int auth_round; /* Authorization answers sent in this registration attempt */
    bool registered, registered_once, catalog_sent_once, unregistering;
    uint64_t reg_due, ka_due; /* tmr_jiffies() when the next REGISTER / keepalive is due, 0 = none */
    /* hashes of recent queries' Call-ID and CSeq: a retransmission is not re-answered */
    uint32_t query_keys[4];
    unsigned query_key_next;
    struct list calls; /* INVITE sessions (device_invite.c) */
    bool keepalive_stopped;
    struct sim_events *events; /* subscriptions, alarms, positions (device_events.c) */
};

static const char *const place_names[] = {"东门", "西门", "南门", "北门", "大厅", "停车场", "仓库", "走廊"};

static void schedule_register(struct sim_device *dev, uint32_t delay_ms);
static void send_register(struct sim_device *dev, const struct digest_fields *chall, uint32_t expires);

/* ---- identities ---- */

/* Digits 1-13 of base (centre, industry, type), digits 14-20 base's serial + offset. */
static void make_id(char out[21], const char *base, unsigned offset)
{
    unsigned serial = (unsigned)strtoul(base + 13, NULL, 10);
    snprintf(out, 21, "%.13s%07u", base, (serial + offset) % 10000000u);
}

/* Channel IDs: the device's first 10 digits, type 131 (camera), a serial unique across the simulated devices.
 */
static void channel_id(const struct sim_device *dev, int ch, char out[21])
{
    snprintf(out, 21, "%.10s131%07u", dev->id, (unsigned)(dev->index * 1000 + ch + 1) % 10000000u);
}

/* ---- bodies: the quirks live here ---- */

static int finish_body(char *body, size_t *len)
{
    if (sim_opt.utf8_under_gb2312) { /* UTF-8 bytes under a GB2312 declaration (built as UTF-8) */
        char *enc = strstr(body, "encoding=\"UTF-8\"");
        if (enc) {
            memmove(enc + 17, enc + 16, *len - (size_t)(enc + 16 - body) + 1);
            memcpy(enc, "encoding=\"GB2312\"", 17);
            (*len)++;
        }
    }
    if (sim_opt.no_xml_decl && !strncmp(body, "<?xml", 5)) {
        char *end = strstr(body, "?>");
        if (end) {
            end += 2;
            while (*end == '\r' || *end == '\n') end++;
            *len -= (size_t)(end - body);
            memmove(body, end, *len + 1);
        }
    }
    return 0;
}

static enum manscdp_charset body_charset(void)
{
    return sim_opt.utf8_under_gb2312 ? MANSCDP_UTF8 : MANSCDP_GB2312;
}

/* ---- requests to the platform ---- */

static void server_uri(char *buf, size_t size)
{
    re_snprintf(buf, size, "sip:%s@%J%s", sim_opt.server_id, &sim_opt.server,
                sim_opt.transport == SIP_TRANSP_TCP ? ";transport=tcp" : "");
}

static int send_message(struct sim_device *dev, const char *body, size_t len, sip_resp_h *resph)
{
    char uri[160];
    server_uri(uri, sizeof(uri));
    return sip_requestf(NULL, dev->sip, true, "MESSAGE", uri, NULL, NULL, NULL, resph, dev,
                        "From: <sip:%s@%s>;tag=%016llx\r\n"
                        "To: <sip:%s@%s>\r\n"
                        "Call-ID: %016llx@%j\r\n"
                        "CSeq: %u MESSAGE\r\n"
                        "User-Agent: gbsim\r\n"
                        "Content-Type: Application/MANSCDP+xml\r\n"
                        "Content-Length: %zu\r\n\r\n%b",
                        dev->id, sim_opt.domain, rand_u64(), sim_opt.server_id, sim_opt.domain, rand_u64(),
                        &dev->laddr, ++dev->cseq, len, body, len);
}

static void response_sent(int err, const struct sip_msg *msg, void *arg)
{
    (void)arg;
    if (!err && msg && msg->scode < 200) return;
    if (err || !msg || msg->scode >= 300) sim_stats.responses_failed++;
}

/* ---- keepalive ---- */

static void keepalive_resp(int err, const struct sip_msg *msg, void *arg)
{
    struct sim_device *dev = arg;
    if (!err && msg && msg->scode < 200) return;
    if (err || !msg) {
        sim_stats.keepalives_failed++;
    } else if (msg->scode < 300) {
        sim_stats.keepalives_ok++;
    } else {
        /* 404/403: the platform does not know us (it restarted without storage, or we expired): register */
        sim_stats.keepalives_refused++;
        if (dev->registered) {
            dev->registered = false;
            schedule_register(dev, 0);
        }
    }
}

static void keepalive_tick(void *arg)
{
    struct sim_device *dev = arg;
    if (!dev->registered) return;
    if (sim_opt.keepalive_stop_s > 0 &&
        tmr_jiffies() - sim_opt.start_ms >= (uint64_t)(sim_opt.keepalive_stop_s * 1000)) {
        if (!dev->keepalive_stopped && !sim_opt.quiet_events)
            fprintf(stderr, "gbsim: event=keepalive-stopped device=%s\n", dev->id);
        dev->keepalive_stopped = true;
        dev->ka_due = tmr_jiffies() + (uint64_t)sim_opt.keepalive_s * 1000;
        return;
    }
    char body[1024];
    size_t len;
    if (!manscdp_build_keepalive(body, sizeof(body), &len, body_charset(), ++dev->ka_sn, dev->id, true)) {
        finish_body(body, &len);
        send_message(dev, body, len, keepalive_resp);
    }
    dev->ka_due = tmr_jiffies() + (uint64_t)sim_opt.keepalive_s * 1000;
}

/* ---- registration ---- */

static void register_resp(int err, const struct sip_msg *msg, void *arg)
{
    struct sim_device *dev = arg;
    if (!err && msg && msg->scode < 200) return;
    if (err || !msg) {
        if (dev->unregistering) return;
        sim_stats.register_errors++;
        schedule_register(dev, (uint32_t)sim_opt.retry_s * 1000);
        return;
    }
    if (msg->scode == 401 && dev->auth_round < 2) {
        const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_WWW_AUTHENTICATE);
        struct digest_fields chall;
        sim_stats.challenges++;
        if (h && !digest_parse(h->val.p, h->val.l, &chall)) {
            dev->auth_round++;
            send_register(dev, &chall, dev->unregistering ? 0 : (uint32_t)sim_opt.expires_s);
            return;
        }
    }
    if (dev->unregistering) {
        sim_stats.unregisters += msg->scode < 300;
        return;
    }
    if (msg->scode >= 200 && msg->scode < 300) {
        uint32_t expires = pl_isset(&msg->expires) ? pl_u32(&msg->expires) : (uint32_t)sim_opt.expires_s;
        if (!expires) expires = (uint32_t)sim_opt.expires_s;
        bool first = !dev->registered_once;
        dev->registered = true;
        dev->registered_once = true;
        sim_stats.registers_ok++;
        if (first) sim_note_registered();
        /* refresh at 80% of the granted time */
        schedule_register(dev, expires * 800);
        if (!dev->ka_due) dev->ka_due = tmr_jiffies() + (uint64_t)sim_opt.keepalive_s * 1000;
        return;
    }
    if (msg->scode == 403 || msg->scode == 401)
        sim_stats.auth_rejected++;
    else
        sim_stats.register_errors++;
    if (!sim_opt.quiet)
        re_fprintf(stderr, "gbsim device %s: REGISTER answered %u %r\n", dev->id, msg->scode, &msg->reason);
    dev->registered = false;
    schedule_register(dev, (uint32_t)sim_opt.retry_s * 1000);
}

static void send_register(struct sim_device *dev, const struct digest_fields *chall, uint32_t expires)
{
    char uri[160], auth[1024] = "";
    server_uri(uri, sizeof(uri));
    /* the Request-URI of the digest is the server URI without transport parameter */
    char digest_uri[128];
    re_snprintf(digest_uri, sizeof(digest_uri), "sip:%s@%J", sim_opt.server_id, &sim_opt.server);
    if (chall) {
        struct digest_fields cred;
        char cnonce[17];
        re_snprintf(cnonce, sizeof(cnonce), "%016llx", rand_u64());
        struct digest_fields c = *chall;
        if (sim_opt.no_qop) c.qop[0] = 0;
        const char *realm = sim_opt.realm_quirk ? "hik" : NULL;
        if (!digest_answer(&c, "REGISTER", digest_uri, dev->id, sim_opt.password, realm, cnonce, ++dev->nc,
                           &cred)) {
            int n = snprintf(auth, sizeof(auth), "Authorization: ");
            int m = digest_credentials_format(auth + n, sizeof(auth) - (size_t)n - 2, &cred);
            if (m > 0)
                strcat(auth, "\r\n");
            else
                auth[0] = 0;
        }
    }
    char contact[96];
    re_snprintf(contact, sizeof(contact), "<sip:%s@%J>", dev->id, &dev->laddr);
    (void)sip_requestf(NULL, dev->sip, true, "REGISTER", uri, NULL, NULL, NULL, register_resp, dev,
                       "From: <sip:%s@%s>;tag=%s\r\n"
                       "To: <sip:%s@%s>\r\n"
                       "Call-ID: %s\r\n"
                       "CSeq: %u REGISTER\r\n"
                       "Contact: %s\r\n"
                       "%s"
                       "Expires: %u\r\n"
                       "User-Agent: gbsim\r\n"
                       "Content-Length: 0\r\n\r\n",
                       dev->id, sim_opt.domain, dev->from_tag, dev->id, sim_opt.domain, dev->call_id,
                       ++dev->cseq, contact, auth, expires);
}

static void register_tick(void *arg)
{
    struct sim_device *dev = arg;
    dev->auth_round = 0;
    if (sim_opt.auth_first) {
        /* Authorization on the first REGISTER with a nonce the platform never issued */
        struct digest_fields made_up;
        memset(&made_up, 0, sizeof(made_up));
        snprintf(made_up.realm, sizeof(made_up.realm), "%s", sim_opt.domain);
        snprintf(made_up.nonce, sizeof(made_up.nonce), "%016llx", (unsigned long long)rand_u64());
        send_register(dev, &made_up, (uint32_t)sim_opt.expires_s);
    } else {
        send_register(dev, NULL, (uint32_t)sim_opt.expires_s);
    }
}

static void schedule_register(struct sim_device *dev, uint32_t delay_ms)
{
    dev->reg_due = tmr_jiffies() + delay_ms;
}

void sim_device_tick(struct sim_device *dev, uint64_t now)
{
    if (dev->reg_due && now >= dev->reg_due) {
        dev->reg_due = 0;
        register_tick(dev);
    }
    if (dev->ka_due && now >= dev->ka_due) {
        dev->ka_due = 0;
        keepalive_tick(dev);
    }
    if (dev->registered) sim_events_tick(dev->events, now);
}

/* ---- answering queries ---- */

static void fill_channel(const struct sim_device *dev, int ch, struct manscdp_catalog_item *it)
{
    memset(it, 0, sizeof(*it));
    channel_id(dev, ch, it->device_id);
    snprintf(it->name, sizeof(it->name), "%s摄像机%d", place_names[ch % 8], ch + 1);
    snprintf(it->manufacturer, sizeof(it->manufacturer), "gbsim");
    snprintf(it->model, sizeof(it->model), "SIM-CAM");
    snprintf(it->owner, sizeof(it->owner), "Owner");
    snprintf(it->civil_code, sizeof(it->civil_code), "%.6s", dev->id);
    snprintf(it->address, sizeof(it->address), "测试路%d号", ch + 1);
    snprintf(it->parent_id, sizeof(it->parent_id), "%s", dev->id);
    snprintf(it->status, sizeof(it->status), "ON");
    it->online = true;
    it->parental = 0;
    it->safety_way = 0;
    it->register_way = 1;
    it->secrecy = 0;
    it->port = -1;
    it->ptz_type = ch % 4;
    it->has_position = true;
    it->longitude = 117.2 + ch * 0.001;
    it->latitude = 31.8;
}

static void answer_catalog(struct sim_device *dev, uint32_t sn)
{
    static char body[BODY_MAX];
    int per = sim_opt.per_message > 0 ? sim_opt.per_message : 1;
    struct manscdp_catalog_item *items = calloc((size_t)per, sizeof(*items));
    if (!items) return;
    int ch = 0;
    do {
        int n = 0;
        for (; n < per && ch < sim_opt.channels; n++, ch++) fill_channel(dev, ch, &items[n]);
        size_t len;
        if (!manscdp_build_catalog_response(body, sizeof(body), &len, body_charset(), sn, dev->id,
                                            (uint32_t)sim_opt.channels, items, (size_t)n)) {
            finish_body(body, &len);
            if (!send_message(dev, body, len, response_sent)) sim_stats.catalog_messages++;
        }
    } while (ch < sim_opt.channels);
    free(items);
    if (!dev->catalog_sent_once) {
        dev->catalog_sent_once = true;
        sim_note_catalog_sent();
    }
}

static void answer_query(struct sim_device *dev, const struct manscdp_msg *q)
{
    char body[4096];
    size_t len = 0;
    uint32_t sn = 0;
    manscdp_sn(q, &sn);
    int err = -1;
    const char *cmd = manscdp_cmdtype(q);
    if (!strcasecmp(cmd, "Catalog")) {
        sim_stats.q_catalog++;
        answer_catalog(dev, sn);
        return;
    } else if (!strcasecmp(cmd, "RecordInfo")) {
        sim_records_answer(dev, q); /* device_records.c */
        return;
    } else if (!strcasecmp(cmd, "DeviceInfo")) {
        sim_stats.q_device_info++;
        struct manscdp_device_info info = {.channel = sim_opt.channels};
        snprintf(info.result, sizeof(info.result), "OK");
        snprintf(info.device_name, sizeof(info.device_name), "模拟设备%d", dev->index + 1);
        snprintf(info.manufacturer, sizeof(info.manufacturer), "gbsim");
        snprintf(info.model, sizeof(info.model), "SIM-NVR");
        snprintf(info.firmware, sizeof(info.firmware), "V1.0.0");
        err =
            manscdp_build_device_info_response(body, sizeof(body), &len, body_charset(), sn, dev->id, &info);
    } else if (!strcasecmp(cmd, "DeviceStatus")) {
        sim_stats.q_device_status++;
        struct manscdp_device_status st;
        memset(&st, 0, sizeof(st));
        snprintf(st.result, sizeof(st.result), "OK");
        snprintf(st.online_text, sizeof(st.online_text), "ONLINE");
        st.online = true;
        snprintf(st.status, sizeof(st.status), "OK");
        snprintf(st.encode, sizeof(st.encode), "ON");
        snprintf(st.record, sizeof(st.record), "OFF");
        snprintf(st.device_time, sizeof(st.device_time), "2026-01-01T00:00:00");
        err =
            manscdp_build_device_status_response(body, sizeof(body), &len, body_charset(), sn, dev->id, &st);
    } else {
        sim_stats.q_other++;
    }
    if (!err) {
        finish_body(body, &len);
        send_message(dev, body, len, response_sent);
    }
}

static bool request_handler(const struct sip_msg *msg, void *arg)
{
    struct sim_device *dev = arg;
    if (sim_call_handle(dev, msg) || sim_events_handle_request(dev->events, msg)) return true;
    if (pl_strcmp(&msg->met, "MESSAGE")) {
        if (pl_strcmp(&msg->met, "ACK")) (void)sip_reply(dev->sip, msg, 501, "Not Implemented");
        return true;
    }
    /* Stateless replies, like the gateway: no 32 s server transaction per query (see
     * signaling/sip_endpoint.c). A retransmission of a recent query (same Call-ID and CSeq) gets its 200
     * again but no second answer: under load that would only feed the platform more work. */
    uint32_t key = hash_joaat_pl(&msg->callid) ^ msg->cseq.num;
    for (unsigned i = 0; i < 4; i++) {
        if (dev->query_keys[i] == key) {
            (void)sip_reply(dev->sip, msg, 200, "OK");
            return true;
        }
    }
    struct manscdp_msg *q = NULL;
    size_t len = mbuf_get_left(msg->mb);
    if (manscdp_parse(mbuf_buf(msg->mb), len, &q)) {
        (void)sip_reply(dev->sip, msg, 400, "Bad Request");
        return true;
    }
    dev->query_keys[dev->query_key_next++ % 4] = key;
    (void)sip_reply(dev->sip, msg, 200, "OK");
    if (!sim_control_handle(dev, q) && manscdp_root(q) == MANSCDP_QUERY)
        answer_query(dev, q);
    else if (manscdp_root(q) == MANSCDP_RESPONSE)
        sim_events_message(dev->events, q);
    manscdp_free(q);
    return true;
}

/* ---- what device_invite.c needs ---- */

struct sip *sim_device_sip(struct sim_device *dev)
{
    return dev->sip;
}

const char *sim_device_id(const struct sim_device *dev)
{
    return dev->id;
}

int sim_device_channel_of(const struct sim_device *dev, const struct pl *id)
{
    if (!pl_strcmp(id, dev->id)) return 1;
    char ch_id[21];
    for (int ch = 0; ch < sim_opt.channels; ch++) {
        channel_id(dev, ch, ch_id);
        if (!pl_strcmp(id, ch_id)) return ch + 1;
    }
    return 0;
}

struct list *sim_device_calls(struct sim_device *dev)
{
    return &dev->calls;
}

enum manscdp_charset sim_device_charset(void)
{
    return body_charset();
}

int sim_device_send_body(struct sim_device *dev, char *body, size_t len)
{
    finish_body(body, &len);
    return send_message(dev, body, len, response_sent);
}

/* ---- lifecycle ---- */

int sim_device_create(struct sim_device **out, int index)
{
    struct sim_device *dev = calloc(1, sizeof(*dev));
    if (!dev) return ENOMEM;
    dev->index = index;
    make_id(dev->id, sim_opt.id_base, (unsigned)index);
    re_snprintf(dev->call_id, sizeof(dev->call_id), "%016llx@gbsim", rand_u64());
    re_snprintf(dev->from_tag, sizeof(dev->from_tag), "%u", rand_u32());
    int err = sip_alloc(&dev->sip, NULL, 16, 16, 16, "gbsim", NULL, NULL);
    if (!err) err = sa_set_str(&dev->laddr, sim_opt.local_ip, 0);
    if (!err) err = sip_transp_add(dev->sip, sim_opt.transport, &dev->laddr);
    if (!err) err = sip_transp_laddr(dev->sip, &dev->laddr, sim_opt.transport, &sim_opt.server);
    if (!err) err = sip_listen(&dev->lsnr, dev->sip, true, request_handler, dev);
    if (!err && !(dev->events = sim_events_create(dev))) err = ENOMEM;
    if (err) {
        sim_device_destroy(dev);
        return err;
    }
    *out = dev;
    return 0;
}

void sim_device_start(struct sim_device *dev, uint32_t delay_ms)
{
    schedule_register(dev, delay_ms);
}

void sim_device_unregister(struct sim_device *dev)
{
    dev->reg_due = dev->ka_due = 0;
    if (!dev->registered || sim_opt.no_unregister) return;
    dev->unregistering = true;
    dev->registered = false;
    dev->auth_round = 0;
    send_register(dev, NULL, 0); /* with auth on, the 401 is answered like for a registration */
}

bool sim_device_registered_once(const struct sim_device *dev)
{
    return dev->registered_once;
}

void sim_device_destroy(struct sim_device *dev)
{
    if (!dev) return;
    sim_calls_close(dev);
    sim_events_destroy(dev->events);
    dev->lsnr = mem_deref(dev->lsnr);
    if (dev->sip) sip_close(dev->sip, true);
    dev->sip = mem_deref(dev->sip);
    free(dev);
}
