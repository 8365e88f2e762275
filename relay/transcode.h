/*
 * Audio for browsers: G.711 (A-law / mu-law, as GB28181 cameras send it) -> AAC-LC, per stream.
 *
 * Browsers play FLV through MSE (mpegts.js), which takes AAC but not G.711, so a stream's G.711 is
 * transcoded once, on the media worker that owns the stream, and the AAC frames are shared by every viewer.
 * The module is pure: frames in, frames out through a callback; no I/O, no threads (it only logs, rate
 * limited). One transcoder belongs to one thread.
 *
 * Output: AAC-LC, 16 kHz, mono (stereo input is mixed as (L + R) / 2), 32 kbit/s, 1024 samples (64 ms) per
 * frame. Why 16 kHz:
 *  - 8 kHz -> 16 kHz is an exact 2:1 ratio, so a frame lasts exactly 5760 ticks of 90 kHz: timestamps are
 *    exact integers that never drift (at 44.1 kHz a frame is 2089.795... ticks);
 *  - a frame is 64 ms instead of 128 ms at 8 kHz: half the packetisation latency, finer A/V interleaving;
 *  - G.711 carries nothing above 4 kHz, so 44.1/48 kHz would cost three times the encoder work (frames per
 *    second) and more bitrate for no audible gain; 16 kHz is a standard AAC rate every MSE decoder takes.
 *
 * Timestamps: the output timeline counts samples from an anchor, the pts of the first input frame: AAC
 * frame k has pts = dts = anchor + k * 5760. While the input's own timestamps stay within 500 ms of that
 * sample count they are not used, so jittery camera stamps do not make the audio jittery, with one
 * exception: a frame stamped more than 60 ms later than the sample count expects means audio was lost, and
 * the hole is filled with silence so that the audio after it stays in sync with video (without the fill,
 * each lost frame would put the audio that much early, up to 500 ms). When the input jumps (a gap of more
 * than 500 ms, a frame stamped earlier than the previous one, or timestamps running more than 500 ms behind
 * the samples) the transcoder resyncs: the audio still buffered belongs to the old timeline and is discarded
 * (never emitted with wrong timestamps), and the timeline restarts at the new frame's pts.
 *
 * Each emitted frame is stamped with the time of the audio it decodes to, so audio stays aligned with
 * video: the encoder's first packet holds only its priming and is not emitted (see transcode.c). Delivery
 * lags the input by the pipeline's buffering (up to 1023 samples waiting for a full frame, the encoder's
 * two frames of priming delay and look-ahead, the resampler's 2 ms): 130-194 ms; timestamps stay exact.
 */
#ifndef GB_RELAY_TRANSCODE_H
#define GB_RELAY_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "media/frame.h"

#define TRANSCODE_OUT_RATE     16000
#define TRANSCODE_OUT_BITRATE  32000
#define TRANSCODE_MAX_INPUT    (64 * 1024) /* bytes per input frame; larger ones are rejected as malformed */
#define TRANSCODE_RESYNC_TICKS 45000       /* 500 ms of 90 kHz */
#define TRANSCODE_FILL_TICKS   5400        /* 60 ms: holes longer than this are filled with silence */
#define TRANSCODE_MIN_IN_RATE  8000
#define TRANSCODE_MAX_IN_RATE  48000
#define TRANSCODE_MAX_CHANNELS 2

struct audio_transcoder;

/* A transcoder from in_codec (CODEC_G711A or CODEC_G711U; in_rate 8000..48000 Hz, 1 or 2 interleaved
 * channels, downmixed to mono) to AAC. Everything it will need is allocated here. Returns NULL with a reason
 * in err when the parameters are not supported or libavcodec cannot open the encoder. */
struct audio_transcoder *audio_transcoder_create(enum codec_id in_codec, uint32_t in_rate,
                                                 uint8_t in_channels, char *err, size_t errsize);

/* Feeds one input frame (media/frame.h layout: payload at buf->data + off, len bytes; pts in 90 kHz, dts
 * ignored). Calls out(arg, frame) for every AAC frame that becomes ready: a new struct media_frame in a fresh
 * gbuf with FRAME_HEADROOM/FRAME_TAILROOM around one raw AAC access unit (no ADTS), codec CODEC_AAC, key =
 * true, pts = dts in 90 kHz as described above. The callee owns frame->buf.
 * Returns 0, or a negative errno: -EINVAL for a malformed frame (no buffer, payload outside it, codec not the
 * transcoder's, len 0 or not a multiple of the channel count, |pts| >= 2^60), -EMSGSIZE when len >
 * TRANSCODE_MAX_INPUT (both counted in bad_frames, nothing else changes), or the error libavcodec reported
 * (-ENOMEM, -EIO, ...; the pipeline then restarts on the next frame, as after a timestamp jump). */
int audio_transcoder_input(struct audio_transcoder *t, const struct media_frame *in,
                           void (*out)(void *arg, struct media_frame *frame), void *arg);

/* The AAC track: codec, sample_rate, channels, asc/asc_len (AudioSpecificConfig from the encoder's
 * extradata). Fixed for the life of the transcoder. */
const struct media_track *audio_transcoder_track(const struct audio_transcoder *t);

void audio_transcoder_destroy(struct audio_transcoder *t); /* NULL is fine; buffered audio is dropped */

struct audio_transcoder_stats {
    uint64_t frames_in;      /* accepted input frames */
    uint64_t frames_out;     /* AAC frames emitted */
    uint64_t samples_in;     /* accepted input samples (per channel) */
    uint64_t bad_frames;     /* rejected input frames */
    uint64_t resyncs;        /* timeline restarts after a jump in the input timestamps */
    uint64_t samples_filled; /* silent samples (input rate, per channel) put in the holes of lost audio */
};
void audio_transcoder_stats(const struct audio_transcoder *t, struct audio_transcoder_stats *out);

#endif
