/* The RTMP player conversation end to end, with both sides' bytes checked: digest handshake, connect
 * (window, bandwidth, chunk size, Connect.Success), createStream, getStreamLength, play stopping the input
 * right after itself, the play answer, pause/unpause, ping, acknowledgements, deleteStream; byte-at-a-time
 * input; and every refusal: garbage, wrong app, publishers, commands out of order, unknown commands, huge
 * chunk sizes, media from a player, bad stream names. */
#include <check.h>
#include <string.h>

#include "relay/amf0.h"
#include "relay/rtmp_command.h"
#include "relay/rtmp_session.h"
#include "testutil.h"

/* ---- the server's output, parsed as a client would ---- */
static uint8_t sent[1 << 16];
static size_t sent_len, parsed_upto;
static int pauses[4], npauses;

static void on_send(void *arg, const uint8_t *p, size_t len)
{
    ck_assert_uint_le(sent_len + len, sizeof sent);
    memcpy(sent + sent_len, p, len);
    sent_len += len;
}
static void on_pause(void *arg, bool pause)
{
    pauses[npauses++] = pause;
}
static const struct rtmp_session_ops ops = {on_send, on_pause};

struct reply {
    uint8_t type;
    uint32_t csid, msid, len;
    uint8_t data[1024];
};
static struct reply replies[32];
static int nreplies;
static struct rtmp_chunk_parser client;

static int on_reply(void *arg, const struct rtmp_message *m)
{
    ck_assert_int_lt(nreplies, 32);
    struct reply *r = &replies[nreplies++];
    r->type = m->type;
    r->csid = m->csid;
    r->msid = m->stream_id;
    r->len = m->len;
    ck_assert_uint_le(m->len, sizeof r->data);
    memcpy(r->data, m->data, m->len);
    return 0;
}

