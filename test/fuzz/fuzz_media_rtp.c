/*
 * libFuzzer target: RTP header parsing and the reorder window, driven entirely by the input (packets, both
 * raw and synthesised around the current sequence number, and a fake clock). Checks the invariants the
 * media worker relies on: every delivered packet follows the previous one by exactly 1 + lost_before
 * (except after a resync), parsed views stay inside the packet, and every received packet is accounted for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "media/rtp_reorder.h"

struct checker {
    bool have_prev;
    uint16_t prev_seq;
    uint64_t delivered;
};

static void on_packet(void *arg, const struct rtp_packet *pkt, uint32_t lost_before)
{
    struct checker *c = arg;
    if (pkt->payload < pkt->data || pkt->payload + pkt->payload_len > pkt->data + pkt->size) abort();
    if (pkt->size) {
        volatile uint8_t touch = pkt->data[0] ^ pkt->data[pkt->size - 1]; /* ASan: the bytes are readable */
        (void)touch;
    }
    if (c->have_prev && lost_before != RTP_REORDER_RESYNC &&
        (uint16_t)(pkt->seq - c->prev_seq) != (uint16_t)(1 + lost_before))
        abort();
    c->have_prev = true;
    c->prev_seq = pkt->seq;
    c->delivered++;
}

static void check_view(const struct rtp_packet *pkt, const uint8_t *p, size_t len)
{
    if (pkt->data != p || pkt->size != len) abort();
    if (pkt->payload < p + RTP_HEADER_SIZE || pkt->payload + pkt->payload_len + pkt->padding_len != p + len)
        abort();
    if (pkt->ext_len && (pkt->ext_data < p || pkt->ext_data + pkt->ext_len > pkt->payload)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    struct rtp_reorder_config cfg = {
        .window = 1 + data[0] % 48, .max_hold_ms = 1 + data[1], .clock_rate = 90000};
    struct checker c = {0};
    struct rtp_reorder *r = rtp_reorder_create(&cfg, on_packet, &c);
    if (!r) return 0;
    uint64_t now = data[2];
    uint16_t seq = 0;
    uint8_t pkt_buf[1600];
    size_t pos = 3;
    while (pos < size) {
        uint8_t op = data[pos++];
        struct rtp_packet pkt;
        switch (op % 6) {
        case 0: { /* raw bytes as a packet, in an exact-size copy */
            size_t len = pos < size ? data[pos++] : 0;
            if (len > size - pos) len = size - pos;
            uint8_t *copy = malloc(len ? len : 1);
            memcpy(copy, data + pos, len);
            pos += len;
            if (rtp_parse(copy, len, &pkt) == 0) {
                check_view(&pkt, copy, len);
                rtp_reorder_input(r, &pkt, now);
            }
            free(copy);
            break;
        }
        case 1:
        case 2: { /* a packet near the current sequence: delta -8..+23, sizes up to 1600 */
            int delta = (op >> 3) - 8;
            uint16_t s = (uint16_t)(seq + delta);
            size_t len = RTP_HEADER_SIZE + ((op & 4) ? 1588 : 20);
            rtp_write_header(pkt_buf, 96, op & 1, s, (uint32_t)s * 3600, 0x1234);
            memset(pkt_buf + RTP_HEADER_SIZE, op, len - RTP_HEADER_SIZE);
            if (rtp_parse(pkt_buf, len, &pkt)) abort();
            rtp_reorder_input(r, &pkt, now);
            if (delta > 0) seq = s;
            break;
        }
        case 3: /* a jump anywhere */
            if (size - pos >= 2) {
                seq = rtp_rd16(data + pos);
                pos += 2;
            }
            rtp_write_header(pkt_buf, 96, false, seq, 0, 0x1234);
            if (rtp_parse(pkt_buf, RTP_HEADER_SIZE, &pkt)) abort();
            rtp_reorder_input(r, &pkt, now);
            break;
        case 4: /* time passes */
            now += (uint64_t)(op >> 3) * (op & 4 ? 37 : 1);
            rtp_reorder_tick(r, now);
            if (rtp_reorder_next_timeout(r, now) > (int64_t)cfg.max_hold_ms) abort();
            break;
        default:
            if ((op >> 3) == 31)
                rtp_reorder_restart(r);
            else if ((op >> 3) == 30)
                rtp_reorder_flush(r);
            break;
        }
    }
    rtp_reorder_flush(r);
    struct rtp_reorder_stats st;
    rtp_reorder_get_stats(r, &st);
    if (st.held != 0 || st.delivered != c.delivered) abort();
    if (st.received != st.delivered + st.duplicates + st.late + st.stray) abort();
    rtp_reorder_destroy(r);
    return 0;
}
