/*
 * Audio side of the MPEG-TS demuxer: one frame per ADTS frame for AAC (stream type 0x0f), one frame per PES
 * for the raw codecs (G.711 A/mu-law 0x90/0x91 and the other GB/T 28181 audio types), each copied once into
 * its own pooled frame buffer.
 *
 * ADTS frames are cut out of the payload wherever the TS and PES boundaries fall (a TS packet carries at most
 * 184 bytes, so nearly every ADTS frame straddles packets, and muxers put several frames in a PES): only the
 * 7/9-byte header is stashed, the raw data block goes straight into a buffer of the size the header
 * announces. The first ADTS frame that starts in a PES takes the PES PTS, the following ones are dated 1024
 * samples later each. This is the same cutting the PS demuxer's audio side does (ps_audio.c); the codec here
 * always comes from the PMT, so there is no probing.
 */
#include "media/ts_internal.h"

#include <string.h>

#define AUDIO_INITIAL_SIZE_HINT 2048

void ts_audio_init(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    memset(a, 0, sizeof *a);
    ts_pes_reset(&a->pes, TS_PID_NONE, 0);
    a->next_pts = TS_TIME_UNKNOWN;
    a->size_hint = AUDIO_INITIAL_SIZE_HINT;
}

static void drop_frame(struct ts_audio *a)
{
    gbuf_unref(a->buf);
    a->buf = NULL;
    a->len = a->expected = 0;
}

void ts_audio_destroy(struct ts_demux *d)
{
    drop_frame(&d->audio);
}

/* Clock rate and channels of the raw codecs (AAC's come from each ADTS header). */
/* Narrow-band speech codecs carry no header: their rate and (mono) layout are fixed by the codec. */
static void set_raw_track_params(struct media_track *t)
{
    t->sample_rate = codec_fixed_sample_rate(t->codec);
    t->channels = t->sample_rate ? 1 : 0;
}

void ts_audio_set_stream(struct ts_demux *d, uint16_t pid, uint8_t stream_type)
{
    struct ts_audio *a = &d->audio;
    if (a->pes.pid == pid && a->pes.stream_type == stream_type) return;
    ts_audio_flush(d); /* what is complete of the old stream still goes out */
    drop_frame(a);
    ts_pes_reset(&a->pes, pid, stream_type);
    enum codec_id codec = pid == TS_PID_NONE ? CODEC_NONE : codec_from_ps_stream_type(stream_type);
    a->pes_has_pts = false;
    a->stash_len = 0;
    a->adts_state = TS_ADTS_HEADER;
    a->discard = false;
    a->raw = codec != CODEC_AAC;
    if (a->track.codec == codec) return; /* the same codec on a new PID: the track stands */
    memset(&a->track, 0, sizeof a->track);
    a->track.codec = codec;
    a->track_changed = true;
    a->next_pts = TS_TIME_UNKNOWN;
    if (a->raw) set_raw_track_params(&a->track);
}

static int64_t take_frame_pts(struct ts_audio *a)
{
    if (a->pes_has_pts) {
        a->pes_has_pts = false;
        return a->pes_pts;
    }
    return a->next_pts != TS_TIME_UNKNOWN ? a->next_pts : 0;
}

/* Makes room for n more bytes in the frame being built; false when the frame would exceed max_frame. */
static bool reserve(struct ts_demux *d, size_t n)
{
    struct ts_audio *a = &d->audio;
    if ((size_t)a->len + n > d->max_frame) return false;
    size_t need = FRAME_HEADROOM + (size_t)a->len + n + FRAME_TAILROOM;
    if (!a->buf) {
        size_t want = FRAME_HEADROOM + (a->expected ? a->expected : a->size_hint) + FRAME_TAILROOM;
        a->buf = gbuf_alloc(want > need ? want : need);
    } else if (need > a->buf->cap) {
        a->buf = gbuf_grow(a->buf, FRAME_HEADROOM + (size_t)a->len, need);
    }
    return true;
}

static void emit_frame(struct ts_demux *d, int64_t duration)
{
    struct ts_audio *a = &d->audio;
    if (!a->buf || a->len == 0 || a->track.codec == CODEC_NONE) {
        drop_frame(a);
        return;
    }
    struct media_frame f = {0};
    f.buf = a->buf;
    f.off = FRAME_HEADROOM;
    f.len = a->len;
    f.codec = a->track.codec;
    f.pts = f.dts = a->frame_pts;
    f.key = true;
    a->size_hint = a->len;
    a->buf = NULL;
    a->len = a->expected = 0;
    a->next_pts = f.pts + duration;
    if (!a->announced || a->track_changed) {
        a->announced = true;
        a->track_changed = false;
        if (d->cb.on_track) d->cb.on_track(d->arg, &a->track);
    }
    d->stats.audio_frames++;
    if (d->cb.on_frame)
        d->cb.on_frame(d->arg, &f);
    else
        media_frame_release(&f);
}

/* Raw codecs: duration from the byte count where the codec fixes it (G.711: one byte per sample). */
static void emit_raw_frame(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    int64_t duration = 0;
    if (a->track.codec == CODEC_G711A || a->track.codec == CODEC_G711U)
        duration = (int64_t)a->len * 90000 / 8000;
    emit_frame(d, duration);
}

