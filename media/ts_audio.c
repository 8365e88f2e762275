/*
 * Audio side of the MPEG-TS demuxer: binds the PMT's audio stream (stream type 0x0f AAC in ADTS, 0x90/0x91
 * G.711 A/mu-law and the other GB/T 28181 audio types) to the frame cutter shared with the PS demuxer
 * (audio_es.h). A TS packet carries at most 184 bytes, so nearly every ADTS frame straddles packets; the
 * cutter takes its bytes wherever they fall. The codec always comes from the PMT: no probing here.
 */
#include "media/ts_internal.h"

#include <string.h>

/* Bytes hunted past for an ADTS sync are not counted: this demuxer's bytes_skipped is about the TS layer. */
static struct audio_es_out out(struct ts_demux *d)
{
    return (struct audio_es_out){
        &d->cb, d->arg, d->max_frame, &d->stats.audio_frames, &d->stats.frames_dropped, NULL};
}

void ts_audio_init(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    memset(a, 0, sizeof *a);
    ts_pes_reset(&a->pes, TS_PID_NONE, 0);
    audio_es_init(&a->es);
}

void ts_audio_destroy(struct ts_demux *d)
{
    audio_es_drop_frame(&d->audio.es);
}

void ts_audio_set_stream(struct ts_demux *d, uint16_t pid, uint8_t stream_type)
{
    struct ts_audio *a = &d->audio;
    if (a->pes.pid == pid && a->pes.stream_type == stream_type) return;
    ts_audio_flush(d); /* what is complete of the old stream still goes out */
    audio_es_drop_frame(&a->es);
    ts_pes_reset(&a->pes, pid, stream_type);
    enum codec_id codec = pid == TS_PID_NONE ? CODEC_NONE : codec_from_ps_stream_type(stream_type);
    a->es.pes_has_pts = false;
    a->es.stash_len = 0;
    a->es.adts_body = false;
    a->es.discard = false;
    a->raw = codec != CODEC_AAC;
    if (a->es.track.codec == codec) return; /* the same codec on a new PID: the track stands */
    audio_es_set_codec(&a->es, codec);
    a->es.next_pts = AUDIO_ES_TIME_UNKNOWN;
}

void ts_audio_pes_start(struct ts_demux *d, bool has_pts, int64_t pts)
{
    struct ts_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    if (a->raw && a->es.buf) audio_es_raw_end(&a->es, &o); /* the previous PES was unbounded */
    audio_es_pes_start(&a->es, has_pts, pts);
    if (a->raw) audio_es_raw_start(&a->es, 0);
}

void ts_audio_payload(struct ts_demux *d, const uint8_t *p, size_t n)
{
    struct ts_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    if (a->raw)
        audio_es_raw_payload(&a->es, &o, p, n);
    else
        audio_es_adts_payload(&a->es, &o, p, n);
}

void ts_audio_pes_end(struct ts_demux *d)
{
    struct audio_es_out o = out(d);
    if (d->audio.raw) audio_es_raw_end(&d->audio.es, &o);
}

void ts_audio_flush(struct ts_demux *d)
{
    struct ts_audio *a = &d->audio;
    struct audio_es_out o = out(d);
    if (a->raw)
        audio_es_raw_end(&a->es, &o);
    else
        audio_es_adts_abort(&a->es, &o);
}

void ts_audio_loss(struct ts_demux *d)
{
    struct audio_es_out o = out(d);
    audio_es_loss(&d->audio.es, &o);
    d->audio.es.discard = false;
}
