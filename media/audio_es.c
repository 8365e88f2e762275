/*
 * Audio frames out of an audio elementary stream, shared by the PS and TS demuxers (see audio_es.h).
 */
#include "media/audio_es.h"

#include <string.h>

#include "media/codec.h"
#include "media/frame.h"

#define AUDIO_INITIAL_SIZE_HINT 2048

static void count(uint64_t *counter, uint64_t n)
{
    if (counter) *counter += n;
}

void audio_es_init(struct audio_es *a)
{
    memset(a, 0, sizeof *a);
    a->next_pts = AUDIO_ES_TIME_UNKNOWN;
    a->size_hint = AUDIO_INITIAL_SIZE_HINT;
}

void audio_es_drop_frame(struct audio_es *a)
{
    gbuf_unref(a->buf);
    a->buf = NULL;
    a->len = a->expected = 0;
}

void audio_es_set_codec(struct audio_es *a, enum codec_id codec)
{
    audio_es_drop_frame(a);
    memset(&a->track, 0, sizeof a->track);
    a->track.codec = codec;
    a->track_changed = true;
    a->stash_len = 0;
    a->adts_body = false;
    if (codec != CODEC_AAC) { /* headerless speech codecs: rate and (mono) layout are fixed by the codec */
        a->track.sample_rate = codec_fixed_sample_rate(codec);
        a->track.channels = a->track.sample_rate ? 1 : 0;
    }
}

void audio_es_pes_start(struct audio_es *a, bool has_pts, int64_t pts)
{
    a->pes_has_pts = has_pts;
    a->pes_pts = pts;
}

static int64_t take_frame_pts(struct audio_es *a)
{
    if (a->pes_has_pts) {
        a->pes_has_pts = false;
        return a->pes_pts;
    }
    return a->next_pts != AUDIO_ES_TIME_UNKNOWN ? a->next_pts : 0;
}

/* Makes room for n more bytes in the frame being built; false when the frame would exceed max_frame. */
static bool reserve(struct audio_es *a, const struct audio_es_out *o, size_t n)
{
    if ((size_t)a->len + n > o->max_frame) return false;
    size_t need = FRAME_HEADROOM + (size_t)a->len + n + FRAME_TAILROOM;
    if (!a->buf) {
        size_t want = FRAME_HEADROOM + (a->expected ? a->expected : a->size_hint) + FRAME_TAILROOM;
        a->buf = gbuf_alloc(want > need ? want : need);
    } else if (need > a->buf->cap) {
        a->buf = gbuf_grow(a->buf, FRAME_HEADROOM + (size_t)a->len, need);
    }
    return true;
}

static void emit_frame(struct audio_es *a, const struct audio_es_out *o, int64_t duration)
{
    if (!a->buf || a->len == 0 || a->track.codec == CODEC_NONE) {
        audio_es_drop_frame(a);
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
        if (o->cb->on_track) o->cb->on_track(o->arg, &a->track);
    }
    count(o->audio_frames, 1);
    if (o->cb->on_frame)
        o->cb->on_frame(o->arg, &f);
    else
        media_frame_release(&f);
}

/* ---- raw codecs: one frame per PES ---- */

void audio_es_raw_start(struct audio_es *a, uint32_t payload_len)
{
    a->frame_pts = take_frame_pts(a);
    a->expected = payload_len;
    a->len = 0;
    a->discard = false;
}

void audio_es_raw_payload(struct audio_es *a, const struct audio_es_out *o, const uint8_t *p, size_t n)
{
    if (a->discard) {
        count(o->bytes_skipped, n);
        return;
    }
    if (!reserve(a, o, n)) {
        count(o->frames_dropped, 1);
        audio_es_drop_frame(a);
        a->discard = true;
        return;
    }
    memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, n);
    a->len += (uint32_t)n;
}

void audio_es_raw_end(struct audio_es *a, const struct audio_es_out *o)
{
    int64_t duration = 0; /* G.711: one byte per sample at 8 kHz */
    if (codec_is_g711(a->track.codec)) duration = (int64_t)a->len * 90000 / 8000;
    emit_frame(a, o, duration);
}

/* ---- AAC in ADTS ---- */