static void raw_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    struct ts_audio *a = &d->audio;
    if (a->discard) return;
    if (!reserve(d, n)) {
        d->stats.frames_dropped++;
        drop_frame(a);
        a->discard = true;
        return;
    }
    memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, n);
    a->len += (uint32_t)n;
}

/* A complete ADTS header is in the stash. */
static void adts_header_done(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    struct adts_header *h = &a->adts;
    if (aac_track_update_from_adts(&a->track, h)) a->track_changed = true;
    a->expected = h->frame_len - h->header_len;
    a->len = 0;
    a->adts_state = TS_ADTS_BODY;
    /* Several raw data blocks in one ADTS frame cannot be cut apart without decoding: skip the frame. */
    if (h->raw_blocks != 1) d->stats.frames_dropped++;
}

/* Drops at least `n` bytes from the front of the stash, then up to a plausible header start (0xFF then a
 * 0xFFF sync with layer 0), so that a header hidden behind a false sync is still found. */
static void adts_stash_drop(struct ts_audio *a, uint8_t n)
{
    for (;;) {
        while (n < a->stash_len && a->stash[n] != 0xff) n++;
        if (n >= a->stash_len) {
            a->stash_len = 0;
            return;
        }
        if (a->stash_len - n < 2 || (a->stash[n + 1] & 0xf6) == 0xf0) break;
        n++;
    }
    memmove(a->stash, a->stash + n, (size_t)(a->stash_len - n));
    a->stash_len = (uint8_t)(a->stash_len - n);
}

/* Feeds ADTS bytes; returns how many were used. */
static size_t adts_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    struct ts_audio *a = &d->audio;
    if (a->adts_state == TS_ADTS_BODY) {
        size_t take = a->expected - a->len < n ? a->expected - a->len : n;
        if (a->adts.raw_blocks == 1) {
            if (!reserve(d, take)) return n; /* cannot happen: ADTS frames are < 8 KiB */
            memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, take);
        }
        a->len += (uint32_t)take;
        if (a->len == a->expected) {
            a->adts_state = TS_ADTS_HEADER;
            a->stash_len = 0;
            uint32_t rate = a->track.sample_rate ? a->track.sample_rate : 8000;
            if (a->adts.raw_blocks == 1)
                emit_frame(d, (int64_t)AAC_SAMPLES_PER_FRAME * 90000 / rate);
            else
                drop_frame(a);
        }
        return take;
    }
    size_t used = 0;
    while (used < n) { /* header: find the 0xFFF sync, then collect 7 (or 9 with CRC) bytes */
        uint8_t b = p[used++];
        if (a->stash_len == 0) {
            if (b != 0xff) continue;
            a->frame_pts = take_frame_pts(a);
        }
        a->stash[a->stash_len++] = b;
        if (a->stash_len == 2 && (b & 0xf6) != 0xf0) { /* no sync: restart, maybe on this byte */
            adts_stash_drop(a, 1);
            continue;
        }
        if (a->stash_len < ADTS_HEADER_LEN) continue;
        if (a->stash_len == ADTS_HEADER_LEN && adts_parse_header(a->stash, a->stash_len, &a->adts) != 0) {
            adts_stash_drop(a, 1); /* a false sync: look for the next one inside the stash */
            continue;
        }
        if (a->stash_len < a->adts.header_len) continue;
        adts_header_done(d);
        if (a->expected == 0) { /* an empty frame */
            a->adts_state = TS_ADTS_HEADER;
            a->stash_len = 0;
            continue;
        }
        return used;
    }
    return used;
}

void ts_audio_pes_start(struct ts_demux *d, bool has_pts, int64_t pts)
{
    struct ts_audio *a = &d->audio;
    if (a->raw && a->buf) emit_raw_frame(d); /* the previous PES was unbounded */
    a->pes_has_pts = has_pts;
    a->pes_pts = pts;
    if (a->raw) {
        a->frame_pts = take_frame_pts(a);
        a->len = a->expected = 0;
        a->discard = false;
    }
}

void ts_audio_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    struct ts_audio *a = &d->audio;
    if (a->raw) {
        raw_payload(d, p, n);
        return;
    }
    while (n > 0) {
        size_t used = adts_payload(d, p, n);
        p += used;
        n -= used;
    }
}

void ts_audio_pes_end(struct ts_demux *d)
{
    if (d->audio.raw) emit_raw_frame(d);
}

void ts_audio_flush(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    if (a->raw) {
        emit_raw_frame(d);
    } else if (a->adts_state == TS_ADTS_BODY) {
        if (a->adts.raw_blocks == 1) d->stats.frames_dropped++; /* a truncated AAC frame cannot be decoded */
        drop_frame(a);
        a->adts_state = TS_ADTS_HEADER;
        a->stash_len = 0;
    }
}

void ts_audio_loss(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    if (a->len > 0 || (a->adts_state == TS_ADTS_BODY && a->adts.raw_blocks == 1)) d->stats.frames_dropped++;
    drop_frame(a);
    a->pes_has_pts = false;
    a->stash_len = 0;
    a->adts_state = TS_ADTS_HEADER;
    a->discard = false;
}
