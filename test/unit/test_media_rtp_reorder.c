/* RTP reorder window: delivery order, zero copy, loss by overflow and timeout, duplicates, late packets,
 * sequence wraparound, sender restarts, RFC 3550 jitter and extended sequence, and the real capture. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "media/rtp_reorder.h"
#include "testutil.h"

#define MAX_LOG 8192

struct delivery {
    uint16_t seq;
    uint32_t lost_before;
    bool zero_copy; /* delivered straight from the caller's buffer */
};

struct sink {
    struct delivery log[MAX_LOG];
    size_t count;
    const uint8_t *input; /* the buffer of the packet being fed right now */
};

static void on_packet(void *arg, const struct rtp_packet *pkt, uint32_t lost_before)
{
    struct sink *s = arg;
    ck_assert_uint_lt(s->count, MAX_LOG);
    /* Each test packet carries its own seq in its first two payload bytes and a fill byte after: a held
     * packet must come out intact although the caller's buffer was reused. */
    ck_assert_uint_ge(pkt->payload_len, 3);
    ck_assert_uint_eq(rtp_rd16(pkt->payload), pkt->seq);
    for (size_t i = 2; i < pkt->payload_len; i++) ck_assert_uint_eq(pkt->payload[i], (uint8_t)pkt->seq);
    s->log[s->count++] = (struct delivery){pkt->seq, lost_before, pkt->data == s->input};
}

/* One reused input buffer, like a socket receive buffer. */
static uint8_t input_buf[8192];

static void feed_sized(struct rtp_reorder *r, struct sink *s, uint16_t seq, uint32_t ts, uint64_t now_ms,
                       size_t payload_len)
{
    memset(input_buf, 0xee, sizeof input_buf); /* scribble over whatever the previous packet left */
    rtp_write_header(input_buf, 96, false, seq, ts, 0x1234);
    rtp_wr16(input_buf + 12, seq);
    memset(input_buf + 14, (uint8_t)seq, payload_len - 2);
    struct rtp_packet pkt;
    ck_assert_int_eq(rtp_parse(input_buf, 12 + payload_len, &pkt), 0);
    s->input = input_buf;
    rtp_reorder_input(r, &pkt, now_ms);
}

static void feed(struct rtp_reorder *r, struct sink *s, uint16_t seq, uint64_t now_ms)
{
    feed_sized(r, s, seq, (uint32_t)seq * 3600, now_ms, 100);
}

