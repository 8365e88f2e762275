/*
 * Audio side of the PS demuxer: one frame per PES for raw codecs (G.711, G.722, G.723, G.729, MP3), one
 * frame per ADTS frame for AAC, each copied once into its own frame buffer.
 *
 * ADTS frames are cut out of the stream's payload bytes wherever the PES boundaries fall (several frames per
 * PES, or a frame straddling two PES): only the 7/9-byte header is stashed, the raw data block goes straight
 * into a buffer of the size the header announces. The first ADTS frame that starts in a PES takes the PES
 * PTS; the following ones are dated 1024 samples apart.
 *
 * Without a PSM entry the codec is guessed from the first payload bytes: a valid ADTS header (and a frame
 * that fits in the PES) means AAC; anything else is taken as G.711 A-law, the codec GB/T 28181 requires
 * every device to support and the one cameras send by default (mu-law cannot be told from A-law by the
 * bytes alone, and an MPEG audio sync would collide with mu-law silence, 0xFF).
 */
#include "media/ps_internal.h"

#include <string.h>

#define AUDIO_INITIAL_SIZE_HINT 2048

void ps_audio_init(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    memset(a, 0, sizeof *a);
    a->sync = PS_AUDIO_PROBE;
    a->next_pts = PS_TIME_UNKNOWN;
    a->size_hint = AUDIO_INITIAL_SIZE_HINT;
}

static void drop_frame(struct ps_audio *a)
{
    gbuf_unref(a->buf);
    a->buf = NULL;
    a->len = a->expected = 0;
}

void ps_audio_destroy(struct ps_demux *d)
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

void ps_audio_set_codec(struct ps_demux *d, enum codec_id codec)
{
    struct ps_audio *a = &d->audio;
    if (a->track.codec == codec && a->sync != PS_AUDIO_PROBE) return;
    drop_frame(a);
    memset(&a->track, 0, sizeof a->track);
    a->track.codec = codec;
    a->track_changed = true;
    a->stash_len = 0;
    if (codec == CODEC_AAC) {
        a->sync = PS_AUDIO_ADTS_HEADER;
    } else {
        a->sync = PS_AUDIO_RAW;
        set_raw_track_params(&a->track);
    }
}

static int64_t take_frame_pts(struct ps_audio *a)
{
    if (a->pes_has_pts) {
        a->pes_has_pts = false;
        return a->pes_pts;
    }
    return a->next_pts != PS_TIME_UNKNOWN ? a->next_pts : 0;
}

