/*
 * GB28181 SDP as text (GB28181.md section 4): the offer gbgate puts in an INVITE, and a tolerant reader of
 * the device's answer. Pure functions of their bytes: no libre, no allocation, no I/O, so they are
 * unit-tested on real device answers and fuzzed as they are.
 *
 * Why text and not libre's SDP module: its encoder always writes `s=-` and cannot carry `y=`/`f=`, and its
 * decoder drops `y=`. Devices also send answers a strict decoder refuses: bare-LF lines, extra spaces, `y=`
 * anywhere, `a=setup` on a UDP stream, no `c=` at media level, port 0.
 */
#ifndef GB_SIGNALING_INVITE_SDP_H
#define GB_SIGNALING_INVITE_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "signaling/invite.h"

#define INVITE_SDP_OFFER_MAX 1024 /* every offer this module builds fits */
#define INVITE_SDP_ANSWER_MAX                                                                                \
    (64 * 1024) /* bytes of an answer that are looked at (= the SIP message limit) */

/* Writes the offer for p into buf (NUL-terminated, CRLF line ends, trailing CRLF) and its length into *len.
 * Returns 0, EINVAL (an ID that is not 1-32 letters/digits, a media IP that is not an address, a port out of
 * range, an SSRC that is not 10 digits) or ENOSPC (buf too small). */
int invite_sdp_offer(char *buf, size_t size, const struct invite_params *p, size_t *len);

/* Reads a device's SDP answer into the SDP fields of `a` (has_sdp, ssrc, has_ssrc, remote_ip, remote_port,
 * remote_tcp, setup); status and reason are left alone. Never fails: what it does not understand it skips.
 *   - lines end in CRLF, LF or CR; spaces around the type letter, the '=' and the fields are ignored;
 *   - the media section used is the first m=video (else the first m= of any kind); its c= and a=setup win
 *     over the session-level ones;
 *   - y= anywhere (the first valid one): has_ssrc with its value, 0 for "0000000000";
 *   - m= port "0", missing or not a number: remote_port 0; "port/count" reads the port.
 * has_sdp is true when at least one "x=value" line was found. */
void invite_sdp_parse_answer(const uint8_t *body, size_t len, struct invite_answer *a);

#endif
