/* GB28181 live view: on-demand INVITE per channel, shared by every viewer, released when idle. Control thread
 * except where noted. */
#ifndef GB_APP_LIVE_VIEW_H
#define GB_APP_LIVE_VIEW_H

#include <stdbool.h>

/* Registers the play API routes and the signaling hooks. */
void live_view_register(void);
/* Worker threads (hooks of relay/): a viewer asked for an unknown stream id; the first keyframe of a stream;
 * its viewer count changed; it closed. They post to the control thread. */
bool live_view_miss_hook(const char *id);
void live_view_first_frame(const char *id);
void live_view_viewers(const char *id, int viewers);
void live_view_stream_closed(const char *id, const char *reason);

#endif
