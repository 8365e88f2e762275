/*
 * `gbsim send`: the media sender of the camera simulator. Private to test/sim.
 *
 * Shape, chosen so hundreds of streams cost little CPU:
 *   1. the inputs are read and cut into frames once (sim_input_*.c);
 *   2. the clip is packetized once into RTP packets kept in one memory block (sim_clip.c): PS muxing, the
 *      sender shapes (marker policy, PES split, PSM policy...) and RTP payload cutting all happen here;
 *   3. every stream replays that shared clip (sim_sender.c): it only patches seq/timestamp/SSRC into a copy
 *      of the 12-byte RTP header and hands header + shared payload to sendmmsg()/sendmsg() as two iovecs,
 *      from one thread with one timer loop across all streams (sim_transport.c owns the sockets).
 */
#ifndef GB_SIM_SEND_H
#define GB_SIM_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "media/codec.h"
#include "media/ps_mux.h"

#define SIM_PAYLOAD_DEFAULT 1400
#define SIM_PAYLOAD_MAX     8192
#define SIM_CLOCK_HZ        90000

/* ---- options (sim_options.c) ----------------------------------------------------------------------------
 */

enum sim_transport { SIM_TRANSPORT_NONE, SIM_TRANSPORT_UDP, SIM_TRANSPORT_TCP, SIM_TRANSPORT_TCP_LISTEN };
enum sim_marker { SIM_MARKER_FRAME, SIM_MARKER_NEVER, SIM_MARKER_EVERY_PACKET };

struct sim_options {
    /* inputs: --video/--audio (elementary streams), or --ps, or --rtp */
    const char *video_path, *audio_path, *ps_path, *rtp_path;
    enum codec_id vcodec, acodec; /* from --vcodec/--acodec or the file extension */
    double fps;
    /* output */
    struct sockaddr_storage dest; /* --to, port of stream 0 */
    socklen_t dest_len;
    bool have_dest;
    enum sim_transport transport;
    uint16_t listen_port;
    unsigned streams, port_step;
    uint32_t ssrc;
    bool ssrc_given;
    double duration_s; /* 0 = until the clip ends (or forever with --loop) */
    bool loop;
    bool udp_gso; /* --gso: UDP_SEGMENT sends (sim_transport.c) */
    int pt;       /* -1 = default (96, or the capture's own with --rtp) */
    unsigned payload_max;
    double speed;          /* pacing speed factor; 0 = as fast as possible */
    double start_spread_s; /* stream starts spread over this many seconds; 0 = one frame interval */
    /* impairments, in percent */
    double loss_pct, reorder_pct, dup_pct;
    uint64_t seed;
    /* sender shapes */
    enum sim_marker marker;
    enum ps_mux_psm psm;
    uint32_t pes_split;
    bool pes_len_zero, one_pes_per_packet, sparse_packs;
    /* outputs for tests */
    const char *stamp_log, *dump_ps;
    unsigned stamp_streams; /* --stamp-log covers streams [0, stamp_streams); default 1 */
};

/* Parses the arguments after "send". Returns 0, 1 after --help (usage printed), or 2 on a usage error
 * (message printed). */
int sim_options_parse(int argc, char **argv, struct sim_options *o);
void sim_options_usage(FILE *out);

/* ---- inputs (sim_input_*.c) -----------------------------------------------------------------------------
 */

/* One frame of an input file: a slice of the file's bytes. */
struct sim_input_frame {
    size_t off, len;
    int64_t ts; /* 90 kHz, from the start of the clip */
    bool key;
    bool video;
};

struct sim_input {
    uint8_t *data; /* the whole file */
    size_t len;
    struct sim_input_frame *frames;
    size_t count, cap;
    int64_t
        frame_duration; /* typical spacing of frames (90 kHz), used for the loop period and start spread */
    enum codec_id codec;
};

