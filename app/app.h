/* The application: wires config, the control thread (libre), the media workers, the HTTP server and
 * signaling together, and owns the stream API. */
#ifndef GB_APP_APP_H
#define GB_APP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "media/directory.h"

/* Entry point of the gbgate binary. */
int app_main(int argc, char **argv);

int app_control_init(void);
/* Runs tasks still queued for the control thread (after re_main returned). */
void app_control_drain(void);
void app_control_close(void);

const struct gb_config *app_config(void);
uint64_t app_started_ms(void);

/* Stream API (app/streams_api.c). */
void streams_api_register(void);
/* Opens a receiver on a worker (control thread). reply(arg, err, entry, message) is called on the control
 * thread when it is open or failed. port: -1 = shared port, 0 = allocate, >0 as given. */
typedef void (*stream_open_cb)(void *arg, int err, const struct stream_entry *e, const char *message);
int streams_open(const char *id, enum stream_transport t, int port, uint32_t ssrc, const char *remote,
                 const char *source, bool on_demand, stream_open_cb cb, void *arg);
bool streams_valid_id(const char *id);
/* {"flv","ws_flv","rtmp"} URLs of a stream; req (may be NULL) gives the host the client used. */
struct api_request;
struct json_t;
struct json_t *streams_urls_json(const char *id, const struct api_request *req);
/* Closes a stream wherever it lives (control thread). */
int streams_close(const char *id, const char *reason);

/* Per-stream RTP ports (control thread only): even ports from media.rtp_port_range, RTP + RTCP pairs. */
void ports_init(int min, int max);
int ports_alloc(void); /* -1 when exhausted */
void ports_release(int port);
bool ports_in_range(int port);

#endif
