/*
 * FLV byte stream in, MP4 file out (private to relay/recorder*.c; used by the recorder's I/O thread and by
 * the unit tests). No threads, no sockets: bytes are fed with rec_mux_input() in any split, parsed with
 * relay/flv_reader.h and written with libavformat's mp4 muxer (stream copy).
 *
 * The MP4 header needs every track up front, but a young stream may announce its audio a little after the
 * first video keyframe: packets are held (at most REC_MUX_HOLD_MS of stream time) until the audio config is
 * known or that time has passed, then the header is written with the tracks known. Audio-only streams start
 * on the first AAC frame once the same time has passed without video. Timestamps are the FLV ones (ms)
 * rebased to the first keyframe, composition offsets kept; a backward jump (a stream that restarted its
 * clock) continues from where the file was, so DTS always increases as MP4 requires.
 */
#ifndef GB_RELAY_RECORDER_MUX_H
#define GB_RELAY_RECORDER_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_MUX_HOLD_MS 1500

struct rec_mux_options {
    bool faststart;       /* movflags +faststart */
    uint64_t max_bytes;   /* 0 = unlimited; reaching it makes rec_mux_input return -EFBIG */
    uint32_t max_tag;     /* largest FLV tag accepted (0 = the format's limit) */
    const char *log_name; /* prefix of log lines, e.g. "[cam1] rec3" */
    const char *title;    /* MP4 title metadata (may be NULL) */
};

struct rec_mux_stats {
    uint64_t bytes;       /* written to the file so far */
    uint64_t duration_ms; /* of what was written (last DTS + duration) */
    uint64_t video_frames, audio_frames;
    uint64_t skipped; /* packets not recorded: before the first keyframe, codec not recordable... */
    const char *vcodec, *acodec; /* "h264", "hevc", "aac" or NULL */
    int width, height;
};

struct rec_mux;

/* Opens path for writing (truncating it). NULL with a message in err on failure. */
struct rec_mux *rec_mux_create(const char *path, const struct rec_mux_options *opt, char *err,
                               size_t errsize);
/* Feeds FLV bytes (file header first). Returns 0, -EFBIG at max_bytes (finish the file then), or another
 * negative errno / AVERROR (write error, malformed FLV) with a message in err; errors are sticky. */
int rec_mux_input(struct rec_mux *m, const uint8_t *data, size_t len, char *err, size_t errsize);
/* Writes what is held and the moov. Returns 0, -ENODATA when nothing was recordable (no keyframe, no AAC),
 * or an error with a message. The file is closed either way. */
int rec_mux_finish(struct rec_mux *m, char *err, size_t errsize);
const struct rec_mux_stats *rec_mux_get_stats(const struct rec_mux *m);
void rec_mux_destroy(struct rec_mux *m);

#endif
