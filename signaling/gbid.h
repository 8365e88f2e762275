/*
 * GB/T 28181 identities and SSRCs: the 20-digit device/channel/platform ID (GB28181.md section 1) and the
 * 10-digit SSRC the platform puts in the SDP `y=` line (section 4).
 *
 * Pure string/number helpers with no allocation. The SSRC pool is a fixed-size bitmap (one bit per sequence
 * number, per kind) embedded in whoever owns it (the signaling thread); it is not thread-safe.
 */
#ifndef GB_SIGNALING_GBID_H
#define GB_SIGNALING_GBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GBID_LEN        20 /* digits in an ID */
#define GBID_DOMAIN_LEN 10 /* digits of the ID that form the usual SIP domain */

/* Type codes (digits 11-13) seen in practice; any 0..999 may appear. */
enum gbid_type_code {
    GBID_TYPE_DVR = 111,
    GBID_TYPE_VIDEO_SERVER = 112,
    GBID_TYPE_ENCODER = 113,
    GBID_TYPE_DECODER = 114,
    GBID_TYPE_ALARM_CONTROLLER = 117,
    GBID_TYPE_NVR = 118,
    GBID_TYPE_CAMERA_OLD = 121, /* some 2011-era devices number their cameras 121 */
    GBID_TYPE_CAMERA = 131,
    GBID_TYPE_IPC = 132,
    GBID_TYPE_ALARM_INPUT = 134,
    GBID_TYPE_ALARM_OUTPUT = 135,
    GBID_TYPE_PLATFORM = 200, /* central SIP server */
    GBID_TYPE_BUSINESS_GROUP = 215,
    GBID_TYPE_VIRTUAL_ORG = 216,
};

/* Broad class of a type code, from the standard's ranges. */
enum gbid_class {
    GBID_CLASS_UNKNOWN = 0,
    GBID_CLASS_DEVICE,     /* 111-130: DVR, NVR, encoder... (registers, owns channels) */
    GBID_CLASS_PERIPHERAL, /* 131-199: camera, IPC, alarm in/out (the channels) */
    GBID_CLASS_PLATFORM,   /* 200-214, 217-299: servers and platforms */
    GBID_CLASS_GROUP,      /* 215 business group, 216 virtual organisation (catalog tree nodes) */
    GBID_CLASS_USER,       /* 300-499: centre and terminal users */
};

/* True when `id` is exactly 20 ASCII digits followed by NUL. NULL is not valid. */
bool gbid_valid(const char *id);
/* Type code (digits 11-13, 0..999) of a valid ID, or -1 when the ID is not valid. */
int gbid_type(const char *id);
/* "DVR", "NVR", "camera", "IPC", "platform", "business group", "virtual organisation", ... or "unknown". */
const char *gbid_type_name(int type_code);
enum gbid_class gbid_type_class(int type_code);
/* True for the type codes that carry video a viewer can ask for (cameras, IPCs, and the DVR/NVR/encoder
 * devices themselves, which some single-channel devices expose as their only channel). */
bool gbid_type_has_video(int type_code);
/* First 10 digits of a valid ID into out (NUL-terminated); false (and out = "") for an invalid ID. */
bool gbid_domain(const char *id, char out[GBID_DOMAIN_LEN + 1]);

/* ---- SSRC: "D PPPPP SSSS" = digit 1: 0 live / 1 playback or download; digits 2-6: digits 4-8 of the domain;
 * digits 7-10: a sequence 0..9999 unique within the media server. The RTP SSRC is that decimal number. */
#define GB_SSRC_LEN       10
#define GB_SSRC_SEQ_COUNT 10000

/* Builds the SSRC text into out (11 bytes, NUL-terminated) and returns its 32-bit value. `domain` is the SIP
 * domain or any string whose first 8 characters are digits (a 20-digit ID works too); when it is not (e.g.
 * realm "hik"), the domain part is "00000". seq is taken modulo 10000. */
uint32_t gb_ssrc_make(bool playback, const char *domain, uint32_t seq, char out[GB_SSRC_LEN + 1]);
/* Parses SSRC text as found in `y=` (1 to 10 decimal digits, surrounding spaces allowed) into the RTP SSRC:
 * "0200001234" -> 200001234. False on anything else or a value above UINT32_MAX. */
bool gb_ssrc_parse(const char *text, size_t len, uint32_t *out);
/* The 10-digit text of an RTP SSRC ("%010u"); every uint32 fits (UINT32_MAX has 10 digits). */
void gb_ssrc_format(uint32_t ssrc, char out[GB_SSRC_LEN + 1]);
static inline bool gb_ssrc_is_playback(uint32_t ssrc)
{
    return ssrc / 1000000000u == 1;
}
static inline uint32_t gb_ssrc_seq(uint32_t ssrc)
{
    return ssrc % GB_SSRC_SEQ_COUNT;
}

/* Hands out unique sequences per kind (live / playback). Allocation scans from a rotating cursor, so a
 * sequence just released is the last to be reused (late packets of a stopped stream do not match a new one).
 * Live sequence 0 is skipped when the domain part is 00000, since SSRC 0 means "any" to the media side. */
struct gb_ssrc_pool {
    uint64_t used[2][(GB_SSRC_SEQ_COUNT + 63) / 64]; /* [0] live, [1] playback */
    uint32_t cursor[2];
    uint32_t in_use[2];
    char domain_digits[6]; /* digits 2-6 of every SSRC this pool makes */
};

void gb_ssrc_pool_init(struct gb_ssrc_pool *pool, const char *domain);
/* Allocates an SSRC: 0 and *ssrc (and out, if not NULL) set, or ENOSPC when all 10000 are taken. */
int gb_ssrc_pool_alloc(struct gb_ssrc_pool *pool, bool playback, uint32_t *ssrc, char out[GB_SSRC_LEN + 1]);
/* Marks a given SSRC as taken (e.g. restored after a restart): 0, EEXIST, or EINVAL when it is not one of
 * this pool's (other domain part, or first digit not 0/1). */
int gb_ssrc_pool_reserve(struct gb_ssrc_pool *pool, uint32_t ssrc);
/* Returns an SSRC from gb_ssrc_pool_alloc/reserve: 0, or ENOENT when it was not taken / not this pool's. */
int gb_ssrc_pool_release(struct gb_ssrc_pool *pool, uint32_t ssrc);
uint32_t gb_ssrc_pool_in_use(const struct gb_ssrc_pool *pool, bool playback);

#endif
