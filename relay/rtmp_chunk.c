/*
 * RTMP chunk parser and writers (see rtmp_chunk.h).
 *
 * The parser alternates between two states: collecting a chunk header into hdr[] (its length is only known
 * step by step: the first byte gives the basic header length and the format, the format gives the message
 * header length, the timestamp field or the chunk stream's history tells whether 4 extended-timestamp bytes
 * follow), and copying the chunk body. A header is acted on only once it is complete, so a split anywhere is
 * harmless.
 */
#include "relay/rtmp_chunk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t msg_header_len[4] = {11, 7, 3, 0};

static uint32_t be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rtmp_chunk_parser_init(struct rtmp_chunk_parser *p, uint32_t max_chunk_size, uint32_t max_message_size,
                            rtmp_message_cb cb, void *arg)
{
    memset(p, 0, sizeof *p);
    p->chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    p->max_chunk_size = max_chunk_size;
    p->max_message_size = max_message_size;
    p->cb = cb;
    p->arg = arg;
}

void rtmp_chunk_parser_free(struct rtmp_chunk_parser *p)
{
    for (int i = 0; i < RTMP_CHUNK_MAX_STREAMS; i++) {
        free(p->streams[i].buf);
        p->streams[i].buf = NULL;
        p->streams[i].buf_cap = 0;
    }
}

static size_t basic_len(uint8_t b0)
{
    return (b0 & 0x3f) == 0 ? 2 : (b0 & 0x3f) == 1 ? 3 : 1;
}

static uint32_t header_csid(const uint8_t *h)
{
    switch (h[0] & 0x3f) {
    case 0: return 64u + h[1];
    case 1: return 64u + h[1] + 256u * h[2];
    default: return h[0] & 0x3fu;
    }
}

static struct rtmp_chunk_stream *find_stream(struct rtmp_chunk_parser *p, uint32_t csid, bool create)
{
    struct rtmp_chunk_stream *free_slot = NULL;
    for (int i = 0; i < RTMP_CHUNK_MAX_STREAMS; i++) {
        struct rtmp_chunk_stream *s = &p->streams[i];
        if (s->used && s->csid == csid) return s;
        if (!s->used && !free_slot) free_slot = s;
    }
    if (!create || !free_slot) return NULL;
    free_slot->used = true;
    free_slot->csid = csid;
    free_slot->has_header = false;
    free_slot->in_progress = false;
    return free_slot;
}

/* Header length as far as the bytes collected so far tell; *final when nothing more can change it.
 * Resolves the chunk stream (p->cur) once the basic header is in. Returns 0 or a negative error. */
static int header_need(struct rtmp_chunk_parser *p, size_t *need, bool *final)
{
    *final = false;
    if (p->hdr_have < 1) {
        *need = 1;
        return 0;
    }
    size_t bl = basic_len(p->hdr[0]);
    unsigned fmt = p->hdr[0] >> 6;
    *need = bl;
    if (p->hdr_have < bl) return 0;
    if (!p->cur) {
        uint32_t csid = header_csid(p->hdr);
        /* 0 and 1 only select the 2/3-byte forms, never a stream id; 2 is reserved for control messages but
         * is what everybody uses for them, so it is accepted like any other */
        p->cur = find_stream(p, csid, fmt == 0);
        if (!p->cur) return fmt == 0 ? -ENOSPC : -EBADMSG;
        if (fmt != 0 && !p->cur->has_header) return -EBADMSG;
        if (fmt != 3 && p->cur->in_progress) return -EBADMSG;
    }
    size_t ml = msg_header_len[fmt];
    *need = bl + ml;
    if (p->hdr_have < bl + ml) return 0;
    bool ext = fmt == 3 ? p->cur->ext_ts : be24(p->hdr + bl) == RTMP_EXT_TS;
    if (ext) *need += 4;
    *final = true;
    return 0;
}

