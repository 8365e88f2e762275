/*
 * libFuzzer target for the MANSCDP codec. Any bytes go to manscdp_parse(); a body that parses is walked
 * through every typed decoder and every repeated item, then re-encoded: the decoded strings are rebuilt into
 * a Catalog response (both charsets) which must parse again with the same item count and first name. That
 * checks the decoder never hands out invalid UTF-8 or unbounded strings and the writer always produces
 * well-formed XML from whatever a device sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/manscdp.h"

static void walk(const struct manscdp_msg *msg)
{
    struct manscdp_keepalive ka;
    struct manscdp_device_info di;
    struct manscdp_device_status ds;
    struct manscdp_record_info ri;
    struct manscdp_alarm al;
    struct manscdp_mobile_position mp;
    struct manscdp_media_status ms;
    manscdp_decode_keepalive(msg, &ka);
    manscdp_decode_device_info(msg, &di);
    manscdp_decode_alarm(msg, &al);
    manscdp_decode_mobile_position(msg, &mp);
    manscdp_decode_media_status(msg, &ms);
    if (manscdp_decode_device_status(msg, &ds) == 0)
        for (const struct manscdp_node *n = ds.first_alarm; n; n = manscdp_next(n)) {
            struct manscdp_alarm_status_item it;
            manscdp_decode_alarm_status_item(n, &it);
        }
    if (manscdp_decode_record_info(msg, &ri) == 0)
        for (const struct manscdp_node *n = ri.first_item; n; n = manscdp_next(n)) {
            struct manscdp_record_item it;
            manscdp_decode_record_item(n, &it);
        }
    (void)manscdp_get(msg, "Info/PTZType");
    (void)manscdp_count(msg, "DeviceList/Item");
}

static void rebuild_catalog(const struct manscdp_msg *msg)
{
    struct manscdp_catalog cat;
    if (manscdp_decode_catalog(msg, &cat) != 0) return;
    static struct manscdp_catalog_item items[64];
    size_t n = 0;
    for (const struct manscdp_node *it = cat.first_item; it && n < 64; it = manscdp_next(it))
        manscdp_decode_catalog_item(it, &items[n++]);
    static char buf[MANSCDP_MAX_BODY * 2];
    for (int cs = MANSCDP_GB2312; cs <= MANSCDP_UTF8; cs++) {
        size_t len;
        if (manscdp_build_catalog_response(buf, sizeof(buf), &len, (enum manscdp_charset)cs, 1,
                                           manscdp_device_id(msg), 0, items, n) != 0)
            abort(); /* a buffer twice the input limit always suffices */
        struct manscdp_msg *again = NULL;
        if (len > MANSCDP_MAX_BODY) continue; /* escaping may grow a body past the input limit */
        int err = manscdp_parse((const uint8_t *)buf, len, &again);
        if (err == 0) {
            struct manscdp_catalog c2;
            if (manscdp_decode_catalog(again, &c2) != 0 || c2.item_count != n) abort();
            if (n > 0) {
                struct manscdp_catalog_item first;
                manscdp_decode_catalog_item(c2.first_item, &first);
                if (strcmp(first.name, items[0].name) != 0 ||
                    strcmp(first.device_id, items[0].device_id) != 0)
                    abort();
            }
        } else if (err != EBADMSG || n <= MANSCDP_MAX_NODES / 32) {
            /* only a node-count overflow could make a rebuilt body unparsable, and 64 items cannot */
            fprintf(stderr, "rebuilt body does not parse (%d)\n", err);
            abort();
        }
        manscdp_free(again);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct manscdp_msg *msg = NULL;
    if (manscdp_parse(data, size, &msg) != 0) return 0;
    walk(msg);
    rebuild_catalog(msg);
    manscdp_free(msg);
    return 0;
}
