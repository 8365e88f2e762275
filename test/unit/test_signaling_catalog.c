/* Unit tests for signaling/catalog: SumNum assembly across MESSAGEs (synthetic and the real Hikvision answer
 * in 9 MESSAGEs with GB2312 names), duplicates, limits, partial results. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/catalog.h"
#include "signaling/manscdp.h"
#include "testutil.h"

static struct manscdp_catalog_item item(const char *id, const char *name)
{
    struct manscdp_catalog_item it;
    memset(&it, 0, sizeof(it));
    snprintf(it.device_id, sizeof(it.device_id), "%s", id);
    snprintf(it.name, sizeof(it.name), "%s", name);
    return it;
}

/* Builds a catalog response body with our own builder and adds it through the parser, as the registrar does.
 */
static void add_message(struct catalog_assembly *a, uint32_t sum, const struct manscdp_catalog_item *items,
                        size_t n)
{
    char body[16384];
    size_t len;
    ck_assert_int_eq(manscdp_build_catalog_response(body, sizeof(body), &len, MANSCDP_GB2312, 7,
                                                    "34020000001320000001", sum, items, n),
                     0);
    struct manscdp_msg *m;
    ck_assert_int_eq(manscdp_parse((const uint8_t *)body, len, &m), 0);
    struct manscdp_catalog cat;
    ck_assert_int_eq(manscdp_decode_catalog(m, &cat), 0);
    ck_assert_int_eq(catalog_assembly_add(a, &cat, 100), 0);
    manscdp_free(m);
}

START_TEST(assembles_across_messages_with_duplicates)
{
    struct catalog_assembly *a = catalog_assembly_create(7, 100, 0);
    struct manscdp_catalog_item m1[] = {item("34020000001320000003", "三号"),
                                        item("34020000001320000001", "一号")};
    struct manscdp_catalog_item m2[] = {item("34020000001320000001", "一号改")}; /* resent, renamed */
    struct manscdp_catalog_item m3[] = {item("34020000001320000002", "二号")};
    add_message(a, 3, m1, 2);
    ck_assert(!catalog_assembly_complete(a));
    add_message(a, 3, m2, 1);
    ck_assert(!catalog_assembly_complete(a));
    ck_assert_uint_eq(a->duplicates, 1);
    add_message(a, 3, m3, 1);
    ck_assert(catalog_assembly_complete(a));
    ck_assert_uint_eq(a->messages, 3);
    ck_assert_int_eq(a->sum_num, 3);
    ck_assert_uint_eq(a->updated_ms, 100);
    size_t n;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(items[0].device_id, "34020000001320000001");
    ck_assert_str_eq(items[0].name, "一号改");
    ck_assert_str_eq(items[1].name, "二号");
    ck_assert_str_eq(items[2].name, "三号");
    free(items);
    catalog_assembly_destroy(a);
}
END_TEST

START_TEST(sumnum_edge_cases)
{
    struct catalog_assembly *a = catalog_assembly_create(1, 100, 0);
    ck_assert(!catalog_assembly_complete(a)); /* nothing known yet */
    add_message(a, 0, NULL, 0);               /* a device with no channels */
    ck_assert(catalog_assembly_complete(a));
    catalog_assembly_destroy(a);

    /* a SumNum far beyond the limit completes at the limit, without allocating for SumNum */
    a = catalog_assembly_create(1, 2, 0);
    struct manscdp_catalog_item m[] = {item("1", "a"), item("2", "b"), item("3", "c")};
    add_message(a, 1000000000, m, 3);
    ck_assert(catalog_assembly_complete(a));
    ck_assert_uint_eq(a->count, 2);
    ck_assert_uint_eq(a->dropped, 1);
    ck_assert_uint_le(a->cap, 2);
    catalog_assembly_destroy(a);

    /* items without an ID are dropped; without SumNum the answer never completes (the timeout keeps it) */
    a = catalog_assembly_create(1, 100, 0);
    struct manscdp_catalog_item noid = item("", "nameless");
    ck_assert_int_eq(catalog_assembly_add_item(a, &noid), 0);
    ck_assert_uint_eq(a->dropped, 1);
    struct manscdp_catalog_item one = item("9", "x");
    catalog_assembly_add_item(a, &one);
    ck_assert(!catalog_assembly_complete(a));
    size_t n;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    ck_assert_uint_eq(n, 1);
    free(items);
    ck_assert_ptr_null(catalog_assembly_take(a, &n)); /* taken: empty now */
    ck_assert_uint_eq(n, 0);
    catalog_assembly_destroy(a);
}
END_TEST

