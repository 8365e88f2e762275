/*
 * MPEG-TS demultiplexer, packet layer (see ts_demux.h for the contract and ts_internal.h for the split):
 * finding 188-byte packets in the input, their headers and adaptation fields, continuity counters, routing
 * by PID, and PES reassembly up to the payload (the header collected into a small buffer, so it may straddle
 * TS packets; the payload handed on as it arrives, never buffered here).
 *
 * Input arrives as RTP payloads, normally a whole number of packets starting with the sync byte, which are
 * parsed in place. Anything else (a packet cut across two calls, garbage) goes through a 188-byte stash and a
 * sync search that wants 0x47 at the candidate and, when the bytes are there, 188 bytes later.
 */
#include "media/ts_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp.h"

#define TS_DEFAULT_MAX_FRAME (4u << 20)
#define TS_33BIT_MASK        ((1ull << 33) - 1)

struct ts_demux *ts_demux_create(const struct ps_demux_callbacks *cb, void *arg, size_t max_frame)
{
    struct ts_demux *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (cb) d->cb = *cb;
    d->arg = arg;
    d->max_frame = max_frame ? max_frame : TS_DEFAULT_MAX_FRAME;
    ts_section_reset(&d->pat, TS_PID_PAT);
    ts_section_reset(&d->pmt, TS_PID_NONE);
    ts_video_init(d);
    ts_audio_init(d);
    return d;
}

void ts_demux_destroy(struct ts_demux *d)
{
    if (!d) return;
    ts_video_destroy(d);
    ts_audio_destroy(d);
    free(d);
}

const struct ts_demux_stats *ts_demux_get_stats(const struct ts_demux *d)
{
    return &d->stats;
}

int64_t ts_unwrap(struct ts_demux *d, uint64_t raw33)
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

void ts_pes_reset(struct ts_pes *pes, uint16_t pid, uint8_t stream_type)
{
    pes->pid = pid;
    pes->stream_type = stream_type;
    pes->cc = -1;
    pes->state = TS_PES_WAIT;
    pes->hdr_len = pes->hdr_need = 0;
    pes->bounded = false;
    pes->remaining = 0;
}

/* ---- PES ---- */

static bool is_video(const struct ts_demux *d, const struct ts_pes *pes)
{
    return pes == &d->video.pes;
}

/* Data of this PES stream was lost or is unusable: drop the frame being built, wait for the next PES. */
static void pes_loss(struct ts_demux *d, struct ts_pes *pes)
{
    if (is_video(d, pes))
        ts_video_loss(d);
    else
        ts_audio_loss(d);
    pes->state = TS_PES_WAIT;
}

static void pes_error(struct ts_demux *d, struct ts_pes *pes)
{
    d->stats.pes_errors++;
    pes_loss(d, pes);
}

static void pes_end(struct ts_demux *d, struct ts_pes *pes)
{
    pes->state = TS_PES_WAIT;
    if (!is_video(d, pes)) ts_audio_pes_end(d);
}

static uint64_t read_timestamp(const uint8_t *b)
{
    return ((uint64_t)((b[0] >> 1) & 7) << 30) | ((uint64_t)b[1] << 22) | ((uint64_t)(b[2] >> 1) << 15) |
           ((uint64_t)b[3] << 7) | (uint64_t)(b[4] >> 1);
}

/* The whole PES header is in pes->hdr: check what it claims against its own length, date the payload. */
static void pes_header_done(struct ts_demux *d, struct ts_pes *pes)
{
    const uint8_t *h = pes->hdr;
    uint16_t packet_len = rtp_rd16(h + 4);
    uint8_t header_data_len = h[8];
    bool has_pts = h[7] & 0x80, has_dts = (h[7] & 0xc0) == 0xc0;
    if ((has_pts ? 5 : 0) + (has_dts ? 5 : 0) > header_data_len ||
        (packet_len != 0 && packet_len < 3u + header_data_len)) {
        pes_error(d, pes);
        return;
    }
    int64_t pts = 0, dts = 0;
    if (has_pts) {
        pts = ts_unwrap(d, read_timestamp(h + 9));
        dts = has_dts ? ts_unwrap(d, read_timestamp(h + 14)) : pts;
    }
    d->stats.pes++;
    pes->bounded = packet_len != 0;
    pes->remaining = pes->bounded ? packet_len - 3u - header_data_len : 0;
    bool accept = true;
    if (is_video(d, pes))
        accept = ts_video_pes_start(d, has_pts, pts, dts);
    else
        ts_audio_pes_start(d, has_pts, pts);
    pes->state = accept ? TS_PES_PAYLOAD : TS_PES_WAIT;
    if (accept && pes->bounded && pes->remaining == 0) pes_end(d, pes);
}