/* A complete ADTS header is in the stash. */
static void adts_header_done(struct audio_es *a, const struct audio_es_out *o)
{
    struct adts_header *h = &a->adts;
    if (aac_track_update_from_adts(&a->track, h)) a->track_changed = true;
    a->expected = h->frame_len - h->header_len;
    a->len = 0;
    a->adts_body = true;
    /* Several raw data blocks in one ADTS frame cannot be cut apart without decoding: skip the frame. */
    if (h->raw_blocks != 1) count(o->frames_dropped, 1);
}

/* Drops at least `n` bytes from the front of the stash, then up to a plausible header start (0xFF followed
 * by a 0xFFF sync with layer 0), so that a header hidden behind a false sync is still found. */
static void adts_stash_drop(struct audio_es *a, const struct audio_es_out *o, uint8_t n)
{
    for (;;) {
        while (n < a->stash_len && a->stash[n] != 0xff) n++;
        if (n >= a->stash_len) {
            count(o->bytes_skipped, a->stash_len);
            a->stash_len = 0;
            return;
        }
        if (a->stash_len - n < 2 || (a->stash[n + 1] & 0xf6) == 0xf0) break;
        n++;
    }
    count(o->bytes_skipped, n);
    memmove(a->stash, a->stash + n, (size_t)(a->stash_len - n));
    a->stash_len = (uint8_t)(a->stash_len - n);
}

/* Feeds ADTS bytes; returns how many were used. */
static size_t adts_step(struct audio_es *a, const struct audio_es_out *o, const uint8_t *p, size_t n)
{
    if (a->adts_body) {
        size_t take = a->expected - a->len < n ? a->expected - a->len : n;
        if (a->adts.raw_blocks == 1) {
            if (!reserve(a, o, take)) return n; /* cannot happen: ADTS frames are < 8 KiB */
            memcpy(a->buf->data + FRAME_HEADROOM + a->len, p, take);
        }
        a->len += (uint32_t)take;
        if (a->len == a->expected) {
            a->adts_body = false;
            a->stash_len = 0;
            uint32_t rate = a->track.sample_rate ? a->track.sample_rate : 8000;
            if (a->adts.raw_blocks == 1)
                emit_frame(a, o, (int64_t)AAC_SAMPLES_PER_FRAME * 90000 / rate);
            else
                audio_es_drop_frame(a);
        }
        return take;
    }
    /* header: find the 0xFFF sync, then collect 7 (or 9 with CRC) bytes */
    size_t used = 0;
    while (used < n) {
        uint8_t b = p[used++];
        if (a->stash_len == 0) {
            if (b != 0xff) {
                count(o->bytes_skipped, 1);
                continue;
            }
            a->frame_pts = take_frame_pts(a);
        }
        a->stash[a->stash_len++] = b;
        if (a->stash_len == 2 && (b & 0xf6) != 0xf0) { /* no sync: restart, maybe on this byte */
            adts_stash_drop(a, o, 1);
            continue;
        }
        if (a->stash_len < ADTS_HEADER_LEN) continue;
        if (a->stash_len == ADTS_HEADER_LEN && adts_parse_header(a->stash, a->stash_len, &a->adts) != 0) {
            adts_stash_drop(a, o, 1); /* a false sync: look for the next one inside the stash */
            continue;
        }
        if (a->stash_len < a->adts.header_len) continue;
        adts_header_done(a, o);
        if (a->expected == 0) { /* an empty frame */
            a->adts_body = false;
            a->stash_len = 0;
            continue;
        }
        return used;
    }
    return used;
}

void audio_es_adts_payload(struct audio_es *a, const struct audio_es_out *o, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t used = adts_step(a, o, p, n);
        p += used;
        n -= used;
    }
}

void audio_es_adts_abort(struct audio_es *a, const struct audio_es_out *o)
{
    if (!a->adts_body) return;
    if (a->adts.raw_blocks == 1) count(o->frames_dropped, 1); /* a truncated AAC frame cannot be decoded */
    audio_es_drop_frame(a);
    a->adts_body = false;
    a->stash_len = 0;
}

void audio_es_loss(struct audio_es *a, const struct audio_es_out *o)
{
    if (a->len > 0 || (a->adts_body && a->adts.raw_blocks == 1)) count(o->frames_dropped, 1);
    audio_es_drop_frame(a);
    a->pes_has_pts = false;
    a->stash_len = 0;
    a->adts_body = false;
}
