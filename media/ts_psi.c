/*
 * MPEG-TS program-specific information: PAT and PMT sections, reassembled across TS packets, and the choice
 * of the elementary streams the demuxer follows (the first video and the first audio stream of the first
 * program).
 *
 * A section starts where the pointer_field of a packet with payload_unit_start_indicator says; the bytes
 * before that finish the previous section. Several sections may follow each other in one packet until a
 * 0xFF stuffing byte. section_length is bounded (1021 for these tables) and every loop inside a section
 * stops at the section's end minus its CRC_32 (which is not checked, like the PS demuxer's PSM CRC): an
 * entry that overruns that end is dropped and counted, the entries before it are kept.
 */
#include "media/ts_internal.h"

#include <string.h>

#include "media/rtp.h"

#define SECTION_LENGTH_MAX 1021
#define TABLE_PAT          0x00
#define TABLE_PMT          0x02
#define PAT_FIXED          8  /* table_id .. last_section_number */
#define PMT_FIXED          12 /* table_id .. program_info_length */
#define CRC_LEN            4

void ts_section_reset(struct ts_section *s, uint16_t pid)
{
    s->pid = pid;
    s->cc = -1;
    s->started = false;
    s->len = 0;
}

/* PIDs an elementary stream or a PMT may not use: the PAT, the CAT and the null packets. */
static bool pid_usable(uint16_t pid)
{
    return pid > 0x0001 && pid != TS_PID_NULL;
}

static void parse_pat(struct ts_demux *d, const uint8_t *b, size_t total)
{
    if (!(b[1] & 0x80) || total < PAT_FIXED + CRC_LEN) {
        d->stats.psi_errors++;
        return;
    }
    if (!(b[5] & 0x01)) return; /* current_next_indicator 0: not in force yet */
    d->stats.pat++;
    size_t end = total - CRC_LEN;
    for (size_t pos = PAT_FIXED; pos + 4 <= end; pos += 4) {
        uint16_t program = rtp_rd16(b + pos), pid = rtp_rd16(b + pos + 2) & 0x1fff;
        if (program == 0 || !pid_usable(pid)) continue; /* 0: the network information table */
        if (pid != d->pmt.pid || program != d->program_number) {
            ts_section_reset(&d->pmt, pid);
            d->program_number = program;
        }
        return;
    }
}

static void parse_pmt(struct ts_demux *d, const uint8_t *b, size_t total)
{
    if (!(b[1] & 0x80) || total < PMT_FIXED + CRC_LEN) {
        d->stats.psi_errors++;
        return;
    }
    if (!(b[5] & 0x01)) return;
    if (rtp_rd16(b + 3) != d->program_number) return; /* another program's map on the same PID */
    size_t end = total - CRC_LEN;
    size_t pos = PMT_FIXED + (rtp_rd16(b + 10) & 0x0fff);
    if (pos > end) {
        d->stats.psi_errors++;
        return;
    }
    d->stats.pmt++;
    uint16_t video_pid = TS_PID_NONE, audio_pid = TS_PID_NONE;
    uint8_t video_type = 0, audio_type = 0;
    while (pos + 5 <= end) {
        uint8_t type = b[pos];
        uint16_t pid = rtp_rd16(b + pos + 1) & 0x1fff;
        pos += 5u + (rtp_rd16(b + pos + 3) & 0x0fff);
        if (pos > end) {
            d->stats.psi_errors++; /* es_info_length overruns the section: this entry cannot be trusted */
            break;
        }
        if (!pid_usable(pid) || pid == d->pmt.pid) continue;
        enum codec_id codec = codec_from_ps_stream_type(type);
        if (codec_is_video(codec) && video_pid == TS_PID_NONE && pid != audio_pid) {
            video_pid = pid;
            video_type = type;
        } else if (codec_is_audio(codec) && audio_pid == TS_PID_NONE && pid != video_pid) {
            audio_pid = pid;
            audio_type = type;
        }
    }
    ts_video_set_stream(d, video_pid, video_type);
    ts_audio_set_stream(d, audio_pid, audio_type);
}

static void section_done(struct ts_demux *d, struct ts_section *s)
{
    if (s == &d->pat && s->buf[0] == TABLE_PAT)
        parse_pat(d, s->buf, s->len);
    else if (s == &d->pmt && s->buf[0] == TABLE_PMT)
        parse_pmt(d, s->buf, s->len);
}

/* Section bytes, possibly several sections back to back. */
static void section_feed(struct ts_demux *d, struct ts_section *s, const uint8_t *p, size_t n)
{
    while (n > 0 && s->started) {
        bool header = s->len < 3; /* table_id and section_length first */
        size_t need = header ? 3 : 3u + (((s->buf[1] & 0x0f) << 8) | s->buf[2]);
        size_t take = need - s->len < n ? need - s->len : n;
        memcpy(s->buf + s->len, p, take);
        s->len = (uint16_t)(s->len + take);
        p += take;
        n -= take;
        if (s->len < need) return;
        if (header) {
            size_t section_length = ((s->buf[1] & 0x0f) << 8) | s->buf[2];
            if (s->buf[0] == 0xff) { /* stuffing: no more sections in this packet */
                s->started = false;
            } else if (section_length == 0 || section_length > SECTION_LENGTH_MAX) {
                d->stats.psi_errors++;
                s->started = false;
            }
            continue;
        }
        section_done(d, s);
        s->len = 0;
    }
}

void ts_section_input(struct ts_demux *d, struct ts_section *s, const uint8_t *p, size_t n, bool pusi)
{
    if (pusi) {
        if (n < 1) return;
        size_t pointer = p[0];
        p++;
        n--;
        if (pointer > n) {
            d->stats.psi_errors++;
            s->started = false;
            return;
        }
        if (s->started && s->len > 0) section_feed(d, s, p, pointer); /* the previous section's tail */
        p += pointer;
        n -= pointer;
        s->started = true;
        s->len = 0;
    }
    section_feed(d, s, p, n);
}
