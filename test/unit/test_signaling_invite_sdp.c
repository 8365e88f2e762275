/*
 * GB28181 SDP text (signaling/invite_sdp.c): the INVITE offer byte for byte, its refusals, and the answer
 * reader on real device answers from ../shared/sip-samples (decoded as SIP by libre first, the way the
 * gateway receives them: Hikvision 2013 with a bare-LF line, `Content-Length:   162` and its own y=; the
 * MPS test tool's embedded IPC with y=0000000000; a 488; the Dahua dome's 100/101/200; a Hikvision IPC with
 * a=setup:active on UDP), then on synthetic answers for every tolerance rule, and on every truncation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/invite_priv.h"
#include "signaling/invite_sdp.h"
#include "testutil.h"

static struct invite_params play_params(enum invite_transport t)
{
    struct invite_params p;
    memset(&p, 0, sizeof(p));
    strcpy(p.device_id, "34020000001320000001");
    strcpy(p.channel_id, "34020000001310000001");
    p.kind = INVITE_PLAY;
    p.transport = t;
    strcpy(p.media_ip, "192.168.1.10");
    p.media_port = 30002;
    strcpy(p.ssrc, "0200001234");
    return p;
}

static const char *offer_text(const struct invite_params *p)
{
    static char buf[INVITE_SDP_OFFER_MAX];
    size_t len = 0;
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), p, &len), 0);
    ck_assert_uint_eq(len, strlen(buf));
    return buf;
}

/* ---------------------------------------------------------------- the offer */

START_TEST(offer_udp_play_exact)
{
    struct invite_params p = play_params(INVITE_UDP);
    ck_assert_str_eq(offer_text(&p), "v=0\r\n"
                                     "o=34020000001310000001 0 0 IN IP4 192.168.1.10\r\n"
                                     "s=Play\r\n"
                                     "c=IN IP4 192.168.1.10\r\n"
                                     "t=0 0\r\n"
                                     "m=video 30002 RTP/AVP 96 97 98 99\r\n"
                                     "a=recvonly\r\n"
                                     "a=rtpmap:96 PS/90000\r\n"
                                     "a=rtpmap:97 MPEG4/90000\r\n"
                                     "a=rtpmap:98 H264/90000\r\n"
                                     "a=rtpmap:99 H265/90000\r\n"
                                     "y=0200001234\r\n");
}
END_TEST