static struct rtp_reorder *make(struct sink *s, uint32_t window, uint32_t hold_ms)
{
    memset(s, 0, sizeof *s);
    struct rtp_reorder_config cfg = {.window = window, .max_hold_ms = hold_ms, .clock_rate = 90000};
    struct rtp_reorder *r = rtp_reorder_create(&cfg, on_packet, s);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void expect_seqs(const struct sink *s, const uint16_t *seqs, size_t n)
{
    ck_assert_uint_eq(s->count, n);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(s->log[i].seq, seqs[i]);
}

static struct rtp_reorder_stats stats_of(const struct rtp_reorder *r)
{
    struct rtp_reorder_stats st;
    rtp_reorder_get_stats(r, &st);
    return st;
}

static struct sink sink; /* big: keep it off the stack */

START_TEST(in_order_is_zero_copy)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    for (uint16_t i = 0; i < 100; i++) feed(r, &sink, (uint16_t)(500 + i), i);
    ck_assert_uint_eq(sink.count, 100);
    for (size_t i = 0; i < 100; i++) {
        ck_assert_uint_eq(sink.log[i].seq, 500 + i);
        ck_assert_uint_eq(sink.log[i].lost_before, 0);
        ck_assert(sink.log[i].zero_copy);
    }
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.received, 100);
    ck_assert_uint_eq(st.delivered, 100);
    ck_assert_uint_eq(st.lost + st.duplicates + st.late + st.reordered + st.resyncs + st.stray, 0);
    ck_assert_uint_eq(st.expected, 100);
    ck_assert_uint_eq(st.ext_highest_seq, 599);
    ck_assert_uint_eq(st.held, 0);
    ck_assert_int_eq(rtp_reorder_next_timeout(r, 100), -1);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(swap_is_reordered)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    feed(r, &sink, 10, 0);
    feed(r, &sink, 12, 1);
    ck_assert_uint_eq(sink.count, 1);
    ck_assert_uint_eq(stats_of(r).held, 1);
    feed(r, &sink, 11, 2);
    feed(r, &sink, 13, 3);
    static const uint16_t order[] = {10, 11, 12, 13};
    expect_seqs(&sink, order, 4);
    ck_assert(sink.log[1].zero_copy);  /* 11 filled the gap: straight from the input */
    ck_assert(!sink.log[2].zero_copy); /* 12 had been held: from its slot */
    ck_assert(sink.log[3].zero_copy);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.reordered, 1);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_uint_eq(st.delivered, 4);
    ck_assert_uint_eq(st.held, 0);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(gap_filled_releases_held)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    feed(r, &sink, 0, 0);
    for (uint16_t s = 2; s <= 6; s++) feed(r, &sink, s, s);
    ck_assert_uint_eq(sink.count, 1);
    ck_assert_int_eq(rtp_reorder_next_timeout(r, 50), 52); /* held since t=2, hold 100 ms */
    feed(r, &sink, 1, 20);
    static const uint16_t order[] = {0, 1, 2, 3, 4, 5, 6};
    expect_seqs(&sink, order, 7);
    for (size_t i = 0; i < 7; i++) ck_assert_uint_eq(sink.log[i].lost_before, 0);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.reordered, 1);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_uint_eq(st.held, 0);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(gap_lost_by_overflow)
{
    struct rtp_reorder *r = make(&sink, 8, 1000);
    feed(r, &sink, 0, 0);
    /* 3..8 are held behind the gap 1..2; 9 no longer fits [1, 9): the window slides to [2, 10), 1 is lost */
    for (uint16_t s = 3; s <= 9; s++) feed(r, &sink, s, s);
    ck_assert_uint_eq(sink.count, 1);
    ck_assert_uint_eq(stats_of(r).held, 7);
    ck_assert_uint_eq(stats_of(r).lost, 1);
    feed(r, &sink, 10, 10); /* slides to [3, 11): 2 is lost too, 3..10 go out */
    static const uint16_t order[] = {0, 3, 4, 5, 6, 7, 8, 9, 10};
    expect_seqs(&sink, order, 9);
    ck_assert_uint_eq(sink.log[1].lost_before, 2);
    ck_assert_uint_eq(sink.log[2].lost_before, 0);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.lost, 2);
    ck_assert_uint_eq(st.held, 0);
    /* 2 shows up after all: late, dropped; 9 again: duplicate */
    feed(r, &sink, 2, 11);
    feed(r, &sink, 9, 12);
    st = stats_of(r);
    ck_assert_uint_eq(st.late, 1);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(sink.count, 9);
    ck_assert_uint_eq(st.expected, 11);
    rtp_reorder_destroy(r);
}
END_TEST

/* Overflow by a packet far ahead only gives up the numbers that left the window; a later gap keeps waiting.
 */
