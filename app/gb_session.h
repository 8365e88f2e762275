/*
 * A GB28181 media session with a device, whatever it is for: live view (INVITE s=Play), playback of a
 * recording (s=Playback) or its download (s=Download). One state machine for all three (app/gb_session.c):
 * receiver first, then the INVITE, waiters released at the first keyframe, idle close, device BYE / offline,
 * MediaStatus 121, the stop API and shutdown. What differs - the stream id, the API's answer, what happens
 * around the media - is the owner's, through gb_session_ops. Control thread only, except the worker hooks at
 * the end, which post to it.
 */
#ifndef GB_APP_GB_SESSION_H
#define GB_APP_GB_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "app/gb_session_hooks.h"
#include "media/directory.h"
#include "signaling/gbid.h"
#include "signaling/invite.h"
#include "signaling/libre.h"

struct api_request;
struct gb_session;

struct gb_session_ops {
    /* The first keyframe is in: answer a request waiting for it (200 with the stream's URLs). */
    void (*reply_playing)(struct gb_session *s, struct api_request *req);
    /* The receiver is open (media may arrive from now on). May be NULL. */
    void (*receiver_opened)(struct gb_session *s);
    /* PLAYING (first keyframe). May be NULL. */
    void (*playing)(struct gb_session *s);
    /* The session ended (once, before freed): code is the API error code ("idle", "end_of_recording",
     * "device_ended", "stopped", "no_media"...), reason the text. May be NULL. */
    void (*ended)(struct gb_session *s, const char *code, const char *reason);
    /* The session is being freed (its receiver is closed): release the owner. May be NULL. */
    void (*freed)(struct gb_session *s);
};

struct gb_session_params {
    char id[STREAM_ID_MAX + 1];
    char device[21], channel[21];
    int transport; /* enum invite_transport, or -1 for the device's configured one */
    enum invite_kind kind;
    uint64_t start_time, end_time; /* playback/download: Unix seconds */
    int download_speed;            /* download: a=downloadspeed */
    bool idle_close;               /* close stream.idle_close_s after the last viewer left (not downloads) */
};

enum gb_session_state { GBS_NEW, GBS_OPENING, GBS_INVITING, GBS_WAIT_MEDIA, GBS_PLAYING, GBS_ENDED };

/* Read-only for owners (gb_session.c writes it). */
struct gb_session {
    struct gb_session *next;
    struct gb_session_params p;
    const struct gb_session_ops *ops;
    void *owner;
    enum gb_session_state state;
    enum invite_transport transport;
    uint64_t sip;
    bool sip_pending, sip_up, deferred, receiver_opening, receiver_open, port_owned, keyframe_early;
    uint32_t ssrc;
    char ssrc_text[GB_SSRC_LEN + 1];
    int port, viewers, sip_status;
    struct tmr timeout, idle;
    struct gb_session_waiter *waiters;
};

/* Routes the signaling hooks (invite ended hook). */
void gb_session_register(void);

/* Starts the session p->id, or joins it when it exists (req then waits for, or gets, its first keyframe;
 * owner and ops are not used). req may be NULL (an HTTP viewer waiting: http_stream_ready tells it).
 * Returns false when refused before a session existed (unknown device or channel, offline device, out of
 * memory): req was answered and owner is still the caller's. Returns true otherwise: a new session adopted
 * owner, *out (may be NULL) was set before any callback could run and stays valid until ops->freed, which
 * always comes (possibly before this returns, when the start failed at once: SSRC or ports exhausted...). */
bool gb_session_start(const struct gb_session_params *p, const struct gb_session_ops *ops, void *owner,
                      struct api_request *req, struct gb_session **out);
/* The live (not ended) session of a stream id, or NULL. */
struct gb_session *gb_session_find(const char *id);
/* Calls fn for every live session. fn may not end sessions. */
void gb_session_foreach(void (*fn)(struct gb_session *s, void *arg), void *arg);
/* Ends it (waiters get http_status/code/reason, BYE or CANCEL to the device, the receiver closes). */
void gb_session_stop(struct gb_session *s, int http_status, const char *code, const char *reason);

#endif