START_TEST(offer_tcp_exact)
{
    struct invite_params p = play_params(INVITE_TCP_PASSIVE);
    ck_assert_str_eq(offer_text(&p), "v=0\r\n"
                                     "o=34020000001310000001 0 0 IN IP4 192.168.1.10\r\n"
                                     "s=Play\r\n"
                                     "c=IN IP4 192.168.1.10\r\n"
                                     "t=0 0\r\n"
                                     "m=video 30002 TCP/RTP/AVP 96 97 98 99\r\n"
                                     "a=recvonly\r\n"
                                     "a=rtpmap:96 PS/90000\r\n"
                                     "a=rtpmap:97 MPEG4/90000\r\n"
                                     "a=rtpmap:98 H264/90000\r\n"
                                     "a=rtpmap:99 H265/90000\r\n"
                                     "a=setup:passive\r\n"
                                     "a=connection:new\r\n"
                                     "y=0200001234\r\n");
    p = play_params(INVITE_TCP_ACTIVE);
    const char *t = offer_text(&p);
    ck_assert_ptr_nonnull(strstr(t, "m=video 30002 TCP/RTP/AVP 96 97 98 99\r\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "a=rtpmap:99 H265/90000\r\na=setup:active\r\na=connection:new\r\ny=0200001234\r\n"));
}
END_TEST

START_TEST(offer_playback_download_ipv6)
{
    struct invite_params p = play_params(INVITE_UDP);
    p.kind = INVITE_PLAYBACK;
    p.start_time = 1700000000;
    p.end_time = 1700003600;
    strcpy(p.ssrc, "1200000007");
    const char *t = offer_text(&p);
    ck_assert_ptr_nonnull(strstr(t, "s=Playback\r\nu=34020000001310000001:0\r\nc=IN IP4 192.168.1.10\r\n"
                                    "t=1700000000 1700003600\r\nm=video"));
    ck_assert_ptr_null(strstr(t, "downloadspeed"));
    p.kind = INVITE_DOWNLOAD;
    p.download_speed = 4;
    t = offer_text(&p);
    ck_assert_ptr_nonnull(strstr(t, "s=Download\r\n"));
    ck_assert_ptr_nonnull(strstr(t, "a=rtpmap:99 H265/90000\r\na=downloadspeed:4\r\ny=1200000007\r\n"));
    p = play_params(INVITE_UDP);
    strcpy(p.media_ip, "fd00::10");
    t = offer_text(&p);
    ck_assert_ptr_nonnull(
        strstr(t, "o=34020000001310000001 0 0 IN IP6 fd00::10\r\ns=Play\r\nc=IN IP6 fd00::10\r\n"));
}
END_TEST

START_TEST(offer_refuses_bad_params)
{
    char buf[INVITE_SDP_OFFER_MAX];
    size_t len = 0;
    struct invite_params p = play_params(INVITE_UDP);
    strcpy(p.ssrc, "020000123");
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    strcpy(p.ssrc, "02000012x4");
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p = play_params(INVITE_UDP);
    strcpy(p.media_ip, "camera.example"); /* names are not addresses: the device would have to resolve it */
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p = play_params(INVITE_UDP);
    strcpy(p.media_ip, "10.0.0.1\r\nx=y");
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p = play_params(INVITE_UDP);
    p.media_port = 0;
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p.media_port = 65536;
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p = play_params(INVITE_TCP_ACTIVE);
    p.media_port = 0; /* active: our port is only informative */
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), 0);
    p = play_params(INVITE_UDP);
    strcpy(p.channel_id, "3402 0000");
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
    p.channel_id[0] = 0;
    ck_assert_int_eq(invite_sdp_offer(buf, sizeof(buf), &p, &len), EINVAL);
}
END_TEST

START_TEST(offer_buffer_boundary)
{
    struct invite_params p = play_params(INVITE_UDP);
    char full[INVITE_SDP_OFFER_MAX];
    size_t len = 0;
    ck_assert_int_eq(invite_sdp_offer(full, sizeof(full), &p, &len), 0);
    char *exact = malloc(len + 1), *short_by_one = malloc(len);
    size_t len2 = 0;
    ck_assert_int_eq(invite_sdp_offer(exact, len + 1, &p, &len2), 0);
    ck_assert_uint_eq(len2, len);
    ck_assert_int_eq(memcmp(exact, full, len + 1), 0);
    ck_assert_int_eq(invite_sdp_offer(short_by_one, len, &p, &len2), ENOSPC);
    free(exact);
    free(short_by_one);
}
END_TEST

/* ---------------------------------------------------------------- real answers */

/* A SIP message decoded by libre from `text` (CRLF line ends, or LF ends converted when `lf_file`). */
static struct sip_msg *decode(const char *text, size_t len, bool lf_file)
{
    struct mbuf *mb = mbuf_alloc(len * 2 + 4);
    ck_assert_ptr_nonnull(mb);
    for (size_t i = 0; i < len; i++) {
        if (lf_file && text[i] == '\n') mbuf_write_u8(mb, '\r');
        mbuf_write_u8(mb, (uint8_t)text[i]);
    }
    if (lf_file) mbuf_write_str(mb, "\r\n"); /* the separator of the dump took the last line end */
    mb->pos = 0;
    struct sip_msg *msg = NULL;
    ck_assert_int_eq(sip_msg_decode(&msg, mb), 0);
    mem_deref(mb);
    return msg;
}

