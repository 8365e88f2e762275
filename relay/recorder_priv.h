/* Private to relay/recorder*.c: what the API and the HTTP file server need from the recorder core. */
#ifndef GB_RELAY_RECORDER_PRIV_H
#define GB_RELAY_RECORDER_PRIV_H

#include "relay/recorder.h"

#define RECORDER_QUEUE_ENTRIES 4096

/* Runs fn(arg, final status) on the control thread once the running recording rec_id is finalized, after its
 * done(). Returns 0, or ENOENT (no such recording running: nothing will be called). */
int recorder_stop_notify(const char *rec_id, void (*fn)(void *arg, const struct recorder_status *st),
                         void *arg);
/* recorder_http.c: GET/HEAD /records/{name} (name: the path after "/records/", URL-decoded) */
struct http_conn;
void recorder_http_serve(struct http_conn *c, const char *method, const char *name);
/* recorder_api.c */
void recorder_api_register(void);
/* Writes record.dir/name into out; false when it does not fit. */
bool recorder_file_path(const char *name, char *out, size_t size);

#endif
