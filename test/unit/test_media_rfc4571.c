/* RFC 4571 splitter: the real capture (2-byte length + RTP, 3096 packets) in every kind of split, zero copy,
 * corrupt lengths and garbage with resync (with and without an expected SSRC), RTCP in the stream, big
 * packets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/rfc4571.h"
#include "media/rtp.h"
#include "testutil.h"

#define SAMPLE_SSRC  0x05F5ED76u
#define SAMPLE_COUNT 3096

/* The sample, indexed by seq (= record number). */
static uint8_t *file;
static size_t file_size;
static const uint8_t *orig_pkt[SAMPLE_COUNT];
static size_t orig_len[SAMPLE_COUNT];

static bool load_sample(void)
{
    if (file) return true;
    const char *path = test_shared_path("samples/hik_704x576_h264_rtp.zlmrtp");
    if (!path) return false;
    file = test_read_file(path, &file_size);
    ck_assert_ptr_nonnull(file);
    size_t pos = 0;
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        orig_len[i] = rtp_rd16(file + pos);
        orig_pkt[i] = file + pos + 2;
        pos += 2 + orig_len[i];
    }
    ck_assert_uint_eq(pos, file_size);
    return true;
}

#define MAX_OUT 8192
struct sink {
    size_t count, rtcp, markers, intact; /* intact: byte-identical to the original packet of that seq */
    size_t zero_copy;                    /* delivered by pointer into `input` */
    const uint8_t *input;
    size_t input_len;
    uint16_t seqs[MAX_OUT];
    uint32_t hash; /* over every delivered byte and length, to compare runs */
};

static void on_packet(void *arg, const uint8_t *pkt, size_t len)
{
    struct sink *s = arg;
    ck_assert_uint_ge(len, 8);
    for (size_t i = 0; i < len; i++) s->hash = s->hash * 31 + pkt[i];
    s->hash = s->hash * 31 + (uint32_t)len;
    if (s->input && pkt >= s->input && pkt + len <= s->input + s->input_len) s->zero_copy++;
    if (rtp_is_rtcp(pkt, len)) {
        s->rtcp++;
        return;
    }
    struct rtp_packet rtp;
    ck_assert_int_eq(rtp_parse(pkt, len, &rtp), 0);
    ck_assert_uint_lt(s->count, MAX_OUT);
    s->seqs[s->count++] = rtp.seq;
    s->markers += rtp.marker;
    if (rtp.seq < SAMPLE_COUNT && orig_len[rtp.seq] == len && memcmp(orig_pkt[rtp.seq], pkt, len) == 0)
        s->intact++;
}

static struct sink sink_a, sink_b;

/* Feeds `data` in chunks whose sizes come from a small LCG (1..max_chunk), each chunk in its own malloc'd
 * buffer of exactly that size so ASan catches any read past a chunk. */
static void feed_chunks(struct rfc4571 *sp, struct sink *s, const uint8_t *data, size_t len, unsigned seed,
                        size_t max_chunk)
{
    uint32_t x = seed;
    size_t pos = 0;
    while (pos < len) {
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 8) % max_chunk;
        if (n > len - pos) n = len - pos;
        uint8_t *chunk = malloc(n);
        memcpy(chunk, data + pos, n);
        s->input = chunk;
        s->input_len = n;
        rfc4571_input(sp, chunk, n);
        s->input = NULL;
        free(chunk);
        pos += n;
    }
}

static struct rfc4571 *make(struct sink *s, bool expect)
{
    memset(s, 0, sizeof *s);
    struct rfc4571 *sp = rfc4571_create(on_packet, s);
    ck_assert_ptr_nonnull(sp);
    if (expect) rfc4571_expect_ssrc(sp, true, SAMPLE_SSRC);
    return sp;
}

static void assert_whole_sample(const struct sink *s)
{
    ck_assert_uint_eq(s->count, SAMPLE_COUNT);
    ck_assert_uint_eq(s->intact, SAMPLE_COUNT);
    ck_assert_uint_eq(s->markers, 1400);
    for (size_t i = 0; i < SAMPLE_COUNT; i++) ck_assert_uint_eq(s->seqs[i], i);
}

