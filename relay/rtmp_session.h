/*
 * One RTMP player connection's protocol state, without its socket: handshake, chunk parser, the command
 * conversation up to `play`, then what a player may still send while watching (acknowledgements, pings,
 * pause, deleteStream). Bytes in through rtmp_session_input(), bytes out through ops->send, so the same
 * object first runs on the worker that accepted the connection and then, after `play`, moves (it is plain
 * data) to the worker that owns the stream, where the viewer's read callback feeds it.
 *
 * It decides nothing about streams: at `play` it stops consuming input and returns RTMP_SESSION_PLAY with
 * the stream id in s->stream; the caller finds the stream (possibly on another worker) and answers with
 * rtmp_session_play_start() or rtmp_session_play_not_found(), then feeds the rest of the input.
 */
#ifndef GB_RELAY_RTMP_SESSION_H
#define GB_RELAY_RTMP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/rtmp_chunk.h"
#include "relay/rtmp_handshake.h"

#define RTMP_MEDIA_STREAM_ID      1       /* the one message stream createStream hands out */
#define RTMP_WINDOW_ACK_SIZE      2500000 /* what we announce; players acknowledge every that many bytes */
#define RTMP_MAX_IN_CHUNK_SIZE    65536   /* a larger Set Chunk Size from a player is refused */
#define RTMP_MAX_IN_MESSAGE       65536   /* players send commands, not media: 64 KiB is plenty */
#define RTMP_MAX_UNKNOWN_COMMANDS 3       /* answered with _error; one more closes the connection */

enum rtmp_session_state {
    RTMP_SESSION_HANDSHAKE = 0,
    RTMP_SESSION_WAIT_CONNECT,
    RTMP_SESSION_CONNECTED,
    RTMP_SESSION_PLAY_REQUESTED,
    RTMP_SESSION_PLAYING,
    RTMP_SESSION_PAUSED,
    RTMP_SESSION_DONE, /* the conversation is over: close once the output is written */
};

/* Why a connection was refused or cut, counted per reason for /metrics. */
enum rtmp_fault {
    RTMP_FAULT_NONE = 0,
    RTMP_FAULT_HANDSHAKE,     /* C0 not version 3 (garbage, RTMPE) */
    RTMP_FAULT_CHUNK,         /* malformed chunk stream */
    RTMP_FAULT_CHUNK_SIZE,    /* Set Chunk Size of 0 or over RTMP_MAX_IN_CHUNK_SIZE */
    RTMP_FAULT_MESSAGE_SIZE,  /* message over RTMP_MAX_IN_MESSAGE */
    RTMP_FAULT_CHUNK_STREAMS, /* too many chunk streams */
    RTMP_FAULT_COMMAND,       /* malformed command, command out of order, media from a player */
    RTMP_FAULT_UNKNOWN_COMMAND,
    RTMP_FAULT_PUBLISH,   /* FCPublish/publish: we are a play server */
    RTMP_FAULT_APP,       /* connect to an app other than "live" */
    RTMP_FAULT_TIMEOUT,   /* stalled in the handshake or never played (counted by the server) */
    RTMP_FAULT_OVERFLOW,  /* did not read our replies (counted by the server) */
    RTMP_FAULT_NOT_FOUND, /* played a stream that does not exist (counted by the server) */
    RTMP_FAULT_COUNT
};
const char *rtmp_fault_name(enum rtmp_fault f);

struct rtmp_session_ops {
    void (*send)(void *arg, const uint8_t *p, size_t len);
    /* pause/unpause while playing (the session has already answered) */
    void (*pause)(void *arg, bool pause);
};

struct rtmp_session {
    enum rtmp_session_state state;
    const struct rtmp_session_ops *ops;
    void *ops_arg;
    struct rtmp_handshake *hs; /* only during the handshake */
    bool digest_handshake;     /* the client used (and passed) the digest handshake */
    struct rtmp_chunk_parser parser;
    uint32_t out_chunk_size; /* what we chunk by now (128 until our Set Chunk Size went out) */
    uint32_t cfg_chunk_size; /* rtmp.chunk_size, announced at connect */
    uint32_t peer_window;    /* the player's Window Acknowledgement Size (0 = no acknowledgements) */
    uint64_t bytes_in, acked_in;
    double object_encoding;
    char app[128];
    char stream[65]; /* requested by play */
    double play_txn;
    int unknown_commands;
    enum rtmp_fault fault;
    char fault_detail[160];
    int result; /* what the message callback decided (internal) */
};

/* chunk_size: rtmp.chunk_size. Returns NULL on allocation failure. */
struct rtmp_session *rtmp_session_create(uint32_t chunk_size, uint64_t seed);
void rtmp_session_destroy(struct rtmp_session *s);
void rtmp_session_set_ops(struct rtmp_session *s, const struct rtmp_session_ops *ops, void *arg);

enum {
    RTMP_SESSION_CONTINUE = 0, /* all input consumed, go on */
    RTMP_SESSION_PLAY = 1,     /* play requested: s->stream; input after it is left unconsumed */
    RTMP_SESSION_CLOSE = 2,    /* the conversation ended (refusal sent, deleteStream): close after writing */
};
/* Feeds bytes from the player. Returns RTMP_SESSION_CONTINUE/PLAY/CLOSE with *consumed, or -1 on a
 * protocol fault (s->fault and s->fault_detail say which; nothing more should be sent). */
int rtmp_session_input(struct rtmp_session *s, const uint8_t *p, size_t len, size_t *consumed);

/* Answers the pending play: Stream Begin, onStatus NetStream.Play.Reset and .Start, |RtmpSampleAccess.
 * (No NetStream.Data.Start data message: FFmpeg's FLV demuxer would turn it into a data stream.) The media
 * follows (type-0 chunks on message stream 1, s->out_chunk_size). */
void rtmp_session_play_start(struct rtmp_session *s);
/* Answers the pending play with NetStream.Play.StreamNotFound; the session is DONE. */
void rtmp_session_play_not_found(struct rtmp_session *s, const char *description);
/* The stream ended: onStatus NetStream.Play.UnpublishNotify and Stream EOF; the session is DONE. */
void rtmp_session_play_end(struct rtmp_session *s);

#endif