/* The message after the "===== <marker>" line of a dump, up to the next "\n=====". */
static struct sip_msg *from_dump(const char *relative, const char *marker, bool lf_file)
{
    const char *path = test_shared_path(relative);
    if (!path) return NULL;
    size_t flen;
    char *file = (char *)test_read_file(path, &flen);
    ck_assert_ptr_nonnull(file);
    char *zfile = malloc(flen + 1);
    memcpy(zfile, file, flen);
    zfile[flen] = 0;
    char *at = strstr(zfile, marker);
    ck_assert_msg(at != NULL, "%s not in %s", marker, relative);
    char *start = strchr(at, '\n') + 1;
    char *end = strstr(start, "\n=====");
    size_t len = end ? (size_t)(end - start) : strlen(start);
    struct sip_msg *msg = decode(start, len, lf_file);
    free(zfile);
    free(file);
    return msg;
}

static struct sip_msg *from_file(const char *relative)
{
    const char *path = test_shared_path(relative);
    if (!path) return NULL;
    size_t len;
    uint8_t *data = test_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    struct sip_msg *msg = decode((const char *)data, len, false);
    free(data);
    return msg;
}

START_TEST(hikvision_2013_bare_lf_and_own_ssrc)
{
    struct sip_msg *msg = from_dump("sip-samples/avstackdocs_pcaps_sip_messages.txt",
                                    "===== 20_live_invite_signalling frame 3 ", false);
    if (!msg) return;
    ck_assert_uint_eq(msg->clen.l, 3); /* "Content-Length:   162": the value without the spaces */
    struct invite_answer a;
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.reason, "OK");
    ck_assert(a.has_sdp);
    ck_assert(a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 60205514); /* y=0060205514, not the offer's 0999999999 */
    ck_assert_str_eq(a.remote_ip, "10.64.49.218");
    ck_assert_int_eq(a.remote_port, 5514); /* the m= line that ends in a bare LF */
    ck_assert(!a.remote_tcp);
    ck_assert_str_eq(a.setup, "");
    mem_deref(msg);
}
END_TEST

START_TEST(embedded_ipc_ssrc_zero)
{
    struct sip_msg *msg =
        from_dump("sip-samples/fri_embedded_ipc_invite_200ok_sdp.sip.txt",
                  "===== DEVICE/PEER 192.168.230.100:5060 -> 0.0.0.0:5060 t=1521194279101", true);
    if (!msg) return;
    struct invite_answer a;
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert(a.has_sdp);
    ck_assert(a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 0); /* y=0000000000: the device does not echo the SSRC */
    ck_assert_str_eq(a.remote_ip, "192.168.230.100");
    ck_assert_int_eq(a.remote_port, 45423);
    ck_assert(!a.remote_tcp);
    mem_deref(msg);
}
END_TEST

START_TEST(rejected_488_and_provisionals)
{
    struct sip_msg *msg =
        from_dump("sip-samples/fri_invite_rejected_488.sip.txt",
                  "===== DEVICE/PEER 192.168.230.100:5060 -> 0.0.0.0:5060 t=1521189212742", true);
    if (!msg) return;
    struct invite_answer a;
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 488);
    ck_assert_str_eq(a.reason, "Not Acceptable Here");
    ck_assert(!a.has_sdp);
    ck_assert(!a.has_ssrc);
    ck_assert_int_eq(a.remote_port, 0);
    mem_deref(msg);

    /* Dahua dome: 100 Trying, 101 with the dialog's To tag, then the 200 */
    msg = from_file("sip-samples/vectors/dr34m_20_resp100_INVITE.sip");
    if (!msg) return;
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 100);
    ck_assert(!a.has_sdp);
    mem_deref(msg);
    msg = from_file("sip-samples/vectors/dr34m_21_resp101_INVITE.sip");
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 101);
    ck_assert_str_eq(a.reason, "Dialog Establishement");
    ck_assert(pl_strcmp(&msg->to.tag, "1504032660") == 0);
    mem_deref(msg);
    msg = from_file("sip-samples/vectors/dr34m_22_resp200_INVITE.sip");
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert(a.has_sdp && a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 1002); /* y=0000001002 */
    ck_assert_str_eq(a.remote_ip, "192.168.6.71");
    ck_assert_int_eq(a.remote_port, 9712);
    mem_deref(msg);
}
END_TEST