/* Collects PES header bytes; returns how many were used. */
static size_t pes_header_input(struct ts_demux *d, struct ts_pes *pes, const uint8_t *p, size_t n)
{
    size_t used = 0;
    while (pes->state == TS_PES_HEADER && used < n) {
        size_t take = pes->hdr_need - pes->hdr_len;
        if (take > n - used) take = n - used;
        memcpy(pes->hdr + pes->hdr_len, p + used, take);
        pes->hdr_len = (uint16_t)(pes->hdr_len + take);
        used += take;
        if (pes->hdr_len < pes->hdr_need) break;
        if (pes->hdr_need == 9) { /* fixed part: start code, and the MPEG-2 '10' flags every A/V PES has */
            const uint8_t *h = pes->hdr;
            if (h[0] != 0 || h[1] != 0 || h[2] != 1 || h[3] < 0xbd || h[3] == 0xbe || h[3] == 0xbf ||
                (h[6] & 0xc0) != 0x80) {
                pes_error(d, pes);
                return n;
            }
            pes->hdr_need = (uint16_t)(9 + h[8]);
            if (pes->hdr_need > 9) continue;
        }
        pes_header_done(d, pes);
    }
    return used;
}

static void pes_payload(struct ts_demux *d, struct ts_pes *pes, const uint8_t *p, size_t n)
{
    if (is_video(d, pes))
        ts_video_payload(d, p, n);
    else
        ts_audio_payload(d, p, n);
}

static void pes_input(struct ts_demux *d, struct ts_pes *pes, const uint8_t *p, size_t n, bool pusi)
{
    if (pusi) {
        if (pes->state == TS_PES_PAYLOAD) {
            if (pes->bounded && pes->remaining > 0) d->stats.pes_errors++; /* it claimed more than it had */
            pes_end(d, pes);
        } else if (pes->state == TS_PES_HEADER) {
            pes_error(d, pes); /* a header cut short */
        }
        pes->state = TS_PES_HEADER;
        pes->hdr_len = 0;
        pes->hdr_need = 9;
    }
    if (pes->state == TS_PES_HEADER) {
        size_t used = pes_header_input(d, pes, p, n);
        p += used;
        n -= used;
    }
    if (pes->state != TS_PES_PAYLOAD || n == 0) return;
    size_t take = pes->bounded && pes->remaining < n ? pes->remaining : n;
    pes_payload(d, pes, p, take);
    if (!pes->bounded) return;
    pes->remaining -= (uint32_t)take;
    if (pes->remaining == 0) {
        if (take < n) d->stats.pes_errors++; /* bytes after the end it claimed */
        pes_end(d, pes);
    }
}

/* ---- TS packets ---- */

static void pid_loss(struct ts_demux *d, struct ts_pes *pes, struct ts_section *sec)
{
    if (pes) pes_loss(d, pes);
    if (sec) sec->started = false;
}

