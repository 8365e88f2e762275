/* gbuf pools (reuse, growth, cross-thread release, process-wide counters, pool cap) and the API router
 * (patterns, params, 404/405, query). */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/api.h"
#include "common/buf.h"
#include "testutil.h"

START_TEST(buffers_are_pooled)
{
    struct gbuf_pool_stats before, after;
    struct gbuf *b = gbuf_alloc(1000);
    ck_assert_uint_ge(b->cap, 1000);
    memset(b->data, 0xab, b->cap);
    gbuf_unref(b);
    gbuf_pool_stats(&before);
    for (int i = 0; i < 1000; i++) gbuf_unref(gbuf_alloc(900 + (size_t)(i % 100)));
    gbuf_pool_stats(&after);
    ck_assert_uint_eq(after.pool_hits - before.pool_hits, 1000); /* steady state: no malloc */
    gbuf_pool_drain();
}
END_TEST

START_TEST(refcount_and_grow)
{
    struct gbuf *b = gbuf_alloc(16);
    memcpy(b->data, "0123456789", 10);
    gbuf_ref(b);
    gbuf_unref(b);
    ck_assert_uint_eq(atomic_load(&b->refs), 1);
    b = gbuf_grow(b, 10, 100000);
    ck_assert_uint_ge(b->cap, 100000);
    ck_assert(memcmp(b->data, "0123456789", 10) == 0);
    gbuf_unref(b);
    struct gbuf *huge = gbuf_alloc(20u << 20); /* above the largest class: not pooled */
    ck_assert_uint_eq(huge->size_class, 0xff);
    gbuf_unref(huge);
    gbuf_pool_drain();
}
END_TEST

static void *release_elsewhere(void *arg)
{
    gbuf_unref(arg);
    gbuf_pool_drain();
    return NULL;
}

START_TEST(release_on_another_thread)
{
    struct gbuf *b = gbuf_alloc(4096);
    gbuf_ref(b);
    pthread_t t;
    pthread_create(&t, NULL, release_elsewhere, b);
    pthread_join(t, NULL);
    gbuf_unref(b); /* last reference here */
    gbuf_pool_drain();
}
END_TEST

/* The process-wide counters behind /metrics: in-use and pooled bytes move by exact class sizes, the pool
 * keeps at most its cap per thread (4 MiB), and what goes beyond is freed, not pooled. */
START_TEST(global_counters_and_pool_cap)
{
    gbuf_pool_drain();
    struct gbuf_global_stats g0, g1, g2;
    gbuf_global_stats(&g0);
    enum { N = 64 };
    struct gbuf *bufs[N];
    for (int i = 0; i < N; i++) bufs[i] = gbuf_alloc(200 * 1024); /* 64 x ~200 KiB: more than the pool cap */
    size_t each = sizeof(struct gbuf) + bufs[0]->cap;
    gbuf_global_stats(&g1);
    ck_assert_uint_eq(g1.in_use - g0.in_use, (uint64_t)N * each);
    ck_assert_uint_eq(g1.mallocs - g0.mallocs, N);
    for (int i = 0; i < N; i++) gbuf_unref(bufs[i]);
    gbuf_global_stats(&g2);
    ck_assert_uint_eq(g2.in_use, g0.in_use);
    ck_assert_uint_gt(g2.pooled, g0.pooled);
    ck_assert_uint_le(g2.pooled - g0.pooled, 4u << 20);
    struct gbuf_pool_stats mine;
    gbuf_pool_stats(&mine);
    ck_assert_uint_eq(mine.bytes_pooled, g2.pooled - g0.pooled);
    gbuf_pool_drain();
    gbuf_global_stats(&g2);
    ck_assert_uint_eq(g2.pooled, g0.pooled);
}
END_TEST

/* The per-thread cap follows what the worker sets: lowering it frees what is over at once, and later frees
 * beyond it go back to malloc; raising it lets the pool keep more again. */
