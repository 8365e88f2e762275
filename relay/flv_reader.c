/*
 * Incremental FLV parser (API in flv_reader.h): an explicit state machine over bytes, so any split of the
 * input gives the same tags. Fixed-size pieces (file header, tag header, PreviousTagSize) are gathered in a
 * small array; a tag body is handed over in place when the caller's chunk holds all of it, and otherwise
 * gathered in one buffer that is reused for every later split tag.
 */
#include "relay/flv_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FILE_HEADER_LEN  9
#define TAG_HEADER_LEN   11
#define PREV_SIZE_LEN    4
#define TAG_DATA_MAX     0xffffffu
#define HEADER_SKIP_MAX  (1u << 20) /* DataOffset beyond 9: the spec reserves it, nobody uses it; bound it */
#define BODY_INITIAL_CAP (64u << 10)

enum reader_state { ST_FILE_HEADER, ST_HEADER_SKIP, ST_PREV_SIZE0, ST_TAG_HEADER, ST_TAG_BODY, ST_PREV_SIZE };

struct flv_reader {
    struct flv_reader_config cfg;
    struct flv_reader_stats stats;
    enum reader_state state;
    int error; /* sticky: the first error or callback stop value */
    uint8_t small[TAG_HEADER_LEN];
    size_t small_have;
    uint32_t skip_left;
    struct flv_reader_tag tag;
    uint8_t *body;
    size_t body_cap;
    uint32_t body_have;
};

static uint32_t get_u24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | get_u24(p + 1);
}

struct flv_reader *flv_reader_create(const struct flv_reader_config *cfg)
{
    struct flv_reader *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cfg = *cfg;
    if (r->cfg.max_tag_size == 0 || r->cfg.max_tag_size > TAG_DATA_MAX) r->cfg.max_tag_size = TAG_DATA_MAX;
    r->state = cfg->no_file_header ? ST_TAG_HEADER : ST_FILE_HEADER;
    return r;
}

void flv_reader_destroy(struct flv_reader *r)
{
    if (!r) return;
    free(r->body);
    free(r);
}

const struct flv_reader_stats *flv_reader_get_stats(const struct flv_reader *r)
{
    return &r->stats;
}

size_t flv_reader_pending(const struct flv_reader *r)
{
    return r->small_have + r->body_have;
}

int flv_reader_finish(const struct flv_reader *r)
{
    if (r->state == ST_TAG_HEADER && r->small_have == 0) return 0;
    return -EBADMSG;
}

/* Moves up to (need - small_have) bytes into r->small; true once it holds `need` bytes. */
static bool gather(struct flv_reader *r, size_t need, const uint8_t **data, size_t *len)
{
    size_t n = need - r->small_have;
    if (n > *len) n = *len;
    memcpy(r->small + r->small_have, *data, n);
    r->small_have += n;
    *data += n;
    *len -= n;
    if (r->small_have < need) return false;
    r->small_have = 0;
    return true;
}

static int parse_file_header(struct flv_reader *r)
{
    const uint8_t *h = r->small;
    if (h[0] != 'F' || h[1] != 'L' || h[2] != 'V') return -EBADMSG;
    uint32_t data_offset = get_u32(h + 5);
    if (data_offset < FILE_HEADER_LEN || data_offset - FILE_HEADER_LEN > HEADER_SKIP_MAX) return -EBADMSG;
    r->stats.header_seen = true;
    r->stats.header_audio = (h[4] & 0x04) != 0;
    r->stats.header_video = (h[4] & 0x01) != 0;
    r->skip_left = data_offset - FILE_HEADER_LEN;
    r->state = r->skip_left ? ST_HEADER_SKIP : ST_PREV_SIZE0;
    return 0;
}

