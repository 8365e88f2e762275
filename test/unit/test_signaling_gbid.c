/* Unit tests for signaling/gbid: 20-digit IDs, type codes, domains, SSRC text/value and the SSRC pool. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "signaling/gbid.h"
#include "testutil.h"

START_TEST(id_validity)
{
    ck_assert(gbid_valid("34020000001320000001"));
    ck_assert(gbid_valid("00000000000000000000"));
    ck_assert(!gbid_valid("3402000000132000000"));   /* 19 */
    ck_assert(!gbid_valid("340200000013200000012")); /* 21 */
    ck_assert(!gbid_valid("3402000000132000000a"));
    ck_assert(!gbid_valid(" 4020000001320000001"));
    ck_assert(!gbid_valid(""));
    ck_assert(!gbid_valid(NULL));
    ck_assert(!gbid_valid("130909113319427420")); /* the 18-digit Hikvision 2013 platform ID */
}
END_TEST

START_TEST(id_type_codes)
{
    ck_assert_int_eq(gbid_type("34020000001320000001"), 132);
    ck_assert_int_eq(gbid_type("33010602001310019325"), 131);
    ck_assert_int_eq(gbid_type("34020000002000000001"), 200);
    ck_assert_int_eq(gbid_type("34020000001110000001"), 111);
    ck_assert_int_eq(gbid_type("bad"), -1);
    ck_assert_str_eq(gbid_type_name(111), "DVR");
    ck_assert_str_eq(gbid_type_name(118), "NVR");
    ck_assert_str_eq(gbid_type_name(131), "camera");
    ck_assert_str_eq(gbid_type_name(132), "IPC");
    ck_assert_str_eq(gbid_type_name(200), "platform");
    ck_assert_str_eq(gbid_type_name(215), "business group");
    ck_assert_str_eq(gbid_type_name(216), "virtual organisation");
    ck_assert_str_eq(gbid_type_name(999), "unknown");
    ck_assert_str_eq(gbid_type_name(-1), "unknown");
    ck_assert_int_eq(gbid_type_class(118), GBID_CLASS_DEVICE);
    ck_assert_int_eq(gbid_type_class(132), GBID_CLASS_PERIPHERAL);
    ck_assert_int_eq(gbid_type_class(200), GBID_CLASS_PLATFORM);
    ck_assert_int_eq(gbid_type_class(215), GBID_CLASS_GROUP);
    ck_assert_int_eq(gbid_type_class(216), GBID_CLASS_GROUP);
    ck_assert_int_eq(gbid_type_class(400), GBID_CLASS_USER);
    ck_assert_int_eq(gbid_type_class(42), GBID_CLASS_UNKNOWN);
    ck_assert(gbid_type_has_video(131) && gbid_type_has_video(132) && gbid_type_has_video(118));
    ck_assert(!gbid_type_has_video(215) && !gbid_type_has_video(134) && !gbid_type_has_video(200));
}
END_TEST

START_TEST(id_domain)
{
    char d[GBID_DOMAIN_LEN + 1];
    ck_assert(gbid_domain("34020000002000000001", d));
    ck_assert_str_eq(d, "3402000000");
    ck_assert(!gbid_domain("hik", d));
    ck_assert_str_eq(d, "");
}
END_TEST

START_TEST(ssrc_make_and_format)
{
    char s[GB_SSRC_LEN + 1];
    ck_assert_uint_eq(gb_ssrc_make(false, "3402000000", 1234, s), 200001234u);
    ck_assert_str_eq(s, "0200001234");
    ck_assert_uint_eq(gb_ssrc_make(true, "3402000000", 1234, s), 1200001234u);
    ck_assert_str_eq(s, "1200001234");
    ck_assert_uint_eq(gb_ssrc_make(false, "34020000002000000001", 7, s), 200000007u);
    ck_assert_str_eq(s, "0200000007");
    ck_assert_uint_eq(gb_ssrc_make(false, "3301060200", 9999, s), 106029999u); /* digits 4-8: 10602 */
    ck_assert_str_eq(s, "0106029999");
    ck_assert_uint_eq(gb_ssrc_make(false, "hik", 55, s), 55u); /* not 8 digits: domain part 00000 */
    ck_assert_str_eq(s, "0000000055");
    ck_assert_uint_eq(gb_ssrc_make(true, "34020000", 12345, s), 1200002345u); /* seq modulo 10000 */
    ck_assert_str_eq(s, "1200002345");
    gb_ssrc_format(UINT32_MAX, s);
    ck_assert_str_eq(s, "4294967295");
    gb_ssrc_format(0, s);
    ck_assert_str_eq(s, "0000000000");
    ck_assert(gb_ssrc_is_playback(1200001234u) && !gb_ssrc_is_playback(200001234u));
    ck_assert_uint_eq(gb_ssrc_seq(1200001234u), 1234);
}
END_TEST

