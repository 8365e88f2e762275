/*
 * RFC 4571 splitter (see rfc4571.h).
 *
 * The unprocessed stream is "buffered bytes, then the rest of the current input". frame_bytes() works on one
 * contiguous region and says how many contiguous bytes it needs to go on; rfc4571_input() runs it on the
 * input directly while nothing is buffered (zero copy) and otherwise tops the buffer up to exactly what is
 * needed (so a straddling packet is copied once and the bytes after it are not copied at all). While
 * resynchronising, the buffer is topped up by a larger chunk so that the scan does not crawl byte by byte.
 */
#include "media/rfc4571.h"

#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

#define LEN_FIELD     2
#define RTCP_MIN      8
#define RESYNC_WINDOW (LEN_FIELD + RTP_HEADER_SIZE + 4) /* length + RTP header + pack start code */
#define RESYNC_CHUNK  2048                              /* buffered bytes scanned at a time while resyncing */
#define PS_PACK_START UINT32_C(0x000001BA)

enum split_state { SPLIT_FRAMED, SPLIT_RESYNC };

struct rfc4571 {
    rfc4571_packet_fn on_packet;
    void *arg;
    enum split_state state;
    bool expect;
    uint32_t expected_ssrc;
    bool have_last;
    uint32_t last_ssrc; /* of the last good RTP packet: the resync anchor when no SSRC is expected */
    size_t head, tail;  /* buffered bytes are buf[head..tail) */
    struct rfc4571_stats st;
    uint8_t buf[RFC4571_BUFFER_SIZE];
};

struct rfc4571 *rfc4571_create(rfc4571_packet_fn on_packet, void *arg)
{
    struct rfc4571 *s = malloc(sizeof *s);
    if (!s) return NULL;
    memset(s, 0, offsetof(struct rfc4571, buf));
    s->on_packet = on_packet;
    s->arg = arg;
    s->state = SPLIT_FRAMED;
    return s;
}

void rfc4571_destroy(struct rfc4571 *s)
{
    free(s);
}

void rfc4571_expect_ssrc(struct rfc4571 *s, bool expect, uint32_t ssrc)
{
    s->expect = expect;
    s->expected_ssrc = ssrc;
}

const struct rfc4571_stats *rfc4571_get_stats(const struct rfc4571 *s)
{
    return &s->st;
}

/* Plain RTP header (no padding, extension or CSRC) whose payload starts a PS pack; h holds 16 bytes. */
static bool starts_ps_pack(const uint8_t *h, size_t len)
{
    return len >= RTP_HEADER_SIZE + 4 && (h[0] & 0x3f) == 0 && rtp_rd32(h + RTP_HEADER_SIZE) == PS_PACK_START;
}

/*
 * Does `len` fit the packet header at h? h holds min(len, 16) bytes. RTP must carry the expected SSRC, or,
 * with none expected, the SSRC of the stream so far (a new SSRC is taken only on a packet that starts a PS
 * pack: a sender restarting its stream).
 */
static bool packet_plausible(const struct rfc4571 *s, const uint8_t *h, size_t len)
{
    if (len < RTCP_MIN || (h[0] >> 6) != RTP_VERSION) return false;
    if (rtp_is_rtcp(h, len)) return len % 4 == 0;
    if (len < RTP_HEADER_SIZE) return false;
    uint32_t ssrc = rtp_rd32(h + 8);
    if (s->expect) return ssrc == s->expected_ssrc;
    return !s->have_last || ssrc == s->last_ssrc || starts_ps_pack(h, len);
}

/* Is there a length field + RTP header of our stream at q (RESYNC_WINDOW bytes)? */
static bool resync_anchor(const struct rfc4571 *s, const uint8_t *q)
{
    size_t len = rtp_rd16(q);
    const uint8_t *h = q + LEN_FIELD;
    if (len < RTP_HEADER_SIZE || (h[0] >> 6) != RTP_VERSION || rtp_is_rtcp(h, len)) return false;
    if (RTP_HEADER_SIZE + 4 * (size_t)(h[0] & 0x0f) > len) return false;
    uint32_t ssrc = rtp_rd32(h + 8);
    if (s->expect) return ssrc == s->expected_ssrc;
    return (s->have_last && ssrc == s->last_ssrc) || starts_ps_pack(h, len);
}

/*
 * Frames as much of p[0..avail) as possible. Returns the bytes consumed; when it stops, *need is the number
 * of contiguous bytes (from the first unconsumed one) it needs to make progress, always more than are left.
 */
static size_t frame_bytes(struct rfc4571 *s, const uint8_t *p, size_t avail, bool from_buffer, size_t *need)
{
    size_t pos = 0;
    for (;;) {
        const uint8_t *q = p + pos;
        size_t left = avail - pos;
        if (s->state == SPLIT_RESYNC) {
            if (left < RESYNC_WINDOW) {
                *need = RESYNC_WINDOW;
                return pos;
            }
            size_t skip = 0;
            while (skip + RESYNC_WINDOW <= left && !resync_anchor(s, q + skip)) skip++;
            s->st.skipped_bytes += skip;
            pos += skip;
            if (skip + RESYNC_WINDOW <= left) s->state = SPLIT_FRAMED;
            continue;
        }
        if (left < LEN_FIELD) {
            *need = LEN_FIELD;
            return pos;
        }
        size_t len = rtp_rd16(q);
        size_t header = LEN_FIELD + (len < RTP_HEADER_SIZE + 4 ? len : RTP_HEADER_SIZE + 4);
        if (left < header) {
            *need = header;
            return pos;
        }
        if (!packet_plausible(s, q + LEN_FIELD, len)) {
            /* Framing lost: scan from the byte after this length field's first byte. */
            s->st.resyncs++;
            s->st.skipped_bytes++;
            s->state = SPLIT_RESYNC;
            pos++;
            continue;
        }
        if (left < LEN_FIELD + len) {
            *need = LEN_FIELD + len;
            return pos;
        }
        if (!rtp_is_rtcp(q + LEN_FIELD, len)) {
            s->have_last = true;
            s->last_ssrc = rtp_rd32(q + LEN_FIELD + 8);
        }
        s->st.packets++;
        if (from_buffer) s->st.packets_copied++;
        pos += LEN_FIELD + len;
        s->on_packet(s->arg, q + LEN_FIELD, len);
    }
}

void rfc4571_input(struct rfc4571 *s, const uint8_t *data, size_t len)
{
    if (len == 0) return;
    s->st.bytes_in += len;
    size_t pos = 0;
    for (;;) {
        size_t need = 0;
        if (s->head == s->tail) {
            /* Nothing buffered: frame straight from the input, keep only an incomplete tail. */
            pos += frame_bytes(s, data + pos, len - pos, false, &need);
            if (len > pos) memcpy(s->buf, data + pos, len - pos);
            s->head = 0;
            s->tail = len - pos;
            return;
        }
        s->head += frame_bytes(s, s->buf + s->head, s->tail - s->head, true, &need);
        size_t have = s->tail - s->head;
        if (have == 0) continue; /* the buffer is used up: back to zero copy for the rest */
        if (pos == len) return;
        memmove(s->buf, s->buf + s->head, have);
        s->head = 0;
        s->tail = have;
        size_t target = need;
        if (s->state == SPLIT_RESYNC && target < RESYNC_CHUNK) target = RESYNC_CHUNK;
        size_t take = target - have;
        if (take > len - pos) take = len - pos;
        memcpy(s->buf + s->tail, data + pos, take);
        s->tail += take;
        pos += take;
    }
}
