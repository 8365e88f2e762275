/*
 * Configuration: INI file (etc/gbgate.conf) + `-o section.key=value` overrides, validated against one
 * table of keys (common/config.c) that also holds each key's default and documentation. Unknown keys,
 * bad values and missing files are reported with the key's name; the caller exits 2.
 * To add a key: a field here, one row in the table in config.c, and the documented line in etc/gbgate.conf.
 */
#ifndef GB_COMMON_CONFIG_H
#define GB_COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_STR_MAX 256

enum cfg_audio_transcode { AUDIO_TRANSCODE_AUTO = 0, AUDIO_TRANSCODE_ON, AUDIO_TRANSCODE_OFF };
enum cfg_media_transport { MEDIA_TRANSPORT_UDP = 0, MEDIA_TRANSPORT_TCP_PASSIVE, MEDIA_TRANSPORT_TCP_ACTIVE };
enum cfg_hevc_flv { HEVC_FLV_ENHANCED = 0, HEVC_FLV_LEGACY12 };

struct gb_config {
    struct {
        bool enabled;
        char id[CFG_STR_MAX];     /* platform SIP ID, 20 digits */
        char domain[CFG_STR_MAX]; /* realm, usually the first 10 digits of id */
        char listen[CFG_STR_MAX]; /* 0.0.0.0 = every interface address */
        int port;
        char password[CFG_STR_MAX];
        bool auth;
        bool date_header;
        int register_expires_max_s;
        int keepalive_timeout_s;
        int catalog_interval_s;
        int catalog_timeout_s;
        int query_timeout_s;
        int nonce_lifetime_s;
        int auth_ban_s;
        int auth_ban_failures;
        char charset[CFG_STR_MAX]; /* MANSCDP bodies we send: GB2312 or UTF-8 */
        int invite_timeout_s;
        int media_transport;         /* enum cfg_media_transport: default for play when the device has none */
        int alarm_history;           /* alarms kept in storage (all devices) */
        int position_history;        /* mobile positions kept per device */
        char subscribe[CFG_STR_MAX]; /* subscriptions made to devices: "catalog,alarm,position" or "" */
        int subscribe_expires_s;
        int position_interval_s; /* Interval asked in MobilePosition subscriptions */
    } sip;
    struct {
        char ip[CFG_STR_MAX]; /* advertised in SDP */
        int workers;          /* 0 = one per core */
        bool pin_workers;
        int rt_priority; /* SCHED_FIFO priority of the media workers where allowed; 0 = SCHED_OTHER */
        int rtp_port;    /* shared port (UDP and TCP) */
        int rtp_port_min, rtp_port_max; /* rtp_port_range "min-max" */
        int rtp_timeout_s;
        int udp_rcvbuf_kb;
        int rx_coalesce_us; /* a worker starts a loop round at most once per this period (0 = per event) */
        bool udp_gro;       /* UDP_GRO on RTP sockets: a burst of datagrams arrives as one read */
        int reorder_window; /* packets held to reorder */
        int max_frame_kb;
        int max_streams;
        bool shared_port_any_ssrc; /* accept an unknown SSRC on the shared port when exactly one stream waits
                                    */
    } media;
    struct {
        char listen[CFG_STR_MAX];
        int port;
        char api_token[CFG_STR_MAX];
        char www[CFG_STR_MAX];
    } http;
    struct {
        bool enabled;
        char listen[CFG_STR_MAX];
        int port;
        int chunk_size;
    } rtmp;
    struct {
        /* "pattern=url": streams whose id matches the shell pattern go to url ({id} = the stream id) */
        char rules[4][CFG_STR_MAX];
        int queue_kb;        /* tags queued between the stream's worker and the relay thread */
        int reconnect_max_s; /* backoff cap */
        int timeout_s;       /* connect/write timeout of the RTMP connection */
    } relay;
    struct {
        int idle_close_s;
        bool gop_cache;
        int gop_cache_max_kb;
        int viewer_queue_kb;
        int audio_transcode; /* enum cfg_audio_transcode */
        bool drop_until_keyframe;
        int hevc_flv; /* enum cfg_hevc_flv */
        int max_viewers;
        int first_frame_timeout_s; /* how long a viewer/play call waits for the first keyframe */
    } stream;
    struct {
        char dir[CFG_STR_MAX]; /* MP4 recordings (relay/recorder.h), served at /records/{file} */
        int max_concurrent;    /* recordings at a time, all streams together */
        int max_file_mb;       /* a recording ends at this size; 0 = no limit */
        bool faststart;        /* moov moved to the front when finishing (one more pass over the file) */
        int queue_kb;          /* tags queued between the stream's worker and the recording's thread */
    } record;
    struct {
        char path[CFG_STR_MAX];
    } storage;
    struct {
        char level[CFG_STR_MAX];
    } log;
};

/* Fills cfg with every default. */
void config_defaults(struct gb_config *cfg);
/* Loads an INI file over cfg. On error returns EINVAL/ENOENT and writes a message naming the key to err. */
int config_load_file(struct gb_config *cfg, const char *path, char *err, size_t errsize);
/* The same from memory; `name` names the source in messages. */
int config_load_text(struct gb_config *cfg, const char *text, size_t len, const char *name, char *err,
                     size_t errsize);
/* Applies one "section.key=value" override. */
int config_set(struct gb_config *cfg, const char *assignment, char *err, size_t errsize);
/* Cross-key checks (port range order, shared port inside the range...). */
int config_validate(const struct gb_config *cfg, char *err, size_t errsize);
/* Writes every key with its current value as INI (for --help and tests). */
void config_print(const struct gb_config *cfg, void (*out)(void *arg, const char *line), void *arg);

#endif
