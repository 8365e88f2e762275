/*
 * Test helpers for the RTP payload suites (rtp_h26x, ts_demux, payload_sniff): real encoder output made
 * at test time with ffmpeg (skipped cleanly when ffmpeg is absent), Annex-B split into NAL units and access
 * units, a small RFC 6184 / RFC 7798 packetizer of our own, and a capture of what ffmpeg's own RTP muxer
 * (an independent implementation) sends to a local UDP socket. Header-only (static inline) because each unit
 * test is a single .c file; the frame collector comes from ps_test_util.h.
 */
#ifndef GB_TEST_UNIT_RTP_PAYLOAD_TEST_UTIL_H
#define GB_TEST_UNIT_RTP_PAYLOAD_TEST_UTIL_H

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "media/h26x.h"
#include "media/rtp.h"
#include "ps_test_util.h"
#include "testutil.h"

/* ---- ffmpeg and temporary files ---- */

static inline bool mt_have_ffmpeg(void)
{
    static int have = -1;
    if (have < 0)
        have =
            system("ffmpeg -version >/dev/null 2>&1") == 0 && system("ffprobe -version >/dev/null 2>&1") == 0;
    if (!have) printf("SKIP: ffmpeg/ffprobe not installed\n");
    return have;
}

static char mt_tmpdir[64];

static inline const char *mt_tmp(const char *name)
{
    static char path[8][160];
    static int next;
    char *p = path[next++ % 8];
    if (!mt_tmpdir[0]) {
        strcpy(mt_tmpdir, "/tmp/gb_rtp_payload_XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(mt_tmpdir));
    }
    snprintf(p, sizeof path[0], "%s/%s", mt_tmpdir, name);
    return p;
}

static inline void mt_cleanup(void)
{
    if (!mt_tmpdir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mt_tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", mt_tmpdir);
    mt_tmpdir[0] = 0;
}

static inline void mt_run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "command failed: %s", cmd);
}

/* First line of a command's output as a number (ffprobe counts). */
static inline long mt_run_number(const char *fmt, ...)
{
    char cmd[2048], line[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char *got = fgets(line, sizeof line, p);
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_msg(got != NULL, "no output from %s", cmd);
    return strtol(line, NULL, 10);
}

static inline uint8_t *mt_read(const char *path, size_t *len)
{
    uint8_t *d = test_read_file(path, len);
    ck_assert_msg(d != NULL, "cannot read %s", path);
    return d;
}

/* ---- NAL units and access units of an Annex-B stream ---- */

struct mt_nal {
    const uint8_t *p;
    size_t n;
};

struct mt_nals {
    struct mt_nal *v;
    size_t n, cap;
};

/* Splits at start codes; trailing zero bytes (the next start code's zero_byte) are not part of a unit. */
static inline void mt_split_annexb(const uint8_t *es, size_t len, struct mt_nals *out)
{
    memset(out, 0, sizeof *out);
    const uint8_t *end = es + len;
    int sc = 0;
    const uint8_t *at = annexb_find_start_code(es, end, &sc);
    while (at) {
        const uint8_t *nal = at + sc;
        int sc2 = 0;
        const uint8_t *next = annexb_find_start_code(nal, end, &sc2);
        const uint8_t *stop = next ? next : end;
        while (stop > nal && stop[-1] == 0) stop--;
        if (stop > nal) {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 256;
                out->v = realloc(out->v, out->cap * sizeof *out->v);
            }
            out->v[out->n].p = nal;
            out->v[out->n].n = (size_t)(stop - nal);
            out->n++;
        }
        at = next;
        sc = sc2;
    }
}

static inline bool mt_nal_is_vcl(enum codec_id codec, const struct mt_nal *u)
{
    if (codec == CODEC_H264) {
        uint8_t t = h264_nal_type(u->p[0]);
        return t >= 1 && t <= 5;
    }
    return h265_nal_type(u->p[0]) < 32;
}

static inline bool mt_nal_is_aud(enum codec_id codec, const struct mt_nal *u)
{
    return codec == CODEC_H264 ? h264_nal_type(u->p[0]) == H264_NAL_AUD
                               : h265_nal_type(u->p[0]) == H265_NAL_AUD;
}

static inline bool mt_nal_is_key(enum codec_id codec, const struct mt_nal *u)
{
    if (codec == CODEC_H264) return h264_nal_type(u->p[0]) == H264_NAL_IDR;
    uint8_t t = h265_nal_type(u->p[0]);
    return t >= H265_NAL_IRAP_FIRST && t <= H265_NAL_IRAP_LAST;
}

/* First slice of a picture: first_mb_in_slice == 0 / first_slice_segment_in_pic_flag. */
static inline bool mt_nal_first_slice(enum codec_id codec, const struct mt_nal *u)
{
    size_t hl = codec == CODEC_H264 ? 1 : 2;
    return u->n > hl && (u->p[hl] & 0x80);
}

struct mt_au {
    size_t first, count; /* NAL indexes */
    bool key;
};

/* Groups NAL units into access units: a new unit starts at a non-VCL unit that follows a VCL unit, or at a
 * first slice that follows a VCL unit. Returns the number of units (*out malloc'd). */
