/*
 * Continuous PS timestamps for --loop. The clip is muxed once, so its SCR/PTS/DTS values are baked into the
 * payload bytes; a camera never jumps back in time, so on pass k every one of them must read k * period later
 * (just like the RTP timestamps, which the sender patches anyway). At start-up the clip's payload stream is
 * walked once and every timestamp field recorded with its position; each packet learns which fields overlap
 * it. On later passes the sender copies only those packets (typically the first one of each frame) into
 * scratch memory and rewrites the fields; all other packets still go out from the shared clip untouched.
 * A field may straddle two RTP packets (replayed captures, or a cut inside a PES header): each packet then
 * gets the bytes of the field that fall inside it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"
#include "sim_send.h"

#define TS_FIELD_LEN 5
#define TS_MASK      ((1ll << 33) - 1)

struct field_list {
    struct sim_ts_field *v;
    size_t count, cap;
    int err;
};

static void field_add(struct field_list *l, size_t pos, const uint8_t *p, bool scr)
{
    if (l->err) return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        struct sim_ts_field *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->err = -ENOMEM;
            return;
        }
        l->v = v, l->cap = cap;
    }
    struct sim_ts_field *f = &l->v[l->count++];
    f->pos = (uint32_t)pos;
    f->scr = scr;
    if (scr) {
        f->keep0 = p[0] & 0xC4; /* '01' MPEG-2 marker bits and a marker */
        f->keep4 = p[4] & 0x07; /* a marker and SCR extension bits 8..7 */
        f->value = ((int64_t)((p[0] >> 3) & 7) << 30) | ((int64_t)(p[0] & 3) << 28) | ((int64_t)p[1] << 20) |
                   ((int64_t)(p[2] >> 3) << 15) | ((int64_t)(p[2] & 3) << 13) | ((int64_t)p[3] << 5) |
                   (p[4] >> 3);
    } else {
        f->keep0 = p[0] & 0xF0; /* the '0010' / '0011' / '0001' prefix */
        f->keep4 = 0;
        f->value = sim_ps_read_ts(p);
    }
}

static void on_unit(void *arg, const uint8_t *d, uint8_t id, size_t pos, size_t end)
{
    struct field_list *l = arg;
    if (id == 0xBA) {
        if (pos + 4 + TS_FIELD_LEN <= end && (d[pos + 4] >> 6) == 1) field_add(l, pos + 4, d + pos + 4, true);
        return;
    }
    size_t pts_at = 0, dts_at = 0;
    unsigned n = sim_ps_is_pes(id) ? sim_pes_ts_fields(d, pos, end, &pts_at, &dts_at) : 0;
    if (n >= 1) field_add(l, pts_at, d + pts_at, false);
    if (n == 2) field_add(l, dts_at, d + dts_at, false);
}

int sim_clip_index_timestamps(struct sim_clip *c)
{
    size_t total = 0;
    for (size_t i = 0; i < c->packet_count; i++) {
        c->packets[i].stream_pos = (uint32_t)total;
        total += c->packets[i].payload_len;
        if (c->packets[i].len > c->max_packet_len) c->max_packet_len = c->packets[i].len;
    }
    uint8_t *stream = malloc(total ? total : 1);
    if (!stream) return -ENOMEM;
    for (size_t i = 0; i < c->packet_count; i++) {
        const struct sim_packet *p = &c->packets[i];
        memcpy(stream + p->stream_pos, c->data + p->off + p->payload_off, p->payload_len);
    }
    struct field_list fields = {0};
    sim_ps_walk(stream, total, on_unit, &fields);
    free(stream);
    if (fields.err) {
        free(fields.v);
        return fields.err;
    }
    /* fields are in stream order, and so are packets: one sweep assigns the overlaps */
    size_t f = 0;
    for (size_t i = 0; i < c->packet_count; i++) {
        struct sim_packet *p = &c->packets[i];
        while (f < fields.count && fields.v[f].pos + TS_FIELD_LEN <= p->stream_pos) f++;
        size_t n = 0;
        while (f + n < fields.count && fields.v[f + n].pos < p->stream_pos + p->payload_len) n++;
        p->first_field = (uint32_t)f;
        p->field_count = (uint16_t)(n < UINT16_MAX ? n : UINT16_MAX);
    }
    c->ts_fields = fields.v;
    c->ts_field_count = fields.count;
    return 0;
}

static void encode_field(const struct sim_ts_field *f, int64_t v, uint8_t b[TS_FIELD_LEN])
{
    uint64_t t = (uint64_t)v & TS_MASK;
    if (f->scr) {
        b[0] = (uint8_t)(f->keep0 | ((t >> 27) & 0x38) | ((t >> 28) & 0x03));
        b[1] = (uint8_t)(t >> 20);
        b[2] = (uint8_t)(((t >> 12) & 0xF8) | 0x04 | ((t >> 13) & 0x03));
        b[3] = (uint8_t)(t >> 5);
        b[4] = (uint8_t)(((t << 3) & 0xF8) | f->keep4);
    } else {
        b[0] = (uint8_t)(f->keep0 | ((t >> 29) & 0x0E) | 0x01);
        b[1] = (uint8_t)(t >> 22);
        b[2] = (uint8_t)(((t >> 14) & 0xFE) | 0x01);
        b[3] = (uint8_t)(t >> 7);
        b[4] = (uint8_t)(((t << 1) & 0xFE) | 0x01);
    }
}

size_t sim_clip_patch_packet(const struct sim_clip *c, const struct sim_packet *p, int64_t add, uint8_t *out)
{
    size_t rest = (size_t)p->len - RTP_HEADER_SIZE;
    memcpy(out, c->data + p->off + RTP_HEADER_SIZE, rest);
    uint8_t *payload = out + p->payload_off - RTP_HEADER_SIZE;
    for (size_t i = p->first_field; i < (size_t)p->first_field + p->field_count; i++) {
        const struct sim_ts_field *f = &c->ts_fields[i];
        uint8_t b[TS_FIELD_LEN];
        encode_field(f, f->value + add, b);
        int64_t rel = (int64_t)f->pos - p->stream_pos; /* negative: the field began in an earlier packet */
        for (int k = 0; k < TS_FIELD_LEN; k++)
            if (rel + k >= 0 && rel + k < p->payload_len) payload[rel + k] = b[k];
    }
    return rest;
}
