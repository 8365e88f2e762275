/*
 * The recorder: writes any live stream to an MP4 file through libavformat's mp4 muxer (stream copy, no
 * transcoding), and serves the finished files over HTTP (GET /records/{file}, with Range for seeking).
 *
 * A recording is one I/O thread fed the stream's shared FLV tags by a sink viewer with a bounded queue
 * (the same model as the RTMP push relays, relay/rtmp_relay.c): the stream's worker never waits for the
 * disk; when the queue is full the sink skips to the next keyframe and the drop is counted. The thread turns
 * the tags into packets (relay/recorder_mux.h): H.264 (avcC), H.265 (hvcC, either FLV flavour) and AAC
 * (AudioSpecificConfig); G.711 audio is recorded only when the stream transcodes it to AAC
 * (stream.audio_transcode), otherwise it is left out with a log line.
 *
 * The file is written as ".{name}.part" next to its final name and renamed when finalized (moov written), so
 * a file under its final name is always complete. A recording ends on recorder_stop(), when its stream ends,
 * at record.max_file_mb, on a write error, or at shutdown (recorder_shutdown finalizes every one, bounded).
 * Config: [record] dir, max_concurrent, max_file_mb, faststart, queue_kb (docs/API.md "Recording to MP4").
 */
#ifndef GB_RELAY_RECORDER_H
#define GB_RELAY_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"

/* jansson's json_t, not included here: its names clash with libre's, which app/ includes (C11 allows the
 * typedef again) */
typedef struct json_t json_t;

#define RECORDER_NAME_MAX 127 /* a file name in record.dir, ".mp4" included (fits one API path segment) */

struct recorder_status {
    char id[32];
    char stream[65];
    char path[512];
    char state[16]; /* "recording", "done", "failed" */
    uint64_t bytes, duration_ms, frames;
    char error[128];
    uint64_t started_ms; /* wall clock (ms since the epoch) */
    /* extensions */
    char file[RECORDER_NAME_MAX + 1]; /* the name in record.dir (served at /records/{file}); "" elsewhere */
    uint64_t ended_ms;                /* wall clock; 0 while recording */
    uint64_t dropped;                 /* tags skipped because the queue was full */
};

/* Runs on the control thread once the file is finalized (err 0) or failed (an errno value). */
typedef void (*recorder_done_fn)(void *arg, const char *rec_id, int err);

/* Call once on the control thread before any other function: creates record.dir, removes the ".part" files
 * a crash left behind, registers the API routes (relay/recorder_api.c). */
void recorder_init(const struct gb_config *cfg);

/* Starts recording stream_id into path: a bare file name ([A-Za-z0-9_-][A-Za-z0-9_.-]*.mp4, at most
 * RECORDER_NAME_MAX) goes into record.dir and is served over HTTP; a path with a '/' is used as given (its
 * directory must exist; it must end in .mp4). The recording starts at the stream's latest keyframe (GOP
 * cache) or, before the first one, at the first. Thread-safe. done (may be NULL) is called exactly once when
 * 0 is returned. Returns 0 and the id ("rec12") in rec_id, or ENOENT (unknown stream), EEXIST (the file or
 * its .part exists), EINVAL (bad name or path), ENOSPC (record.max_concurrent reached, or shutting down),
 * or the errno of creating the file (EACCES...). */
int recorder_start(const char *stream_id, const char *path, recorder_done_fn done, void *arg,
                   char rec_id[32]);
/* Ends a recording: what is queued is written, then the moov, then the file is renamed. Returns at once
 * (0, or ENOENT when no such recording is running); done() reports the outcome. Thread-safe. */
int recorder_stop(const char *rec_id);
/* Status of a running recording or one of the last finished ones. Returns 0 or ENOENT. Thread-safe. */
int recorder_get(const char *rec_id, struct recorder_status *out);
/* Array of status objects (running and recently finished), of one stream or of all. Thread-safe. */
json_t *recorder_list_json(const char *stream_or_null);
/* Stops every recording and waits (at most 15 s) for their files to be finalized. Later starts get ENOSPC.
 * Call on the control thread before the workers stop; the done() callbacks then wait in the control queue. */
void recorder_shutdown(void);

/* Is name a valid recording file name (see recorder_start)? */
bool recorder_valid_name(const char *name);
/* Is a recording writing record.dir/name right now? Thread-safe. */
bool recorder_file_active(const char *name);
/* {"id","stream","file","path","url","state","bytes","duration_ms","frames","dropped","error","started_ms",
 * "ended_ms"} */
json_t *recorder_status_json(const struct recorder_status *st);
/* record.dir as configured. */
const char *recorder_dir(void);

#endif
