/* The worker-thread hooks of app/gb_session.c (relay/ and media/ call them; they post to the control thread).
 * Apart from gb_session.h because that one needs libre's headers, which cannot meet <re.h> in one file. */
#ifndef GB_APP_GB_SESSION_HOOKS_H
#define GB_APP_GB_SESSION_HOOKS_H

/* The first keyframe of a stream; its viewer count changed; it closed. */
void gb_session_first_frame(const char *id);
void gb_session_viewers(const char *id, int viewers);
void gb_session_stream_closed(const char *id, const char *reason);

#endif
