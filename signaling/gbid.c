/*
 * GB28181 IDs and SSRCs (see gbid.h). Table-free where the standard gives ranges, one small table for the
 * names a person reads in logs and the console.
 *
 * The SSRC pool is two bitmaps of 10000 bits embedded in the struct: allocation never mallocs, release is
 * O(1), and a rotating cursor makes a released sequence the last one handed out again.
 */
#include "signaling/gbid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

bool gbid_valid(const char *id)
{
    if (id == NULL) return false;
    for (size_t i = 0; i < GBID_LEN; i++)
        if (id[i] < '0' || id[i] > '9') return false; /* also stops at a NUL before 20 */
    return id[GBID_LEN] == '\0';
}

int gbid_type(const char *id)
{
    if (!gbid_valid(id)) return -1;
    return (id[10] - '0') * 100 + (id[11] - '0') * 10 + (id[12] - '0');
}

static const struct {
    int code;
    const char *name;
} type_names[] = {
    {111, "DVR"},
    {112, "video server"},
    {113, "encoder"},
    {114, "decoder"},
    {115, "video switching matrix"},
    {116, "audio switching matrix"},
    {117, "alarm controller"},
    {118, "NVR"},
    {121, "camera"},
    {131, "camera"},
    {132, "IPC"},
    {133, "display"},
    {134, "alarm input"},
    {135, "alarm output"},
    {136, "audio input"},
    {137, "audio output"},
    {138, "mobile transmitter"},
    {139, "peripheral"},
    {200, "platform"},
    {201, "web server"},
    {202, "media server"},
    {203, "proxy server"},
    {204, "security server"},
    {205, "alarm server"},
    {206, "database server"},
    {207, "GIS server"},
    {208, "management server"},
    {209, "access gateway"},
    {210, "storage server"},
    {211, "signalling security router"},
    {215, "business group"},
    {216, "virtual organisation"},
    {300, "centre user"},
    {400, "terminal user"},
};

const char *gbid_type_name(int type_code)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (type_names[i].code == type_code) return type_names[i].name;
    return "unknown";
}

enum gbid_class gbid_type_class(int type_code)
{
    if (type_code >= 111 && type_code <= 130) return GBID_CLASS_DEVICE;
    if (type_code >= 131 && type_code <= 199) return GBID_CLASS_PERIPHERAL;
    if (type_code == GBID_TYPE_BUSINESS_GROUP || type_code == GBID_TYPE_VIRTUAL_ORG) return GBID_CLASS_GROUP;
    if (type_code >= 200 && type_code <= 299) return GBID_CLASS_PLATFORM;
    if (type_code >= 300 && type_code <= 499) return GBID_CLASS_USER;
    return GBID_CLASS_UNKNOWN;
}

bool gbid_type_has_video(int type_code)
{
    switch (type_code) {
    case GBID_TYPE_DVR:
    case GBID_TYPE_VIDEO_SERVER:
    case GBID_TYPE_ENCODER:
    case GBID_TYPE_NVR:
    case GBID_TYPE_CAMERA_OLD:
    case GBID_TYPE_CAMERA:
    case GBID_TYPE_IPC: return true;
    default: return false;
    }
}

bool gbid_domain(const char *id, char out[GBID_DOMAIN_LEN + 1])
{
    out[0] = '\0';
    if (!gbid_valid(id)) return false;
    memcpy(out, id, GBID_DOMAIN_LEN);
    out[GBID_DOMAIN_LEN] = '\0';
    return true;
}

/* ---------------------------------------------------------------- SSRC */

/* Digits 4-8 of the domain, or "00000" when the domain does not start with 8 digits. */
static void domain_digits(const char *domain, char out[6])
{
    size_t n = domain ? strnlen(domain, 8) : 0;
    if (n == 8 && all_digits(domain, 8))
        memcpy(out, domain + 3, 5);
    else
        memcpy(out, "00000", 5);
    out[5] = '\0';
}

static uint32_t ssrc_value(bool playback, const char digits[6], uint32_t seq)
{
    uint32_t v = playback ? 1000000000u : 0;
    uint32_t mid = 0;
    for (int i = 0; i < 5; i++) mid = mid * 10 + (uint32_t)(digits[i] - '0');
    return v + mid * GB_SSRC_SEQ_COUNT + seq % GB_SSRC_SEQ_COUNT;
}

void gb_ssrc_format(uint32_t ssrc, char out[GB_SSRC_LEN + 1])
{
    snprintf(out, GB_SSRC_LEN + 1, "%010u", ssrc);
}

