/*
 * GB28181 MPEG-PS demultiplexer: the byte-level state machine (see ps_demux.h for the contract and
 * ps_internal.h for how the work is split between ps_demux.c, ps_video.c and ps_audio.c).
 *
 * Every unit starts with 00 00 01 <id>, id >= 0xB9. Headers (pack, PES header, PSM) are collected into a
 * small buffer so they may arrive in any split; payloads are never buffered here: they go straight to the
 * video access-unit builder or the audio frame assembler, which copy them once into the frame buffer.
 *
 * Why a PS start code can be told from a NAL start code inside video: an H.264/H.265 NAL header byte has
 * forbidden_zero_bit (its top bit) clear and emulation prevention guarantees 00 00 01 appears in a NAL
 * stream only before a NAL header, so 00 00 01 followed by a byte >= 0x80 never occurs inside video
 * payload. That is what ends a PES with PES_packet_length 0 (unbounded video), and why scanning for
 * resynchronisation never locks onto video content.
 *
 * Leniency: zero (or 0xFF) stuffing between units is skipped silently; any other garbage counts a resync,
 * discards the frames being assembled (they are probably damaged) and switches to strict mode, where only
 * a pack header or a PES header that passes its marker-bit checks is accepted. The PSM is parsed up to its
 * own length with the CRC ignored, whatever its elementary_stream_map_length and es_info_length say.
 */
#include "media/ps_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PS_DEFAULT_MAX_FRAME (4u << 20)
#define TS_33BIT_MASK        ((1ull << 33) - 1)

enum {
    SID_END = 0xB9,
    SID_PACK = 0xBA,
    SID_SYSTEM = 0xBB,
    SID_PSM = 0xBC,
    SID_PRIVATE1 = 0xBD,
    SID_PADDING = 0xBE,
    SID_PRIVATE2 = 0xBF,
    SID_AUDIO_FIRST = 0xC0,
    SID_VIDEO_FIRST = 0xE0,
    SID_VIDEO_LAST = 0xEF
};

enum payload_target { TARGET_DISCARD, TARGET_VIDEO, TARGET_AUDIO };

static bool is_pes_stream(uint8_t id)
{
    return id >= SID_AUDIO_FIRST && id <= SID_VIDEO_LAST;
}

int64_t ps_unwrap_ts(struct ps_demux *d, uint64_t raw33)
{
    raw33 &= TS_33BIT_MASK;
    if (!d->ts_started) {
        d->ts_started = true;
        d->ts_last_raw = raw33;
        d->ts_last = (int64_t)raw33;
        return d->ts_last;
    }
    /* The shortest way round the 33-bit circle: streams interleave and may step back a little. */
    int64_t diff = (int64_t)((raw33 - d->ts_last_raw) & TS_33BIT_MASK);
    if (diff >= (int64_t)(1ull << 32)) diff -= (int64_t)(1ull << 33);
    d->ts_last_raw = raw33;
    d->ts_last += diff;
    return d->ts_last;
}

static void enter_scan(struct ps_demux *d)
{
    d->state = PS_SCAN;
    d->sync_window = 0xffffffff;
    d->scan_bytes = 0;
    d->scan_garbage = 0;
}

struct ps_demux *ps_demux_create(const struct ps_demux_callbacks *cb, void *arg, size_t max_frame)
{
    struct ps_demux *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (cb) d->cb = *cb;
    d->arg = arg;
    d->max_frame = max_frame ? max_frame : PS_DEFAULT_MAX_FRAME;
    d->resyncing = true; /* the first bytes may be the middle of anything */
    enter_scan(d);
    ps_video_init(d);
    ps_audio_init(d);
    return d;
}

void ps_demux_destroy(struct ps_demux *d)
{
    if (!d) return;
    ps_video_destroy(d);
    ps_audio_destroy(d);
    free(d);
}

const struct ps_demux_stats *ps_demux_get_stats(const struct ps_demux *d)
{
    return &d->stats;
}

/* Input that cannot be trusted (garbage, a rejected header, a transport loss): drop what is being
 * assembled and accept only validated headers until the stream is found again. */
static void lose_position(struct ps_demux *d)
{
    ps_video_loss(d);
    ps_audio_loss(d);
    d->resyncing = true;
    d->held = 0;
}

/* A header passed: the stream is found (again). */
static void found_position(struct ps_demux *d)
{
    if (d->resync_pending) d->stats.resyncs++;
    d->resync_pending = false;
    d->resyncing = false;
}

