/*
 * RTMP player conversation (see rtmp_session.h). The usual exchange, which every player we know of follows:
 *
 *   C0 C1 ->            <- S0 S1 S2          C2 ->
 *   connect(app) ->     <- Window Ack Size, Set Peer Bandwidth, Set Chunk Size, _result(Connect.Success)
 *   createStream ->     <- _result(1)        (releaseStream, getStreamLength, _checkbw...: answered)
 *   play(name) ->       <- Stream Begin, onStatus Play.Reset, Play.Start, |RtmpSampleAccess
 *                       <- onMetaData, sequence headers, the GOP, then live media
 *   pause/deleteStream/closeStream, acknowledgements, pings, Set Buffer Length while watching
 *
 * Anything that cannot be part of it (garbage, a publisher, malformed commands, too many unknown commands)
 * ends the connection with a fault the server counts.
 */
#include "relay/rtmp_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/rtmp_command.h"

#define REPLY_MAX 1024
#define WIRE_MAX  (REPLY_MAX + REPLY_MAX / RTMP_DEFAULT_CHUNK_SIZE * 7 + RTMP_CHUNK_HEADER_MAX)

enum {
    USER_STREAM_BEGIN = 0,
    USER_STREAM_EOF = 1,
    USER_SET_BUFFER_LENGTH = 3,
    USER_PING_REQUEST = 6,
    USER_PING_RESPONSE = 7
};

