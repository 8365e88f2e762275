/*
 * media/ps_demux on the real captures in ../shared/samples (see its README for the truth each number comes
 * from): Hikvision PS fed whole, in random pieces and byte by byte; a stream that starts mid-PES; an
 * audio-only G.711 stream with a malformed PSM (and two MPEG-1 style PES); the RTP capture of the Hikvision
 * session fed packet by packet with the marker bit, compared NAL by NAL with the oracle elementary stream;
 * and a capture whose PT 96 payload is not PS at all. The synthetic cases are in
 * test_media_ps_demux_synthetic.c.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_test_util.h"
#include "testutil.h"

static uint8_t *load_sample(const char *name, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "samples/%s", name);
    const char *path = test_shared_path(rel);
    if (!path) return NULL;
    uint8_t *data = test_read_file(path, len);
    ck_assert_ptr_nonnull(data);
    return data;
}

/* Feeds `len` bytes in pieces: piece == 0 means random sizes 1..max_random (seeded). */
static void feed(struct ps_demux *d, const uint8_t *p, size_t len, size_t piece, unsigned seed,
                 size_t max_random)
{
    srand(seed);
    for (size_t at = 0; at < len;) {
        size_t n = piece ? piece : 1 + (size_t)rand() % max_random;
        if (n > len - at) n = len - at;
        ck_assert_int_eq(ps_demux_input(d, p + at, n, false), 0);
        at += n;
    }
}

static void check_hik_704(const struct collector *c, const struct ps_demux_stats *s)
{
    /* README: 1347 packs, one frame each, 54 I-frames (GOP 25), 25 fps, video only */
    ck_assert_uint_eq(c->video, 1347);
    ck_assert_uint_eq(c->keys, 54);
    ck_assert_uint_eq(c->audio, 0);
    ck_assert_uint_eq(s->video_frames, 1347);
    ck_assert_uint_eq(s->packs, 1347);
    ck_assert_uint_eq(s->psm, 54);
    ck_assert_uint_eq(s->psm_errors, 0);
    ck_assert_uint_eq(s->resyncs, 0);
    ck_assert_uint_eq(s->frames_dropped, 0);
    ck_assert_uint_eq(s->bytes_skipped, 54 * 106); /* the Hikvision private 0xBD PES of each keyframe */
    ck_assert_uint_eq(c->ntracks, 1);
    const struct media_track *t = &c->tracks[0];
    ck_assert_int_eq(t->codec, CODEC_H264);
    ck_assert_uint_eq(t->width, 704);
    ck_assert_uint_eq(t->height, 576);
    ck_assert_uint_eq(t->fps_num, 50);
    ck_assert_uint_eq(t->fps_den, 2);
    ck_assert_uint_eq(t->sps_len, 23);
    ck_assert_uint_eq(t->pps_len, 4);
    ck_assert(c->frames[0].key);
    for (size_t i = 0; i < c->n; i++) {
        ck_assert_int_eq(c->frames[i].codec, CODEC_H264);
        ck_assert(c->frames[i].key == c->frames[i].has_params); /* SPS/PPS ride with every IDR */
        if (i > 0) ck_assert_int_eq(c->frames[i].pts - c->frames[i - 1].pts, 3600);
        ck_assert_int_eq(c->frames[i].dts, c->frames[i].pts);
    }
}

START_TEST(test_hik_704x576_whole_and_pieces)
{
    size_t len = 0;
    uint8_t *ps = load_sample("hik_704x576_h264.ps", &len);
    if (!ps) return;
    struct collector whole = {0};
    struct ps_demux *d = collector_demux(&whole, 0);
    ck_assert_int_eq(ps_demux_input(d, ps, len, false), 0);
    ps_demux_flush(d);
    check_hik_704(&whole, ps_demux_get_stats(d));
    ck_assert_uint_eq(ps_demux_get_stats(d)->bytes_in, len);
    ps_demux_destroy(d);

    /* random pieces: small (header splits everywhere) and RTP-sized */
    const size_t max_piece[] = {64, 1500, 70000};
    for (unsigned seed = 1; seed <= 3; seed++) {
        struct collector c = {0};
        d = collector_demux(&c, 0);
        feed(d, ps, len, 0, seed, max_piece[seed - 1]);
        ps_demux_flush(d);
        check_hik_704(&c, ps_demux_get_stats(d));
        ck_assert(c.hash == whole.hash); /* the very same bytes in every frame */
        ps_demux_destroy(d);
        collector_free(&c);
    }
    collector_free(&whole);
    free(ps);
}
END_TEST