static inline size_t mt_group_aus(enum codec_id codec, const struct mt_nals *nals, struct mt_au **out)
{
    struct mt_au *v = calloc(nals->n + 1, sizeof *v);
    size_t n = 0;
    bool seen_vcl = false;
    for (size_t i = 0; i < nals->n; i++) {
        const struct mt_nal *u = &nals->v[i];
        bool vcl = mt_nal_is_vcl(codec, u);
        bool starts = n == 0 || (seen_vcl && (!vcl || mt_nal_first_slice(codec, u)));
        /* a suffix SEI (H.265 type 40) belongs to the picture before it */
        if (codec == CODEC_H265 && h265_nal_type(u->p[0]) == 40) starts = n == 0;
        if (starts) {
            v[n].first = i;
            n++;
            seen_vcl = false;
        }
        v[n - 1].count++;
        if (vcl) seen_vcl = true;
        if (mt_nal_is_key(codec, u)) v[n - 1].key = true;
    }
    *out = v;
    return n;
}

/* What the depacketizer/demuxer must output for an access unit: its NAL units but AUDs, length-prefixed. */
static inline void mt_au_expected(enum codec_id codec, const struct mt_nals *nals, const struct mt_au *au,
                                  struct psb *out)
{
    for (size_t i = au->first; i < au->first + au->count; i++) {
        const struct mt_nal *u = &nals->v[i];
        if (mt_nal_is_aud(codec, u)) continue;
        psb_u16(out, (unsigned)(u->n >> 16));
        psb_u16(out, (unsigned)(u->n & 0xffff));
        psb_put(out, u->p, u->n);
    }
}

/* ---- RTP packets ---- */

struct mt_pkts {
    uint8_t **data;
    size_t *len;
    size_t n, cap;
};

static inline void mt_pkts_add(struct mt_pkts *ps, const uint8_t *p, size_t n)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 512;
        ps->data = realloc(ps->data, ps->cap * sizeof *ps->data);
        ps->len = realloc(ps->len, ps->cap * sizeof *ps->len);
    }
    ps->data[ps->n] = malloc(n ? n : 1);
    memcpy(ps->data[ps->n], p, n);
    ps->len[ps->n] = n;
    ps->n++;
}

static inline void mt_pkts_free(struct mt_pkts *ps)
{
    for (size_t i = 0; i < ps->n; i++) free(ps->data[i]);
    free(ps->data);
    free(ps->len);
    memset(ps, 0, sizeof *ps);
}

static inline void mt_parse(const struct mt_pkts *ps, size_t i, struct rtp_packet *pkt)
{
    ck_assert_int_eq(rtp_parse(ps->data[i], ps->len[i], pkt), 0);
}

/* Our own packetizer: state of one RTP stream being written. */
struct mt_packetizer {
    enum codec_id codec;
    size_t mtu; /* payload bytes per packet */
    bool aggregate;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts, ssrc;
    struct mt_pkts *out;
    /* aggregation being collected */
    uint8_t agg[65536];
    size_t agg_len, agg_units;
    uint8_t agg_tid; /* H.265: lowest TemporalId + 1 of the aggregated units */
};

static inline void mt_emit(struct mt_packetizer *z, const uint8_t *payload, size_t n, bool marker)
{
    uint8_t pkt[RTP_HEADER_SIZE + 65536];
    rtp_write_header(pkt, z->pt, marker, z->seq++, z->ts, z->ssrc);
    memcpy(pkt + RTP_HEADER_SIZE, payload, n);
    mt_pkts_add(z->out, pkt, RTP_HEADER_SIZE + n);
}

static inline size_t mt_hdr_len(const struct mt_packetizer *z)
{
    return z->codec == CODEC_H264 ? 1 : 2;
}

static inline void mt_flush_agg(struct mt_packetizer *z, bool marker)
{
    if (z->agg_units == 0) return;
    if (z->agg_units == 1) { /* a lone unit goes as a single NAL unit packet */
        mt_emit(z, z->agg + mt_hdr_len(z) + 2, z->agg_len - mt_hdr_len(z) - 2, marker);
    } else {
        if (z->codec == CODEC_H264) {
            z->agg[0] = (uint8_t)(z->agg[0] | 24);
        } else {
            z->agg[0] = 48 << 1;
            z->agg[1] = z->agg_tid;
        }
        mt_emit(z, z->agg, z->agg_len, marker);
    }
    z->agg_len = z->agg_units = 0;
}

