/* libFuzzer target for signaling/invite_sdp: the answer reader on any bytes (bounded, no read past the
 * input), and the offer builder on parameters taken from the input, whose output the reader must read back
 * exactly (port, address, transport, setup, SSRC). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/invite_sdp.h"

static void check_answer(const struct invite_answer *a)
{
    if (a->remote_port < 0 || a->remote_port > 65535) abort();
    if (strnlen(a->remote_ip, sizeof(a->remote_ip)) == sizeof(a->remote_ip)) abort();
    if (strnlen(a->setup, sizeof(a->setup)) == sizeof(a->setup)) abort();
    if (!a->has_ssrc && a->ssrc) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct invite_answer a;
    invite_sdp_parse_answer(data, size, &a);
    check_answer(&a);

    if (size < 12) return 0;
    struct invite_params p;
    memset(&p, 0, sizeof(p));
    snprintf(p.device_id, sizeof(p.device_id), "34020000001320000001");
    snprintf(p.channel_id, sizeof(p.channel_id), "3402000000131%07u", (unsigned)(data[0] | data[1] << 8));
    p.kind = (enum invite_kind)(data[2] % 3);
    p.transport = (enum invite_transport)(data[3] % 3);
    p.media_port = (data[4] | data[5] << 8) % 65536;
    snprintf(p.media_ip, sizeof(p.media_ip), "%u.%u.%u.%u", data[6], data[7], data[8], data[9]);
    uint32_t ssrc = (uint32_t)(data[10] | data[11] << 8) * 7919u;
    snprintf(p.ssrc, sizeof(p.ssrc), "%010u", ssrc);
    p.start_time = data[0];
    p.end_time = data[1];
    p.download_speed = data[2] % 9;
    char buf[INVITE_SDP_OFFER_MAX];
    size_t len;
    if (invite_sdp_offer(buf, sizeof(buf), &p, &len) != 0) {
        if (p.media_port != 0 || p.transport == INVITE_TCP_ACTIVE) abort(); /* only port 0 is refused here */
        return 0;
    }
    struct invite_answer back;
    invite_sdp_parse_answer((const uint8_t *)buf, len, &back);
    if (!back.has_sdp || !back.has_ssrc || back.ssrc != ssrc || back.remote_port != p.media_port ||
        strcmp(back.remote_ip, p.media_ip) || back.remote_tcp != (p.transport != INVITE_UDP))
        abort();
    if (p.transport == INVITE_TCP_PASSIVE && strcmp(back.setup, "passive")) abort();
    if (p.transport == INVITE_TCP_ACTIVE && strcmp(back.setup, "active")) abort();
    return 0;
}