uint32_t gb_ssrc_make(bool playback, const char *domain, uint32_t seq, char out[GB_SSRC_LEN + 1])
{
    char digits[6];
    domain_digits(domain, digits);
    uint32_t v = ssrc_value(playback, digits, seq);
    if (out) gb_ssrc_format(v, out);
    return v;
}

bool gb_ssrc_parse(const char *text, size_t len, uint32_t *out)
{
    if (text == NULL) return false;
    size_t b = 0, e = len;
    while (b < e && (text[b] == ' ' || text[b] == '\t')) b++;
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r' || text[e - 1] == '\n'))
        e--;
    if (e == b || e - b > GB_SSRC_LEN || !all_digits(text + b, e - b)) return false;
    uint64_t v = 0;
    for (size_t i = b; i < e; i++) v = v * 10 + (uint64_t)(text[i] - '0');
    if (v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

/* ---------------------------------------------------------------- SSRC pool */

static bool bit_get(const uint64_t *map, uint32_t i)
{
    return (map[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(uint64_t *map, uint32_t i, bool on)
{
    if (on)
        map[i / 64] |= (uint64_t)1 << (i % 64);
    else
        map[i / 64] &= ~((uint64_t)1 << (i % 64));
}

void gb_ssrc_pool_init(struct gb_ssrc_pool *pool, const char *domain)
{
    memset(pool, 0, sizeof(*pool));
    domain_digits(domain, pool->domain_digits);
    /* SSRC 0 means "any" to the media side: never hand it out. */
    if (strcmp(pool->domain_digits, "00000") == 0) bit_set(pool->used[0], 0, true);
}

int gb_ssrc_pool_alloc(struct gb_ssrc_pool *pool, bool playback, uint32_t *ssrc, char out[GB_SSRC_LEN + 1])
{
    int kind = playback ? 1 : 0;
    uint64_t *map = pool->used[kind];
    uint32_t start = pool->cursor[kind];
    for (uint32_t k = 0; k < GB_SSRC_SEQ_COUNT; k++) {
        uint32_t seq = (start + k) % GB_SSRC_SEQ_COUNT;
        if (map[seq / 64] == UINT64_MAX) { /* skip a full word at once */
            k += 63 - seq % 64;
            continue;
        }
        if (bit_get(map, seq)) continue;
        bit_set(map, seq, true);
        pool->in_use[kind]++;
        pool->cursor[kind] = (seq + 1) % GB_SSRC_SEQ_COUNT;
        uint32_t v = ssrc_value(playback, pool->domain_digits, seq);
        *ssrc = v;
        if (out) gb_ssrc_format(v, out);
        return 0;
    }
    return ENOSPC;
}

/* Splits an SSRC into kind and sequence when it belongs to this pool. */
static bool pool_owns(const struct gb_ssrc_pool *pool, uint32_t ssrc, int *kind, uint32_t *seq)
{
    uint32_t first = ssrc / 1000000000u;
    if (first > 1) return false;
    uint32_t mid = (ssrc / GB_SSRC_SEQ_COUNT) % 100000u;
    char digits[6];
    snprintf(digits, sizeof(digits), "%05u", mid);
    if (memcmp(digits, pool->domain_digits, 5) != 0) return false;
    *kind = (int)first;
    *seq = ssrc % GB_SSRC_SEQ_COUNT;
    return true;
}

int gb_ssrc_pool_reserve(struct gb_ssrc_pool *pool, uint32_t ssrc)
{
    int kind;
    uint32_t seq;
    if (!pool_owns(pool, ssrc, &kind, &seq) || ssrc == 0) return EINVAL;
    if (bit_get(pool->used[kind], seq)) return EEXIST;
    bit_set(pool->used[kind], seq, true);
    pool->in_use[kind]++;
    return 0;
}

int gb_ssrc_pool_release(struct gb_ssrc_pool *pool, uint32_t ssrc)
{
    int kind;
    uint32_t seq;
    if (!pool_owns(pool, ssrc, &kind, &seq) || ssrc == 0 || !bit_get(pool->used[kind], seq)) return ENOENT;
    bit_set(pool->used[kind], seq, false);
    pool->in_use[kind]--;
    return 0;
}

uint32_t gb_ssrc_pool_in_use(const struct gb_ssrc_pool *pool, bool playback)
{
    return pool->in_use[playback ? 1 : 0];
}