static void begin_unit(struct ps_demux *d, uint8_t id)
{
    d->hdr[0] = 0;
    d->hdr[1] = 0;
    d->hdr[2] = 1;
    d->hdr[3] = id;
    d->hdr_len = 4;
    if (id == SID_END) { /* MPEG_program_end_code: four bytes, nothing follows */
        enter_scan(d);
        return;
    }
    d->hdr_need = id == SID_PACK ? 5 : 6;
    d->state = PS_HEADER;
}

/* A header that failed validation: its bytes are garbage. The scan restarts with the header's last three
 * bytes in the window so a start code overlapping its end is still found. */
static void reject_unit(struct ps_demux *d)
{
    d->stats.bytes_skipped += d->hdr_len;
    d->resync_pending = true;
    if (!d->resyncing) lose_position(d);
    enter_scan(d);
    d->scan_garbage = 1;
    d->scan_bytes = 3; /* as if its last three bytes had been scanned (they are counted as skipped) */
    for (uint32_t i = d->hdr_len - 3; i < d->hdr_len; i++) d->sync_window = (d->sync_window << 8) | d->hdr[i];
}

static bool start_code_acceptable(const struct ps_demux *d, uint8_t id)
{
    if (id < SID_END) return false;
    if (!d->resyncing) return true;
    return id == SID_PACK || is_pes_stream(id);
}

/* Skipped bytes are counted as they go by (a long stretch of garbage shows in the stats while it lasts);
 * the four bytes of the start code that ends the scan are taken back. */
static const uint8_t *scan(struct ps_demux *d, const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        uint8_t b = *p++;
        d->scan_bytes++;
        d->stats.bytes_skipped++;
        if (b != 0x00 && b != 0xff) d->scan_garbage++;
        d->sync_window = (d->sync_window << 8) | b;
        if ((d->sync_window & 0xffffff00) != 0x00000100 || b < SID_END) continue;
        /* A candidate: were the bytes before it only zero/0xFF stuffing? (its 01 and id are not garbage) */
        uint64_t garbage = d->scan_garbage - 1 - (b != 0xff);
        if (garbage > 0) {
            if (!d->resyncing) lose_position(d);
            d->resync_pending = true;
        }
        if (!start_code_acceptable(d, b)) continue;
        d->stats.bytes_skipped -= 4;
        begin_unit(d, b);
        return p;
    }
    return p;
}

static uint64_t read_timestamp(const uint8_t *b)
{
    return ((uint64_t)((b[0] >> 1) & 7) << 30) | ((uint64_t)b[1] << 22) | ((uint64_t)(b[2] >> 1) << 15) |
           ((uint64_t)b[3] << 7) | (uint64_t)(b[4] >> 1);
}

static bool timestamp_markers_ok(const uint8_t *b)
{
    return (b[0] & 1) && (b[2] & 1) && (b[4] & 1);
}

/* The program stream map: codec per elementary stream id. Parsed up to the PSM's own length minus the
 * CRC_32 (never checked): elementary_stream_map_length is often wrong (a real sample says 8 for 14 bytes),
 * and an es_info_length that overruns only loses that entry's descriptors. */
static void parse_psm(struct ps_demux *d)
{
    const uint8_t *h = d->hdr;
    uint32_t total = d->hdr_len;
    bool malformed = false;
    d->stats.psm++;
    if (total < 12) {
        d->stats.psm_errors++;
        return;
    }
    uint32_t pos = 10 + (((uint32_t)h[8] << 8) | h[9]); /* after program_stream_info */
    if (pos + 2 > total) {
        d->stats.psm_errors++;
        return;
    }
    uint32_t map_len = ((uint32_t)h[pos] << 8) | h[pos + 1];
    pos += 2;
    uint32_t map_end = total >= pos + 4 ? total - 4 : pos;
    if (pos + map_len != map_end) {
        if (pos + map_len == total)
            map_end = total; /* no CRC written */
        else
            malformed = true;
    }
    uint8_t types[64] = {0};
    while (pos + 4 <= map_end) {
        uint8_t stream_type = h[pos], id = h[pos + 1];
        uint32_t info_len = ((uint32_t)h[pos + 2] << 8) | h[pos + 3];
        if (is_pes_stream(id)) types[id - SID_AUDIO_FIRST] = stream_type;
        pos += 4 + info_len;
    }
    if (pos != map_end) malformed = true;
    if (malformed) d->stats.psm_errors++;

    if (memcmp(types, d->psm_stream_type, sizeof types) == 0) return;
    memcpy(d->psm_stream_type, types, sizeof types);
    if (d->video.stream_id) {
        enum codec_id c = codec_from_ps_stream_type(types[d->video.stream_id - SID_AUDIO_FIRST]);
        if (codec_is_video(c)) ps_video_set_codec(d, c);
    }
    if (d->audio.stream_id) {
        enum codec_id c = codec_from_ps_stream_type(types[d->audio.stream_id - SID_AUDIO_FIRST]);
        if (codec_is_audio(c)) ps_audio_set_codec(d, c);
    }
}