START_TEST(setup_active_on_udp)
{
    struct sip_msg *msg = from_dump("sip-samples/avstackdocs_pcaps_sip_messages.txt",
                                    "===== 53_force_iframe_case frame 14 ", false);
    if (!msg) return;
    struct invite_answer a;
    invite_answer_from_response(msg, &a);
    ck_assert_int_eq(a.status, 200);
    ck_assert_uint_eq(a.ssrc, 100000001); /* y=0100000001 */
    ck_assert_str_eq(a.remote_ip, "172.29.22.158");
    ck_assert_int_eq(a.remote_port, 15060);
    ck_assert(!a.remote_tcp); /* RTP/AVP: the setup attribute does not make it TCP */
    ck_assert_str_eq(a.setup, "active");
    mem_deref(msg);
}
END_TEST

/* ---------------------------------------------------------------- synthetic answers */

static struct invite_answer parse(const char *text)
{
    struct invite_answer a;
    memset(&a, 0x5a, sizeof(a));
    size_t len = strlen(text);
    uint8_t *exact = calloc(1, len ? len : 1); /* no NUL after the body: ASan sees any read past it */
    memcpy(exact, text, len);
    invite_sdp_parse_answer(exact, len, &a);
    free(exact);
    return a;
}

START_TEST(tolerant_lines_and_spacing)
{
    struct invite_answer a = parse(" v = 0\r"
                                   "c=IN IP4   10.1.2.3  \r"
                                   "M=video   15060/2   tcp/rtp/avp 96\n"
                                   "a=setup:PASSIVE \n"
                                   "y =  0200000001 \r\n");
    ck_assert(a.has_sdp);
    ck_assert_str_eq(a.remote_ip, "10.1.2.3");
    ck_assert_int_eq(a.remote_port, 15060);
    ck_assert(a.remote_tcp);
    ck_assert_str_eq(a.setup, "passive");
    ck_assert(a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 200000001);
}
END_TEST

START_TEST(media_sections_and_levels)
{
    /* audio first, video second: the video section is used, with its own c= over the session's */
    struct invite_answer a = parse("v=0\r\nc=IN IP4 10.0.0.1\r\na=setup:active\r\n"
                                   "m=audio 8000 RTP/AVP 8\r\nc=IN IP4 10.0.0.2\r\n"
                                   "m=video 9000 TCP/RTP/AVP 96\r\nc=IN IP4 10.0.0.3/127\r\ny=1\r\n");
    ck_assert_str_eq(a.remote_ip, "10.0.0.3");
    ck_assert_int_eq(a.remote_port, 9000);
    ck_assert(a.remote_tcp);
    ck_assert_str_eq(a.setup, "active"); /* session-level, the video section has none */
    ck_assert_uint_eq(a.ssrc, 1);
    /* only audio: the first section; session c= */
    a = parse("v=0\nc=IN IP4 10.0.0.1\nm=audio 8000 RTP/AVP 8\n");
    ck_assert_str_eq(a.remote_ip, "10.0.0.1");
    ck_assert_int_eq(a.remote_port, 8000);
    ck_assert(!a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 0);
    /* the first video section wins over a later one */
    a = parse("m=video 1000 RTP/AVP 96\nm=video 2000 RTP/AVP 96\n");
    ck_assert_int_eq(a.remote_port, 1000);
}
END_TEST

