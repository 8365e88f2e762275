/* GET /metrics: Prometheus text built from the directory's published stream stats and per-worker counters
 * (read without locks: they are monotonic counters written by their owner; a torn read is impossible for
 * aligned 64-bit words on the platforms we build for). Built on the control thread (relay/http_routes.c):
 * at 1000 streams it is ~9,000 lines (480 KB) and a walk of the C heap, which a worker must not stall for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/sbuf.h"
#include "media/directory.h"
#include "relay/http_priv.h"
#include "relay/live.h"

static void (*metrics_hook)(struct sbuf *out);

void http_set_metrics_hook(void (*fn)(struct sbuf *out))
{
    metrics_hook = fn;
}

#define STREAM_METRIC(name, help, field)                                                                     \
    do {                                                                                                     \
        sbuf_printf(&b, "# HELP gbgate_stream_" name " " help "\n# TYPE gbgate_stream_" name " %s\n",        \
                    strstr(name, "_total") ? "counter" : "gauge");                                           \
        for (size_t i = 0; i < n; i++)                                                                       \
            sbuf_printf(&b, "gbgate_stream_" name "{stream=\"%s\"} %llu\n", list[i].id,                      \
                        (unsigned long long)list[i].stats.field);                                            \
    } while (0)

#define WORKER_METRIC(name, help, field)                                                                     \
    do {                                                                                                     \
        sbuf_printf(&b, "# HELP gbgate_worker_" name " " help "\n# TYPE gbgate_worker_" name " %s\n",        \
                    strstr(name, "_total") ? "counter" : "gauge");                                           \
        for (int i = 0; i < workers_count(); i++)                                                            \
            sbuf_printf(&b, "gbgate_worker_" name "{worker=\"%d\"} %llu\n", i,                               \
                        (unsigned long long)worker_counters(worker_get(i))->field);                          \
    } while (0)

char *http_metrics_text(size_t *len)
{
    struct sbuf b = {0};
    struct stream_entry *list = NULL;
    size_t n = directory_list(&list);
    sbuf_printf(&b, "# HELP gbgate_streams Streams open\n# TYPE gbgate_streams gauge\ngbgate_streams %zu\n",
                n);
    uint64_t viewers = 0;
    for (size_t i = 0; i < n; i++) viewers += list[i].stats.viewers;
    sbuf_printf(&b,
                "# HELP gbgate_viewers Viewers connected\n# TYPE gbgate_viewers gauge\ngbgate_viewers %llu\n",
                (unsigned long long)viewers);
    STREAM_METRIC("packets_total", "RTP packets received", packets);
    STREAM_METRIC("bytes_total", "RTP bytes received", bytes);
    STREAM_METRIC("packets_lost_total", "RTP packets lost", packets_lost);
    STREAM_METRIC("frames_total", "video frames received", frames_video);
    STREAM_METRIC("frames_dropped_total", "frames dropped (loss, oversize)", frames_dropped);
    STREAM_METRIC("bad_packets_total", "packets rejected", bad_packets);
    STREAM_METRIC("bitrate_kbps", "input bitrate", bitrate_kbps);
    STREAM_METRIC("viewers", "viewers of the stream", viewers);
    STREAM_METRIC("viewer_bytes_total", "bytes sent to viewers", viewer_bytes);
    free(list);
    WORKER_METRIC("udp_packets_total", "UDP datagrams read", udp_packets);
    WORKER_METRIC("udp_gro_reads_total", "reads in which the kernel coalesced several datagrams (UDP_GRO)",
                  udp_gro_reads);
    WORKER_METRIC("udp_gro_packets_total", "UDP datagrams that arrived in a coalesced read", udp_gro_packets);
    WORKER_METRIC("unknown_ssrc_total", "shared-port packets for no stream", unknown_ssrc);
    WORKER_METRIC("forwarded_total", "shared-port packets forwarded between workers", forwarded);
    WORKER_METRIC("not_rtp_total", "datagrams on the shared port that are not RTP", not_rtp);
    WORKER_METRIC("rounds_total", "event loop rounds", rounds);
    WORKER_METRIC("paced_rounds_total", "rounds that first waited out media.rx_coalesce_us", paced_rounds);
    WORKER_METRIC("rt_priority", "SCHED_FIFO priority the worker runs at (media.rt_priority; 0 = normal)",
                  rt_priority);
    live_memory_metrics(&b);
    if (metrics_hook) metrics_hook(&b);
    return sbuf_take(&b, len);
}