static enum codec_id psm_codec(const struct ps_demux *d, uint8_t id)
{
    return codec_from_ps_stream_type(d->psm_stream_type[id - SID_AUDIO_FIRST]);
}

static void payload_end(struct ps_demux *d)
{
    if (d->target == TARGET_AUDIO) ps_audio_pes_end(d);
    d->target = TARGET_DISCARD;
}

static void deliver(struct ps_demux *d, const uint8_t *p, size_t n)
{
    if (n == 0) return;
    if (d->target == TARGET_VIDEO)
        ps_video_payload(d, p, n);
    else if (d->target == TARGET_AUDIO)
        ps_audio_payload(d, p, n);
    else
        d->stats.bytes_skipped += n;
}

/* A complete PES header: route its payload. */
static void pes_header_done(struct ps_demux *d, uint32_t header_total, bool has_pts, uint64_t pts_raw,
                            bool has_dts, uint64_t dts_raw)
{
    uint8_t id = d->hdr[3];
    uint32_t length = ((uint32_t)d->hdr[4] << 8) | d->hdr[5];
    int64_t pts = has_pts ? ps_unwrap_ts(d, pts_raw) : 0;
    int64_t dts = has_dts ? ps_unwrap_ts(d, dts_raw) : pts;
    d->stats.pes++;
    found_position(d);
    d->unbounded = length == 0;
    d->remaining = length ? length + 6 - header_total : 0;
    d->held = 0;
    d->target = TARGET_DISCARD;
    if (id >= SID_VIDEO_FIRST) {
        if (!d->video.stream_id) {
            d->video.stream_id = id;
            enum codec_id c = psm_codec(d, id);
            if (codec_is_video(c)) ps_video_set_codec(d, c);
        }
        if (id == d->video.stream_id && ps_video_pes_start(d, has_pts, pts, dts)) d->target = TARGET_VIDEO;
    } else {
        if (!d->audio.stream_id) {
            d->audio.stream_id = id;
            enum codec_id c = psm_codec(d, id);
            if (codec_is_audio(c)) ps_audio_set_codec(d, c);
        }
        if (id == d->audio.stream_id) {
            ps_audio_pes_start(d, has_pts, pts, d->remaining);
            d->target = TARGET_AUDIO;
        }
    }
    d->state = PS_PAYLOAD;
    if (!d->unbounded && d->remaining == 0) {
        payload_end(d);
        enter_scan(d);
    }
}

/* MPEG-1 PES header (ISO/IEC 11172-1 2.4.3.6): up to 16 stuffing bytes, optional STD buffer size, then
 * 0x0F or a PTS (0010....) or PTS+DTS (0011....). Returns the header length and sets *ts_pos to the byte
 * that says which; 0 when more bytes are needed; -1 when this is no MPEG-1 PES header. */
static int mpeg1_pes_header_len(const uint8_t *h, uint32_t have, uint32_t *ts_pos)
{
    uint32_t i = 6;
    for (int stuffing = 0; i < have && h[i] == 0xff; stuffing++, i++)
        if (stuffing == 16) return -1;
    if (i >= have) return 0;
    if ((h[i] & 0xc0) == 0x40) { /* STD_buffer_scale/size */
        i += 2;
        if (i >= have) return 0;
    }
    *ts_pos = i;
    if ((h[i] & 0xf0) == 0x20) return (int)i + 5;
    if ((h[i] & 0xf0) == 0x30) return (int)i + 10;
    if (h[i] == 0x0f) return (int)i + 1;
    return -1;
}

static void mpeg1_pes_header_step(struct ps_demux *d, uint32_t length)
{
    const uint8_t *h = d->hdr;
    uint32_t ts = 0;
    int n = mpeg1_pes_header_len(h, d->hdr_len, &ts);
    if (n < 0 || (length && (uint32_t)n > length + 6)) {
        reject_unit(d);
        return;
    }
    if (n == 0 || (uint32_t)n > d->hdr_len) {
        d->hdr_need = n == 0 ? d->hdr_len + 1 : (uint32_t)n;
        return;
    }
    bool has_pts = (h[ts] & 0xe0) == 0x20, has_dts = (h[ts] & 0xf0) == 0x30;
    if (d->resyncing &&
        ((has_pts && !timestamp_markers_ok(h + ts)) || (has_dts && !timestamp_markers_ok(h + ts + 5)))) {
        reject_unit(d);
        return;
    }
    pes_header_done(d, (uint32_t)n, has_pts, has_pts ? read_timestamp(h + ts) : 0, has_dts,
                    has_dts ? read_timestamp(h + ts + 5) : 0);
}

