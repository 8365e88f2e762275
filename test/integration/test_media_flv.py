"""Media plane end to end: gbsim sends GB28181 PS over RTP, gbgate serves HTTP-FLV, ffprobe and our own FLV
reader check what comes out (codec, size, frame rate, frame counts), over UDP per-stream ports, the shared port
and TCP passive, for H.264 and H.265."""
import hashlib
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_flv")
clip = gbtest.make_clip("h264", "640x360", 25, 6, 25)
clip265 = gbtest.make_clip("h265", "640x360", 25, 6, 25)
SENT = 150  # 6 s x 25 fps

gw = gbtest.Gateway({"media.rtp_timeout_s": 2, "stream.idle_close_s": 0}, name="media_flv")


def open_stream(sid, **kw):
    status, obj = gw.api("POST", "/api/v1/streams", dict({"id": sid}, **kw))
    check.eq(f"{sid}: POST /streams -> 201", status, 201)
    return obj or {}


def probe_async(url, result, key):
    def run():
        try:
            result[key] = gbtest.ffprobe(url, timeout=60)
        except Exception as e:  # reported by the caller
            result[key] = e
    t = threading.Thread(target=run)
    t.start()
    return t


def video_stream(probe):
    if isinstance(probe, Exception):
        return {"error": str(probe)}
    return next((s for s in probe.get("streams", []) if s.get("codec_type") == "video"), {})


# 1. H.264 over UDP on a per-stream port: a viewer that is there before the first packet gets every frame.
s1 = open_stream("cam1", port=0)
check.ok("per-stream port allocated in the range", gw.range_min <= s1.get("port", 0) <= gw.range_max, s1)
check.eq("flv url", s1.get("urls", {}).get("flv"), gw.url("/live/cam1.flv"))
res = {}
t = probe_async(gw.url("/live/cam1.flv"), res, "p")
time.sleep(0.5)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s1['port']}", "--ssrc", 200000001)
summary = gbtest.sim_result(sim)
check.eq("gbsim sent every frame", summary.get("video_frames"), SENT)
t.join(70)
v = video_stream(res.get("p"))
check.eq("ffprobe: codec h264", v.get("codec_name"), "h264")
check.eq("ffprobe: width", v.get("width"), 640)
check.eq("ffprobe: height", v.get("height"), 360)
check.eq("ffprobe: frame rate", v.get("r_frame_rate"), "25/1")
check.near("ffprobe: frames within 2% of sent", int(v.get("nb_read_frames", 0)), SENT, SENT * 0.02)
check.ok("stream closed after rtp timeout", gbtest.wait_until(
    lambda: gw.api("GET", "/api/v1/streams/cam1")[0] == 404, 10, "stream gone"))

# 2. Two viewers of one stream receive identical bytes (from the same keyframe on), and the API counts them.
s2 = open_stream("cam2", port=0)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--loop", "--duration", 8, "--to",
                   f"127.0.0.1:{s2['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/cam2")[1] or {}).get("frames", 0) > 30, 10, "frames")
bodies = {}


def grab(key):
    bodies[key] = gbtest.http_get_bytes(gw.url("/live/cam2.flv"), 600_000, timeout=15)


threads = [threading.Thread(target=grab, args=(k,)) for k in ("a", "b")]
[th.start() for th in threads]
time.sleep(1)
st = gw.api("GET", "/api/v1/streams/cam2")[1] or {}
check.eq("API counts two viewers", st.get("viewers"), 2)
[th.join(30) for th in threads]
a, b = bodies.get("a", b""), bodies.get("b", b"")
check.ok("viewer A got 600 KB", len(a) == 600_000, len(a))
check.ok("two viewers received identical bytes", a == b and len(a) > 0,
         f"{hashlib.md5(a).hexdigest()} vs {hashlib.md5(b).hexdigest()}")
check.ok("stream starts with an FLV header", a[:3] == b"FLV")
sim.wait(20)
check.eq("stats: h264 640x360 in the API", (st.get("video") or {}).get("width"), 640)

# 3. Shared port by SSRC, and an unknown SSRC is counted, not served.
s3 = open_stream("cam3", ssrc=200000055)
check.eq("shared port used", s3.get("port"), gw.rtp_port)
res = {}
t = probe_async(gw.url("/live/cam3.flv"), res, "p")
time.sleep(0.5)
other = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{gw.rtp_port}", "--ssrc", 999,
                     "--duration", 2)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{gw.rtp_port}", "--ssrc", 200000055)
gbtest.sim_result(sim)
gbtest.sim_result(other)
t.join(70)
v = video_stream(res.get("p"))
check.near("shared port: frames within 2%", int(v.get("nb_read_frames", 0)), SENT, SENT * 0.02)
unknown = gw.metric_sum("gbgate_worker_unknown_ssrc_total")
check.ok("unknown SSRC counted in /metrics", unknown > 0, unknown)
# media.rx_coalesce_us (default 500): packets that arrive within the period are read in one loop round, so the
# workers took fewer rounds than datagrams and some rounds waited out the period (media_payloads runs with 0)
rounds, paced = gw.metric_sum("gbgate_worker_rounds_total"), gw.metric_sum("gbgate_worker_paced_rounds_total")
datagrams = gw.metric_sum("gbgate_worker_udp_packets_total")
check.ok("rx coalescing: rounds waited out the period", paced > 0 and rounds > paced, (rounds, paced))
check.ok("rx coalescing: fewer rounds than datagrams", rounds < datagrams, (rounds, datagrams))