START_TEST(overflow_keeps_gap_inside_window)
{
    struct rtp_reorder *r = make(&sink, 8, 1000);
    feed(r, &sink, 0, 0);
    feed(r, &sink, 5, 1);  /* gap 1..4 */
    feed(r, &sink, 11, 2); /* window -> [4, 12): 1..3 lost, 4 still awaited, 5 and 11 held */
    ck_assert_uint_eq(sink.count, 1);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.lost, 3);
    ck_assert_uint_eq(st.held, 2);
    feed(r, &sink, 4, 3);
    static const uint16_t order[] = {0, 4, 5};
    expect_seqs(&sink, order, 3);
    ck_assert_uint_eq(sink.log[1].lost_before, 3);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(gap_lost_by_timeout)
{
    struct rtp_reorder *r = make(&sink, 0, 50);
    feed(r, &sink, 100, 0);
    feed(r, &sink, 102, 10);
    feed(r, &sink, 104, 30);
    ck_assert_int_eq(rtp_reorder_next_timeout(r, 30), 30);
    rtp_reorder_tick(r, 59);
    ck_assert_uint_eq(sink.count, 1);
    rtp_reorder_tick(r, 60); /* 102 waited 50 ms: 101 is lost, then 103 is awaited since 104 came (t=30) */
    static const uint16_t order[] = {100, 102};
    expect_seqs(&sink, order, 2);
    ck_assert_uint_eq(sink.log[1].lost_before, 1);
    ck_assert_int_eq(rtp_reorder_next_timeout(r, 60), 20);
    /* Expiry also runs on input: 105 at t=80 first gives up 103. */
    feed(r, &sink, 105, 80);
    static const uint16_t order2[] = {100, 102, 104, 105};
    expect_seqs(&sink, order2, 4);
    ck_assert_uint_eq(sink.log[2].lost_before, 1);
    ck_assert(sink.log[3].zero_copy);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.lost, 2);
    ck_assert_uint_eq(st.held, 0);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(duplicates_dropped)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    feed(r, &sink, 0, 0);
    feed(r, &sink, 1, 1);
    feed(r, &sink, 1, 2); /* already delivered */
    feed(r, &sink, 3, 3);
    feed(r, &sink, 3, 4); /* already held */
    feed(r, &sink, 0, 5);
    feed(r, &sink, 2, 6);
    static const uint16_t order[] = {0, 1, 2, 3};
    expect_seqs(&sink, order, 4);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.duplicates, 3);
    ck_assert_uint_eq(st.received, 7);
    ck_assert_uint_eq(st.late, 0);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(wraps_at_65535)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    static const uint16_t arrival[] = {65532, 65533, 65535, 65534, 1, 0, 2, 3};
    for (size_t i = 0; i < sizeof arrival / sizeof arrival[0]; i++) feed(r, &sink, arrival[i], i);
    static const uint16_t order[] = {65532, 65533, 65534, 65535, 0, 1, 2, 3};
    expect_seqs(&sink, order, 8);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_uint_eq(st.reordered, 2);
    ck_assert_uint_eq(st.ext_highest_seq, 0x10003); /* one cycle */
    ck_assert_uint_eq(st.expected, 8);
    /* A loss across the wrap too. */
    feed(r, &sink, 6, 10);
    rtp_reorder_flush(r);
    ck_assert_uint_eq(sink.log[8].seq, 6);
    ck_assert_uint_eq(sink.log[8].lost_before, 2);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(sender_restart_resyncs)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    for (uint16_t s = 100; s <= 120; s++) feed(r, &sink, s, s);
    feed(r, &sink, 40000, 200); /* far away: kept aside */
    ck_assert_uint_eq(sink.count, 21);
    feed(r, &sink, 40001, 201); /* follows it: a restart */
    feed(r, &sink, 40002, 202);
    ck_assert_uint_eq(sink.count, 24);
    ck_assert_uint_eq(sink.log[21].seq, 40000);
    ck_assert_uint_eq(sink.log[21].lost_before, RTP_REORDER_RESYNC);
    ck_assert(!sink.log[21].zero_copy);
    ck_assert_uint_eq(sink.log[22].seq, 40001);
    ck_assert_uint_eq(sink.log[22].lost_before, 0);
    ck_assert(sink.log[23].zero_copy);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.resyncs, 1);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_uint_eq(st.expected, 21 + 3);
    /* the extended sequence keeps growing across the restart */
    ck_assert_uint_eq(st.ext_highest_seq, 40002);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(stray_packet_ignored)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    for (uint16_t s = 0; s <= 10; s++) feed(r, &sink, s, s);
    feed(r, &sink, 30000, 11); /* a corrupt header, say */
    feed(r, &sink, 11, 12);
    feed(r, &sink, 20000, 13); /* another one: the first was never confirmed */
    feed(r, &sink, 12, 14);
    rtp_reorder_flush(r);
    ck_assert_uint_eq(sink.count, 13);
    ck_assert_uint_eq(sink.log[12].seq, 12);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.stray, 2);
    ck_assert_uint_eq(st.resyncs, 0);
    ck_assert_uint_eq(st.received, st.delivered + st.stray);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(restart_slightly_behind_resyncs)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    for (uint16_t s = 1000; s <= 1100; s++) feed(r, &sink, s, s);
    for (uint16_t s = 1050; s < 1050 + 20; s++) feed(r, &sink, s, s); /* the sender starts over at 1050 */
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.duplicates, 15);
    ck_assert_uint_eq(st.resyncs, 1);
    ck_assert_uint_eq(sink.count, 101 + 5);
    ck_assert_uint_eq(sink.log[101].seq, 1065);
    ck_assert_uint_eq(sink.log[101].lost_before, RTP_REORDER_RESYNC);
    ck_assert_uint_eq(sink.log[105].seq, 1069);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(explicit_restart)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    feed(r, &sink, 7, 0);
    feed(r, &sink, 9, 1);
    rtp_reorder_restart(r); /* flushes 9 (8 lost) */
    feed(r, &sink, 7, 2);   /* would be late; after a restart it starts the new run */
    static const uint16_t order[] = {7, 9, 7};
    expect_seqs(&sink, order, 3);
    ck_assert_uint_eq(sink.log[1].lost_before, 1);
    ck_assert_uint_eq(sink.log[2].lost_before, RTP_REORDER_RESYNC);
    struct rtp_reorder_stats st = stats_of(r);
    ck_assert_uint_eq(st.resyncs, 1);
    ck_assert_uint_eq(st.lost, 1);
    ck_assert_uint_eq(st.expected, 3 + 1);
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(holds_big_packet)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    feed(r, &sink, 0, 0);
    feed_sized(r, &sink, 2, 0, 1, 4000); /* bigger than a slot: the slot grows */
    feed_sized(r, &sink, 3, 0, 2, 1400);
    feed(r, &sink, 1, 3);
    static const uint16_t order[] = {0, 1, 2, 3};
    expect_seqs(&sink, order, 4); /* on_packet checked every payload byte */
    rtp_reorder_destroy(r);
}
END_TEST