/* PES header bytes for a stream we demux (0xC0-0xEF); called each time hdr_need bytes are in. */
static void pes_header_step(struct ps_demux *d)
{
    const uint8_t *h = d->hdr;
    uint32_t length = ((uint32_t)h[4] << 8) | h[5];
    if ((h[6] & 0xc0) != 0x80) {
        mpeg1_pes_header_step(d, length);
        return;
    }
    if (d->hdr_len < 9) {
        d->hdr_need = 9;
        return;
    }
    uint32_t total = 9 + h[8];
    if (length && total > length + 6) { /* header longer than the packet */
        reject_unit(d);
        return;
    }
    if (d->hdr_len < total) {
        d->hdr_need = total;
        return;
    }
    uint8_t flags = h[7] >> 6;
    bool has_pts = (flags & 2) && h[8] >= 5;
    bool has_dts = flags == 3 && h[8] >= 10;
    if (d->resyncing &&
        ((has_pts && !timestamp_markers_ok(h + 9)) || (has_dts && !timestamp_markers_ok(h + 14)))) {
        reject_unit(d);
        return;
    }
    pes_header_done(d, total, has_pts, has_pts ? read_timestamp(h + 9) : 0, has_dts,
                    has_dts ? read_timestamp(h + 14) : 0);
}

static void pack_header_step(struct ps_demux *d)
{
    const uint8_t *h = d->hdr;
    if (d->hdr_len == 5) {
        if ((h[4] & 0xc0) == 0x40)
            d->hdr_need = 14; /* MPEG-2 */
        else if ((h[4] & 0xf0) == 0x20)
            d->hdr_need = 12; /* MPEG-1 */
        else
            reject_unit(d);
        return;
    }
    bool mpeg2 = d->hdr_len == 14;
    if (d->resyncing) {
        bool ok =
            mpeg2 ? (h[4] & 0x04) && (h[6] & 0x04) && (h[8] & 0x04) && (h[9] & 0x01) && (h[12] & 0x03) == 0x03
                  : (h[4] & 0x01) && (h[6] & 0x01) && (h[8] & 0x01) && (h[9] & 0x80) && (h[11] & 0x01);
        if (!ok) {
            reject_unit(d);
            return;
        }
    }
    d->stats.packs++;
    found_position(d);
    uint32_t stuffing = mpeg2 ? h[13] & 0x07 : 0;
    if (stuffing) {
        d->state = PS_SKIP;
        d->remaining = stuffing;
        d->target = TARGET_DISCARD;
        d->skip_counts = false;
    } else {
        enter_scan(d);
    }
}

/* Called whenever hdr_len reached hdr_need: decide what comes next. */
static void header_step(struct ps_demux *d)
{
    uint8_t id = d->hdr[3];
    if (id == SID_PACK) {
        pack_header_step(d);
        return;
    }
    uint32_t length = ((uint32_t)d->hdr[4] << 8) | d->hdr[5];
    if (is_pes_stream(id)) {
        if (d->hdr_len == 6) {
            d->hdr_need = 7;
            return;
        }
        pes_header_step(d);
        return;
    }
    if (id == SID_PSM) {
        if (d->hdr_len == 6 && length + 6 <= PS_HDR_MAX && length > 0) {
            d->hdr_need = 6 + length;
            return;
        }
        if (d->hdr_len > 6) {
            parse_psm(d);
            enter_scan(d);
            return;
        }
        d->stats.psm_errors++; /* too long to keep (or empty): skip it */
    }
    /* system header, padding, private streams, anything else: skip by length */
    d->state = PS_SKIP;
    d->remaining = length;
    d->skip_counts = id != SID_SYSTEM && id != SID_PADDING;
    if (length == 0) enter_scan(d);
}

static const uint8_t *collect_header(struct ps_demux *d, const uint8_t *p, const uint8_t *end)
{
    while (p < end && d->state == PS_HEADER) {
        size_t n = d->hdr_need - d->hdr_len;
        if (n > (size_t)(end - p)) n = (size_t)(end - p);
        memcpy(d->hdr + d->hdr_len, p, n);
        d->hdr_len += (uint32_t)n;
        p += n;
        if (d->hdr_len == d->hdr_need) header_step(d);
    }
    return p;
}

