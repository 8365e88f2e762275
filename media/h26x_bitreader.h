/*
 * Bit reader for H.264/H.265 RBSP syntax (private to media/h26x*.c).
 *
 * It reads the escaped NAL unit directly and drops emulation-prevention bytes (00 00 03) as it goes, so SPS
 * parsing needs no scratch buffer and no size limit. Every read is bounds-checked: reading past the end sets
 * `error` and yields zeros, so a parser can read a whole syntax structure and check `error` once at the end
 * (or at loop bounds, to stop early on garbage). Speed does not matter here: parameter sets are parsed only
 * when they change.
 */
#ifndef GB_MEDIA_H26X_BITREADER_H
#define GB_MEDIA_H26X_BITREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct h26x_bitreader {
    const uint8_t *p, *end;
    uint32_t zeros; /* consecutive zero bytes just read, for emulation-prevention removal */
    uint8_t cur;    /* byte being consumed */
    int bits_left;  /* unread bits of cur */
    bool error;     /* read past the end (or a value out of range) */
};

static inline void h26x_br_init(struct h26x_bitreader *br, const uint8_t *p, size_t len)
{
    br->p = p;
    br->end = p + len;
    br->zeros = 0;
    br->cur = 0;
    br->bits_left = 0;
    br->error = false;
}

static inline bool h26x_br_next_byte(struct h26x_bitreader *br)
{
    if (br->p >= br->end) {
        br->error = true;
        return false;
    }
    uint8_t b = *br->p++;
    if (br->zeros >= 2 && b == 3) { /* emulation_prevention_three_byte */
        br->zeros = 0;
        if (br->p >= br->end) {
            br->error = true;
            return false;
        }
        b = *br->p++;
    }
    br->zeros = b == 0 ? br->zeros + 1 : 0;
    br->cur = b;
    br->bits_left = 8;
    return true;
}

static inline uint32_t h26x_br_bit(struct h26x_bitreader *br)
{
    if (br->bits_left == 0 && !h26x_br_next_byte(br)) return 0;
    br->bits_left--;
    return (br->cur >> br->bits_left) & 1;
}

/* u(n), n <= 32 */
static inline uint32_t h26x_br_bits(struct h26x_bitreader *br, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 1) | h26x_br_bit(br);
    return v;
}

static inline void h26x_br_skip(struct h26x_bitreader *br, int n)
{
    for (int i = 0; i < n && !br->error; i++) h26x_br_bit(br);
}

/* ue(v); values above 2^31 - 2 (more than 31 leading zeros) are invalid in every syntax element we read. */
static inline uint32_t h26x_br_ue(struct h26x_bitreader *br)
{
    int zeros = 0;
    while (h26x_br_bit(br) == 0) {
        if (br->error || ++zeros > 31) {
            br->error = true;
            return 0;
        }
    }
    if (zeros == 0) return 0;
    return ((1u << zeros) - 1) + h26x_br_bits(br, zeros);
}

/* se(v) */
static inline int32_t h26x_br_se(struct h26x_bitreader *br)
{
    uint32_t k = h26x_br_ue(br);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

/* ue(v) that must not exceed `max`; a larger value marks the stream as broken. */
static inline uint32_t h26x_br_ue_max(struct h26x_bitreader *br, uint32_t max)
{
    uint32_t v = h26x_br_ue(br);
    if (v > max) br->error = true;
    return v;
}

#endif