/* Applies a complete header to its chunk stream. */
static int apply_header(struct rtmp_chunk_parser *p)
{
    struct rtmp_chunk_stream *s = p->cur;
    size_t bl = basic_len(p->hdr[0]);
    unsigned fmt = p->hdr[0] >> 6;
    const uint8_t *mh = p->hdr + bl;
    bool ext = fmt == 3 ? s->ext_ts : be24(mh) == RTMP_EXT_TS;
    uint32_t field = fmt == 3 ? s->ts_field : be24(mh);
    if (ext) field = be32(mh + msg_header_len[fmt]);
    switch (fmt) {
    case 0:
        s->timestamp = field;
        s->len = be24(mh + 3);
        s->type = mh[6];
        s->stream_id =
            (uint32_t)mh[7] | (uint32_t)mh[8] << 8 | (uint32_t)mh[9] << 16 | (uint32_t)mh[10] << 24;
        break;
    case 1:
        s->timestamp += field;
        s->len = be24(mh + 3);
        s->type = mh[6];
        break;
    case 2: s->timestamp += field; break;
    default:
        if (!s->in_progress) s->timestamp += field; /* a new message with the previous delta */
        break;
    }
    if (fmt != 3) s->ext_ts = ext;
    s->ts_field = field;
    s->has_header = true;
    if (!s->in_progress) {
        if (s->len > p->max_message_size) return -EMSGSIZE;
        s->received = 0;
        s->in_progress = true;
    }
    uint32_t left = s->len - s->received;
    p->chunk_left = left < p->chunk_size ? left : p->chunk_size;
    return 0;
}

/* Protocol control messages that change how the next bytes are parsed. */
static int apply_control(struct rtmp_chunk_parser *p, const struct rtmp_message *m)
{
    if (m->type == RTMP_MSG_SET_CHUNK_SIZE) {
        if (m->len < 4) return -EBADMSG;
        uint32_t size = be32(m->data) & 0x7fffffffu; /* the top bit is reserved and must be ignored */
        if (size < 1 || size > p->max_chunk_size) return -ERANGE;
        p->chunk_size = size;
    } else if (m->type == RTMP_MSG_ABORT) {
        if (m->len < 4) return -EBADMSG;
        struct rtmp_chunk_stream *s = find_stream(p, be32(m->data), false);
        if (s) s->in_progress = false;
    }
    return 0;
}

/* Delivers the message of chunk stream s (data: in place or assembled). Returns 0, STOPPED or an error. */
static int deliver(struct rtmp_chunk_parser *p, struct rtmp_chunk_stream *s, const uint8_t *data)
{
    struct rtmp_message m = {s->csid, s->timestamp, s->stream_id, s->type, s->len, data};
    s->in_progress = false;
    p->messages++;
    int rc = apply_control(p, &m);
    if (rc) return rc;
    return p->cb && p->cb(p->arg, &m) ? RTMP_CHUNK_STOPPED : 0;
}

static int ensure_buf(struct rtmp_chunk_stream *s)
{
    if (s->buf_cap >= s->len) return 0;
    uint32_t ncap = s->buf_cap ? s->buf_cap : 256;
    while (ncap < s->len) ncap *= 2;
    uint8_t *n = realloc(s->buf, ncap);
    if (!n) return -ENOMEM;
    s->buf = n;
    s->buf_cap = ncap;
    return 0;
}