/* Byte by byte over the first 400 KB: the same frames as that prefix fed whole. */
START_TEST(test_hik_704x576_byte_by_byte_prefix)
{
    size_t len = 0;
    uint8_t *ps = load_sample("hik_704x576_h264.ps", &len);
    if (!ps) return;
    size_t prefix = 400 * 1024;
    struct collector whole = {.keep_data = true}, bytes = {.keep_data = true};
    struct ps_demux *a = collector_demux(&whole, 0), *b = collector_demux(&bytes, 0);
    ps_demux_input(a, ps, prefix, false);
    feed(b, ps, prefix, 1, 0, 0);
    ps_demux_flush(a);
    ps_demux_flush(b);
    ck_assert_uint_gt(whole.n, 100);
    ck_assert_uint_eq(bytes.n, whole.n);
    for (size_t i = 0; i < whole.n; i++) {
        ck_assert_uint_eq(bytes.frames[i].len, whole.frames[i].len);
        ck_assert_mem_eq(bytes.frames[i].data, whole.frames[i].data, whole.frames[i].len);
        ck_assert_int_eq(bytes.frames[i].pts, whole.frames[i].pts);
    }
    /* the prefix ends inside a PES: that last frame is dropped as truncated, not emitted half */
    ck_assert_uint_eq(ps_demux_get_stats(a)->frames_dropped, 1);
    ps_demux_destroy(a);
    ps_demux_destroy(b);
    collector_free(&whole);
    collector_free(&bytes);
    free(ps);
}
END_TEST

START_TEST(test_hik_1080p_headcut)
{
    size_t len = 0;
    uint8_t *ps = load_sample("hik_1080p15_h264_headcut.ps", &len);
    if (!ps) return;
    for (size_t piece = 0; piece <= 1400; piece += 1400) {
        struct collector c = {0};
        struct ps_demux *d = collector_demux(&c, 0);
        if (piece)
            feed(d, ps, len, piece, 0, 0);
        else
            ps_demux_input(d, ps, len, false);
        ps_demux_flush(d);
        const struct ps_demux_stats *s = ps_demux_get_stats(d);
        /* README: 650 packs / 650 frames, 8 I-frames, 15 fps; the first 1651 bytes are a cut PES tail */
        ck_assert_uint_eq(c.video, 650);
        ck_assert_uint_eq(c.keys, 8);
        ck_assert_uint_eq(s->packs, 650);
        ck_assert_uint_eq(s->resyncs, 1);
        ck_assert_uint_eq(s->bytes_skipped, 1651);
        ck_assert_uint_eq(s->frames_dropped, 0);
        ck_assert(c.frames[0].key); /* the first pack after the cut starts a GOP */
        ck_assert_uint_eq(c.ntracks, 1);
        ck_assert_int_eq(c.tracks[0].codec, CODEC_H264);
        ck_assert_uint_eq(c.tracks[0].width, 1920);
        ck_assert_uint_eq(c.tracks[0].height, 1080);
        ck_assert_uint_eq(c.tracks[0].fps_num, 90000);
        ck_assert_uint_eq(c.tracks[0].fps_den, 6000);
        for (size_t i = 1; i < c.n; i++) ck_assert_int_eq(c.frames[i].pts - c.frames[i - 1].pts, 6000);
        ps_demux_destroy(d);
        collector_free(&c);
    }
    free(ps);
}
END_TEST

