/* Counters of one stream, published by its owning worker about every 500 ms into the directory so the API and
 * /metrics can read them from any thread without touching the worker. */
#ifndef GB_MEDIA_STREAM_STATS_H
#define GB_MEDIA_STREAM_STATS_H

#include <stdint.h>

#include "media/codec.h"

struct stream_stats {
    uint64_t packets, bytes, packets_lost, packets_dup, packets_late, packets_reordered;
    uint64_t frames_video, frames_audio, frames_dropped, keyframes;
    uint64_t bad_packets; /* not RTP, wrong SSRC, not PS... */
    uint32_t jitter_ms;
    uint32_t bitrate_kbps; /* input, over the last second */
    uint32_t viewers;
    uint64_t viewer_bytes; /* sent to viewers */
    uint64_t viewers_total, viewers_dropped_frames, viewers_kicked;
    enum codec_id vcodec, acodec;
    uint32_t width, height, fps_milli; /* fps * 1000 */
    uint32_t sample_rate, channels;
    /* G.711 -> AAC for viewers (relay/live.c): frames into the transcoder, AAC frames out, and frames that
     * waited for FFmpeg to load (relay/av_lazy.h) */
    uint64_t audio_transcode_in, audio_transcode_out, audio_held;
    uint64_t started_at_ms, last_packet_ms; /* wall clock */
    uint32_t payload_type;
    uint64_t rtcp_sr_received, rtcp_rr_sent;
    const char *unsupported; /* static string: why the payload cannot be demuxed, or NULL */
    const char *payload;     /* static string: "ps", "h264", "h265", "ts" once known, else NULL */
    char remote[64];         /* sender address as seen */
};

#endif
