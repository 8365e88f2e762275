/*
 * gbsim device mode: M simulated GB28181 devices in one process (one libre SIP stack each, so each has its
 * own source port, like real cameras), registering with digest, sending keepalives, and answering
 * DeviceInfo, DeviceStatus and Catalog (split over several MESSAGEs, GB2312 Chinese names).
 *
 * device_main.c: options, lifecycle, JSON summary. device_agent.c: one device's SIP behaviour.
 * device_invite.c: answering INVITE (live view) with the quirks of real devices; device_media.c: the media
 * each channel then sends (the `gbsim send` clip and socket machinery, in-process). device_records.c and
 * device_events.c (device_events.h): RecordInfo pages, SUBSCRIBE/NOTIFY, Alarm and MobilePosition.
 */
#ifndef GB_TEST_SIM_DEVICE_SIM_H
#define GB_TEST_SIM_DEVICE_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "signaling/digest.h"
#include "signaling/libre.h"
#include "signaling/manscdp.h"

struct sim_options {
    struct sa server;
    enum sip_transp transport;
    int count, channels, per_message;
    char id_base[21];
    char server_id[21], domain[64];
    char password[128];
    char local_ip[64];
    int keepalive_s, expires_s, retry_s, duration_s, threads;
    bool realm_quirk, auth_first, utf8_under_gb2312, no_xml_decl, no_qop, no_unregister, quiet;
    /* live view (device_invite.c, device_media.c) */
    int64_t answer_ssrc; /* -1: echo the offer's y=; else answer and send with this SSRC */
    bool answer_no_sdp, answer_bare_lf, answer_provisional, answer_never, quiet_events;
    int answer_refuse;   /* 0, or the status every INVITE is refused with (486...) */
    int answer_delay_ms; /* before the final answer */
    double bye_after_s;  /* > 0: the device sends BYE this long after the ACK */
    double
        keepalive_stop_s; /* > 0: keepalives stop this long after start (the platform sees it go offline) */
    double media_stop_s;  /* > 0: media stops this long after the ACK, the dialog stays (RTP timeout) */
    bool control_silent;  /* DeviceControl/PresetQuery/ConfigDownload are logged but never answered */
    uint64_t start_ms;    /* tmr_jiffies() at start */
    /* playback and download (device_playback.c) */
    bool playback_end_never; /* no MediaStatus 121 at the end of a recording */
    double record_length_s;  /* > 0: recordings end this many seconds after the asked start */
    const char *events_log;  /* --events-log FILE: one JSON line per call event */
};

struct sim_stats {
    uint64_t registers_ok, auth_rejected, challenges, register_errors, unregisters;
    uint64_t keepalives_ok, keepalives_refused, keepalives_failed;
    uint64_t q_device_info, q_device_status, q_catalog, q_other, catalog_messages, responses_failed;
    uint64_t invites, invites_refused, acks, byes_received, byes_sent, cancels;
    int catalog_devices; /* devices that sent their whole catalog at least once */
    uint64_t all_registered_ms, all_catalogs_ms;
};

struct sim_device;

extern struct sim_options sim_opt;
extern _Thread_local struct sim_stats sim_stats; /* per shard thread, summed at exit */

int sim_device_create(struct sim_device **out, int index);
void sim_device_start(struct sim_device *dev, uint32_t delay_ms);
/* Runs what is due (REGISTER, keepalive); called by the ticker of device_main.c. */
void sim_device_tick(struct sim_device *dev, uint64_t now);
#define SIM_TICK_MS 20
/* Sends Expires: 0 when registered; calls nothing back. */
void sim_device_unregister(struct sim_device *dev);
bool sim_device_registered_once(const struct sim_device *dev);
void sim_device_destroy(struct sim_device *dev);

/* What device_invite.c needs of a device (device_agent.c). */
struct sip *sim_device_sip(struct sim_device *dev);
const char *sim_device_id(const struct sim_device *dev);
/* 1-based number of one of the device's channel IDs (the device's own ID is channel 1), 0 when not its. */
int sim_device_channel_of(const struct sim_device *dev, const struct pl *id);
struct list *sim_device_calls(struct sim_device *dev);

/* INVITE sessions (device_invite.c): INVITE, ACK, BYE, CANCEL and in-dialog requests; false when msg is none
 * of those. sim_calls_close ends every session of the device silently (at exit). */
bool sim_call_handle(struct sim_device *dev, const struct sip_msg *msg);
void sim_calls_close(struct sim_device *dev);

/* Device control (device_control.c): DeviceControl, PresetQuery and ConfigDownload. True when msg was one of
 * those (answered, or left unanswered as the standard or --control-silent says). */
bool sim_control_handle(struct sim_device *dev, const struct manscdp_msg *msg);
int sim_control_open_log(const char *path); /* --control-log; 0 or errno */
void sim_control_close(void);
const char *sim_control_summary_json(void); /* ",\"controls\":{...}" for the JSON summary */
/* What device_control.c needs of device_agent.c: the charset bodies are built in, and sending a built body
 * to the platform (with the --utf8-under-gb2312 / --no-xml-decl quirks applied). 0 or errno. */
enum manscdp_charset sim_device_charset(void);
int sim_device_send_body(struct sim_device *dev, char *body, size_t len);

/* Called by agents when a milestone is reached (the main file measures times). */
void sim_note_registered(void);
void sim_note_catalog_sent(void);

#endif
