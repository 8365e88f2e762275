/* GB28181 live view: on-demand INVITE per channel, shared by every viewer, released when idle (the session
 * machinery is app/gb_session.h's). Control thread except where noted. */
#ifndef GB_APP_LIVE_VIEW_H
#define GB_APP_LIVE_VIEW_H

#include <stdbool.h>

/* Registers the play API routes and the session machinery's signaling hooks. */
void live_view_register(void);
/* Worker threads (hook of relay/): a viewer asked for an unknown stream id; posts to the control thread. */
bool live_view_miss_hook(const char *id);

#endif