START_TEST(test_g711a_audio_only_bad_psm)
{
    size_t len = 0;
    uint8_t *ps = load_sample("fri_g711a_audio_only_badpsm.mpg", &len);
    if (!ps) return;
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    feed(d, ps, len, 0, 9, 300);
    ps_demux_flush(d);
    const struct ps_demux_stats *s = ps_demux_get_stats(d);
    /* README: 35,353 PES on 0xC0 of G.711 A-law, 7982 packs; the PSM's map length says 8 for 14 bytes, so
     * a strict parser finds no entry for 0xC0. Two of the PES use the MPEG-1 header form and carry 160
     * bytes; the other 35,351 carry 80. */
    ck_assert_uint_eq(c.audio, 35353);
    ck_assert_uint_eq(c.video, 0);
    ck_assert_uint_eq(s->packs, 7982);
    ck_assert_uint_eq(s->pes, 35353);
    ck_assert_uint_gt(s->psm, 0);
    ck_assert_uint_eq(s->psm_errors, s->psm); /* every PSM has the bad map length, every one tolerated */
    ck_assert_uint_eq(s->resyncs, 0);
    size_t n160 = 0;
    for (size_t i = 0; i < c.n; i++) {
        ck_assert_int_eq(c.frames[i].codec, CODEC_G711A);
        ck_assert(c.frames[i].key);
        ck_assert(c.frames[i].len == 80 || c.frames[i].len == 160);
        n160 += c.frames[i].len == 160;
    }
    ck_assert_uint_eq(n160, 2);
    ck_assert_uint_eq(c.ntracks, 1);
    ck_assert_int_eq(c.tracks[0].codec, CODEC_G711A);
    ck_assert_uint_eq(c.tracks[0].sample_rate, 8000);
    ck_assert_uint_eq(c.tracks[0].channels, 1);
    ps_demux_destroy(d);
    collector_free(&c);
    free(ps);
}
END_TEST

/* RTP payload of one record of the ZLMediaKit test_rtp format; false at the end. */
static bool next_rtp(const uint8_t *f, size_t len, size_t *at, const uint8_t **payload, size_t *plen,
                     bool *marker)
{
    if (*at + 2 > len) return false;
    size_t n = ((size_t)f[*at] << 8) | f[*at + 1];
    const uint8_t *r = f + *at + 2;
    ck_assert_uint_le(*at + 2 + n, len);
    *at += 2 + n;
    ck_assert_uint_ge(n, 12);
    ck_assert_uint_eq(r[0] >> 6, 2);
    size_t hdr = 12 + 4 * (size_t)(r[0] & 0x0f);
    if (r[0] & 0x10) hdr += 4 + 4 * (((size_t)r[hdr + 2] << 8) | r[hdr + 3]);
    size_t pad = (r[0] & 0x20) ? r[n - 1] : 0;
    ck_assert_uint_le(hdr + pad, n);
    *payload = r + hdr;
    *plen = n - hdr - pad;
    *marker = r[1] & 0x80;
    return true;
}