void sim_input_free(struct sim_input *in);
/* Appends a frame; returns 0 or -ENOMEM. */
int sim_input_add(struct sim_input *in, size_t off, size_t len, int64_t ts, bool key, bool video);
/* Reads a whole file into in->data. Returns 0 or -errno (message printed). */
int sim_input_read_file(const char *path, struct sim_input *in);

/* H.264/H.265 Annex-B -> access units at a fixed frame rate. */
int sim_input_annexb(const char *path, enum codec_id codec, double fps, struct sim_input *in);
/* G.711 (40 ms = 320-byte frames) or AAC ADTS (one frame per ADTS header). */
int sim_input_audio(const char *path, enum codec_id codec, struct sim_input *in);
/* Raw MPEG-PS: cut at pack headers, grouped into frames by video (else audio) DTS/PTS. */
int sim_input_ps(const char *path, struct sim_input *in);

/* PS walking (sim_ps_walk.c): unit(arg, d, id, pos, end) for every unit (pack header, system header, PSM,
 * PES, ...) of d[0..len); broken stretches are skipped up to the next pack header. */
typedef void (*sim_ps_unit_fn)(void *arg, const uint8_t *d, uint8_t id, size_t pos, size_t end);
void sim_ps_walk(const uint8_t *d, size_t len, sim_ps_unit_fn unit, void *arg);
bool sim_ps_is_pes(uint8_t id);
/* Positions of a PES's PTS and DTS fields: returns 0 (none), 1 (PTS) or 2 (PTS and DTS). */
unsigned sim_pes_ts_fields(const uint8_t *d, size_t pos, size_t end, size_t *pts_at, size_t *dts_at);
int64_t sim_ps_read_ts(const uint8_t *p);

/* Codec from a file name's extension; CODEC_NONE when unknown. */
enum codec_id sim_codec_from_path(const char *path);
enum codec_id sim_codec_from_name(const char *name);

/* ---- the prepared clip (sim_clip.c) ---------------------------------------------------------------------
 */

struct sim_packet {
    uint32_t off;         /* in clip->data: RTP header then payload */
    uint16_t len;         /* RTP header + payload (+ padding for replayed packets) */
    uint16_t payload_off; /* RTP header length */
    uint16_t payload_len; /* without padding */
    uint16_t seq_offset;  /* added to the stream's base seq (replay keeps the capture's gaps) */
    uint16_t field_count; /* SCR/PTS/DTS fields overlapping the payload (moved forward on --loop passes) */
    uint32_t first_field; /* index of the first of them in clip->ts_fields */
    uint32_t stream_pos;  /* offset of the payload in the pass's concatenated payload stream */
};

/* An SCR, PTS or DTS field inside the clip's PS payload stream (5 bytes; may straddle two packets). */
struct sim_ts_field {
    uint32_t pos;         /* in the concatenated payload stream of one pass */
    uint8_t keep0, keep4; /* bits of bytes 0 and 4 that are not timestamp bits (markers, prefix, SCR ext) */
    bool scr;             /* pack header SCR (else PES PTS/DTS) */
    int64_t value;        /* 90 kHz, on the first pass */
};

struct sim_frame {
    int64_t rtp_ts;  /* 90 kHz offset written into the RTP timestamp */
    int64_t send_ts; /* 90 kHz offset that paces the frame (non-decreasing) */
    uint32_t first, count;
    bool video, key;
};

struct sim_clip {
    uint8_t *data;
    size_t len, cap;
    struct sim_packet *packets;
    size_t packet_count, packet_cap;
    struct sim_frame *frames;
    size_t frame_count, frame_cap;
    int64_t period;         /* 90 kHz: timestamps advance by this much per --loop pass */
    uint32_t seq_span;      /* seq numbers advance by this much per pass */
    int64_t frame_duration; /* for spreading stream start times */
    uint32_t max_frame_packets;
    size_t max_packet_len;
    struct sim_ts_field *ts_fields;
    size_t ts_field_count;
    /* replayed captures keep their own numbering */
    bool replay;
    uint32_t first_ssrc;
    uint16_t first_seq;
    uint32_t first_ts;
};

