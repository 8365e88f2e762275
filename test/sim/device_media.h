/*
 * gbsim device: the media the simulated channels send when the platform INVITEs them. It reuses the
 * `gbsim send` machinery in-process - clips prepared once by sim_clip.c (PS muxing and RTP cutting), sockets
 * and RFC 4571 framing by sim_transport.c - and paces each session with a libre timer on the device's own
 * thread. Kept behind this small header because sim_send.h and device_sim.h both name a `struct sim_options`.
 *
 * Media sources are given per channel: a default (--media-video/--media-audio/--media-ps) and overrides
 * (--channel-media N=FILE[,FILE]). Each distinct source becomes one clip, built before the device threads
 * start and shared read-only by every session.
 */
#ifndef GB_SIM_DEVICE_MEDIA_H
#define GB_SIM_DEVICE_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

enum device_media_transport {
    DEVICE_MEDIA_UDP,         /* RTP datagrams to the offered c=/m= */
    DEVICE_MEDIA_TCP_CONNECT, /* the platform is passive: connect to its c=/m=, RFC 4571 */
    DEVICE_MEDIA_TCP_LISTEN,  /* the platform is active: listen, send once it connected */
};

/* Sources: `files` is a comma-separated list of an H.264/H.265 file and/or a G.711/AAC file, or one raw PS
 * file (.ps/.mpg). channel 0 is the default of every channel; N >= 1 the N-th channel of each device. A
 * second call for the same channel replaces the first. Returns 0, or -EINVAL with a message printed. */
int device_media_add_source(int channel, const char *files);
int device_media_add_default(const char *video, const char *audio, const char *ps);
void device_media_set_fps(double fps);
/* Builds every clip. 0, or -errno with a message printed. Call before the device threads start. */
int device_media_prepare(void);
/* True when channel (1-based) has media to send (its own source or the default). */
bool device_media_available(int channel);
void device_media_cleanup(void);

struct device_media;

/* Prepares sending channel's clip (looped until stopped) with RTP SSRC `ssrc`, on the calling thread's libre
 * loop: UDP and TCP_CONNECT (connected now) send to ip:port from local_ip; TCP_LISTEN listens on local_ip
 * (port chosen by the kernel) and sends once the platform connected. *local_port is the port to put in the
 * answer (the UDP socket's, the TCP connection's or the listening one). Returns 0 or -errno (message
 * printed). Nothing is sent before device_media_go(). */
int device_media_start(struct device_media **out, int channel, enum device_media_transport t,
                       const char *local_ip, const char *ip, int port, uint32_t ssrc, int *local_port,
                       const char *label);
/* Starts sending (the ACK came). */
void device_media_go(struct device_media *m);
/* Stops and frees; adds its counters to the totals. NULL is fine. */
void device_media_stop(struct device_media *m);

/* Totals over every session so far (all threads): packets and frames sent, sessions started. */
struct device_media_totals {
    uint64_t sessions, packets, bytes, frames, send_errors;
};
/* This session's counters so far. */
void device_media_counts(const struct device_media *m, struct device_media_totals *out);
void device_media_get_totals(struct device_media_totals *out);

/* Playback and download (device_playback.c). The recording is the clip looped: recording time (90 kHz) T is
 * pass T / period, offset T % period; frames carry PS PTS and RTP timestamps = their recording time (plus
 * the stream's random RTP base). With a pacer set, the session no longer paces itself: on every timer tick
 * pace() sends what is due with device_media_cursor_send() and returns the ns until it wants the next tick,
 * or < 0 to sleep until device_media_kick(). RTP seq then runs on by one per packet across seeks. */
typedef int64_t (*device_media_pace_fn)(void *arg, struct device_media *m, int64_t now_ns);
void device_media_set_pacer(struct device_media *m, device_media_pace_fn pace, void *arg);
/* Calls the pacer at once (after a resume, seek or speed change); nothing before the ACK/connection. */
void device_media_kick(struct device_media *m);
/* Recording time of the frame the cursor is on (the next one to send). */
int64_t device_media_cursor_ts(const struct device_media *m);
/* Moves the cursor to the last keyframe (any frame without video) at or before recording time rec; returns
 * that frame's recording time. */
int64_t device_media_cursor_seek(struct device_media *m, int64_t rec);
/* Sends the frame at the cursor and moves on to the next. */
void device_media_cursor_send(struct device_media *m);

#endif
