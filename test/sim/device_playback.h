/*
 * gbsim device: the device side of playback and download (INVITE s=Playback / s=Download, GB28181.md
 * section 4) and the record of every call for the JSON summary and the --events-log file.
 *
 * The "recording" of a channel is its media clip looped: recording time 0 is the offer's t= start. The
 * device sends from the requested position at the requested speed (1x for Playback until a Scale arrives,
 * a=downloadspeed for Download) with the recording's own timestamps, obeys INFO MANSRTSP (PAUSE, PLAY
 * resume, PLAY Range seek, Scale), and at t= end (or --record-length) sends MediaStatus 121 and keeps the
 * dialog until the platform's BYE. device_invite.c owns the SIP dialog, device_media.c the sockets and the
 * clip; this file owns position, pacing and the reporting.
 */
#ifndef GB_SIM_DEVICE_PLAYBACK_H
#define GB_SIM_DEVICE_PLAYBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "test/sim/device_media.h"

enum device_call_kind { DEVICE_CALL_PLAY = 0, DEVICE_CALL_PLAYBACK, DEVICE_CALL_DOWNLOAD };

/* What the offer asks beyond live view: s=, t=, a=downloadspeed. */
struct device_playback_offer {
    enum device_call_kind kind;
    uint64_t start, end; /* t= (Unix seconds; 0 0 for live) */
    int download_speed;  /* a=downloadspeed:N, 0 when absent */
};

/* Pure: reads s=, t= and a=downloadspeed of an SDP offer (any line ends; unknown lines skipped). */
void device_playback_read_offer(const uint8_t *body, size_t len, struct device_playback_offer *o);
const char *device_call_kind_name(enum device_call_kind k);

struct device_playback;
struct sim_device;
struct sip_msg;

/* One call's record (every kind: live calls are reported too) and, for playback/download, its pacing.
 * invite is kept referenced by the caller for the call's life (its Call-ID and To tag go into MediaStatus).
 */
struct device_playback *device_playback_create(const struct device_playback_offer *o, struct sim_device *dev,
                                               const char *channel_id, const char *call_id,
                                               const struct sip_msg *invite);
/* The media session exists (playback/download: the pacer takes over from the ACK on). NULL: no media. */
void device_playback_attach(struct device_playback *pb, struct device_media *m);
/* The media session is going away (media stop): its counters are taken now. */
void device_playback_detach(struct device_playback *pb);
/* An INFO in the dialog: returns the SIP status to answer (200, or 400 with *why for a refused body). */
int device_playback_info(struct device_playback *pb, const uint8_t *body, size_t len, const char **why);
/* The call ends (how: "bye-received", "bye-sent", "cancel", "exit"...): recorded, freed. NULL is fine. */
void device_playback_end(struct device_playback *pb, const char *how);
enum device_call_kind device_playback_kind(const struct device_playback *pb);

/* --events-log: opened before the device threads start; 0 or -errno (message printed). */
int device_playback_events_open(const char *path);
/* Writes `"calls":[...]` (the bounded list of finished calls, in order) into the summary object. */
void device_playback_print_summary(FILE *out);
void device_playback_cleanup(void);

#endif