const char *rtmp_fault_name(enum rtmp_fault f)
{
    static const char *const names[RTMP_FAULT_COUNT] = {
        "none",          "handshake", "chunk",           "chunk_size", "message_size",
        "chunk_streams", "command",   "unknown_command", "publish",    "app",
        "timeout",       "overflow",  "not_found"};
    return f < RTMP_FAULT_COUNT ? names[f] : "?";
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void send_message(struct rtmp_session *s, uint32_t csid, uint8_t type, uint32_t stream_id,
                         const uint8_t *payload, size_t len)
{
    uint8_t wire[WIRE_MAX];
    int n = rtmp_chunk_write_message(wire, sizeof wire, s->out_chunk_size, csid, 0, type, stream_id, payload,
                                     (uint32_t)len);
    if (n > 0 && s->ops && s->ops->send) s->ops->send(s->ops_arg, wire, (size_t)n);
}

static void send_control(struct rtmp_session *s, uint8_t type, uint32_t value, int extra_byte)
{
    uint8_t p[5];
    put_be32(p, value);
    if (extra_byte >= 0) p[4] = (uint8_t)extra_byte;
    send_message(s, RTMP_CSID_CONTROL, type, 0, p, extra_byte >= 0 ? 5 : 4);
}

static void send_user_control(struct rtmp_session *s, uint16_t event, uint32_t value)
{
    uint8_t p[6] = {(uint8_t)(event >> 8), (uint8_t)event};
    put_be32(p + 2, value);
    send_message(s, RTMP_CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, p, sizeof p);
}

/* A command reply built by one of the rtmp_reply_* functions. */
static void send_command(struct rtmp_session *s, uint32_t csid, uint32_t stream_id, const uint8_t *body,
                         int len)
{
    if (len > 0) send_message(s, csid, RTMP_MSG_COMMAND_AMF0, stream_id, body, (size_t)len);
}

static void send_status(struct rtmp_session *s, const char *level, const char *code, const char *description)
{
    uint8_t body[REPLY_MAX];
    int n = rtmp_reply_on_status(body, sizeof body, level, code, description, s->stream);
    send_command(s, RTMP_CSID_DATA, RTMP_MEDIA_STREAM_ID, body, n);
}

static int fault(struct rtmp_session *s, enum rtmp_fault f, const char *detail)
{
    s->fault = f;
    size_t n = strlen(detail);
    if (n >= sizeof s->fault_detail) n = sizeof s->fault_detail - 1;
    memcpy(s->fault_detail, detail, n);
    s->fault_detail[n] = 0;
    s->result = -1;
    return 1; /* stop the parser */
}

static int finish(struct rtmp_session *s, int result)
{
    s->result = result;
    if (result == RTMP_SESSION_CLOSE) s->state = RTMP_SESSION_DONE;
    return 1;
}

static int on_connect(struct rtmp_session *s, const struct rtmp_command *c)
{
    if (s->state != RTMP_SESSION_WAIT_CONNECT) return fault(s, RTMP_FAULT_COMMAND, "connect sent twice");
    char tc_url[256], probe[65];
    if (rtmp_command_connect_info(c, s->app, sizeof s->app, tc_url, sizeof tc_url, &s->object_encoding) != 0)
        return fault(s, RTMP_FAULT_COMMAND, "connect: app or tcUrl too long");
    uint8_t body[REPLY_MAX];
    /* the app decides nothing but must be ours; a stream name in it is checked at play */
    if (rtmp_stream_name(s->app, "x", probe, sizeof probe) == -ENOENT) {
        int n = rtmp_reply_error(body, sizeof body, c->txn, "NetConnection.Connect.Rejected",
                                 "unknown application: play rtmp://host:port/live/{stream}");
        send_command(s, RTMP_CSID_COMMAND, 0, body, n);
        fault(s, RTMP_FAULT_APP, "connect to an app other than live");
        return finish(s, RTMP_SESSION_CLOSE);
    }
    send_control(s, RTMP_MSG_WINDOW_ACK_SIZE, RTMP_WINDOW_ACK_SIZE, -1);
    send_control(s, RTMP_MSG_SET_PEER_BANDWIDTH, RTMP_WINDOW_ACK_SIZE, 2 /* dynamic */);
    send_control(s, RTMP_MSG_SET_CHUNK_SIZE, s->cfg_chunk_size, -1);
    s->out_chunk_size = s->cfg_chunk_size;
    int n = rtmp_reply_connect_result(body, sizeof body, c->txn, s->object_encoding);
    send_command(s, RTMP_CSID_COMMAND, 0, body, n);
    s->state = RTMP_SESSION_CONNECTED;
    return 0;
}

static int on_play(struct rtmp_session *s, const struct rtmp_command *c)
{
    if (s->state != RTMP_SESSION_CONNECTED)
        return fault(s, RTMP_FAULT_COMMAND, "play before connect or twice");
    char name[256] = "";
    if (c->nargs > 0 && c->args[0].type != AMF0_NULL && rtmp_command_arg_string(c, 0, name, sizeof name) != 0)
        return fault(s, RTMP_FAULT_COMMAND, "play: stream name is not a short string");
    s->play_txn = c->txn;
    if (rtmp_stream_name(s->app, name, s->stream, sizeof s->stream) != 0) {
        s->stream[0] = 0;
        s->state = RTMP_SESSION_PLAY_REQUESTED;
        rtmp_session_play_not_found(s,
                                    "stream names are [A-Za-z0-9_.-]{1,64}: rtmp://host:port/live/{stream}");
        s->fault = RTMP_FAULT_NOT_FOUND;
        return finish(s, RTMP_SESSION_CLOSE);
    }
    s->state = RTMP_SESSION_PLAY_REQUESTED;
    return finish(s, RTMP_SESSION_PLAY);
}

static int on_pause(struct rtmp_session *s, const struct rtmp_command *c)
{
    bool pause;
    if (s->state != RTMP_SESSION_PLAYING && s->state != RTMP_SESSION_PAUSED) return 0;
    if (rtmp_command_arg_bool(c, 0, &pause) != 0) return fault(s, RTMP_FAULT_COMMAND, "pause without a flag");
    if (pause == (s->state == RTMP_SESSION_PAUSED)) return 0;
    s->state = pause ? RTMP_SESSION_PAUSED : RTMP_SESSION_PLAYING;
    send_status(s, "status", pause ? "NetStream.Pause.Notify" : "NetStream.Unpause.Notify",
                pause ? "Paused live" : "Unpaused live");
    if (s->ops && s->ops->pause) s->ops->pause(s->ops_arg, pause);
    return 0;
}

static int on_publish(struct rtmp_session *s, const struct rtmp_command *c, bool fc)
{
    uint8_t body[REPLY_MAX];
    static const char why[] = "gbgate is a play server: it does not accept published streams";
    if (fc)
        send_command(s, RTMP_CSID_COMMAND, 0, body,
                     rtmp_reply_error(body, sizeof body, c->txn, "NetStream.Publish.Denied", why));
    else
        send_status(s, "error", "NetStream.Publish.Denied", why);
    fault(s, RTMP_FAULT_PUBLISH, fc ? "FCPublish refused" : "publish refused");
    return finish(s, RTMP_SESSION_CLOSE);
}

/* Commands players send that need nothing but an answer (when they ask for one). */
static bool is_harmless(const char *name)
{
    static const char *const names[] = {
        "releaseStream", "FCUnpublish",     "FCSubscribe", "FCUnsubscribe", "_checkbw", "receiveAudio",
        "receiveVideo",  "setBufferLength", "_result",     "onBWDone",      NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(name, names[i])) return true;
    return false;
}

static int on_command(struct rtmp_session *s, const struct rtmp_message *m)
{
    struct rtmp_command c;
    if (rtmp_command_decode(m->data, m->len, m->type == RTMP_MSG_COMMAND_AMF3, &c) != 0)
        return fault(s, RTMP_FAULT_COMMAND, "malformed AMF0 command");
    uint8_t body[REPLY_MAX];
    if (!strcmp(c.name, "connect")) return on_connect(s, &c);
    if (s->state == RTMP_SESSION_WAIT_CONNECT) return fault(s, RTMP_FAULT_COMMAND, "command before connect");
    if (!strcmp(c.name, "createStream")) {
        send_command(s, RTMP_CSID_COMMAND, 0, body,
                     rtmp_reply_result(body, sizeof body, c.txn, true, RTMP_MEDIA_STREAM_ID));
        return 0;
    }
    if (!strcmp(c.name, "getStreamLength")) { /* live: no length */
        send_command(s, RTMP_CSID_COMMAND, 0, body, rtmp_reply_result(body, sizeof body, c.txn, true, 0));
        return 0;
    }
    if (!strcmp(c.name, "play")) return on_play(s, &c);
    if (!strcmp(c.name, "pause")) return on_pause(s, &c);
    if (!strcmp(c.name, "deleteStream") || !strcmp(c.name, "closeStream")) {
        if (s->state == RTMP_SESSION_PLAYING || s->state == RTMP_SESSION_PAUSED)
            return finish(s, RTMP_SESSION_CLOSE);
        return 0;
    }
    if (!strcmp(c.name, "FCPublish")) return on_publish(s, &c, true);
    if (!strcmp(c.name, "publish")) return on_publish(s, &c, false);
    if (is_harmless(c.name)) {
        if (c.txn != 0)
            send_command(s, RTMP_CSID_COMMAND, 0, body,
                         rtmp_reply_result(body, sizeof body, c.txn, false, 0));
        return 0;
    }
    if (++s->unknown_commands > RTMP_MAX_UNKNOWN_COMMANDS)
        return fault(s, RTMP_FAULT_UNKNOWN_COMMAND, c.name);
    if (c.txn != 0)
        send_command(
            s, RTMP_CSID_COMMAND, 0, body,
            rtmp_reply_error(body, sizeof body, c.txn, "NetConnection.Call.Failed", "unknown command"));
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int on_message(void *arg, const struct rtmp_message *m)
{
    struct rtmp_session *s = arg;
    switch (m->type) {
    case RTMP_MSG_COMMAND_AMF0:
    case RTMP_MSG_COMMAND_AMF3: return on_command(s, m);
    case RTMP_MSG_WINDOW_ACK_SIZE:
        if (m->len < 4) return fault(s, RTMP_FAULT_COMMAND, "short Window Acknowledgement Size");
        s->peer_window = be32(m->data);
        return 0;
    case RTMP_MSG_USER_CONTROL:
        if (m->len < 2) return fault(s, RTMP_FAULT_COMMAND, "short user control message");
        if (((uint16_t)m->data[0] << 8 | m->data[1]) == USER_PING_REQUEST && m->len >= 6)
            send_user_control(s, USER_PING_RESPONSE, be32(m->data + 2));
        return 0; /* Set Buffer Length, Ping Response: nothing to do */
    case RTMP_MSG_AUDIO:
    case RTMP_MSG_VIDEO:
    case RTMP_MSG_AGGREGATE: return fault(s, RTMP_FAULT_COMMAND, "media sent to a play server");
    default: return 0; /* chunk size/abort (applied by the parser), acks, bandwidth, data, shared objects */
    }
}

struct rtmp_session *rtmp_session_create(uint32_t chunk_size, uint64_t seed)
{
    struct rtmp_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->hs = malloc(sizeof *s->hs);
    if (!s->hs) {
        free(s);
        return NULL;
    }
    rtmp_handshake_init(s->hs, seed);
    rtmp_chunk_parser_init(&s->parser, RTMP_MAX_IN_CHUNK_SIZE, RTMP_MAX_IN_MESSAGE, on_message, s);
    s->out_chunk_size = RTMP_DEFAULT_CHUNK_SIZE;
    s->cfg_chunk_size = chunk_size;
    return s;
}

void rtmp_session_destroy(struct rtmp_session *s)
{
    if (!s) return;
    free(s->hs);
    rtmp_chunk_parser_free(&s->parser);
    free(s);
}

void rtmp_session_set_ops(struct rtmp_session *s, const struct rtmp_session_ops *ops, void *arg)
{
    s->ops = ops;
    s->ops_arg = arg;
}

static enum rtmp_fault parser_fault(int rc)
{
    switch (rc) {
    case -ERANGE: return RTMP_FAULT_CHUNK_SIZE;
    case -EMSGSIZE: return RTMP_FAULT_MESSAGE_SIZE;
    case -ENOSPC: return RTMP_FAULT_CHUNK_STREAMS;
    default: return RTMP_FAULT_CHUNK;
    }
}

int rtmp_session_input(struct rtmp_session *s, const uint8_t *p, size_t len, size_t *consumed)
{
    size_t pos = 0;
    *consumed = 0;
    if (s->fault && s->result < 0) return -1;
    if (len == 0) return s->state == RTMP_SESSION_DONE ? RTMP_SESSION_CLOSE : RTMP_SESSION_CONTINUE;
    if (s->state == RTMP_SESSION_DONE) {
        *consumed = len; /* nothing more is read from a finished conversation */
        return RTMP_SESSION_CLOSE;
    }
    if (s->state == RTMP_SESSION_PLAY_REQUESTED) return RTMP_SESSION_PLAY;
    if (s->hs) {
        const uint8_t *reply;
        size_t reply_len;
        int n = rtmp_handshake_input(s->hs, p, len, &reply, &reply_len);
        if (n < 0) {
            fault(s, RTMP_FAULT_HANDSHAKE, "not an RTMP version 3 handshake");
            return -1;
        }
        if (reply_len && s->ops && s->ops->send) s->ops->send(s->ops_arg, reply, reply_len);
        pos = (size_t)n;
        s->bytes_in += pos;
        if (!rtmp_handshake_done(s->hs)) {
            *consumed = pos;
            return RTMP_SESSION_CONTINUE;
        }
        s->digest_handshake = s->hs->digest;
        free(s->hs);
        s->hs = NULL;
        s->state = RTMP_SESSION_WAIT_CONNECT;
    }
    s->result = RTMP_SESSION_CONTINUE;
    size_t used = 0;
    int rc = rtmp_chunk_input(&s->parser, p + pos, len - pos, &used);
    pos += used;
    s->bytes_in += used;
    *consumed = pos;
    if (rc < 0) {
        if (s->result >= 0) {
            static const char *const what[] = {[RTMP_FAULT_CHUNK] = "malformed chunk stream",
                                               [RTMP_FAULT_CHUNK_SIZE] = "Set Chunk Size out of range",
                                               [RTMP_FAULT_MESSAGE_SIZE] = "message too large",
                                               [RTMP_FAULT_CHUNK_STREAMS] = "too many chunk streams"};
            enum rtmp_fault f = parser_fault(rc);
            fault(s, f, what[f]);
        }
        return -1;
    }
    if (s->result < 0) return -1;
    if (s->peer_window && s->bytes_in - s->acked_in >= s->peer_window) {
        s->acked_in = s->bytes_in;
        send_control(s, RTMP_MSG_ACK, (uint32_t)s->bytes_in, -1);
    }
    return s->result;
}

void rtmp_session_play_start(struct rtmp_session *s)
{
    uint8_t body[REPLY_MAX];
    send_user_control(s, USER_STREAM_BEGIN, RTMP_MEDIA_STREAM_ID);
    send_status(s, "status", "NetStream.Play.Reset", "Playing and resetting the stream.");
    send_status(s, "status", "NetStream.Play.Start", "Started playing the stream.");
    int n = rtmp_data_sample_access(body, sizeof body);
    if (n > 0) send_message(s, RTMP_CSID_DATA, RTMP_MSG_DATA_AMF0, RTMP_MEDIA_STREAM_ID, body, (size_t)n);
    s->state = RTMP_SESSION_PLAYING;
}

void rtmp_session_play_not_found(struct rtmp_session *s, const char *description)
{
    send_status(s, "error", "NetStream.Play.StreamNotFound", description);
    s->state = RTMP_SESSION_DONE;
}

void rtmp_session_play_end(struct rtmp_session *s)
{
    send_status(s, "status", "NetStream.Play.UnpublishNotify", "The stream ended.");
    send_user_control(s, USER_STREAM_EOF, RTMP_MEDIA_STREAM_ID);
    s->state = RTMP_SESSION_DONE;
}