static inline void mt_send_nal(struct mt_packetizer *z, const struct mt_nal *u, bool last_of_au)
{
    size_t hl = mt_hdr_len(z);
    if (z->aggregate && u->n + 2 + hl <= z->mtu) {
        if (z->agg_len + u->n + 2 > z->mtu) mt_flush_agg(z, false);
        if (z->agg_units == 0) {
            memset(z->agg, 0, hl);
            z->agg_len = hl;
            z->agg_tid = 7;
        }
        if (z->codec == CODEC_H264)
            z->agg[0] = (uint8_t)((z->agg[0] & 0x60) > (u->p[0] & 0x60) ? z->agg[0] : (u->p[0] & 0x60));
        else if ((u->p[1] & 7) < z->agg_tid)
            z->agg_tid = u->p[1] & 7;
        z->agg[z->agg_len++] = (uint8_t)(u->n >> 8);
        z->agg[z->agg_len++] = (uint8_t)u->n;
        memcpy(z->agg + z->agg_len, u->p, u->n);
        z->agg_len += u->n;
        z->agg_units++;
        if (last_of_au) mt_flush_agg(z, true);
        return;
    }
    mt_flush_agg(z, false);
    if (u->n <= z->mtu) {
        mt_emit(z, u->p, u->n, last_of_au);
        return;
    }
    /* fragmentation units */
    uint8_t buf[65536];
    size_t fh = hl + 1, at = hl, room = z->mtu - fh;
    while (at < u->n) {
        size_t take = u->n - at < room ? u->n - at : room;
        bool start = at == hl, end = at + take == u->n;
        if (z->codec == CODEC_H264) {
            buf[0] = (uint8_t)((u->p[0] & 0xe0) | 28);
            buf[1] = (uint8_t)((start ? 0x80 : 0) | (end ? 0x40 : 0) | (u->p[0] & 0x1f));
        } else {
            buf[0] = (uint8_t)((u->p[0] & 0x81) | (49 << 1));
            buf[1] = u->p[1];
            buf[2] = (uint8_t)((start ? 0x80 : 0) | (end ? 0x40 : 0) | h265_nal_type(u->p[0]));
        }
        memcpy(buf + fh, u->p + at, take);
        mt_emit(z, buf, fh + take, end && last_of_au);
        at += take;
    }
}

/* Packetizes access units: unit i gets timestamp ts0 + i * step (decoding order = presentation order). */
static inline void mt_packetize(enum codec_id codec, const struct mt_nals *nals, const struct mt_au *aus,
                                size_t nau, size_t mtu, bool aggregate, uint8_t pt, uint32_t ts0,
                                uint32_t step, uint16_t seq0, struct mt_pkts *out)
{
    struct mt_packetizer *z = calloc(1, sizeof *z);
    z->codec = codec;
    z->mtu = mtu;
    z->aggregate = aggregate;
    z->pt = pt;
    z->seq = seq0;
    z->ssrc = 0x1234abcd;
    z->out = out;
    for (size_t a = 0; a < nau; a++) {
        z->ts = ts0 + (uint32_t)a * step;
        for (size_t i = aus[a].first; i < aus[a].first + aus[a].count; i++)
            mt_send_nal(z, &nals->v[i], i + 1 == aus[a].first + aus[a].count);
    }
    free(z);
}

/* ---- ffmpeg's RTP muxer to a local UDP socket ---- */

static inline int mt_bind_udp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    return fd;
}

/* Runs `ffmpeg -v error -re <input_args> -f <format> rtp://127.0.0.1:PORT` and collects every RTP packet
 * it sends (RTCP goes to PORT + 1, bound too so that nothing is refused). */
static inline void mt_ffmpeg_rtp(const char *input_args, const char *format, struct mt_pkts *out)
{
    int fd = -1, rtcp = -1;
    uint16_t port = 0;
    for (int tries = 0; tries < 50 && fd < 0; tries++) {
        port = (uint16_t)(20000 + 2 * ((unsigned)(getpid() * 7919 + tries * 104729) % 10000));
        fd = mt_bind_udp(port);
        if (fd < 0) continue;
        rtcp = mt_bind_udp((uint16_t)(port + 1));
        if (rtcp < 0) {
            close(fd);
            fd = -1;
        }
    }
    ck_assert_int_ge(fd, 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -re %s -f %s 'rtp://127.0.0.1:%u?pkt_size=1200'", input_args,
             format, port);
    FILE *proc = popen(cmd, "r"); /* its stdout (the SDP) tells us when it has exited */
    ck_assert_ptr_nonnull(proc);
    struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = fileno(proc), .events = POLLIN}};
    bool running = true;
    uint8_t buf[65536];
    for (;;) {
        int r = poll(pfd, running ? 2 : 1, running ? 5000 : 300);
        if (r == 0 && !running) break;
        ck_assert_msg(r > 0, "ffmpeg rtp: timeout");
        if (pfd[0].revents & POLLIN) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n > 0) mt_pkts_add(out, buf, (size_t)n);
        }
        if (running && (pfd[1].revents & (POLLIN | POLLHUP))) {
            char junk[512];
            if (read(pfd[1].fd, junk, sizeof junk) <= 0) running = false;
        }
    }
    ck_assert_int_eq(pclose(proc), 0);
    close(fd);
    close(rtcp);
    /* loopback does not lose packets, but make sure: sequence numbers must be contiguous */
    for (size_t i = 1; i < out->n; i++) {
        struct rtp_packet a, b;
        mt_parse(out, i - 1, &a);
        mt_parse(out, i, &b);
        ck_assert_uint_eq((uint16_t)(a.seq + 1), b.seq);
    }
}

#endif
