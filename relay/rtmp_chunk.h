/*
 * RTMP chunk streams (RTMP spec section 5.3): the incremental parser for what a client sends, and the
 * writers for what we send.
 *
 * Parser: bytes in (any split, down to one byte at a time), one callback per complete message out. All four
 * chunk header formats, 1/2/3-byte basic headers, extended timestamps (also on type-3 chunks when the
 * stream's last header had one, as FFmpeg and Flash send them), Set Chunk Size (bounded by max_chunk_size)
 * and Abort are applied inside the parser, because they change how the very next byte is read; they are
 * still delivered to the callback. Bounded: at most RTMP_CHUNK_MAX_STREAMS chunk streams, messages of at
 * most max_message_size. A message that arrives whole in one chunk inside one input buffer is delivered in
 * place; others are assembled in a per-chunk-stream buffer that grows to the largest message seen and is
 * then reused (no allocation per message in the steady state). No sockets, no threads.
 *
 * Writers: whole messages into a caller buffer (control messages, commands), or just the headers, for the
 * media path where the body stays in the shared FLV tag buffer (relay/viewer.c).
 */
#ifndef GB_RELAY_RTMP_CHUNK_H
#define GB_RELAY_RTMP_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMP_DEFAULT_CHUNK_SIZE 128
#define RTMP_CHUNK_MAX_STREAMS  8
#define RTMP_CHUNK_HEADER_MAX   18 /* 3-byte basic + 11 + 4 extended timestamp */
#define RTMP_EXT_TS             0xFFFFFFu

/* Chunk stream ids we send on. */
enum {
    RTMP_CSID_CONTROL = 2,
    RTMP_CSID_COMMAND = 3,
    RTMP_CSID_AUDIO = 4,
    RTMP_CSID_DATA = 5,
    RTMP_CSID_VIDEO = 6
};

enum rtmp_msg_type {
    RTMP_MSG_SET_CHUNK_SIZE = 1,
    RTMP_MSG_ABORT = 2,
    RTMP_MSG_ACK = 3,
    RTMP_MSG_USER_CONTROL = 4,
    RTMP_MSG_WINDOW_ACK_SIZE = 5,
    RTMP_MSG_SET_PEER_BANDWIDTH = 6,
    RTMP_MSG_AUDIO = 8,
    RTMP_MSG_VIDEO = 9,
    RTMP_MSG_DATA_AMF3 = 15,
    RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
    RTMP_MSG_COMMAND_AMF3 = 17,
    RTMP_MSG_DATA_AMF0 = 18,
    RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
    RTMP_MSG_COMMAND_AMF0 = 20,
    RTMP_MSG_AGGREGATE = 22,
};

struct rtmp_message {
    uint32_t csid;
    uint32_t timestamp; /* absolute, ms */
    uint32_t stream_id; /* message stream id */
    uint8_t type;       /* enum rtmp_msg_type (others are passed through) */
    uint32_t len;
    const uint8_t *data; /* valid during the callback only */
};

/* Returns 0 to go on; anything else stops the parser after this message (see rtmp_chunk_input). */
typedef int (*rtmp_message_cb)(void *arg, const struct rtmp_message *m);

struct rtmp_chunk_stream {
    uint32_t csid;
    bool used, has_header;
    bool ext_ts;      /* the last header's timestamp field was 0xFFFFFF: type-3 chunks carry 4 more bytes */
    bool in_progress; /* a message is partly received */
    uint32_t timestamp, ts_field; /* ts_field: last absolute/delta value, reused by type-3 message starts */
    uint32_t len, stream_id;
    uint8_t type;
    uint32_t received;
    uint8_t *buf;
    uint32_t buf_cap;
};

struct rtmp_chunk_parser {
    uint32_t chunk_size, max_chunk_size, max_message_size;
    rtmp_message_cb cb;
    void *arg;
    int error; /* sticky */
    bool in_body;
    uint8_t hdr[RTMP_CHUNK_HEADER_MAX];
    size_t hdr_have;
    struct rtmp_chunk_stream *cur; /* chunk stream of the chunk being read */
    uint32_t chunk_left;           /* body bytes left in the current chunk */
    uint64_t bytes_in, messages;
    struct rtmp_chunk_stream streams[RTMP_CHUNK_MAX_STREAMS];
};

/* max_chunk_size: largest Set Chunk Size accepted; max_message_size: largest message. */
void rtmp_chunk_parser_init(struct rtmp_chunk_parser *p, uint32_t max_chunk_size, uint32_t max_message_size,
                            rtmp_message_cb cb, void *arg);
/* Frees the assembly buffers (the parser may be re-initialised afterwards). */
void rtmp_chunk_parser_free(struct rtmp_chunk_parser *p);

#define RTMP_CHUNK_STOPPED 1
/* Feeds bytes. Returns 0 when all were consumed, RTMP_CHUNK_STOPPED when the callback stopped the parser
 * (*consumed tells where: just after that message), or a negative error, sticky: -EBADMSG (malformed header:
 * reserved chunk stream, a compressed header without a previous one, a new header in the middle of a
 * message, bad Set Chunk Size/Abort payload), -ERANGE (Set Chunk Size of 0 or over max_chunk_size),
 * -EMSGSIZE (message over max_message_size), -ENOSPC (more than RTMP_CHUNK_MAX_STREAMS chunk streams),
 * -ENOMEM. */
int rtmp_chunk_input(struct rtmp_chunk_parser *p, const uint8_t *data, size_t len, size_t *consumed);

/* ---- writers ---- */

/* Type-0 header (basic header + 11 bytes + extended timestamp when ts >= 0xFFFFFF). Returns its length. */
size_t rtmp_chunk_header0(uint8_t out[RTMP_CHUNK_HEADER_MAX], uint32_t csid, uint32_t ts, uint32_t len,
                          uint8_t type, uint32_t stream_id);
/* Type-3 header of a continuation chunk of a message whose type-0 header had timestamp ts (the extended
 * timestamp is repeated when ts >= 0xFFFFFF). Returns its length (1 to 7). */
size_t rtmp_chunk_header3(uint8_t out[7], uint32_t csid, uint32_t ts);
/* Bytes a message takes on the wire with type-0 + type-3 headers. */
size_t rtmp_chunk_wire_size(uint32_t chunk_size, uint32_t csid, uint32_t ts, uint32_t len);
/* Writes a whole message, chunked. Returns the bytes written or -ENOSPC. */
int rtmp_chunk_write_message(uint8_t *out, size_t cap, uint32_t chunk_size, uint32_t csid, uint32_t ts,
                             uint8_t type, uint32_t stream_id, const uint8_t *payload, uint32_t len);

#endif
