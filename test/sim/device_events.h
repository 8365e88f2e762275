/*
 * gbsim device mode, recordings and events (device_records.c, device_events.c): RecordInfo answers over
 * several pages, SUBSCRIBE dialogs with their NOTIFYs, Alarm and MobilePosition notifies. Options are parsed
 * here (sim_events_option) so that device_main.c only forwards them; counters are process-wide atomics
 * printed in the JSON summary.
 */
#ifndef GB_TEST_SIM_DEVICE_EVENTS_H
#define GB_TEST_SIM_DEVICE_EVENTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "test/sim/device_sim.h"

/* Long options, in device_main.c's table: codes from SIM_EVENTS_OPT_FIRST. */
enum {
    SIM_EVENTS_OPT_FIRST = 1000,
    SIM_OPT_RECORDS_PER = SIM_EVENTS_OPT_FIRST,
    SIM_OPT_RECORDS_NONE,
    SIM_OPT_RECORDS_IGNORE,
    SIM_OPT_ALARM_EVERY,
    SIM_OPT_POSITION_EVERY,
    SIM_OPT_SUBSCRIBE_REFUSE,
    SIM_OPT_NOTIFY_CATALOG_ADD,
    SIM_EVENTS_OPT_LAST
};
/* clang-format off */
#define SIM_EVENTS_LONGOPTS                                                                                  \
    {"records-per-message", 1, 0, SIM_OPT_RECORDS_PER},                                                      \
    {"records-none", 0, 0, SIM_OPT_RECORDS_NONE},                                                            \
    {"records-ignore", 0, 0, SIM_OPT_RECORDS_IGNORE},                                                        \
    {"alarm-every", 1, 0, SIM_OPT_ALARM_EVERY},                                                              \
    {"position-every", 1, 0, SIM_OPT_POSITION_EVERY},                                                        \
    {"subscribe-refuse", 1, 0, SIM_OPT_SUBSCRIBE_REFUSE},                                                    \
    {"notify-catalog-add", 0, 0, SIM_OPT_NOTIFY_CATALOG_ADD}
/* clang-format on */
#define SIM_EVENTS_USAGE                                                                                     \
    "recordings and events: [--records-per-message K] [--records-none] [--records-ignore]\n"                 \
    "       [--alarm-every S] [--position-every S] [--subscribe-refuse CODE] [--notify-catalog-add]\n"

/* One of the options above; false when its value is bad. */
bool sim_events_option(int code, const char *arg);

/* A RecordInfo query (device_records.c): answered with made-up recordings (see docs/GBSIM.md). */
void sim_records_answer(struct sim_device *dev, const struct manscdp_msg *q);

/* Per device state (device_events.c). */
struct sim_events;
struct sim_events *sim_events_create(struct sim_device *dev);
void sim_events_destroy(struct sim_events *ev);
/* SUBSCRIBE (answered, dialog kept); true when msg was one. */
bool sim_events_handle_request(struct sim_events *ev, const struct sip_msg *msg);
/* A MANSCDP MESSAGE from the platform that is not a Query (the Alarm acknowledgement). */
void sim_events_message(struct sim_events *ev, const struct manscdp_msg *m);
/* Alarms, positions and subscription NOTIFYs that are due (the ticker). */
void sim_events_tick(struct sim_events *ev, uint64_t now);
/* ",\"records\":{...},\"events\":{...}" for the JSON summary. */
const char *sim_events_summary_json(void);

#endif