/* Makes room for n more bytes in the frame being built; false when the frame would exceed max_frame. */
static bool reserve(struct ps_demux *d, size_t n)
{
    struct ps_audio *a = &d->audio;
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

static void emit_frame(struct ps_demux *d, int64_t duration)
{
    struct ps_audio *a = &d->audio;
    if (!a->buf || a->len == 0) {
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
static void emit_raw_frame(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    int64_t duration = 0;
    if (a->track.codec == CODEC_G711A || a->track.codec == CODEC_G711U)
        duration = (int64_t)a->len * 90000 / 8000;
    emit_frame(d, duration);
}

static void start_raw_frame(struct ps_audio *a, uint32_t payload_len)
{
    a->frame_pts = take_frame_pts(a);
    a->expected = payload_len;
    a->len = 0;
    a->discard = false;
}

static void raw_payload(struct ps_demux *d, const uint8_t *p, size_t n)
{
    struct ps_audio *a = &d->audio;
    if (a->discard) {
        d->stats.bytes_skipped += n;
        return;
    }
    if (!reserve(d, n)) {
        d->stats.frames_dropped++;
        drop_frame(a);
        a->discard = true;
        return;
    }
    memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, n);
    a->len += (uint32_t)n;
}

/* AAC: a complete ADTS header is in the stash. */
static void adts_header_done(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    struct adts_header *h = &a->adts;
    if (aac_track_update_from_adts(&a->track, h)) a->track_changed = true;
    a->expected = h->frame_len - h->header_len;
    a->len = 0;
    a->sync = PS_AUDIO_ADTS_BODY;
    /* Several raw data blocks in one ADTS frame cannot be cut apart without decoding: skip the frame. */
    if (h->raw_blocks != 1) d->stats.frames_dropped++;
}

/* Drops at least `n` bytes from the front of the ADTS stash, then up to a plausible header start (0xFF
 * followed by a 0xFFF sync with layer 0), so that a header hidden behind a false sync is still found. */
static void adts_stash_drop(struct ps_demux *d, uint8_t n)
{
    struct ps_audio *a = &d->audio;
    for (;;) {
        while (n < a->stash_len && a->stash[n] != 0xff) n++;
        if (n >= a->stash_len) {
            d->stats.bytes_skipped += a->stash_len;
            a->stash_len = 0;
            return;
        }
        if (a->stash_len - n < 2 || (a->stash[n + 1] & 0xf6) == 0xf0) break;
        n++;
    }
    d->stats.bytes_skipped += n;
    memmove(a->stash, a->stash + n, (size_t)(a->stash_len - n));
    a->stash_len = (uint8_t)(a->stash_len - n);
}

/* Feeds ADTS bytes; returns how many were used. */
static size_t adts_payload(struct ps_demux *d, const uint8_t *p, size_t n)
{
    struct ps_audio *a = &d->audio;
    if (a->sync == PS_AUDIO_ADTS_BODY) {
        size_t take = a->expected - a->len < n ? a->expected - a->len : n;
        if (a->adts.raw_blocks == 1) {
            if (!reserve(d, take)) return n; /* cannot happen: ADTS frames are < 8 KiB */
            memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, take);
        }
        a->len += (uint32_t)take;
        if (a->len == a->expected) {
            a->sync = PS_AUDIO_ADTS_HEADER;
            a->stash_len = 0;
            uint32_t rate = a->track.sample_rate ? a->track.sample_rate : 8000;
            if (a->adts.raw_blocks == 1)
                emit_frame(d, (int64_t)AAC_SAMPLES_PER_FRAME * 90000 / rate);
            else
                drop_frame(a);
        }
        return take;
    }
    /* header: find the 0xFFF sync, then collect 7 (or 9 with CRC) bytes */
    size_t used = 0;
    while (used < n) {
        uint8_t b = p[used++];
        if (a->stash_len == 0) {
            if (b != 0xff) {
                d->stats.bytes_skipped++;
                continue;
            }
            a->frame_pts = take_frame_pts(a);
        }
        a->stash[a->stash_len++] = b;
        if (a->stash_len == 2 && (b & 0xf6) != 0xf0) { /* no sync: restart, maybe on this byte */
            adts_stash_drop(d, 1);
            continue;
        }
        if (a->stash_len < ADTS_HEADER_LEN) continue;
        if (a->stash_len == ADTS_HEADER_LEN && adts_parse_header(a->stash, a->stash_len, &a->adts) != 0) {
            adts_stash_drop(d, 1); /* a false sync: look for the next one inside the stash */
            continue;
        }
        if (a->stash_len < a->adts.header_len) continue;
        adts_header_done(d);
        if (a->expected == 0) { /* an empty frame */
            a->sync = PS_AUDIO_ADTS_HEADER;
            a->stash_len = 0;
            continue;
        }
        return used;
    }
    return used;
}

/* No PSM entry: look at the first payload bytes (see the top of the file). */
static void probe(struct ps_demux *d, bool pes_ended)
{
    struct ps_audio *a = &d->audio;
    struct adts_header h;
    enum codec_id codec = CODEC_G711A;
    if (a->stash_len > 0 && a->stash[0] == 0xff) {
        if (a->stash_len < ADTS_HEADER_LEN && !pes_ended) return; /* need more */
        if (adts_parse_header(a->stash, a->stash_len, &h) == 0 &&
            (a->pes_len == 0 || h.frame_len <= a->pes_len))
            codec = CODEC_AAC;
    }
    uint8_t stash[ADTS_HEADER_LEN_CRC];
    uint8_t n = a->stash_len;
    memcpy(stash, a->stash, n);
    bool has_pts = a->pes_has_pts;
    ps_audio_set_codec(d, codec);
    a->pes_has_pts = has_pts;
    if (codec != CODEC_AAC) start_raw_frame(a, a->pes_len);
    ps_audio_payload(d, stash, n);
}

void ps_audio_pes_start(struct ps_demux *d, bool has_pts, int64_t pts, uint32_t payload_len)
{
    struct ps_audio *a = &d->audio;
    if (a->sync == PS_AUDIO_RAW && a->buf) emit_raw_frame(d); /* previous PES was unbounded */
    a->pes_has_pts = has_pts;
    a->pes_pts = pts;
    a->pes_len = payload_len;
    if (a->sync == PS_AUDIO_PROBE) a->stash_len = 0;
    if (a->sync == PS_AUDIO_RAW) start_raw_frame(a, payload_len);
}

void ps_audio_payload(struct ps_demux *d, const uint8_t *p, size_t n)
{
    struct ps_audio *a = &d->audio;
    while (n > 0) {
        size_t used = n;
        switch (a->sync) {
        case PS_AUDIO_PROBE:
            used =
                (size_t)(ADTS_HEADER_LEN - a->stash_len) < n ? (size_t)(ADTS_HEADER_LEN - a->stash_len) : n;
            memcpy(a->stash + a->stash_len, p, used);
            a->stash_len += (uint8_t)used;
            if (a->stash[0] != 0xff || a->stash_len >= ADTS_HEADER_LEN) probe(d, false);
            break;
        case PS_AUDIO_RAW: raw_payload(d, p, n); break;
        case PS_AUDIO_ADTS_HEADER:
        case PS_AUDIO_ADTS_BODY: used = adts_payload(d, p, n); break;
        }
        p += used;
        n -= used;
    }
}

void ps_audio_pes_end(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    if (a->sync == PS_AUDIO_PROBE && a->stash_len > 0) probe(d, true);
    if (a->sync == PS_AUDIO_RAW) emit_raw_frame(d);
}

void ps_audio_flush(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    if (a->sync == PS_AUDIO_RAW) {
        emit_raw_frame(d);
    } else if (a->sync == PS_AUDIO_ADTS_BODY) {
        d->stats.frames_dropped++; /* a truncated AAC frame cannot be decoded */
        drop_frame(a);
        a->sync = PS_AUDIO_ADTS_HEADER;
        a->stash_len = 0;
    }
}

void ps_audio_loss(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    if (a->len > 0 || (a->sync == PS_AUDIO_ADTS_BODY && a->adts.raw_blocks == 1)) d->stats.frames_dropped++;
    drop_frame(a);
    a->pes_has_pts = false;
    a->stash_len = 0;
    if (a->sync == PS_AUDIO_ADTS_BODY) a->sync = PS_AUDIO_ADTS_HEADER;
}