/* Parses what the server sent since the last call (the handshake reply is skipped by the caller). */
static void read_replies(void)
{
    nreplies = 0;
    size_t used;
    ck_assert_int_eq(rtmp_chunk_input(&client, sent + parsed_upto, sent_len - parsed_upto, &used), 0);
    parsed_upto = sent_len;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void expect_command(int i, const char *name, const char *code)
{
    ck_assert_int_lt(i, nreplies);
    ck_assert_uint_eq(replies[i].type, 20);
    struct rtmp_command c;
    ck_assert_int_eq(rtmp_command_decode(replies[i].data, replies[i].len, false, &c), 0);
    ck_assert_str_eq(c.name, name);
    if (!code) return;
    struct amf0_value v;
    char s[96];
    ck_assert_int_ge(c.nargs, 1);
    ck_assert_int_eq(amf0_object_get(&c.args[c.nargs - 1], "code", &v), 0);
    ck_assert_int_eq(amf0_string_copy(&v, s, sizeof s), 0);
    ck_assert_str_eq(s, code);
}

/* ---- the client's input ---- */
static uint8_t in[1 << 16];
static size_t in_len;

static void put_command(uint32_t csid, uint32_t msid, const char *name, double txn, const char *arg_str,
                        int extra)
{
    uint8_t body[512];
    struct amf0_writer w;
    amf0_writer_init(&w, body, sizeof body);
    amf0_put_string(&w, name);
    amf0_put_number(&w, txn);
    if (!strcmp(name, "connect")) {
        amf0_put_object_start(&w);
        amf0_put_prop_string(&w, "app", arg_str);
        amf0_put_prop_string(&w, "tcUrl", "rtmp://127.0.0.1/live");
        amf0_put_prop_string(&w, "flashVer", "LNX 9,0,124,2");
        amf0_put_object_end(&w);
    } else {
        amf0_put_null(&w);
        if (arg_str) amf0_put_string(&w, arg_str);
        if (extra >= 0) amf0_put_boolean(&w, extra);
        if (extra >= 0) amf0_put_number(&w, 0);
    }
    int n = amf0_writer_finish(&w);
    ck_assert_int_gt(n, 0);
    int m =
        rtmp_chunk_write_message(in + in_len, sizeof in - in_len, 128, csid, 0, 20, msid, body, (uint32_t)n);
    ck_assert_int_gt(m, 0);
    in_len += (size_t)m;
}

static void put_control(uint8_t type, const uint8_t *payload, uint32_t len)
{
    int m = rtmp_chunk_write_message(in + in_len, sizeof in - in_len, 128, 2, 0, type, 0, payload, len);
    ck_assert_int_gt(m, 0);
    in_len += (size_t)m;
}

static struct rtmp_session *S;

static void start(bool digest)
{
    rtmp_session_destroy(S);
    S = rtmp_session_create(4096, 99);
    rtmp_session_set_ops(S, &ops, NULL);
    sent_len = parsed_upto = 0;
    npauses = 0;
    rtmp_chunk_parser_free(&client);
    rtmp_chunk_parser_init(&client, 1 << 20, 1 << 20, on_reply, NULL);
    in_len = 0;
    uint8_t c0c1[1 + RTMP_HANDSHAKE_SIZE];
    rtmp_handshake_client_c0c1(c0c1, digest, 5);
    memcpy(in, c0c1, sizeof c0c1);
    memset(in + sizeof c0c1, 0, RTMP_HANDSHAKE_SIZE); /* C2 */
    in_len = sizeof c0c1 + RTMP_HANDSHAKE_SIZE;
}

/* Feeds in[from..in_len) whole and returns the session's answer. */
static int feed(size_t from, size_t *consumed)
{
    return rtmp_session_input(S, in + from, in_len - from, consumed);
}

START_TEST(test_full_conversation)
{
    start(true);
    put_command(3, 0, "connect", 1, "live", -1);
    size_t used;
    ck_assert_int_eq(feed(0, &used), RTMP_SESSION_CONTINUE);
    ck_assert_uint_eq(used, in_len);
    ck_assert(S->digest_handshake);
    /* the handshake answer passes FFmpeg's checks */
    uint8_t c0c1[1 + RTMP_HANDSHAKE_SIZE];
    memcpy(c0c1, in, sizeof c0c1);
    ck_assert_uint_ge(sent_len, 1 + 2 * RTMP_HANDSHAKE_SIZE);
    ck_assert_int_eq(rtmp_handshake_client_check(c0c1, sent), 0);
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    ck_assert_int_eq(nreplies, 4);
    ck_assert_uint_eq(replies[0].type, 5);
    ck_assert_uint_eq(be32(replies[0].data), 2500000);
    ck_assert_uint_eq(replies[1].type, 6);
    ck_assert_uint_eq(replies[1].len, 5);
    ck_assert_uint_eq(replies[1].data[4], 2);
    ck_assert_uint_eq(replies[2].type, 1);
    ck_assert_uint_eq(be32(replies[2].data), 4096);
    ck_assert_uint_eq(client.chunk_size, 4096); /* applied by the client parser for what follows */
    expect_command(3, "_result", "NetConnection.Connect.Success");
    ck_assert_int_eq(S->state, RTMP_SESSION_CONNECTED);

    size_t mark = in_len;
    put_command(3, 0, "createStream", 2, NULL, -1);
    put_command(8, 1, "getStreamLength", 3, "cam1", -1);
    put_command(3, 0, "releaseStream", 4, "cam1", -1);
    ck_assert_int_eq(feed(mark, &used), RTMP_SESSION_CONTINUE);
    read_replies();
    ck_assert_int_eq(nreplies, 3);
    expect_command(0, "_result", NULL);
    struct rtmp_command c;
    rtmp_command_decode(replies[0].data, replies[0].len, false, &c);
    ck_assert(c.txn == 2 && c.args[0].number == 1);
    rtmp_command_decode(replies[1].data, replies[1].len, false, &c);
    ck_assert(c.txn == 3 && c.args[0].number == 0);

    /* play, followed in the same read by a Set Buffer Length: the input stops right after play */
    mark = in_len;
    put_command(8, 1, "play", 0, "cam1?token=abc", -1);
    size_t play_end = in_len;
    static const uint8_t setbuf[10] = {0, 3, 0, 0, 0, 1, 0, 0, 0x0b, 0xb8};
    put_control(4, setbuf, sizeof setbuf);
    ck_assert_int_eq(feed(mark, &used), RTMP_SESSION_PLAY);
    ck_assert_uint_eq(mark + used, play_end);
    ck_assert_str_eq(S->stream, "cam1");
    ck_assert_int_eq(feed(play_end, &used), RTMP_SESSION_PLAY); /* nothing is read until answered */
    ck_assert_uint_eq(used, 0);
    rtmp_session_play_start(S);
    read_replies();
    ck_assert_int_eq(nreplies, 4);
    ck_assert_uint_eq(replies[0].type, 4);
    ck_assert_uint_eq(replies[0].data[1], 0); /* Stream Begin */
    ck_assert_uint_eq(be32(replies[0].data + 2), 1);
    expect_command(1, "onStatus", "NetStream.Play.Reset");
    ck_assert_uint_eq(replies[1].msid, 1);
    expect_command(2, "onStatus", "NetStream.Play.Start");
    ck_assert_uint_eq(replies[3].type, 18);
    ck_assert_mem_eq(replies[3].data + 3, "|RtmpSampleAccess", 17);
    ck_assert_int_eq(feed(play_end, &used), RTMP_SESSION_CONTINUE);
    ck_assert_uint_eq(play_end + used, in_len);

    /* pause, unpause, ping */
    mark = in_len;
    put_command(8, 1, "pause", 0, NULL, 1);
    put_command(8, 1, "pause", 0, NULL, 0);
    static const uint8_t ping[6] = {0, 6, 0x12, 0x34, 0x56, 0x78};
    put_control(4, ping, sizeof ping);
    ck_assert_int_eq(feed(mark, &used), RTMP_SESSION_CONTINUE);
    ck_assert_int_eq(npauses, 2);
    ck_assert_int_eq(pauses[0], 1);
    ck_assert_int_eq(pauses[1], 0);
    read_replies();
    ck_assert_int_eq(nreplies, 3);
    expect_command(0, "onStatus", "NetStream.Pause.Notify");
    expect_command(1, "onStatus", "NetStream.Unpause.Notify");
    ck_assert_uint_eq(replies[2].type, 4);
    ck_assert_uint_eq(replies[2].data[1], 7);
    ck_assert_uint_eq(be32(replies[2].data + 2), 0x12345678);

    /* the stream ends */
    rtmp_session_play_end(S);
    read_replies();
    expect_command(0, "onStatus", "NetStream.Play.UnpublishNotify");
    ck_assert_uint_eq(replies[1].type, 4);
    ck_assert_uint_eq(replies[1].data[1], 1); /* Stream EOF */
    ck_assert_int_eq(S->state, RTMP_SESSION_DONE);
    ck_assert_int_eq(S->fault, RTMP_FAULT_NONE);
}
END_TEST

START_TEST(test_byte_at_a_time_and_delete)
{
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    put_command(3, 0, "createStream", 2, NULL, -1);
    put_command(8, 1, "play", 0, "cam7", -1);
    size_t pos = 0, used;
    int rc = RTMP_SESSION_CONTINUE;
    while (pos < in_len && rc == RTMP_SESSION_CONTINUE) {
        rc = rtmp_session_input(S, in + pos, 1, &used);
        pos += used;
    }
    ck_assert_int_eq(rc, RTMP_SESSION_PLAY);
    ck_assert_uint_eq(pos, in_len);
    ck_assert(!S->digest_handshake);
    ck_assert_mem_eq(sent + 1 + RTMP_HANDSHAKE_SIZE, in + 1, RTMP_HANDSHAKE_SIZE); /* plain: S2 = C1 */
    ck_assert_str_eq(S->stream, "cam7");
    rtmp_session_play_start(S);
    size_t mark = in_len;
    put_command(8, 1, "deleteStream", 0, NULL, -1);
    ck_assert_int_eq(feed(mark, &used), RTMP_SESSION_CLOSE);
    ck_assert_int_eq(S->state, RTMP_SESSION_DONE);
}
END_TEST

START_TEST(test_acknowledgements)
{
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    static const uint8_t window[4] = {0, 0, 0x03, 0xe8}; /* 1000: the handshake alone is more */
    put_control(5, window, 4);
    size_t used;
    ck_assert_int_eq(feed(0, &used), RTMP_SESSION_CONTINUE);
    size_t total = in_len;
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    /* 4 connect replies, then an Acknowledgement carrying the bytes received so far */
    ck_assert_int_eq(nreplies, 5);
    ck_assert_uint_eq(replies[4].type, 3);
    ck_assert_uint_eq(be32(replies[4].data), total);
}
END_TEST

static int run_until_fault(void)
{
    size_t used;
    int rc = feed(0, &used);
    return rc;
}

START_TEST(test_refusals)
{
    size_t used;
    /* garbage instead of a handshake */
    start(false);
    in[0] = 'G';
    ck_assert_int_eq(run_until_fault(), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_HANDSHAKE);
    /* another app */
    start(false);
    put_command(3, 0, "connect", 1, "vod", -1);
    ck_assert_int_eq(run_until_fault(), RTMP_SESSION_CLOSE);
    ck_assert_int_eq(S->fault, RTMP_FAULT_APP);
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    expect_command(0, "_error", "NetConnection.Connect.Rejected");
    ck_assert_int_eq(feed(0, &used), RTMP_SESSION_CLOSE); /* finished: nothing more is processed */
    /* a publisher */
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    put_command(3, 0, "releaseStream", 2, "cam1", -1);
    put_command(3, 0, "FCPublish", 3, "cam1", -1);
    ck_assert_int_eq(run_until_fault(), RTMP_SESSION_CLOSE);
    ck_assert_int_eq(S->fault, RTMP_FAULT_PUBLISH);
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    expect_command(5, "_error", "NetStream.Publish.Denied");
    /* a command before connect */
    start(false);
    put_command(3, 0, "play", 0, "cam1", -1);
    ck_assert_int_eq(run_until_fault(), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_COMMAND);
    /* unknown commands: three get _error, the fourth closes */
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    for (int i = 0; i < 3; i++) put_command(3, 0, "fooBar", 10 + i, NULL, -1);
    ck_assert_int_eq(run_until_fault(), RTMP_SESSION_CONTINUE);
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    ck_assert_int_eq(nreplies, 7);
    expect_command(6, "_error", "NetConnection.Call.Failed");
    size_t mark = in_len;
    put_command(3, 0, "fooBar", 20, NULL, -1);
    ck_assert_int_eq(feed(mark, &used), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_UNKNOWN_COMMAND);
    /* a huge chunk size */
    start(false);
    static const uint8_t huge[4] = {0x00, 0x10, 0x00, 0x00};
    put_control(1, huge, 4);
    ck_assert_int_eq(run_until_fault(), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_CHUNK_SIZE);
    /* media from a player */
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    int m = rtmp_chunk_write_message(in + in_len, sizeof in - in_len, 128, 6, 0, 9, 1,
                                     (const uint8_t *)"\x17\x01", 2);
    in_len += (size_t)m;
    ck_assert_int_eq(run_until_fault(), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_COMMAND);
    /* a malformed chunk stream: type-1 header on a fresh chunk stream */
    start(false);
    in[in_len++] = 0x47;
    memset(in + in_len, 0, 7);
    in_len += 7;
    ck_assert_int_eq(run_until_fault(), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_CHUNK);
    /* a name that cannot be a stream id: StreamNotFound and close */
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    put_command(8, 1, "play", 0, "../../etc/passwd", -1);
    ck_assert_int_eq(run_until_fault(), RTMP_SESSION_CLOSE);
    ck_assert_int_eq(S->fault, RTMP_FAULT_NOT_FOUND);
    parsed_upto = 1 + 2 * RTMP_HANDSHAKE_SIZE;
    read_replies();
    expect_command(4, "onStatus", "NetStream.Play.StreamNotFound");
    /* play twice */
    start(false);
    put_command(3, 0, "connect", 1, "live", -1);
    put_command(8, 1, "play", 0, "a", -1);
    ck_assert_int_eq(run_until_fault(), RTMP_SESSION_PLAY);
    rtmp_session_play_start(S);
    mark = in_len;
    put_command(8, 1, "play", 0, "b", -1);
    ck_assert_int_eq(feed(mark, &used), -1);
    ck_assert_int_eq(S->fault, RTMP_FAULT_COMMAND);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("relay_rtmp_session");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_full_conversation);
    tcase_add_test(tc, test_byte_at_a_time_and_delete);
    tcase_add_test(tc, test_acknowledgements);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = test_run_suite(suite());
    rtmp_session_destroy(S);
    rtmp_chunk_parser_free(&client);
    return rc;
}
