/*
 * RTMP: the play server for players (rtmp://HOST:RTMP_PORT/live/{stream}) and the push relay that sends a
 * stream to an outside RTMP server (an SRS/nginx-rtmp origin, a CDN). See docs/RTMP.md.
 *
 * Play: every media worker listens on rtmp.port (SO_REUSEPORT); the handshake and the commands run on the
 * worker that accepted the connection, and at `play` the socket and the protocol state move to the worker
 * that owns the stream, where the player becomes a viewer of the stream's shared FLV tags (relay/viewer.h,
 * RTMP framing): the same GOP-cache start and slow-viewer policy as HTTP-FLV, no re-muxing per player.
 *
 * Push: relays are created through the API (POST /api/v1/streams/{id}/relays) or by the [relay] rules of the
 * configuration; each runs on its own I/O thread writing FLV into FFmpeg's rtmp:// protocol, fed from the
 * stream's worker through a bounded queue, reconnecting with backoff.
 */
#ifndef GB_RELAY_RTMP_H
#define GB_RELAY_RTMP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/sbuf.h"

/* Call on the control thread after http_server_start: binds rtmp.port on every worker (when rtmp.enabled),
 * registers the relay API routes and loads the [relay] rules. Returns 0, or an errno with a message naming
 * the config key in err. */
int rtmp_server_start(const struct gb_config *cfg, char *err, size_t errsize);

/* A player asked for a stream nobody has: install the same hook as http_set_stream_miss_hook (on-demand GB
 * live view). Called on a worker thread; when it returns true the player waits, up to
 * stream.first_frame_timeout_s, for the stream to be in the directory and (on-demand streams) ready; when it
 * returns false, or without a hook, the player gets NetStream.Play.StreamNotFound at once. */
void rtmp_set_stream_miss_hook(bool (*fn)(const char *id));

/* Prometheus lines: RTMP connections, players, refused/cut connections by reason, relays. Thread-safe. */
void rtmp_metrics_write(struct sbuf *out);

/* The RTMP part of a stream in the API (GET /api/v1/streams[/{id}]), thread-safe:
 *   {"rtmp_players": N, "relays": [{"id","url","state","bytes","reconnects","source","error",...}]}
 * Merge its members into the stream object. */
struct json_t; /* jansson's json_t (not included here: libre's headers clash with jansson's) */
struct json_t *rtmp_stream_json(const char *id);

#endif
