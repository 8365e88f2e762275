/*
 * libFuzzer target: RTCP compound parsing, then a round trip of whatever report blocks, sender info and
 * CNAME were found through the writers and the parser again (they must come back identical).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtcp.h"

static void same_block(const struct rtcp_report_block *a, const struct rtcp_report_block *b)
{
    if (a->ssrc != b->ssrc || a->fraction_lost != b->fraction_lost ||
        a->cumulative_lost != b->cumulative_lost || a->ext_highest_seq != b->ext_highest_seq ||
        a->jitter != b->jitter || a->lsr != b->lsr || a->dlsr != b->dlsr)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (size) memcpy(copy, data, size);
    struct rtcp_compound c;
    int err = rtcp_parse(size ? copy : NULL, size, &c);
    free(copy);
    if (err && !size) return 0;
    if (c.block_count > RTCP_MAX_REPORT_BLOCKS || strlen(c.cname) > RTCP_CNAME_MAX) abort();

    uint8_t out[1024];
    size_t n = c.has_sr ? rtcp_write_sr(out, sizeof out, &c.sr, c.blocks, c.block_count)
                        : rtcp_write_rr(out, sizeof out, c.rr_reporter_ssrc, c.blocks, c.block_count);
    if (n == 0) abort();
    size_t cname_len = strlen(c.cname);
    if (cname_len) {
        size_t m = rtcp_write_sdes_cname(out + n, sizeof out - n, c.cname_ssrc, c.cname);
        if (m == 0) abort();
        n += m;
    }
    if (c.bye) n += rtcp_write_bye(out + n, sizeof out - n, c.bye_ssrc);

    struct rtcp_compound again;
    if (rtcp_parse(out, n, &again) != 0) abort();
    if (again.block_count != c.block_count || again.has_sr != c.has_sr || again.bye != c.bye) abort();
    for (unsigned i = 0; i < c.block_count; i++) same_block(&c.blocks[i], &again.blocks[i]);
    if (c.has_sr && memcmp(&c.sr.ntp, &again.sr.ntp, sizeof c.sr.ntp) != 0) abort();
    if (c.has_sr && (c.sr.ssrc != again.sr.ssrc || c.sr.octet_count != again.sr.octet_count)) abort();
    if (cname_len && strcmp(c.cname, again.cname) != 0) abort();
    if (c.bye && again.bye_ssrc != c.bye_ssrc) abort();
    return 0;
}
