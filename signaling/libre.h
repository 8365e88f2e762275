/*
 * The libre headers the signaling plane uses, without <re.h>: re.h pulls in re_json.h, whose JSON_* enum
 * names collide with jansson's (which the API handlers include). Include this instead of <re.h>.
 */
#ifndef GB_SIGNALING_LIBRE_H
#define GB_SIGNALING_LIBRE_H

#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_msg.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_hash.h>
#include <re_main.h>
#include <re_mem.h>
#include <re_net.h>
#include <re_uri.h>
#include <re_sip.h>
#include <re_sys.h>
#include <re_tcp.h>
#include <re_tmr.h>
#include <re_udp.h>

#endif
