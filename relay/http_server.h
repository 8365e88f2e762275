/*
 * The one HTTP port (DESIGN.md section 3): every worker listens with SO_REUSEPORT. Serves
 *   GET /live/{stream}.flv          HTTP-FLV, or WS-FLV on an Upgrade: websocket
 *   /api/v1/...                     JSON API, handled on the control thread (common/api.h)
 *   GET /metrics                    Prometheus text
 *   GET /...                        the web console's static files (http.www)
 * A viewer that lands on a worker other than its stream's owner is handed over (fd passing) to the owner.
 */
#ifndef GB_RELAY_HTTP_SERVER_H
#define GB_RELAY_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/sbuf.h"

/* Binds the HTTP port on every worker (call after workers_start). Errors name http.port. */
int http_server_start(const struct gb_config *cfg, char *err, size_t errsize);

/* Extra Prometheus lines (signaling counters...), called on the control thread? No: on the worker serving
 * /metrics, so it must be thread-safe (read counters only). */
void http_set_metrics_hook(void (*fn)(struct sbuf *out));

/* A viewer asked for a stream nobody has. The hook runs on the worker; it returns true when the stream may
 * start on demand (it then arranges that, e.g. by posting to the control thread): the request is parked until
 * http_stream_ready(id, ...) or stream.first_frame_timeout_s. False: 404 at once. Used for GB live view. */
void http_set_stream_miss_hook(bool (*fn)(const char *id));
/* The on-demand stream `id` is playing (ok) or failed (status + reason for the waiting viewers). Any thread.
 */
void http_stream_ready(const char *id, bool ok, int status, const char *reason);

#endif