START_TEST(test_rtp_capture_against_reference)
{
    size_t len = 0, ref_len = 0;
    uint8_t *rtp = load_sample("hik_704x576_h264_rtp.zlmrtp", &len);
    if (!rtp) return;
    uint8_t *ref = load_sample("hik_704x576_h264_reference.264", &ref_len);
    if (!ref) {
        free(rtp);
        return;
    }
    struct collector c = {.keep_data = true};
    struct ps_demux *d = collector_demux(&c, 0);
    size_t at = 0, packets = 0, markers = 0;
    const uint8_t *payload;
    size_t plen;
    bool marker;
    while (next_rtp(rtp, len, &at, &payload, &plen, &marker)) {
        c.in_marker_call = marker;
        ck_assert_int_eq(ps_demux_input(d, payload, plen, marker), 0);
        c.in_marker_call = false;
        packets++;
        markers += marker;
    }
    ps_demux_flush(d);
    ck_assert_uint_eq(packets, 3096);
    ck_assert_uint_eq(markers, 1400);
    ck_assert_uint_eq(c.video, 1400); /* README: 1400 frames */
    ck_assert_uint_eq(ps_demux_get_stats(d)->frames_dropped, 0);
    ck_assert_uint_eq(ps_demux_get_stats(d)->resyncs, 0);
    /* Markers coincide with frame ends here: after PS_MARKER_TRUST_AFTER (3) confirmations every frame is
     * emitted on its marker packet instead of one packet later (a frame completed by a new PTS in a packet
     * that also carries a marker counts as "at marker" too, hence >=). */
    size_t at_marker = 0;
    for (size_t i = 0; i < c.n; i++) at_marker += c.frames[i].at_marker;
    ck_assert_uint_ge(at_marker, 1400 - 3);
    for (size_t i = 3; i < c.n; i++) ck_assert(c.frames[i].at_marker);

    /* NAL by NAL against the oracle ES (a prefix of this session: 1375 frames, 1540 NAL units) */
    size_t ref_pos = 0, nals = 0, frames_compared = 0;
    int sc = 0;
    const uint8_t *ref_end = ref + ref_len;
    const uint8_t *s = annexb_find_start_code(ref, ref_end, &sc);
    for (size_t i = 0; i < c.n && s; i++) {
        const struct got_frame *g = &c.frames[i];
        for (uint32_t pos = 0; pos < g->len && s;) {
            uint32_t n = ((uint32_t)g->data[pos] << 24) | ((uint32_t)g->data[pos + 1] << 16) |
                         ((uint32_t)g->data[pos + 2] << 8) | g->data[pos + 3];
            const uint8_t *nal = s + sc;
            int next_sc = 0;
            const uint8_t *next = annexb_find_start_code(nal, ref_end, &next_sc);
            size_t ref_n = (size_t)((next ? next : ref_end) - nal);
            while (ref_n && nal[ref_n - 1] == 0) ref_n--;
            ck_assert_uint_eq(n, ref_n);
            ck_assert_mem_eq(g->data + pos + 4, nal, n);
            pos += 4 + n;
            nals++;
            s = next;
            sc = next_sc;
            ref_pos = (size_t)(nal - ref) + ref_n;
        }
        frames_compared++;
    }
    ck_assert_uint_eq(nals, 1540);
    ck_assert_uint_eq(frames_compared, 1375);
    ck_assert_uint_le(ref_pos, ref_len);
    ps_demux_destroy(d);
    collector_free(&c);
    free(rtp);
    free(ref);
}
END_TEST

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* UDP payloads to port 5494 from a little-endian pcapng with Ethernet + IPv4. */
START_TEST(test_not_ps_payload_rejected)
{
    size_t len = 0;
    uint8_t *cap = load_sample("hik2013_live_media_NOT_PS_private_payload.pcapng", &len);
    if (!cap) return;
    struct collector c = {0};
    struct ps_demux *d = collector_demux(&c, 0);
    size_t packets = 0, rejected = 0;
    for (size_t at = 0; at + 12 <= len;) {
        uint32_t type = le32(cap + at), blen = le32(cap + at + 4);
        ck_assert_uint_ge(blen, 12);
        ck_assert_uint_le(at + blen, len);
        if (type == 6) { /* Enhanced Packet Block */
            const uint8_t *pkt = cap + at + 28;
            uint32_t caplen = le32(cap + at + 20);
            const uint8_t *ip = pkt + 14;
            size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
            const uint8_t *udp = ip + ihl;
            uint16_t dport = (uint16_t)((udp[2] << 8) | udp[3]);
            if (pkt[12] == 0x08 && pkt[13] == 0x00 && ip[9] == 17 && dport == 5494) {
                size_t ulen = ((size_t)udp[4] << 8) | udp[5];
                ck_assert_uint_le(14 + ihl + ulen, caplen);
                const uint8_t *rtp = udp + 8;
                size_t hdr = 12 + 4 * (size_t)(rtp[0] & 0x0f);
                int r = ps_demux_input(d, rtp + hdr, ulen - 8 - hdr, rtp[1] & 0x80);
                ck_assert(r == 0 || r == -EINVAL);
                rejected += r == -EINVAL;
                packets++;
            }
        }
        at += blen;
    }
    ps_demux_flush(d);
    ck_assert_uint_eq(packets, 1561);
    ck_assert_uint_eq(c.n, 0);
    ck_assert_uint_gt(rejected, 1400); /* reported as "not PS" once 64 KiB passed without any pack/PES */
    ck_assert_uint_eq(ps_demux_get_stats(d)->packs, 0);
    ps_demux_destroy(d);
    collector_free(&c);
    free(cap);
}
END_TEST

static Suite *ps_demux_suite(void)
{
    Suite *s = suite_create("media_ps_demux");
    TCase *tc = tcase_create("samples");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hik_704x576_whole_and_pieces);
    tcase_add_test(tc, test_hik_704x576_byte_by_byte_prefix);
    tcase_add_test(tc, test_hik_1080p_headcut);
    tcase_add_test(tc, test_g711a_audio_only_bad_psm);
    tcase_add_test(tc, test_rtp_capture_against_reference);
    tcase_add_test(tc, test_not_ps_payload_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(ps_demux_suite());
}
