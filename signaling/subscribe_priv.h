/*
 * Private to signaling/subscribe*.c: the subscription state of one device (subscribe.c keeps it, the NOTIFY
 * handler of subscribe_notify.c reads and updates it).
 */
#ifndef GB_SIGNALING_SUBSCRIBE_PRIV_H
#define GB_SIGNALING_SUBSCRIBE_PRIV_H

#include <stdint.h>

#include "signaling/sig_core.h"

enum sub_kind { SUB_CATALOG = 0, SUB_ALARM, SUB_POSITION, SUB_KINDS };
enum sub_state { SUB_NONE = 0, SUB_PENDING, SUB_ACTIVE, SUB_REFUSED, SUB_FAILED, SUB_TERMINATED };

struct sub {
    enum sub_state state;
    char call_id[40], from_tag[20],
        to_tag[64]; /* the dialog; to_tag from the 2xx (a longer one is not kept) */
    uint32_t cseq, sn;
    uint16_t last_status; /* final SIP status of the last SUBSCRIBE (0: none, or a timeout) */
    uint64_t expires_at;  /* wall ms, while active */
    uint64_t due_mono;    /* refresh (active) or retry (refused/failed/terminated) time */
};

struct sub_device {
    struct le he;
    char id[DEVICE_ID_MAX];
    struct sub subs[SUB_KINDS];
};

extern const char *const subscribe_kind_names[SUB_KINDS];
struct sub_device *subscribe_find(const char *device_id);

#endif