# 3b. gbsim --gso (the benchmark's UDP_SEGMENT sender): one send per run of equal-size packets. With
#     media.udp_gro on (the default) the kernel hands the gateway each run as one read (UDP_GRO) and the worker
#     splits it back into datagrams: every RTP packet, every frame, on the shared port and on a per-stream port.
#     media_payloads checks the same sender with udp_gro off (one datagram per read).
gro0 = (gw.metric_sum("gbgate_worker_udp_gro_reads_total"), gw.metric_sum("gbgate_worker_udp_gro_packets_total"))
for sid, kw, ssrc in (("cam3g", {"ssrc": 200000066}, 200000066), ("cam3gp", {"port": 0}, 200000067)):
    sg = open_stream(sid, **kw)
    res = {}
    t = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url(f"/live/{sid}.flv"), "--max-frames",
                                                                     SENT, "--max-seconds", 30)))
    t.start()
    time.sleep(0.5)
    sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{sg.get('port', gw.rtp_port)}",
                       "--ssrc", ssrc, "--gso")
    sent = gbtest.sim_result(sim)
    t.join(40)
    check.eq(f"gso {sid}: every frame", ((res.get("r") or {}).get("video") or {}).get("frames"), SENT)
    time.sleep(0.7)  # stream counters are published by the worker's 500 ms tick
    st = gw.api("GET", f"/api/v1/streams/{sid}")[1] or {}
    check.eq(f"gso {sid}: every RTP packet, none lost", (st.get("packets"), st.get("packets_lost")),
             (sent.get("packets"), 0))
gro_reads = gw.metric_sum("gbgate_worker_udp_gro_reads_total") - gro0[0]
gro_packets = gw.metric_sum("gbgate_worker_udp_gro_packets_total") - gro0[1]
check.ok("udp_gro: the kernel coalesced runs, several datagrams per read", gro_reads > 0 and
         gro_packets >= 2 * gro_reads, (gro_reads, gro_packets))
check.ok("udp_gro: coalesced datagrams are counted as datagrams",
         gro_packets <= gw.metric_sum("gbgate_worker_udp_packets_total"), gro_packets)

# 4. TCP passive (RFC 4571) on a per-stream port works like UDP.
s4 = open_stream("cam4", port=0, transport="tcp-passive")
res = {}
t = probe_async(gw.url("/live/cam4.flv"), res, "p")
time.sleep(0.5)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--transport", "tcp", "--to", f"127.0.0.1:{s4['port']}")
gbtest.sim_result(sim)
t.join(70)
v = video_stream(res.get("p"))
check.eq("tcp: codec", v.get("codec_name"), "h264")
check.near("tcp: frames within 2%", int(v.get("nb_read_frames", 0)), SENT, SENT * 0.02)

# 5. TCP passive on the shared port: each connection is routed by the SSRC of its first packet, and handed over
#    with every byte read so far when the kernel gave it to a worker that does not own the stream. Four streams
#    at once, so both paths run (all four landing on their owners has odds of 1 in 16).
views = {}
threads = []
for i in range(4):
    sid = f"tcpshared{i}"
    open_stream(sid, ssrc=200000077 + i, transport="tcp-passive")
    t = threading.Thread(target=lambda k=sid: views.update({k: gbtest.flvinfo(gw.url(f"/live/{k}.flv"), "--max-seconds", 25)}))
    t.start()
    threads.append(t)
time.sleep(0.5)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--transport", "tcp", "--to", f"127.0.0.1:{gw.rtp_port}",
                   "--ssrc", 200000077, "--streams", 4)
gbtest.sim_result(sim)
[t.join(40) for t in threads]
for i in range(4):
    got = ((views.get(f"tcpshared{i}") or {}).get("video") or {}).get("frames", 0)
    check.eq(f"tcp shared port stream {i}: every frame", got, SENT)

# 6. H.265: ffprobe 5.1 cannot read HEVC in FLV, so our own reader checks it (enhanced RTMP hvc1).
s6 = open_stream("cam6", port=0)
out = {}
th = threading.Thread(target=lambda: out.update(r=gbtest.flvinfo(gw.url("/live/cam6.flv"), "--max-seconds", 20)))
th.start()
time.sleep(0.5)
sim = gbtest.gbsim("send", "--video", clip265, "--fps", 25, "--to", f"127.0.0.1:{s6['port']}")
gbtest.sim_result(sim)
th.join(40)
info = (out.get("r") or {}).get("video", {})
check.eq("h265: codec", info.get("codec"), "h265")
check.eq("h265: flavour", info.get("flavour"), "enhanced")
check.eq("h265: width", info.get("width"), 640)
check.eq("h265: height", info.get("height"), 360)
check.near("h265: frames within 2%", info.get("frames", 0), SENT, SENT * 0.02)
check.ok("h265: first tag after headers is a keyframe", (out.get("r") or {}).get("first_tag_key", False))

code = gw.stop()
check.eq("gbgate exits 0 on SIGTERM (no leak under ASan)", code, 0)
check.summary([gw])
