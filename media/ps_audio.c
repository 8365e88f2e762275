/*
 * Audio side of the PS demuxer: binds the audio stream to a codec (from the PSM, or probed) and hands its PES
 * payload to the frame cutter shared with the TS demuxer (audio_es.h: one frame per PES for raw codecs -
 * G.711, G.722, G.723, G.729, MP3 - one frame per ADTS frame for AAC).
 *
 * Without a PSM entry the codec is guessed from the first payload bytes: a valid ADTS header (and a frame
 * that fits in the PES) means AAC; anything else is taken as G.711 A-law, the codec GB/T 28181 requires
 * every device to support and the one cameras send by default (mu-law cannot be told from A-law by the
 * bytes alone, and an MPEG audio sync would collide with mu-law silence, 0xFF).
 */
#include "media/ps_internal.h"

#include <string.h>

static struct audio_es_out out(struct ps_demux *d)
{
    return (struct audio_es_out){&d->cb,
                                 d->arg,
                                 d->max_frame,
                                 &d->stats.audio_frames,
                                 &d->stats.frames_dropped,
                                 &d->stats.bytes_skipped};
}

void ps_audio_init(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    memset(a, 0, sizeof *a);
    a->mode = PS_AUDIO_PROBE;
    audio_es_init(&a->es);
}

void ps_audio_destroy(struct ps_demux *d)
{
    audio_es_drop_frame(&d->audio.es);
}

void ps_audio_set_codec(struct ps_demux *d, enum codec_id codec)
{
    struct ps_audio *a = &d->audio;
    if (a->es.track.codec == codec && a->mode != PS_AUDIO_PROBE) return;
    audio_es_set_codec(&a->es, codec);
    a->mode = codec == CODEC_AAC ? PS_AUDIO_ADTS : PS_AUDIO_RAW;
}

/* No PSM entry: look at the first payload bytes (see the top of the file). */
static void probe(struct ps_demux *d, bool pes_ended)
{
    struct ps_audio *a = &d->audio;
    struct adts_header h;
    enum codec_id codec = CODEC_G711A;
    if (a->es.stash_len > 0 && a->es.stash[0] == 0xff) {
        if (a->es.stash_len < ADTS_HEADER_LEN && !pes_ended) return; /* need more */
        if (adts_parse_header(a->es.stash, a->es.stash_len, &h) == 0 &&
            (a->pes_len == 0 || h.frame_len <= a->pes_len))
            codec = CODEC_AAC;
    }
    uint8_t stash[ADTS_HEADER_LEN_CRC];
    uint8_t n = a->es.stash_len;
    memcpy(stash, a->es.stash, n);
    bool has_pts = a->es.pes_has_pts;
    ps_audio_set_codec(d, codec);
    a->es.pes_has_pts = has_pts;
    if (codec != CODEC_AAC) audio_es_raw_start(&a->es, a->pes_len);
    ps_audio_payload(d, stash, n);
}

void ps_audio_pes_start(struct ps_demux *d, bool has_pts, int64_t pts, uint32_t payload_len)
{
    struct ps_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    if (a->mode == PS_AUDIO_RAW && a->es.buf) audio_es_raw_end(&a->es, &o); /* previous PES was unbounded */
    audio_es_pes_start(&a->es, has_pts, pts);
    a->pes_len = payload_len;
    if (a->mode == PS_AUDIO_PROBE) a->es.stash_len = 0;
    if (a->mode == PS_AUDIO_RAW) audio_es_raw_start(&a->es, payload_len);
}

void ps_audio_payload(struct ps_demux *d, const uint8_t *p, size_t n)
{
    struct ps_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    switch (a->mode) {
    case PS_AUDIO_RAW: audio_es_raw_payload(&a->es, &o, p, n); break;
    case PS_AUDIO_ADTS: audio_es_adts_payload(&a->es, &o, p, n); break;
    case PS_AUDIO_PROBE:
        while (n > 0 && a->mode == PS_AUDIO_PROBE) {
            size_t room = (size_t)(ADTS_HEADER_LEN - a->es.stash_len), used = room < n ? room : n;
            memcpy(a->es.stash + a->es.stash_len, p, used);
            a->es.stash_len += (uint8_t)used;
            if (a->es.stash[0] != 0xff || a->es.stash_len >= ADTS_HEADER_LEN) probe(d, false);
            p += used;
            n -= used;
        }
        if (n > 0) ps_audio_payload(d, p, n); /* the rest goes to the codec just chosen */
        break;
    }
}

void ps_audio_pes_end(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    if (a->mode == PS_AUDIO_PROBE && a->es.stash_len > 0) probe(d, true);
    if (a->mode == PS_AUDIO_RAW) {
        struct audio_es_out o = out(d);
        audio_es_raw_end(&a->es, &o);
    }
}

void ps_audio_flush(struct ps_demux *d)
{
    struct ps_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    if (a->mode == PS_AUDIO_RAW)
        audio_es_raw_end(&a->es, &o);
    else if (a->mode == PS_AUDIO_ADTS)
        audio_es_adts_abort(&a->es, &o);
}

void ps_audio_loss(struct ps_demux *d)
{
    struct audio_es_out o = out(d);
    audio_es_loss(&d->audio.es, &o);
}