START_TEST(jitter_rfc3550)
{
    struct rtp_reorder *r = make(&sink, 0, 0);
    /* 25 fps, timestamps 3600 apart, arriving exactly 40 ms apart: no jitter */
    for (uint16_t i = 0; i < 10; i++) feed(r, &sink, i, 1000 + 40u * i);
    ck_assert_uint_eq(stats_of(r).jitter, 0);
    /* one frame 10 ms late: D = 900 units, J = 900/16 */
    feed(r, &sink, 10, 1000 + 400 + 10);
    ck_assert_uint_eq(stats_of(r).jitter, 900 / 16);
    /* back on time: D = 900 again; J(q4) = 900 + 900 - (900+8)/16 */
    feed(r, &sink, 11, 1000 + 440);
    ck_assert_uint_eq(stats_of(r).jitter, (900 + 900 - (900 + 8) / 16) / 16);
    rtp_reorder_destroy(r);
}
END_TEST

struct capture_check {
    size_t delivered;
    uint16_t expect_seq;
};

static void on_capture_packet(void *arg, const struct rtp_packet *pkt, uint32_t lost_before)
{
    struct capture_check *cc = arg;
    ck_assert_uint_eq(pkt->seq, cc->expect_seq);
    ck_assert_uint_eq(lost_before, 0);
    ck_assert_uint_eq(pkt->ssrc, 0x05F5ED76u);
    cc->expect_seq++;
    cc->delivered++;
}

/* The real capture with every 7th pair swapped: every packet comes out, in order, none lost. */
START_TEST(real_capture_with_swaps)
{
    const char *path = test_shared_path("samples/hik_704x576_h264_rtp.zlmrtp");
    if (!path) return;
    size_t size;
    uint8_t *file = test_read_file(path, &size);
    ck_assert_ptr_nonnull(file);
    enum { N = 3096 };
    static const uint8_t *pkts[N];
    static size_t lens[N];
    size_t n = 0;
    for (size_t pos = 0; pos + 2 <= size && n < N; n++) {
        lens[n] = rtp_rd16(file + pos);
        pkts[n] = file + pos + 2;
        pos += 2 + lens[n];
    }
    ck_assert_uint_eq(n, N);
    struct capture_check cc = {0, 0};
    struct rtp_reorder *r = rtp_reorder_create(NULL, on_capture_packet, &cc);
    ck_assert_ptr_nonnull(r);
    for (size_t i = 0; i < n; i++) {
        size_t k = i % 7 == 3 ? i + 1 : i % 7 == 4 ? i - 1 : i; /* 3096 % 7 == 2: no pair is cut */
        struct rtp_packet pkt;
        ck_assert_int_eq(rtp_parse(pkts[k], lens[k], &pkt), 0);
        rtp_reorder_input(r, &pkt, i / 10);
    }
    rtp_reorder_flush(r);
    struct rtp_reorder_stats st;
    rtp_reorder_get_stats(r, &st);
    ck_assert_uint_eq(cc.delivered, N);
    ck_assert_uint_eq(st.delivered, N);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_uint_eq(st.reordered, N / 7);
    ck_assert_uint_eq(st.ext_highest_seq, N - 1);
    ck_assert_uint_eq(st.expected, N);
    rtp_reorder_destroy(r);
    free(file);
}
END_TEST

static Suite *reorder_suite(void)
{
    Suite *s = suite_create("media_rtp_reorder");
    TCase *tc = tcase_create("reorder");
    tcase_add_test(tc, in_order_is_zero_copy);
    tcase_add_test(tc, swap_is_reordered);
    tcase_add_test(tc, gap_filled_releases_held);
    tcase_add_test(tc, gap_lost_by_overflow);
    tcase_add_test(tc, overflow_keeps_gap_inside_window);
    tcase_add_test(tc, gap_lost_by_timeout);
    tcase_add_test(tc, duplicates_dropped);
    tcase_add_test(tc, wraps_at_65535);
    tcase_add_test(tc, sender_restart_resyncs);
    tcase_add_test(tc, stray_packet_ignored);
    tcase_add_test(tc, restart_slightly_behind_resyncs);
    tcase_add_test(tc, explicit_restart);
    tcase_add_test(tc, holds_big_packet);
    tcase_add_test(tc, jitter_rfc3550);
    tcase_add_test(tc, real_capture_with_swaps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(reorder_suite());
}