START_TEST(whole_file_in_one_read_is_zero_copy)
{
    if (!load_sample()) return;
    struct rfc4571 *sp = make(&sink_a, true);
    sink_a.input = file;
    sink_a.input_len = file_size;
    rfc4571_input(sp, file, file_size);
    assert_whole_sample(&sink_a);
    ck_assert_uint_eq(sink_a.zero_copy, SAMPLE_COUNT);
    const struct rfc4571_stats *st = rfc4571_get_stats(sp);
    ck_assert_uint_eq(st->packets, SAMPLE_COUNT);
    ck_assert_uint_eq(st->packets_copied, 0);
    ck_assert_uint_eq(st->resyncs, 0);
    ck_assert_uint_eq(st->skipped_bytes, 0);
    ck_assert_uint_eq(st->bytes_in, file_size);
    rfc4571_destroy(sp);
}
END_TEST

START_TEST(random_chunks_deliver_every_packet)
{
    if (!load_sample()) return;
    static const size_t max_chunks[] = {1, 3, 17, 700, 1414, 4096, 65536};
    for (size_t m = 0; m < sizeof max_chunks / sizeof max_chunks[0]; m++) {
        for (unsigned seed = 1; seed <= (max_chunks[m] < 10 ? 1u : 3u); seed++) {
            struct rfc4571 *sp = make(&sink_a, seed != 2);
            feed_chunks(sp, &sink_a, file, file_size, seed * 7919 + (unsigned)m, max_chunks[m]);
            assert_whole_sample(&sink_a);
            const struct rfc4571_stats *st = rfc4571_get_stats(sp);
            ck_assert_uint_eq(st->resyncs, 0);
            ck_assert_uint_eq(st->packets, SAMPLE_COUNT);
            /* only straddling packets were copied; the rest came from the chunks */
            ck_assert_uint_eq(st->packets_copied + sink_a.zero_copy, SAMPLE_COUNT);
            if (max_chunks[m] == 1) ck_assert_uint_eq(st->packets_copied, SAMPLE_COUNT);
            if (max_chunks[m] >= 4096) ck_assert_uint_gt(sink_a.zero_copy, SAMPLE_COUNT / 2);
            rfc4571_destroy(sp);
        }
    }
}
END_TEST

/* Corrupts the length field of record `index` in a copy of the file. */
static void set_length(uint8_t *copy, size_t index, uint16_t len)
{
    rtp_wr16((uint8_t *)(copy + (orig_pkt[index] - file) - 2), len);
}

static bool delivered(const struct sink *s, uint16_t seq)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->seqs[i] == seq) return true;
    return false;
}

START_TEST(corrupt_lengths_resync)
{
    if (!load_sample()) return;
    for (int expect = 0; expect <= 1; expect++) {
        uint8_t *copy = malloc(file_size);
        memcpy(copy, file, file_size);
        /* 0; too short for RTP; a little too long (the header is fine, the next length is garbage) */
        static const size_t victims[] = {100, 500, 1000, 2000};
        set_length(copy, 100, 0);
        set_length(copy, 500, 5);
        set_length(copy, 1000, (uint16_t)(orig_len[1000] + 7));
        set_length(copy, 2000, 0);

        struct rfc4571 *sp = make(&sink_a, expect);
        rfc4571_input(sp, copy, file_size);
        const struct rfc4571_stats *st = rfc4571_get_stats(sp);
        ck_assert_uint_eq(st->resyncs, 4);
        ck_assert_uint_gt(st->skipped_bytes, 0);
        /* Every packet is found again except the damaged one and, for the over-long length, the one it
         * swallowed. Everything delivered is byte-identical, except the over-long one. */
        for (uint16_t seq = 0; seq < SAMPLE_COUNT; seq++) {
            bool victim = seq == 100 || seq == 500 || seq == 1000 || seq == 1001 || seq == 2000;
            ck_assert_msg(delivered(&sink_a, seq) != victim || seq == 1000, "seq %u", seq);
        }
        ck_assert_uint_eq(sink_a.count, SAMPLE_COUNT - 4);
        ck_assert_uint_eq(sink_a.intact, SAMPLE_COUNT - 5);
        for (size_t i = 1; i < sink_a.count; i++) ck_assert_uint_gt(sink_a.seqs[i], sink_a.seqs[i - 1]);
        (void)victims;

        /* The same bytes in any split give exactly the same packets and counters. */
        uint32_t hash = sink_a.hash;
        struct rfc4571_stats one_shot = *st;
        rfc4571_destroy(sp);
        for (unsigned seed = 1; seed <= 4; seed++) {
            sp = make(&sink_b, expect);
            feed_chunks(sp, &sink_b, copy, file_size, seed, seed == 1 ? 7 : 977 * seed);
            ck_assert_uint_eq(sink_b.hash, hash);
            ck_assert_uint_eq(sink_b.count, SAMPLE_COUNT - 4);
            ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, one_shot.resyncs);
            ck_assert_uint_eq(rfc4571_get_stats(sp)->skipped_bytes, one_shot.skipped_bytes);
            rfc4571_destroy(sp);
        }
        free(copy);
    }
}
END_TEST

