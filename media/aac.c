/*
 * ADTS header, AudioSpecificConfig and the AAC sampling-frequency table (see aac.h). The bit layouts are
 * written out field by field (ISO/IEC 13818-7 6.2, ISO/IEC 14496-3 1.6.2.1) rather than through a generic
 * bit reader: they are short and fixed, and the explicit shifts document the layout.
 */
#include "media/aac.h"

#include <errno.h>

static const uint32_t aac_sample_rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                              22050, 16000, 12000, 11025, 8000,  7350};

uint32_t aac_sample_rate_from_index(uint8_t index)
{
    return index < 13 ? aac_sample_rates[index] : 0;
}

int aac_sample_rate_to_index(uint32_t rate)
{
    for (int i = 0; i < 13; i++)
        if (aac_sample_rates[i] == rate) return i;
    return -1;
}

int adts_parse_header(const uint8_t *p, size_t len, struct adts_header *h)
{
    if (len < ADTS_HEADER_LEN) return -EAGAIN;
    /* syncword 0xFFF, ID, layer (must be 00), protection_absent */
    if (p[0] != 0xff || (p[1] & 0xf6) != 0xf0) return -EINVAL;
    bool protection_absent = p[1] & 0x01;
    uint8_t profile = p[2] >> 6;
    uint8_t sr_index = (p[2] >> 2) & 0x0f;
    uint8_t channels = (uint8_t)(((p[2] & 0x01) << 2) | (p[3] >> 6));
    uint16_t frame_len = (uint16_t)(((p[3] & 0x03) << 11) | (p[4] << 3) | (p[5] >> 5));
    uint8_t header_len = protection_absent ? ADTS_HEADER_LEN : ADTS_HEADER_LEN_CRC;
    if (sr_index > 12 || frame_len < header_len) return -EINVAL;
    h->object_type = (uint8_t)(profile + 1);
    h->sample_rate_index = sr_index;
    h->channel_config = channels;
    h->header_len = header_len;
    h->raw_blocks = (uint8_t)((p[6] & 0x03) + 1);
    h->frame_len = frame_len;
    return 0;
}

int adts_write_header(uint8_t out[ADTS_HEADER_LEN], uint8_t object_type, uint8_t sample_rate_index,
                      uint8_t channel_config, size_t raw_len)
{
    size_t frame_len = raw_len + ADTS_HEADER_LEN;
    if (object_type < 1 || object_type > 4 || sample_rate_index > 12 || channel_config > 7 ||
        frame_len > 0x1fff)
        return -EINVAL;
    out[0] = 0xff;
    out[1] = 0xf1; /* MPEG-4, layer 0, no CRC */
    out[2] = (uint8_t)(((object_type - 1) << 6) | (sample_rate_index << 2) | (channel_config >> 2));
    out[3] = (uint8_t)(((channel_config & 3) << 6) | (frame_len >> 11));
    out[4] = (uint8_t)(frame_len >> 3);
    out[5] = (uint8_t)(((frame_len & 7) << 5) | 0x1f); /* buffer fullness 0x7FF: variable rate */
    out[6] = 0xfc;                                     /* fullness low bits, one raw data block */
    return ADTS_HEADER_LEN;
}

int aac_build_asc(uint8_t object_type, uint8_t sample_rate_index, uint8_t channel_config, uint8_t *out,
                  size_t cap)
{
    if (cap < AAC_ASC_LEN || object_type == 0 || object_type >= 31 || sample_rate_index > 12 ||
        channel_config > 7)
        return -EINVAL;
    out[0] = (uint8_t)((object_type << 3) | (sample_rate_index >> 1));
    out[1] = (uint8_t)(((sample_rate_index & 1) << 7) | (channel_config << 3));
    return AAC_ASC_LEN;
}

int aac_parse_asc(const uint8_t *asc, size_t len, struct aac_config *out)
{
    /* Read as a 64-bit big-endian window: the longest prefix we need (escape object type + explicit
     * frequency + channels) is 5 + 6 + 4 + 24 + 4 = 43 bits. */
    uint64_t bits = 0;
    size_t n = len < 8 ? len : 8;
    for (size_t i = 0; i < 8; i++) bits = (bits << 8) | (i < n ? asc[i] : 0);
    size_t avail = n * 8, pos = 0;
#define TAKE(k) ((pos += (k)), (uint32_t)((bits >> (64 - pos)) & ((1ull << (k)) - 1)))
    if (avail < 16) return -EINVAL;
    uint32_t ot = TAKE(5);
    if (ot == 31) ot = 32 + TAKE(6);
    uint32_t index = TAKE(4), rate;
    if (index == 15) {
        if (avail < pos + 24 + 4) return -EINVAL;
        rate = TAKE(24);
    } else {
        rate = aac_sample_rate_from_index((uint8_t)index);
    }
    if (avail < pos + 4) return -EINVAL;
    uint32_t channels = TAKE(4);
#undef TAKE
    if (ot == 0 || rate == 0) return -EINVAL;
    out->object_type = (uint8_t)ot;
    out->sample_rate = rate;
    out->channel_config = (uint8_t)channels;
    return 0;
}

bool aac_track_update_from_adts(struct media_track *t, const struct adts_header *h)
{
    uint32_t rate = aac_sample_rate_from_index(h->sample_rate_index);
    if (t->sample_rate == rate && t->channels == h->channel_config && t->asc_len != 0 &&
        (t->asc[0] >> 3) == h->object_type)
        return false;
    t->sample_rate = rate;
    t->channels = h->channel_config;
    int n = aac_build_asc(h->object_type, h->sample_rate_index, h->channel_config, t->asc, sizeof t->asc);
    t->asc_len = n > 0 ? (uint8_t)n : 0;
    return true;
}