START_TEST(many_items_sorted)
{
    struct catalog_assembly *a = catalog_assembly_create(1, 5000, 0);
    char id[32];
    for (int i = 4999; i >= 0; i--) {
        snprintf(id, sizeof(id), "3402000000131%07d", (i * 7919) % 5000);
        struct manscdp_catalog_item it = item(id, "n");
        ck_assert_int_eq(catalog_assembly_add_item(a, &it), 0);
    }
    a->sum_num = 5000;
    ck_assert(catalog_assembly_complete(a));
    size_t n;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    ck_assert_uint_eq(n, 5000);
    for (size_t i = 1; i < n; i++) ck_assert_int_lt(strcmp(items[i - 1].device_id, items[i].device_id), 0);
    free(items);
    catalog_assembly_destroy(a);
}
END_TEST

/* The real Hikvision platform answer (avstackdocs case 10): 9 MESSAGEs of one item each, GB2312 names. */
START_TEST(real_hikvision_catalog)
{
    const char *path = test_shared_path("sip-samples/avstackdocs_pcaps_sip_messages.txt");
    if (!path) return;
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    ck_assert_ptr_nonnull(text);
    text = realloc(text, len + 1);
    text[len] = 0;
    struct catalog_assembly *a = catalog_assembly_create(471, 100, 0);
    int bodies = 0;
    char *section = strstr(text, "===== 10_catalog_query");
    char *end = strstr(text, "===== 11_");
    ck_assert_ptr_nonnull(section);
    for (char *p = section; (p = strstr(p, "\r\n\r\n<?xml")) && (!end || p < end); p += 4) {
        char *body = p + 4;
        char *stop = strstr(body, "\n===== ");
        size_t blen = stop ? (size_t)(stop - body) : strlen(body);
        struct manscdp_msg *m;
        ck_assert_int_eq(manscdp_parse((const uint8_t *)body, blen, &m), 0);
        struct manscdp_catalog cat;
        if (manscdp_is(m, MANSCDP_RESPONSE, "Catalog") && !manscdp_decode_catalog(m, &cat)) {
            ck_assert_int_eq(catalog_assembly_add(a, &cat, 0), 0);
            bodies++;
        }
        manscdp_free(m);
    }
    ck_assert_int_eq(bodies, 9);
    ck_assert(catalog_assembly_complete(a));
    size_t n;
    struct manscdp_catalog_item *items = catalog_assembly_take(a, &n);
    ck_assert_uint_eq(n, 9);
    ck_assert_str_eq(items[0].device_id, "330000000000000099");
    ck_assert_str_eq(items[0].name, "浙江省");
    ck_assert_str_eq(items[1].device_id, "330100000000000099");
    ck_assert_str_eq(items[1].name, "杭州市");
    free(items);
    catalog_assembly_destroy(a);
    free(text);
}
END_TEST

static Suite *catalog_suite(void)
{
    Suite *s = suite_create("signaling_catalog");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, assembles_across_messages_with_duplicates);
    tcase_add_test(tc, sumnum_edge_cases);
    tcase_add_test(tc, many_items_sorted);
    tcase_add_test(tc, real_hikvision_catalog);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return test_run_suite(catalog_suite());
}