START_TEST(garbage_between_packets_skipped_exactly)
{
    if (!load_sample()) return;
    size_t cut = (size_t)(orig_pkt[10] - file) - 2; /* start of record 10 */
    uint8_t *copy = malloc(file_size + 100);
    memcpy(copy, file, cut);
    memset(copy + cut, 0xff, 100);
    memcpy(copy + cut + 100, file + cut, file_size - cut);
    struct rfc4571 *sp = make(&sink_a, true);
    feed_chunks(sp, &sink_a, copy, file_size + 100, 5, 333);
    assert_whole_sample(&sink_a);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->skipped_bytes, 100);
    rfc4571_destroy(sp);
    free(copy);
}
END_TEST

/* Framing lost on the very first packet with no SSRC known: only a packet that starts a PS pack can anchor
 * the resync. In the capture the next one after record 0 is record 26. */
START_TEST(resync_on_pack_start_without_ssrc)
{
    if (!load_sample()) return;
    uint8_t *copy = malloc(file_size);
    memcpy(copy, file, file_size);
    set_length(copy, 0, 0);
    struct rfc4571 *sp = make(&sink_a, false);
    rfc4571_input(sp, copy, file_size);
    ck_assert_uint_eq(sink_a.seqs[0], 26);
    ck_assert_uint_eq(sink_a.count, SAMPLE_COUNT - 26);
    ck_assert_uint_eq(sink_a.intact, SAMPLE_COUNT - 26);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->skipped_bytes, (size_t)(orig_pkt[26] - file) - 2);
    rfc4571_destroy(sp);
    free(copy);
}
END_TEST

static size_t put_record(uint8_t *out, uint16_t seq, uint32_t ssrc, size_t payload_len)
{
    rtp_wr16(out, (uint16_t)(12 + payload_len));
    rtp_write_header(out + 2, 96, false, seq, 0, ssrc);
    memset(out + 14, 0x5a, payload_len);
    return 2 + 12 + payload_len;
}

START_TEST(rtcp_in_stream_passes)
{
    uint8_t buf[256];
    size_t n = put_record(buf, 0, SAMPLE_SSRC, 20);
    /* an RR (8 bytes) from the sender: another SSRC, not a resync */
    static const uint8_t rr[] = {0x00, 0x08, 0x80, 201, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78};
    memcpy(buf + n, rr, sizeof rr);
    n += sizeof rr;
    n += put_record(buf + n, 1, SAMPLE_SSRC, 20);
    struct rfc4571 *sp = make(&sink_a, true);
    feed_chunks(sp, &sink_a, buf, n, 3, 4);
    ck_assert_uint_eq(sink_a.count, 2);
    ck_assert_uint_eq(sink_a.rtcp, 1);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 0);
    rfc4571_destroy(sp);
}
END_TEST

