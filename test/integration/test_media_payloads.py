"""Other RTP payloads (issue 3 item 5), sent by FFmpeg's own RTP muxer (an independent implementation): raw H.264
(RFC 6184), raw H.265 (RFC 7798) and MPEG-TS over RTP are recognised by payload type and sniffing and play as
FLV with every frame."""
import subprocess
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_payloads")
# media.rx_coalesce_us = 0: these streams take the wake-per-packet path (media_flv covers the paced default).
# SIP off: a media-only gateway, which must still run its control-thread housekeeping (the heap trim below).
# media.udp_gro = off: every datagram is its own read, even from a UDP_SEGMENT sender (the end of this file).
gw = gbtest.Gateway({"media.rtp_timeout_s": 2, "media.rx_coalesce_us": 0, "sip.enabled": "off",
                     "media.udp_gro": "off"},
                    name="media_payloads")
h264 = gbtest.make_clip("h264", "640x360", 25, 4, 25)
h265 = gbtest.make_clip("h265", "640x360", 25, 4, 25)


def run_case(sid, ffmpeg_args, want_codec, want_payload):
    status, s = gw.api("POST", "/api/v1/streams", {"id": sid, "port": 0})
    check.eq(f"{sid}: 201", status, 201)
    res = {}
    th = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url(f"/live/{sid}.flv"), "--max-seconds", 20)))
    th.start()
    time.sleep(0.4)
    stats = {}

    def poll():
        for _ in range(100):
            code, obj = gw.api("GET", f"/api/v1/streams/{sid}")
            if code != 200:
                return
            stats.update(obj)
            time.sleep(0.2)
    poller = threading.Thread(target=poll)
    poller.start()
    subprocess.run(["ffmpeg", "-v", "error", "-re"] + ffmpeg_args + [f"rtp://127.0.0.1:{s['port']}?pkt_size=1400"],
                   timeout=30)
    th.join(40)
    poller.join(30)
    info = (res.get("r") or {}).get("video", {})
    check.eq(f"{sid}: payload recognised", stats.get("payload"), want_payload)
    check.eq(f"{sid}: codec", info.get("codec"), want_codec)
    check.eq(f"{sid}: size", (info.get("width"), info.get("height")), (640, 360))
    check.near(f"{sid}: frames", info.get("frames", 0), 100, 2)


run_case("raw264", ["-i", h264, "-c", "copy", "-f", "rtp"], "h264", "h264")
run_case("raw265", ["-i", h265, "-c", "copy", "-f", "rtp"], "h265", "h265")
run_case("ts", ["-i", h264, "-c", "copy", "-f", "rtp_mpegts"], "h264", "ts")
# gbsim --gso with media.udp_gro off: the kernel cuts each run into datagrams before the socket, no read is
# coalesced, and every packet and frame arrives (media_flv covers the coalesced default).
status, s = gw.api("POST", "/api/v1/streams", {"id": "gso", "port": 0})
check.eq("gso: 201", status, 201)
res = {}
th = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url("/live/gso.flv"), "--max-frames", 100,
                                                                 "--max-seconds", 20)))
th.start()
time.sleep(0.4)
sent = gbtest.sim_result(gbtest.gbsim("send", "--video", h264, "--fps", 25, "--to", f"127.0.0.1:{s['port']}",
                                      "--gso"))
th.join(30)
check.eq("gso, udp_gro off: every frame", ((res.get("r") or {}).get("video") or {}).get("frames"), 100)
check.eq("udp_gro off: no coalesced read", gw.metric_sum("gbgate_worker_udp_gro_reads_total"), 0)
check.ok("udp_gro off: the sender's datagrams all read one by one",
         gw.metric_sum("gbgate_worker_udp_packets_total") >= sent.get("packets", 1 << 60), sent)
rounds, paced = gw.metric_sum("gbgate_worker_rounds_total"), gw.metric_sum("gbgate_worker_paced_rounds_total")
check.ok("rx_coalesce_us = 0: loop rounds counted, none paced", rounds > 0 and paced == 0, (rounds, paced))
# The heap is trimmed every 10 s on the control thread, with or without SIP (once it was wired to a SIP-only
# timer and never ran in a media-only gateway); log.level=debug shows each pass.
check.ok("heap trimmed every 10 s with SIP off", gbtest.wait_until(lambda: "heap trim:" in gw.log(), 12,
                                                                   "heap trim"), gw.log()[-500:])
check.eq("gbgate exits 0", gw.stop(), 0)
check.summary([gw])