START_TEST(ssrc_parse)
{
    uint32_t v = 7;
    ck_assert(gb_ssrc_parse("0200001234", 10, &v));
    ck_assert_uint_eq(v, 200001234u);
    ck_assert(gb_ssrc_parse(" 0060205514\r\n", 13, &v)); /* the Hikvision answer's y= line tail */
    ck_assert_uint_eq(v, 60205514u);
    ck_assert(gb_ssrc_parse("0000000000", 10, &v));
    ck_assert_uint_eq(v, 0u);
    ck_assert(gb_ssrc_parse("4294967295", 10, &v));
    ck_assert_uint_eq(v, UINT32_MAX);
    ck_assert(gb_ssrc_parse("1002", 4, &v)); /* short forms happen; the value is what counts */
    ck_assert_uint_eq(v, 1002u);
    v = 7;
    ck_assert(!gb_ssrc_parse("4294967296", 10, &v));
    ck_assert(!gb_ssrc_parse("12345678901", 11, &v));
    ck_assert(!gb_ssrc_parse("", 0, &v));
    ck_assert(!gb_ssrc_parse("   ", 3, &v));
    ck_assert(!gb_ssrc_parse("02000a1234", 10, &v));
    ck_assert(!gb_ssrc_parse("-200001234", 10, &v));
    ck_assert(!gb_ssrc_parse(NULL, 3, &v));
    ck_assert_uint_eq(v, 7u);
    ck_assert(gb_ssrc_parse("0200001234XYZ", 10, &v)); /* only len bytes are read */
    ck_assert_uint_eq(v, 200001234u);
}
END_TEST

START_TEST(pool_exhaust_and_release)
{
    static struct gb_ssrc_pool pool;
    static uint8_t seen[GB_SSRC_SEQ_COUNT];
    gb_ssrc_pool_init(&pool, "3402000000");
    memset(seen, 0, sizeof(seen));
    uint32_t ssrc;
    char text[GB_SSRC_LEN + 1];
    for (int i = 0; i < GB_SSRC_SEQ_COUNT; i++) {
        ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &ssrc, text), 0);
        ck_assert_uint_eq(ssrc / GB_SSRC_SEQ_COUNT, 20000u);
        ck_assert_uint_eq(seen[gb_ssrc_seq(ssrc)]++, 0); /* unique */
        uint32_t back;
        ck_assert(gb_ssrc_parse(text, strlen(text), &back));
        ck_assert_uint_eq(back, ssrc);
    }
    ck_assert_uint_eq(gb_ssrc_pool_in_use(&pool, false), GB_SSRC_SEQ_COUNT);
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &ssrc, NULL), ENOSPC);
    /* playback is a separate space */
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, true, &ssrc, text), 0);
    ck_assert_str_eq(text, "1200000000");
    ck_assert_uint_eq(gb_ssrc_pool_in_use(&pool, true), 1);
    /* release and reuse */
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 200004321u), 0);
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 200004321u), ENOENT);
    ck_assert_uint_eq(gb_ssrc_pool_in_use(&pool, false), GB_SSRC_SEQ_COUNT - 1);
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &ssrc, NULL), 0);
    ck_assert_uint_eq(ssrc, 200004321u);
    /* not this pool's: other domain part, or first digit 2+ */
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 106020001u), ENOENT);
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 2200000001u), ENOENT);
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 1200000000u), 0);
    ck_assert_uint_eq(gb_ssrc_pool_in_use(&pool, true), 0);
}
END_TEST

START_TEST(pool_rotates_and_reserves)
{
    struct gb_ssrc_pool pool;
    gb_ssrc_pool_init(&pool, "3402000000");
    uint32_t a, b, c;
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &a, NULL), 0);
    ck_assert_uint_eq(a, 200000000u);
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, a), 0);
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &b, NULL), 0);
    ck_assert_uint_eq(b, 200000001u); /* a just-released sequence is not handed out again at once */
    ck_assert_int_eq(gb_ssrc_pool_reserve(&pool, 200000002u), 0);
    ck_assert_int_eq(gb_ssrc_pool_reserve(&pool, 200000002u), EEXIST);
    ck_assert_int_eq(gb_ssrc_pool_reserve(&pool, 300000002u), EINVAL);
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &c, NULL), 0);
    ck_assert_uint_eq(c, 200000003u); /* skips the reserved one */
    ck_assert_uint_eq(gb_ssrc_pool_in_use(&pool, false), 3);
}
END_TEST

START_TEST(pool_never_hands_out_zero)
{
    static struct gb_ssrc_pool pool;
    gb_ssrc_pool_init(&pool, "hik");
    uint32_t ssrc;
    for (int i = 0; i < GB_SSRC_SEQ_COUNT - 1; i++) {
        ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &ssrc, NULL), 0);
        ck_assert_uint_ne(ssrc, 0);
    }
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, false, &ssrc, NULL), ENOSPC);
    ck_assert_int_eq(gb_ssrc_pool_release(&pool, 0), ENOENT);
    ck_assert_int_eq(gb_ssrc_pool_alloc(&pool, true, &ssrc, NULL), 0);
    ck_assert_uint_eq(ssrc, 1000000000u); /* playback 0 is not SSRC 0 */
}
END_TEST

static Suite *gbid_suite(void)
{
    Suite *s = suite_create("signaling_gbid");
    TCase *tc = tcase_create("gbid");
    tcase_add_test(tc, id_validity);
    tcase_add_test(tc, id_type_codes);
    tcase_add_test(tc, id_domain);
    tcase_add_test(tc, ssrc_make_and_format);
    tcase_add_test(tc, ssrc_parse);
    tcase_add_test(tc, pool_exhaust_and_release);
    tcase_add_test(tc, pool_rotates_and_reserves);
    tcase_add_test(tc, pool_never_hands_out_zero);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(gbid_suite());
}
