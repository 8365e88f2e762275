/*
 * Playback and download of device recordings (issue 9): INVITE s=Playback / s=Download through the shared
 * session machinery (app/gb_session.h), playback control by INFO MANSRTSP, output timestamps rescaled by the
 * speed (media/timescale.h), downloads written to MP4 by relay/recorder.h. Control thread only.
 */
#ifndef GB_APP_PLAYBACK_H
#define GB_APP_PLAYBACK_H

/* Registers the playback, control and download API routes. */
void playback_register(void);
/* The "playback" object of a playback or download stream's JSON, or NULL for any other stream. */
struct json_t; /* jansson; not included here: app.c has <re.h>, whose JSON names collide */
struct json_t *playback_stream_json(const char *stream_id);
/* Shutdown: stops downloads (their recordings are finalized by the recorder). */
void playback_close(void);

#endif