START_TEST(pool_limit_follows_the_worker)
{
    gbuf_pool_drain();
    enum { N = 24 };
    struct gbuf *bufs[N];
    for (int i = 0; i < N; i++) bufs[i] = gbuf_alloc(60 * 1024); /* 64 KiB class, 16 per MiB */
    for (int i = 0; i < N / 2; i++) gbuf_unref(bufs[i]);
    struct gbuf_pool_stats st;
    gbuf_pool_stats(&st);
    ck_assert_uint_eq(st.bytes_pooled, (N / 2) * 64 * 1024); /* under both caps (1 MiB per class) */
    gbuf_pool_set_limit(256 * 1024);
    gbuf_pool_stats(&st);
    ck_assert_uint_eq(st.bytes_pooled, 256 * 1024); /* trimmed to the new cap */
    for (int i = N / 2; i < N; i++) gbuf_unref(bufs[i]);
    gbuf_pool_stats(&st);
    ck_assert_uint_eq(st.bytes_pooled, 256 * 1024); /* frees over the cap were not pooled */
    gbuf_pool_set_limit(GBUF_POOL_DEFAULT_LIMIT);
    struct gbuf *b = gbuf_alloc(60 * 1024);
    gbuf_unref(b);
    gbuf_unref(gbuf_alloc(60 * 1024 + 1)); /* the same class */
    gbuf_pool_stats(&st);
    ck_assert_uint_eq(st.bytes_pooled, 256 * 1024); /* a hit and a return: the pool works again */
    gbuf_pool_drain();
}
END_TEST

static int last_status;
static char last_body[512];
static char seen_params[2][API_PARAM_MAX];

static void capture_reply(void *arg, int status, const char *ct, char *body, size_t len)
{
    last_status = status;
    snprintf(last_body, sizeof last_body, "%.*s", (int)len, body ? body : "");
    free(body);
}

static void h_two(struct api_request *req)
{
    snprintf(seen_params[0], API_PARAM_MAX, "%s", req->params[0]);
    snprintf(seen_params[1], API_PARAM_MAX, "%s", req->params[1]);
    api_reply_json(req, 200, json_pack("{s:i}", "n", req->nparams));
}

static void dispatch(const char *method, const char *path, const char *query)
{
    struct api_request *req = calloc(1, sizeof *req);
    snprintf(req->method, sizeof req->method, "%s", method);
    snprintf(req->path, sizeof req->path, "%s", path);
    snprintf(req->query, sizeof req->query, "%s", query);
    req->reply_fn = capture_reply;
    api_dispatch(req);
}

START_TEST(router_matches_patterns)
{
    api_route("GET", "/api/v1/devices/{}/channels/{}", h_two);
    dispatch("GET", "/api/v1/devices/340200/channels/abc", "");
    ck_assert_int_eq(last_status, 200);
    ck_assert_str_eq(seen_params[0], "340200");
    ck_assert_str_eq(seen_params[1], "abc");
    ck_assert_str_eq(last_body, "{\"n\":2}");
    dispatch("GET", "/api/v1/devices/340200/channels/abc/", ""); /* trailing slash tolerated */
    ck_assert_int_eq(last_status, 200);
    dispatch("POST", "/api/v1/devices/1/channels/2", "");
    ck_assert_int_eq(last_status, 405);
    dispatch("GET", "/api/v1/devices//channels/2", ""); /* empty segment */
    ck_assert_int_eq(last_status, 404);
    dispatch("GET", "/api/v1/nothing", "");
    ck_assert_int_eq(last_status, 404);
    ck_assert(strstr(last_body, "\"code\":\"not_found\""));
}
END_TEST

START_TEST(query_parameters)
{
    struct api_request req = {0};
    snprintf(req.query, sizeof req.query, "start=2026-11-24T09%%3A30%%3A00&end=x+y&flag");
    char v[64];
    ck_assert(api_query_get(&req, "start", v, sizeof v));
    ck_assert_str_eq(v, "2026-11-24T09:30:00");
    ck_assert(api_query_get(&req, "end", v, sizeof v));
    ck_assert_str_eq(v, "x y");
    ck_assert(!api_query_get(&req, "sta", v, sizeof v));
    ck_assert(!api_query_get(&req, "flag", v, sizeof v));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf_api");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, buffers_are_pooled);
    tcase_add_test(tc, refcount_and_grow);
    tcase_add_test(tc, release_on_another_thread);
    tcase_add_test(tc, global_counters_and_pool_cap);
    tcase_add_test(tc, pool_limit_follows_the_worker);
    tcase_add_test(tc, router_matches_patterns);
    tcase_add_test(tc, query_parameters);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