int rtmp_chunk_input(struct rtmp_chunk_parser *p, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t pos = 0;
    int rc = p->error;
    while (!rc && pos < len) {
        if (!p->in_body) {
            size_t need;
            bool final;
            rc = header_need(p, &need, &final);
            while (!rc && !(final && p->hdr_have == need) && pos < len) {
                size_t n = need - p->hdr_have;
                if (n > len - pos) n = len - pos;
                memcpy(p->hdr + p->hdr_have, data + pos, n);
                p->hdr_have += n;
                pos += n;
                rc = header_need(p, &need, &final);
            }
            if (rc || !(final && p->hdr_have == need))
                continue; /* failed, or all input used: wait for more */
            rc = apply_header(p);
            if (rc) break;
            p->hdr_have = 0;
            p->in_body = true;
            if (p->cur->len == 0) { /* an empty message is complete with its header */
                p->in_body = false;
                struct rtmp_chunk_stream *s = p->cur;
                p->cur = NULL;
                rc = deliver(p, s, NULL);
            }
            continue;
        }
        struct rtmp_chunk_stream *s = p->cur;
        size_t avail = len - pos;
        if (s->received == 0 && p->chunk_left == s->len && avail >= s->len) {
            /* the whole message is one chunk and it is all here: deliver it in place */
            pos += s->len;
            p->in_body = false;
            p->cur = NULL;
            rc = deliver(p, s, data + pos - s->len);
            continue;
        }
        rc = ensure_buf(s);
        if (rc) break;
        size_t n = p->chunk_left < avail ? p->chunk_left : avail;
        memcpy(s->buf + s->received, data + pos, n);
        s->received += (uint32_t)n;
        p->chunk_left -= (uint32_t)n;
        pos += n;
        if (p->chunk_left > 0) continue;
        p->in_body = false;
        p->cur = NULL;
        if (s->received == s->len) rc = deliver(p, s, s->buf);
    }
    p->bytes_in += pos;
    if (consumed) *consumed = pos;
    if (rc < 0) p->error = rc;
    return rc;
}

/* ---- writers ---- */

static size_t put_basic(uint8_t *out, unsigned fmt, uint32_t csid)
{
    if (csid < 64) {
        out[0] = (uint8_t)(fmt << 6 | csid);
        return 1;
    }
    if (csid < 64 + 256) {
        out[0] = (uint8_t)(fmt << 6);
        out[1] = (uint8_t)(csid - 64);
        return 2;
    }
    out[0] = (uint8_t)(fmt << 6 | 1);
    out[1] = (uint8_t)((csid - 64) & 0xff);
    out[2] = (uint8_t)((csid - 64) >> 8);
    return 3;
}

static void put_be24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    put_be24(p + 1, v);
}

size_t rtmp_chunk_header0(uint8_t out[RTMP_CHUNK_HEADER_MAX], uint32_t csid, uint32_t ts, uint32_t len,
                          uint8_t type, uint32_t stream_id)
{
    size_t n = put_basic(out, 0, csid);
    bool ext = ts >= RTMP_EXT_TS;
    put_be24(out + n, ext ? RTMP_EXT_TS : ts);
    put_be24(out + n + 3, len);
    out[n + 6] = type;
    for (int i = 0; i < 4; i++) out[n + 7 + i] = (uint8_t)(stream_id >> (8 * i)); /* little-endian */
    n += 11;
    if (ext) {
        put_be32(out + n, ts);
        n += 4;
    }
    return n;
}

size_t rtmp_chunk_header3(uint8_t out[7], uint32_t csid, uint32_t ts)
{
    size_t n = put_basic(out, 3, csid);
    if (ts >= RTMP_EXT_TS) {
        put_be32(out + n, ts);
        n += 4;
    }
    return n;
}

size_t rtmp_chunk_wire_size(uint32_t chunk_size, uint32_t csid, uint32_t ts, uint32_t len)
{
    uint8_t h0[RTMP_CHUNK_HEADER_MAX], h3[7];
    size_t chunks = len ? (len + chunk_size - 1) / chunk_size : 1;
    return rtmp_chunk_header0(h0, csid, ts, len, 0, 0) + len +
           (chunks - 1) * rtmp_chunk_header3(h3, csid, ts);
}

int rtmp_chunk_write_message(uint8_t *out, size_t cap, uint32_t chunk_size, uint32_t csid, uint32_t ts,
                             uint8_t type, uint32_t stream_id, const uint8_t *payload, uint32_t len)
{
    if (rtmp_chunk_wire_size(chunk_size, csid, ts, len) > cap) return -ENOSPC;
    size_t o = rtmp_chunk_header0(out, csid, ts, len, type, stream_id);
    for (uint32_t done = 0; done < len;) {
        if (done) o += rtmp_chunk_header3(out + o, csid, ts);
        uint32_t n = len - done < chunk_size ? len - done : chunk_size;
        memcpy(out + o, payload + done, n);
        o += n;
        done += n;
    }
    return (int)o;
}