static void parse_packet(struct ts_demux *d, const uint8_t *p)
{
    d->stats.packets++;
    d->skipped_in_row = 0;
    uint16_t pid = (uint16_t)(((p[1] & 0x1f) << 8) | p[2]);
    struct ts_pes *pes = NULL;
    struct ts_section *sec = NULL;
    if (pid == d->video.pes.pid)
        pes = &d->video.pes;
    else if (pid == d->audio.pes.pid)
        pes = &d->audio.pes;
    else if (pid == d->pat.pid)
        sec = &d->pat;
    else if (pid == d->pmt.pid)
        sec = &d->pmt;
    if (!pes && !sec) return; /* null packets, PCR-only PIDs, streams and tables we do not use */

    bool tei = p[1] & 0x80, pusi = p[1] & 0x40;
    uint8_t afc = (p[3] >> 4) & 3, cc = p[3] & 0x0f;
    size_t pos = 4;
    bool discontinuity = false;
    if (afc & 2) {
        uint8_t af_len = p[4];
        if (af_len > ((afc & 1) ? 182 : 183)) tei = true; /* longer than the packet: as damaged */
        discontinuity = af_len > 0 && (p[5] & 0x80);
        pos = 5u + af_len;
    }
    if (tei || afc == 0) {
        d->stats.bad_packets++;
        pid_loss(d, pes, sec);
        if (pes) pes->cc = -1;
        if (sec) sec->cc = -1;
        return;
    }
    if (!(afc & 1)) return; /* adaptation field only: the counter does not advance */
    int8_t *last = pes ? &pes->cc : &sec->cc;
    if (*last >= 0 && !discontinuity) {
        if (cc == *last) {
            d->stats.duplicates++;
            return;
        }
        if (cc != ((*last + 1) & 0x0f)) {
            d->stats.cc_errors++;
            pid_loss(d, pes, sec);
        }
    }
    *last = (int8_t)cc;
    if (pos >= TS_PACKET_SIZE) return;
    if (sec)
        ts_section_input(d, sec, p + pos, TS_PACKET_SIZE - pos, pusi);
    else
        pes_input(d, pes, p + pos, TS_PACKET_SIZE - pos, pusi);
}

/* p[0] is not a sync byte: the next plausible packet start (see the top of the file), or end. */
static const uint8_t *resync(struct ts_demux *d, const uint8_t *p, const uint8_t *end)
{
    if (d->synced) d->stats.resyncs++;
    d->synced = false;
    const uint8_t *q = p + 1;
    while (q < end) {
        q = memchr(q, TS_SYNC, (size_t)(end - q));
        if (!q) {
            q = end;
            break;
        }
        if (end - q <= TS_PACKET_SIZE || q[TS_PACKET_SIZE] == TS_SYNC) break;
        q++;
    }
    d->stats.bytes_skipped += (uint64_t)(q - p);
    d->skipped_in_row += (uint64_t)(q - p);
    return q;
}

int ts_demux_input(struct ts_demux *d, const uint8_t *data, size_t len)
{
    if (!d || (!data && len)) return -EINVAL;
    d->stats.bytes_in += len;
    const uint8_t *p = data, *end = data + len;
    while (p < end) {
        if (d->partial_len > 0) { /* complete the packet started by the previous call */
            size_t take = TS_PACKET_SIZE - d->partial_len;
            if (take > (size_t)(end - p)) take = (size_t)(end - p);
            memcpy(d->partial + d->partial_len, p, take);
            d->partial_len = (uint16_t)(d->partial_len + take);
            p += take;
            if (d->partial_len < TS_PACKET_SIZE) break;
            d->partial_len = 0;
            parse_packet(d, d->partial);
            continue;
        }
        if (*p != TS_SYNC) {
            p = resync(d, p, end);
            continue;
        }
        d->synced = true;
        if (end - p < TS_PACKET_SIZE) {
            d->partial_len = (uint16_t)(end - p);
            memcpy(d->partial, p, d->partial_len);
            break;
        }
        parse_packet(d, p);
        p += TS_PACKET_SIZE;
    }
    return d->skipped_in_row >= TS_NOT_TS_AFTER ? -EINVAL : 0;
}

void ts_demux_mark_loss(struct ts_demux *d)
{
    d->partial_len = 0;
    struct ts_pes *streams[2] = {&d->video.pes, &d->audio.pes};
    for (int i = 0; i < 2; i++) {
        pes_loss(d, streams[i]);
        streams[i]->cc = -1;
    }
    d->pat.started = d->pmt.started = false;
    d->pat.cc = d->pmt.cc = -1;
}

void ts_demux_flush(struct ts_demux *d)
{
    ts_video_complete(d);
    if (d->audio.pes.state == TS_PES_PAYLOAD) pes_end(d, &d->audio.pes);
    ts_audio_flush(d);
}