static const uint8_t START_PREFIX[3] = {0, 0, 1};

/* PES_packet_length 0: the payload runs until 00 00 01 <id >= 0xB9>. Trailing bytes that may begin such a
 * start code ("00", "00 00", "00 00 01") are held back until the next piece tells. */
static const uint8_t *payload_unbounded(struct ps_demux *d, const uint8_t *p, const uint8_t *end)
{
    while (d->held > 0 && p < end) {
        uint8_t b = *p;
        if (d->held == 3) {
            d->held = 0;
            if (b >= SID_END) {
                payload_end(d);
                begin_unit(d, b);
                return p + 1;
            }
            deliver(d, START_PREFIX, 3);
            break;
        }
        if (b == START_PREFIX[d->held]) {
            d->held++;
            p++;
        } else if (d->held == 2 && b == 0) {
            deliver(d, START_PREFIX, 1); /* 00 00 00: the first zero is payload */
            p++;
        } else {
            deliver(d, START_PREFIX, d->held);
            d->held = 0;
        }
    }
    if (p == end) return p; /* still holding: the next piece decides */
    const uint8_t *from = p, *s = p;
    for (;;) {
        int sc_len = 0;
        const uint8_t *sc = annexb_find_start_code(s, end, &sc_len);
        if (!sc) break;
        const uint8_t *prefix = sc + sc_len - 3;
        if (prefix + 3 == end) {
            deliver(d, from, (size_t)(prefix - from));
            d->held = 3;
            return end;
        }
        if (prefix[3] >= SID_END) {
            deliver(d, from, (size_t)(prefix - from));
            payload_end(d);
            begin_unit(d, prefix[3]);
            return prefix + 4;
        }
        s = prefix + 3;
    }
    uint8_t zeros = 0;
    while (zeros < 2 && end - from > zeros && end[-1 - zeros] == 0) zeros++;
    deliver(d, from, (size_t)(end - from) - zeros);
    d->held = zeros;
    return end;
}

static const uint8_t *payload(struct ps_demux *d, const uint8_t *p, const uint8_t *end)
{
    if (d->unbounded) return payload_unbounded(d, p, end);
    size_t n = d->remaining < (size_t)(end - p) ? d->remaining : (size_t)(end - p);
    deliver(d, p, n);
    d->remaining -= (uint32_t)n;
    if (d->remaining == 0) {
        payload_end(d);
        enter_scan(d);
    }
    return p + n;
}

static const uint8_t *skip(struct ps_demux *d, const uint8_t *p, const uint8_t *end)
{
    size_t n = d->remaining < (size_t)(end - p) ? d->remaining : (size_t)(end - p);
    d->remaining -= (uint32_t)n;
    if (d->skip_counts) d->stats.bytes_skipped += n;
    if (d->remaining == 0) enter_scan(d);
    return p + n;
}

int ps_demux_input(struct ps_demux *d, const uint8_t *data, size_t len, bool frame_end)
{
    const uint8_t *p = data, *end = data + len;
    d->stats.bytes_in += len;
    while (p < end) {
        switch (d->state) {
        case PS_SCAN: p = scan(d, p, end); break;
        case PS_HEADER: p = collect_header(d, p, end); break;
        case PS_SKIP: p = skip(d, p, end); break;
        case PS_PAYLOAD: p = payload(d, p, end); break;
        }
    }
    if (frame_end) {
        bool mid_pes = d->state == PS_PAYLOAD && d->target == TARGET_VIDEO && !d->unbounded;
        ps_video_frame_end(d, mid_pes);
    }
    if (d->stats.packs == 0 && d->stats.pes == 0 && d->stats.bytes_in >= PS_NOT_PS_AFTER) return -EINVAL;
    return 0;
}

void ps_demux_mark_loss(struct ps_demux *d)
{
    d->target = TARGET_DISCARD; /* the PES being read is incomplete: nothing of it is emitted */
    lose_position(d);
    enter_scan(d);
}

void ps_demux_flush(struct ps_demux *d)
{
    /* A PES cut short by the end of the input leaves a truncated frame: drop it rather than emit it. */
    if (d->state == PS_PAYLOAD && !d->unbounded && d->remaining > 0) {
        if (d->target == TARGET_VIDEO) ps_video_loss(d);
        if (d->target == TARGET_AUDIO) ps_audio_loss(d);
        d->target = TARGET_DISCARD;
    }
    ps_video_complete(d);
    ps_audio_flush(d);
}