void sim_clip_free(struct sim_clip *c);
/* Builds the clip from the inputs named in the options. Returns 0 or -errno (message printed). */
int sim_clip_build(const struct sim_options *o, struct sim_clip *c);
/* Finds the PS timestamp fields of the clip's payloads (sim_clip_ts.c). Returns 0 or -ENOMEM. */
int sim_clip_index_timestamps(struct sim_clip *c);
/* Copies the bytes of p after its 12-byte fixed header into out (clip->max_packet_len bytes), with every
 * SCR/PTS/DTS field moved forward by `add` (90 kHz, modulo 2^33). Returns the length copied. */
size_t sim_clip_patch_packet(const struct sim_clip *c, const struct sim_packet *p, int64_t add, uint8_t *out);

/* Replays a ZLMediaKit test_rtp capture (2-byte BE length + RTP packet, repeated). */
int sim_clip_from_rtp_file(const struct sim_options *o, struct sim_clip *c);

/* ---- sockets (sim_transport.c) --------------------------------------------------------------------------
 */

struct sim_sock {
    int fd;                       /* -1 until connected / accepted */
    struct sockaddr_storage dest; /* UDP destination */
    socklen_t dest_len;
    bool stream_socket; /* TCP: RFC 4571 framing */
    bool gso;           /* UDP: equal-size packets of a frame in one UDP_SEGMENT send */
    bool dead;          /* TCP peer gone */
    uint8_t *pending;   /* TCP bytes not yet accepted by the kernel */
    size_t pending_len, pending_cap;
};

struct sim_listener {
    int fd;
    unsigned first_stream, stream_count, accepted;
};

uint16_t sim_addr_port(const struct sockaddr_storage *a);
void sim_addr_set_port(struct sockaddr_storage *a, uint16_t port);

/* Opens stream i's socket (UDP bound to an ephemeral port, or a TCP connection). Returns 0 or -errno. */
int sim_sock_open(struct sim_sock *s, const struct sim_options *o, unsigned stream_index);
void sim_sock_close(struct sim_sock *s);
/* Listening sockets for tcp-listen: one per stream with --port-step, else one shared by all streams. */
int sim_listeners_open(const struct sim_options *o, struct sim_listener **out, unsigned *count);
/* Accepts on l; fills the stream socket. Returns 0, -EAGAIN when nothing is waiting, or -errno. */
int sim_listener_accept(struct sim_listener *l, struct sim_sock *s);

struct sim_out_packet {
    uint8_t head[2 + 12]; /* RFC 4571 length (TCP only) + patched RTP fixed header */
    const uint8_t *rest;  /* the shared bytes after the fixed header */
    size_t rest_len;
};

/* Sends packets in order (UDP: sendmmsg batches; TCP: vectored writes, the unwritten tail kept pending up to
 * a bound). Returns the number of packets handed to the kernel or queued; the others were dropped. */
size_t sim_sock_send(struct sim_sock *s, const struct sim_out_packet *pkts, size_t count);
/* TCP: writes pending bytes. Returns 0, -EAGAIN while some remain, or -errno (connection dead). */
int sim_sock_flush(struct sim_sock *s);

/* ---- the sender (sim_sender.c) --------------------------------------------------------------------------
 */

struct sim_stats {
    uint64_t frames, video_frames, audio_frames, packets, bytes;
    uint64_t dropped, duplicated, reordered, send_errors;
    double seconds;
};

/* Set from a signal handler to end the run early (the stats are still complete). */
extern volatile sig_atomic_t sim_stop_requested;

/* Runs every stream until the clip ends, --duration passes or SIGINT/SIGTERM. Returns 0 or -errno. */
int sim_sender_run(const struct sim_options *o, const struct sim_clip *clip, struct sim_stats *stats);

int sim_send_main(int argc, char **argv);

#endif
