/* Unit tests for signaling/auth_ban: failure counting, ban start and end, forgetting, and bounded memory. */
#include <check.h>
#include <stdio.h>

#include "signaling/auth_ban.h"
#include "testutil.h"

START_TEST(ban_after_failures_then_expires)
{
    struct auth_ban *ab = auth_ban_create(64, 3, 10000);
    ck_assert(!auth_ban_failure(ab, "id:1", 1000));
    ck_assert(!auth_ban_failure(ab, "id:1", 1100));
    ck_assert(!auth_ban_is_banned(ab, "id:1", 1100));
    ck_assert(auth_ban_failure(ab, "id:1", 1200)); /* the third starts the ban */
    ck_assert(auth_ban_is_banned(ab, "id:1", 1200));
    ck_assert(auth_ban_is_banned(ab, "id:1", 11199));
    ck_assert(!auth_ban_is_banned(ab, "id:1", 11200));
    ck_assert(!auth_ban_is_banned(ab, "id:2", 1200));
    ck_assert_uint_eq(auth_ban_count_banned(ab, 5000), 1);
    ck_assert_uint_eq(auth_ban_count_banned(ab, 20000), 0);
    /* failures during a ban do not extend it */
    ck_assert(!auth_ban_failure(ab, "id:1", 5000));
    ck_assert(!auth_ban_is_banned(ab, "id:1", 11200));
    auth_ban_destroy(ab);
}
END_TEST

START_TEST(success_and_spacing_forget_failures)
{
    struct auth_ban *ab = auth_ban_create(64, 2, 10000);
    ck_assert(!auth_ban_failure(ab, "ip:10.0.0.1", 0));
    auth_ban_success(ab, "ip:10.0.0.1");
    ck_assert(!auth_ban_failure(ab, "ip:10.0.0.1", 10));
    /* a failure further apart than the ban time starts counting again */
    ck_assert(!auth_ban_failure(ab, "ip:10.0.0.1", 20011));
    ck_assert(auth_ban_failure(ab, "ip:10.0.0.1", 20012));
    auth_ban_clear(ab, "ip:10.0.0.1");
    ck_assert(!auth_ban_is_banned(ab, "ip:10.0.0.1", 20013));
    auth_ban_destroy(ab);
}
END_TEST

START_TEST(disabled_bans)
{
    struct auth_ban *ab = auth_ban_create(16, 1, 0);
    for (int i = 0; i < 10; i++) ck_assert(!auth_ban_failure(ab, "id:x", (uint64_t)i));
    ck_assert(!auth_ban_is_banned(ab, "id:x", 5));
    auth_ban_destroy(ab);
}
END_TEST

START_TEST(flood_keeps_bans_and_bounded)
{
    /* 16 slots; ban one key, then fail 10000 other keys once each (not enough for a ban): the ban survives
     * (unbanned entries are evicted first) and memory stays the table. */
    struct auth_ban *ab = auth_ban_create(16, 2, 60000);
    ck_assert(!auth_ban_failure(ab, "id:victim", 1));
    ck_assert(auth_ban_failure(ab, "id:victim", 1));
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "id:%d", i);
        auth_ban_failure(ab, key, 2 + (uint64_t)i);
    }
    ck_assert(auth_ban_is_banned(ab, "id:victim", 20000));
    ck_assert_uint_eq(auth_ban_count_banned(ab, 20000), 1);
    /* when everything is banned, the least recently touched ban gives way */
    struct auth_ban *full = auth_ban_create(16, 1, 60000);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "id:%d", i);
        auth_ban_failure(full, key, 1 + (uint64_t)i);
    }
    ck_assert_uint_le(auth_ban_count_banned(full, 200), 16);
    ck_assert(auth_ban_is_banned(full, "id:99", 200));
    auth_ban_destroy(full);
    auth_ban_destroy(ab);
}
END_TEST

START_TEST(long_keys_are_cut_consistently)
{
    struct auth_ban *ab = auth_ban_create(16, 1, 1000);
    char longkey[200];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    ck_assert(auth_ban_failure(ab, longkey, 1));
    ck_assert(auth_ban_is_banned(ab, longkey, 2));
    auth_ban_destroy(ab);
}
END_TEST

static Suite *ban_suite(void)
{
    Suite *s = suite_create("signaling_auth_ban");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ban_after_failures_then_expires);
    tcase_add_test(tc, success_and_spacing_forget_failures);
    tcase_add_test(tc, disabled_bans);
    tcase_add_test(tc, flood_keeps_bans_and_bounded);
    tcase_add_test(tc, long_keys_are_cut_consistently);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(ban_suite());
}