START_TEST(wrong_ssrc_resyncs_when_expected)
{
    uint8_t buf[512];
    size_t n = put_record(buf, 0, SAMPLE_SSRC, 20);
    n += put_record(buf + n, 1, 0xdeadbeef, 20); /* another stream's packet: refused */
    n += put_record(buf + n, 2, SAMPLE_SSRC, 20);
    struct rfc4571 *sp = make(&sink_a, true);
    rfc4571_input(sp, buf, n);
    ck_assert_uint_eq(sink_a.count, 2);
    ck_assert_uint_eq(sink_a.seqs[1], 2);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->skipped_bytes, 34);
    rfc4571_destroy(sp);
    /* Without an expected SSRC the splitter holds to the first packet's SSRC just the same... */
    sp = make(&sink_a, false);
    rfc4571_input(sp, buf, n);
    ck_assert_uint_eq(sink_a.count, 2);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    /* ...until a packet of a new SSRC starts a PS pack (the sender restarted): then it follows that one. */
    n = put_record(buf, 3, 0xdeadbeef, 20);
    static const uint8_t pack_start[] = {0x00, 0x00, 0x01, 0xba};
    memcpy(buf + 14, pack_start, 4);
    n += put_record(buf + n, 4, 0xdeadbeef, 20);
    rfc4571_input(sp, buf, n);
    ck_assert_uint_eq(sink_a.count, 4);
    ck_assert_uint_eq(sink_a.seqs[3], 4);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    rfc4571_destroy(sp);
}
END_TEST

START_TEST(largest_packet_straddles)
{
    size_t n = 2 + 65535;
    uint8_t *buf = malloc(n + 40);
    put_record(buf, 7, SAMPLE_SSRC, 65535 - 12);
    size_t m = n + put_record(buf + n, 8, SAMPLE_SSRC, 20);
    struct rfc4571 *sp = make(&sink_a, true);
    rfc4571_input(sp, buf, 1000);
    rfc4571_input(sp, buf + 1000, 60000);
    ck_assert_uint_eq(sink_a.count, 0);
    rfc4571_input(sp, buf + 61000, m - 61000);
    ck_assert_uint_eq(sink_a.count, 2);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->packets_copied, 1);
    ck_assert_uint_eq(sink_a.seqs[0], 7);
    ck_assert_uint_eq(sink_a.seqs[1], 8);
    rfc4571_destroy(sp);
    free(buf);
}
END_TEST

START_TEST(short_and_empty_input)
{
    struct rfc4571 *sp = make(&sink_a, false);
    rfc4571_input(sp, NULL, 0);
    static const uint8_t tiny[] = {0x00, 0x0c, 0x80};
    rfc4571_input(sp, tiny, sizeof tiny); /* a header cut short: waits */
    ck_assert_uint_eq(sink_a.count, 0);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 0);
    static const uint8_t bad[] = {0x00, 0x0c, 0x40}; /* version 1 */
    rfc4571_destroy(sp);
    sp = make(&sink_a, false);
    rfc4571_input(sp, bad, sizeof bad); /* only 1 of the 12 header bytes: not judged yet */
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 0);
    static const uint8_t rest[11] = {0};
    rfc4571_input(sp, rest, sizeof rest);
    ck_assert_uint_eq(rfc4571_get_stats(sp)->resyncs, 1);
    ck_assert_uint_eq(sink_a.count, 0);
    rfc4571_destroy(sp);
}
END_TEST

static Suite *rfc4571_suite(void)
{
    Suite *s = suite_create("media_rfc4571");
    TCase *tc = tcase_create("rfc4571");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, whole_file_in_one_read_is_zero_copy);
    tcase_add_test(tc, random_chunks_deliver_every_packet);
    tcase_add_test(tc, corrupt_lengths_resync);
    tcase_add_test(tc, garbage_between_packets_skipped_exactly);
    tcase_add_test(tc, resync_on_pack_start_without_ssrc);
    tcase_add_test(tc, rtcp_in_stream_passes);
    tcase_add_test(tc, wrong_ssrc_resyncs_when_expected);
    tcase_add_test(tc, largest_packet_straddles);
    tcase_add_test(tc, short_and_empty_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(rfc4571_suite());
}
