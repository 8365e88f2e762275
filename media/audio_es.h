/*
 * Private to the PS and TS demultiplexers (media/ps_audio.c, media/ts_audio.c): an audio elementary stream
 * cut into frames, each copied once into its own pooled frame buffer - one frame per PES for the raw codecs
 * (G.711 and the other headerless GB/T 28181 codecs), one frame per ADTS frame for AAC.
 *
 * ADTS frames are cut out of the payload wherever the container's boundaries fall (several frames per PES, a
 * frame straddling PES or TS packets): only the 7/9-byte header is stashed, the raw data block goes straight
 * into a buffer of the size the header announces. The first ADTS frame that starts in a PES takes the PES
 * PTS; the following ones are dated 1024 samples later each.
 *
 * The two containers differ only around this (which stream is audio and which codec it carries, PES
 * bounds, probing in PS); the cutting, dating and emitting live here once.
 */
#ifndef GB_MEDIA_AUDIO_ES_H
#define GB_MEDIA_AUDIO_ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/aac.h"
#include "media/ps_demux.h"

#define AUDIO_ES_TIME_UNKNOWN INT64_MIN

struct audio_es {
    bool announced, track_changed; /* on_track is called before the first frame and after each change */
    struct media_track track;
    /* PES timing */
    bool pes_has_pts;
    int64_t pes_pts;
    int64_t next_pts; /* extrapolated start of the next frame */
    /* the frame being built */
    struct gbuf *buf;
    uint32_t len, expected; /* bytes written / bytes the frame will have (0 = unknown) */
    bool discard;           /* raw frame over max_frame: the rest of its PES is skipped */
    int64_t frame_pts;
    uint32_t size_hint;
    /* AAC: the ADTS header being collected, or the body of the frame it announced */
    bool adts_body;
    uint8_t stash[ADTS_HEADER_LEN_CRC];
    uint8_t stash_len;
    struct adts_header adts;
};

/* Where an audio stream's frames and counts go: the owning demuxer's callbacks and statistics. */
struct audio_es_out {
    const struct ps_demux_callbacks *cb;
    void *arg;
    size_t max_frame;
    uint64_t *audio_frames, *frames_dropped;
    uint64_t *bytes_skipped; /* NULL: bytes skipped hunting for an ADTS sync are not counted */
};

void audio_es_init(struct audio_es *a);
/* Forgets the frame being built. */
void audio_es_drop_frame(struct audio_es *a);
/* A new codec (track changed, nothing half-built kept): raw codecs get their fixed rate and mono layout. */
void audio_es_set_codec(struct audio_es *a, enum codec_id codec);
/* A PES starts (its PTS, when it has one, dates the next frame that starts in it). */
void audio_es_pes_start(struct audio_es *a, bool has_pts, int64_t pts);
/* Raw codecs: a frame of (up to) payload_len bytes starts with this PES (0 = unbounded). */
void audio_es_raw_start(struct audio_es *a, uint32_t payload_len);
void audio_es_raw_payload(struct audio_es *a, const struct audio_es_out *o, const uint8_t *p, size_t n);
/* Raw codecs: the frame is complete (duration from the byte count where the codec fixes it). */
void audio_es_raw_end(struct audio_es *a, const struct audio_es_out *o);
/* AAC: feeds ADTS bytes, emitting each complete frame. */
void audio_es_adts_payload(struct audio_es *a, const struct audio_es_out *o, const uint8_t *p, size_t n);
/* AAC: the stream stopped in the middle of a frame (flush, stream change): it is dropped (counted when it
 * would have been emitted). */
void audio_es_adts_abort(struct audio_es *a, const struct audio_es_out *o);
/* Packets were lost: the frame being built and any half header are dropped (counted when it had data). */
void audio_es_loss(struct audio_es *a, const struct audio_es_out *o);

#endif