START_TEST(bad_fields_are_skipped)
{
    struct invite_answer a = parse("v=0\r\nm=video 0 RTP/AVP 96\r\ny=0000000000\r\n");
    ck_assert_int_eq(a.remote_port, 0);
    ck_assert(a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 0);
    a = parse("m=video 99999 RTP/AVP 96\r\n");
    ck_assert_int_eq(a.remote_port, 0);
    a = parse(
        "m=video abc RTP/AVP 96\r\nc=IN IP4 cam.example\r\nc=XX IP4 10.0.0.9\r\ny=12345678901\r\ny=abc\r\n");
    ck_assert_int_eq(a.remote_port, 0);
    ck_assert_str_eq(a.remote_ip, "");
    ck_assert(!a.has_ssrc);
    a = parse("m=video\r\n");
    ck_assert_int_eq(a.remote_port, 0);
    a = parse("y=4294967296\r\ny=4294967295\r\n"); /* the first valid one counts */
    ck_assert(a.has_ssrc);
    ck_assert_uint_eq(a.ssrc, 4294967295u);
    a = parse("a=setup:averyveryverylongword\r\n");
    ck_assert_str_eq(a.setup, "");
}
END_TEST

START_TEST(no_sdp_at_all)
{
    struct invite_answer a = parse("");
    ck_assert(!a.has_sdp);
    a = parse("hello world\r\n\r\n");
    ck_assert(!a.has_sdp);
    ck_assert_int_eq(a.remote_port, 0);
    ck_assert_str_eq(a.remote_ip, "");
    invite_sdp_parse_answer(NULL, 0, &a);
    ck_assert(!a.has_sdp);
    uint8_t zeros[8] = {0};
    invite_sdp_parse_answer(zeros, sizeof(zeros), &a);
    ck_assert(!a.has_sdp);
}
END_TEST

START_TEST(every_truncation_and_offer_roundtrip)
{
    struct invite_params p = play_params(INVITE_TCP_PASSIVE);
    const char *offer = offer_text(&p);
    size_t len = strlen(offer);
    struct invite_answer a;
    invite_sdp_parse_answer((const uint8_t *)offer, len, &a); /* the reader reads an offer too (gbsim does) */
    ck_assert_str_eq(a.remote_ip, "192.168.1.10");
    ck_assert_int_eq(a.remote_port, 30002);
    ck_assert(a.remote_tcp);
    ck_assert_str_eq(a.setup, "passive");
    ck_assert_uint_eq(a.ssrc, 200001234);
    for (size_t n = 0; n <= len; n++) {
        uint8_t *cut = calloc(1, n ? n : 1);
        memcpy(cut, offer, n);
        invite_sdp_parse_answer(cut, n, &a);
        free(cut);
        /* a field is either absent or complete-so-far: the port can only be a prefix of 30002 */
        ck_assert(a.remote_port == 0 || a.remote_port == 3 || a.remote_port == 30 || a.remote_port == 300 ||
                  a.remote_port == 3000 || a.remote_port == 30002);
    }
}
END_TEST

static Suite *invite_sdp_suite(void)
{
    Suite *s = suite_create("signaling_invite_sdp");
    TCase *tc = tcase_create("offer");
    tcase_add_test(tc, offer_udp_play_exact);
    tcase_add_test(tc, offer_tcp_exact);
    tcase_add_test(tc, offer_playback_download_ipv6);
    tcase_add_test(tc, offer_refuses_bad_params);
    tcase_add_test(tc, offer_buffer_boundary);
    suite_add_tcase(s, tc);
    tc = tcase_create("real answers");
    tcase_add_test(tc, hikvision_2013_bare_lf_and_own_ssrc);
    tcase_add_test(tc, embedded_ipc_ssrc_zero);
    tcase_add_test(tc, rejected_488_and_provisionals);
    tcase_add_test(tc, setup_active_on_udp);
    suite_add_tcase(s, tc);
    tc = tcase_create("tolerance");
    tcase_add_test(tc, tolerant_lines_and_spacing);
    tcase_add_test(tc, media_sections_and_levels);
    tcase_add_test(tc, bad_fields_are_skipped);
    tcase_add_test(tc, no_sdp_at_all);
    tcase_add_test(tc, every_truncation_and_offer_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(invite_sdp_suite());
}
