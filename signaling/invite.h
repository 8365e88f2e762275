/*
 * Media sessions with devices (GB28181.md section 4): INVITE a channel, follow the answer, ACK, BYE. The SDP
 * is built and parsed as text (libre's SDP cannot carry y=/f= and always writes s=-). Requests go to the
 * registered source address of the device (not its Contact), over its TCP connection when it registered over
 * TCP, so NATed devices work. Control thread only.
 *
 * The media side (app/gb_session.c) allocates the SSRC and the local port and opens the receiver BEFORE the
 * INVITE leaves, then adjusts to the answer (another y=, or tcp-active's c=/m=).
 */
#ifndef GB_SIGNALING_INVITE_H
#define GB_SIGNALING_INVITE_H

#include <stdbool.h>
#include <stdint.h>

enum invite_kind { INVITE_PLAY = 0, INVITE_PLAYBACK, INVITE_DOWNLOAD };
enum invite_transport {
    INVITE_UDP = 0,
    INVITE_TCP_PASSIVE,
    INVITE_TCP_ACTIVE
}; /* = enum cfg_media_transport */

struct invite_params {
    char device_id[21];
    char channel_id[21];
    enum invite_kind kind;
    enum invite_transport transport;
    char media_ip[64]; /* c=/o= */
    int media_port;    /* m= (for tcp-active: our port in the offer, the device's comes in the answer) */
    char ssrc[11];     /* y=, GB format "0200001234" */
    uint64_t start_time, end_time; /* playback/download: t= (Unix seconds) */
    int download_speed;            /* download: a=downloadspeed */
};

struct invite_answer {
    int status;      /* final SIP status (200), or 408/504 on timeout, 0 when the request could not be sent */
    char reason[96]; /* reason phrase or local error text */
    bool has_sdp;
    uint32_t ssrc; /* from the answer's y= (0 when absent or 0000000000) */
    bool has_ssrc;
    char remote_ip[64]; /* c= of the answer */
    int remote_port;    /* m= port of the answer (0 when absent) */
    bool remote_tcp;    /* m= says TCP/RTP/AVP */
    char setup[16];     /* a=setup of the answer ("active", "passive" or "") */
};

/* Called once with the final answer (2xx or error). For 2xx the session stays up until invite_bye() or until
 * the ended hook fires. `session` identifies it. */
typedef void (*invite_answer_fn)(void *arg, uint64_t session, const struct invite_answer *answer);

/* Sends the INVITE. Returns 0 and the session id, or an errno (device unknown/offline: ENOENT/ENOTCONN). */
int invite_start(const struct invite_params *p, invite_answer_fn cb, void *arg, uint64_t *session);
/* Ends a session: BYE when established, CANCEL (or just forget and BYE on a late 2xx) when still ringing. */
void invite_bye(uint64_t session, const char *reason);
/* Playback control in the dialog (INFO, Application/MANSRTSP): scale 0.25..8, pause, resume, seek (npt s). */
int invite_info_scale(uint64_t session, double scale);
int invite_info_pause(uint64_t session);
int invite_info_resume(uint64_t session);
int invite_info_seek(uint64_t session, double npt_seconds);

/* MediaStatus NotifyType 121 from device_id: its playback/download reached the end of the range. The session
 * is the one whose Call-ID the MESSAGE carries (devices commonly reuse the INVITE's Call-ID), else the
 * oldest recorded session (Playback/Download, established) of that device whose channel is the notify's
 * DeviceID, else the oldest of the device when the notify names the device itself. It gets a BYE and the
 * ended hook with reason INVITE_END_OF_RECORDING. False when nothing matched (the notify is ignored). */
#define INVITE_END_OF_RECORDING "end of recording"
bool invite_media_status_end(const char *device_id, const char *notify_device_id, const char *call_id);

/* The device ended a session (BYE from the device, device offline or unregistered, MediaStatus 121). */
void invite_set_ended_hook(void (*fn)(uint64_t session, const char *reason));
/* Active sessions (for /metrics and shutdown). */
unsigned invite_count(void);
/* Shutdown: BYE every session; done(arg) runs when the BYEs were answered or timed out. */
void invite_bye_all(void (*done)(void *arg), void *arg);

#endif