static int parse_tag_header(struct flv_reader *r, uint64_t offset)
{
    const uint8_t *h = r->small;
    struct flv_reader_tag *t = &r->tag;
    t->type = h[0] & 0x1f;
    t->filtered = (h[0] & 0x20) != 0;
    t->size = get_u24(h + 1);
    t->ts_ms = get_u24(h + 4) | (uint32_t)h[7] << 24;
    t->stream_id = get_u24(h + 8);
    t->offset = offset;
    t->data = NULL;
    if (t->size > r->cfg.max_tag_size) return -EMSGSIZE;
    r->body_have = 0;
    r->state = ST_TAG_BODY;
    return 0;
}

/* The tag is complete: hand it over, then expect its PreviousTagSize. */
static int deliver(struct flv_reader *r)
{
    r->stats.tags++;
    r->body_have = 0;
    r->state = r->cfg.no_prev_tag_size ? ST_TAG_HEADER : ST_PREV_SIZE;
    return r->cfg.on_tag ? r->cfg.on_tag(r->cfg.arg, &r->tag) : 0;
}

static int ensure_body_cap(struct flv_reader *r, size_t need)
{
    if (r->body_cap >= need) return 0;
    size_t cap = r->body_cap ? r->body_cap : BODY_INITIAL_CAP;
    while (cap < need) cap *= 2;
    if (cap > r->cfg.max_tag_size) cap = r->cfg.max_tag_size; /* need <= tag size <= max_tag_size */
    uint8_t *p = realloc(r->body, cap);
    if (!p) return -ENOMEM;
    r->body = p;
    r->body_cap = cap;
    return 0;
}

/* Consumes what it can of the body; returns 0 (maybe still incomplete), an error or a callback stop value. */
static int take_body(struct flv_reader *r, const uint8_t **data, size_t *len)
{
    struct flv_reader_tag *t = &r->tag;
    if (r->body_have == 0 && *len >= t->size) { /* whole body in the caller's chunk: no copy */
        t->data = *data;
        *data += t->size;
        *len -= t->size;
        return deliver(r);
    }
    size_t n = t->size - r->body_have;
    if (n > *len) n = *len;
    /* grow with what has arrived, not with what the header claims: 11 bytes must not cost 16 MiB */
    int err = ensure_body_cap(r, r->body_have + n);
    if (err) return err;
    memcpy(r->body + r->body_have, *data, n);
    r->body_have += (uint32_t)n;
    *data += n;
    *len -= n;
    if (r->body_have < t->size) return 0;
    t->data = r->body;
    return deliver(r);
}

int flv_reader_input(struct flv_reader *r, const uint8_t *data, size_t len)
{
    if (r->error) return r->error;
    int err = 0;
    while (!err && (len > 0 || (r->state == ST_TAG_BODY && r->tag.size == 0))) {
        size_t before = len;
        switch (r->state) {
        case ST_FILE_HEADER:
            if (gather(r, FILE_HEADER_LEN, &data, &len)) err = parse_file_header(r);
            break;
        case ST_HEADER_SKIP: {
            size_t n = len < r->skip_left ? len : r->skip_left;
            data += n;
            len -= n;
            r->skip_left -= (uint32_t)n;
            if (r->skip_left == 0) r->state = ST_PREV_SIZE0;
            break;
        }
        case ST_PREV_SIZE0:
            if (gather(r, PREV_SIZE_LEN, &data, &len)) {
                if (get_u32(r->small) != 0) r->stats.prev_size_mismatches++;
                r->state = ST_TAG_HEADER;
            }
            break;
        case ST_TAG_HEADER:
            if (gather(r, TAG_HEADER_LEN, &data, &len))
                err = parse_tag_header(r, r->stats.bytes + (before - len) - TAG_HEADER_LEN);
            break;
        case ST_TAG_BODY: err = take_body(r, &data, &len); break;
        case ST_PREV_SIZE:
            if (gather(r, PREV_SIZE_LEN, &data, &len)) {
                if (get_u32(r->small) != TAG_HEADER_LEN + r->tag.size) r->stats.prev_size_mismatches++;
                r->state = ST_TAG_HEADER;
            }
            break;
        }
        r->stats.bytes += before - len;
    }
    if (err) r->error = err;
    return err;
}
