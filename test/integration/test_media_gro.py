"""Coalesced reads (media.udp_gro) on the shared port when one sender interleaves two channels on one socket.

The kernel hands a UDP GSO run to one worker's socket, steered by the SSRC of the run's first packet (the
reuseport BPF program), so the other channel's packets in that run land on the worker that does not own their
stream and must be forwarded to it. Both streams must still get every packet, none counted lost, and the hop must
show in /metrics. Runs alternate which channel comes first, so each worker forwards to the other."""
import socket
import struct
import time

import gbtest

gbtest.require_tools("gbgate")
check = gbtest.Check("media_gro")
gw = gbtest.Gateway({"media.rtp_timeout_s": 5, "stream.idle_close_s": 0}, name="media_gro", workers=2)

SSRC_A, SSRC_B = 600000000, 600000001  # even and odd: the BPF program steers by SSRC % workers
RUNS, PER_CHANNEL, SIZE = 60, 4, 1000  # each run: 4 packets of A and 4 of B, interleaved, 1000 bytes each

for sid, ssrc in (("groA", SSRC_A), ("groB", SSRC_B)):
    status, _ = gw.api("POST", "/api/v1/streams", {"id": sid, "ssrc": ssrc})
    check.eq(f"{sid}: POST /streams -> 201", status, 201)


def rtp(ssrc, seq, ts):
    header = struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, ts, ssrc)
    return header + bytes(SIZE - len(header))  # the payload does not matter here: counted as RTP, not decoded


gro0 = gw.metric_sum("gbgate_worker_udp_gro_reads_total")
fwd0 = gw.metric_sum("gbgate_worker_forwarded_total")
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_UDP, 103, SIZE)  # UDP_SEGMENT: one send, RUNS datagrams of SIZE bytes
seq = {SSRC_A: 1000, SSRC_B: 5000}
for run in range(RUNS):
    first, second = (SSRC_A, SSRC_B) if run % 2 == 0 else (SSRC_B, SSRC_A)
    packets = []
    for _ in range(PER_CHANNEL):
        for ssrc in (first, second):
            packets.append(rtp(ssrc, seq[ssrc], 90000 + run * 3600))
            seq[ssrc] += 1
    sock.sendto(b"".join(packets), ("127.0.0.1", gw.rtp_port))
    time.sleep(0.005)
sock.close()

want = RUNS * PER_CHANNEL
counts = {}


def both_complete():
    for sid in ("groA", "groB"):
        st = gw.api("GET", f"/api/v1/streams/{sid}")[1] or {}
        counts[sid] = (st.get("packets"), st.get("packets_lost"))
    return all(c == (want, 0) for c in counts.values())


gbtest.wait_until(both_complete, 5, "stream counters")  # published by the worker's 500 ms tick
check.eq("channel A: every packet, none lost", counts.get("groA"), (want, 0))
check.eq("channel B: every packet, none lost", counts.get("groB"), (want, 0))
gro_reads = gw.metric_sum("gbgate_worker_udp_gro_reads_total") - gro0
check.eq("each run arrived as one coalesced read", gro_reads, RUNS)
forwarded = gw.metric_sum("gbgate_worker_forwarded_total") - fwd0
check.eq("the second channel of every run was forwarded to its owner", forwarded, RUNS * PER_CHANNEL)
check.eq("gbgate exits 0", gw.stop(), 0)
check.summary([gw])
