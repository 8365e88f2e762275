"""RTMP end to end: ffprobe plays rtmp://.../live/{stream} (H.264 + AAC, every frame, right size); our own
player (rtmpview) checks the digest handshake, two players at once, a player joining mid-stream starting at a
keyframe, H.265 as enhanced RTMP (dumped to FLV, read by flvinfo); bad clients (garbage, a stalled handshake,
a huge chunk size, unknown commands, a publisher, a wrong app, an unknown stream) are cut and counted while a
player next to them loses nothing; push relays deliver into a real RTMP server (ffmpeg -listen) with the
right codec and frame count, from a config rule and from the API, reconnect after that server restarts, and
are listed and deleted through the API."""
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo", "rtmpview")
check = gbtest.Check("rtmp")
clip = gbtest.make_clip("h264", "640x360", 25, 6, 25)
clip265 = gbtest.make_clip("h265", "640x360", 25, 6, 25)
SENT = 150  # 6 s x 25 fps


def make_aac(seconds=6):
    path = os.path.join(gbtest.CLIPS, f"sine_44k_{seconds}.aac")
    if not os.path.exists(path):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                        "-t", str(seconds), "-c:a", "aac", "-f", "adts", f"{path}.{os.getpid()}.tmp"],
                       check=True, timeout=60)
        os.replace(f"{path}.{os.getpid()}.tmp", path)
    return path


aac = make_aac()
relay_port = gbtest.free_port()
gw = gbtest.Gateway({"media.rtp_timeout_s": 2, "stream.idle_close_s": 0, "relay.reconnect_max_s": 2,
                     "relay.rule1": f"rule*=rtmp://127.0.0.1:{relay_port}/live/{{id}}"}, name="rtmp")
RTMP = f"rtmp://127.0.0.1:{gw.rtmp_port}/live"


def open_stream(sid, **kw):
    status, obj = gw.api("POST", "/api/v1/streams", dict({"id": sid}, **kw))
    check.eq(f"{sid}: POST /streams -> 201", status, 201)
    return obj or {}


def in_thread(fn, result, key):
    def run():
        try:
            result[key] = fn()
        except Exception as e:  # reported by the caller
            result[key] = e
    t = threading.Thread(target=run)
    t.start()
    return t


def streams_of(probe):
    if isinstance(probe, Exception) or not probe:
        return {"error": str(probe)}
    return {s.get("codec_type"): s for s in probe.get("streams", [])}


def rtmpview(*args, timeout=60):
    cmd = [os.path.join(gbtest.BUILD, "rtmpview"), "--port", str(gw.rtmp_port)] + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    import json
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def refused(reason):
    return gw.metrics().get(f'gbgate_rtmp_refused_total{{reason="{reason}"}}', 0)


# The counters come from rtmp_metrics_write(), which app's /metrics hook must call: one clear failure when it
# does not, instead of a failure per counter.
WIRED = check.ok("RTMP counters are in /metrics (rtmp_metrics_write called by the metrics hook)",
                 "gbgate_rtmp_connections_total" in gw.metrics())


def rtmp_listen(path, seconds=40):
    """ffmpeg as a one-shot RTMP server on relay_port writing what it receives to path (bounded in time)."""
    log = open(path + ".log", "wb")
    return subprocess.Popen(["timeout", str(seconds), "ffmpeg", "-v", "warning", "-y", "-listen", "1", "-i",
                             f"rtmp://127.0.0.1:{relay_port}/live/x", "-c", "copy", "-t", "60", path],
                            stdout=log, stderr=log)


def stop_listener(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # ffmpeg finishes the file
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def count_frames(path):
    try:
        return streams_of(gbtest.ffprobe(path, timeout=60))
    except Exception as e:
        return {"error": str(e)}


# 1. ffprobe plays H.264 + AAC over RTMP: every frame, the right size, no stray data stream.
s1 = open_stream("rt1", port=0)
check.eq("rtmp url in the API", s1.get("urls", {}).get("rtmp"), f"{RTMP}/rt1")
res = {}
threads = [in_thread(lambda: gbtest.ffprobe(f"{RTMP}/rt1", timeout=60), res, k) for k in ("a", "b")]
time.sleep(0.7)
sim = gbtest.gbsim("send", "--video", clip, "--audio", aac, "--fps", 25, "--to", f"127.0.0.1:{s1['port']}")
summary = gbtest.sim_result(sim)
[t.join(70) for t in threads]
for k in ("a", "b"):
    st = streams_of(res.get(k))
    v, a = st.get("video", {}), st.get("audio", {})
    check.eq(f"ffprobe {k}: video codec h264", v.get("codec_name"), "h264")
    check.eq(f"ffprobe {k}: 640x360", (v.get("width"), v.get("height")), (640, 360))
    check.near(f"ffprobe {k}: every video frame", int(v.get("nb_read_frames", 0)), SENT, SENT * 0.02)
    check.eq(f"ffprobe {k}: audio codec aac", a.get("codec_name"), "aac")
    check.eq(f"ffprobe {k}: 44.1 kHz", a.get("sample_rate"), "44100")
    check.near(f"ffprobe {k}: every audio frame", int(a.get("nb_read_frames", 0)), summary.get("audio_frames", 0),
               summary.get("audio_frames", 0) * 0.02)
    check.ok(f"ffprobe {k}: no data stream", "data" not in st, list(st))
m = gw.metrics()
if WIRED:
    check.ok("FFmpeg's digest handshake was validated and answered",
             m.get("gbgate_rtmp_digest_handshakes_total", 0) >= 2, m)
    check.ok("plays counted", m.get("gbgate_rtmp_plays_total", 0) >= 2, m)

# 2. A looping stream: two players join mid-stream (both start at a keyframe and get every later frame)
#    while bad clients hammer the port next to them.
s2 = open_stream("rt2", port=0)
sim = gbtest.gbsim("send", "--video", clip, "--audio", aac, "--fps", 25, "--loop", "--duration", 14, "--to",
                   f"127.0.0.1:{s2['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/rt2")[1] or {}).get("frames", 0) > 40, 10, "frames")
time.sleep(0.3)  # mid-GOP
views = {}
vt = [in_thread(lambda: rtmpview("--stream", "rt2", "--count", 2, "--parse", 2, "--seconds", 8, "--warmup", 2,
                                 "--digest"), views, "two")]
time.sleep(1)
if WIRED:
    check.eq("metrics: two RTMP players connected", gw.metrics().get("gbgate_rtmp_players"), 2)


def connect_and_wait_close(payload, wait=15.0):
    """Sends payload on a fresh connection and returns how long the gateway took to close it (None: did not)."""
    s = socket.create_connection(("127.0.0.1", gw.rtmp_port), timeout=wait)
    t0 = time.monotonic()
    try:
        if payload:
            s.sendall(payload)
        while True:
            b = s.recv(65536)
            if not b:
                return time.monotonic() - t0
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None
    finally:
        s.close()


def chunk(csid, msg_type, body, msid=0):
    """One RTMP message as a type-0 chunk (bodies here stay under the 128-byte default chunk size)."""
    assert len(body) <= 128
    return struct.pack(">B", csid) + (0).to_bytes(3, "big") + len(body).to_bytes(3, "big") + bytes([msg_type]) + \
        struct.pack("<I", msid) + body


def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf_num(x):
    return b"\x00" + struct.pack(">d", x)


def handshake_then(payload):
    """A plain handshake, then payload; returns seconds until the gateway closed the connection (or None)."""
    s = socket.create_connection(("127.0.0.1", gw.rtmp_port), timeout=15)
    try:
        s.sendall(b"\x03" + bytes(1536))
        got = b""
        while len(got) < 3073:
            b = s.recv(65536)
            if not b:
                return 0.0
            got += b
        s.sendall(got[1:1537] + payload)
        t0 = time.monotonic()
        while True:
            b = s.recv(65536)
            if not b:
                return time.monotonic() - t0
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    except socket.timeout:
        return None
    finally:
        s.close()


stall = {}
stall_thread = in_thread(lambda: connect_and_wait_close(b"\x03" + bytes(100), wait=20), stall, "t")
before = {r: refused(r) for r in ("handshake", "chunk_size", "unknown_command", "publish", "app", "not_found",
                                  "timeout")}
check.ok("garbage (an HTTP request) is cut at once", (connect_and_wait_close(b"GET / HTTP/1.1\r\n\r\n") or 99) < 2)
check.ok("a huge Set Chunk Size is cut at once",
         (handshake_then(chunk(2, 1, struct.pack(">I", 0x7fffffff))) or 99) < 2)
connect_body = amf_str("connect") + amf_num(1) + b"\x03" + b"\x00\x03app" + amf_str("live") + b"\x00\x00\x09"
unknown = b"".join(chunk(3, 20, amf_str("bogusCommand") + amf_num(2 + i) + b"\x05") for i in range(4))
check.ok("unknown commands are answered, then cut", (handshake_then(chunk(3, 20, connect_body) + unknown) or 99) < 2)
pub = subprocess.run(["timeout", "20", "ffmpeg", "-v", "error", "-re", "-t", "2", "-i", clip, "-c", "copy", "-f", "flv",
                      f"{RTMP}/pub1"], capture_output=True, timeout=30)
check.ok("a publisher is refused", pub.returncode != 0, pub.returncode)
t0 = time.monotonic()
bad_app = subprocess.run(["timeout", "20", "ffprobe", "-v", "error", f"rtmp://127.0.0.1:{gw.rtmp_port}/vod/rt2"],
                         capture_output=True, timeout=30)
check.ok("another app is refused", bad_app.returncode != 0)
nosuch = subprocess.run(["timeout", "20", "ffprobe", "-v", "error", f"{RTMP}/nosuch"], capture_output=True, timeout=30)
check.ok("an unknown stream is refused at once", nosuch.returncode != 0 and time.monotonic() - t0 < 8,
         nosuch.stderr[-200:])
stall_thread.join(25)
check.ok("a stalled handshake is cut after the 10 s setup timeout", 9 <= (stall.get("t") or 0) <= 12, stall)
for reason in before if WIRED else ():
    check.ok(f"refusal counted: {reason}", refused(reason) > before[reason], (reason, refused(reason)))
[t.join(30) for t in vt]
two = views.get("two") or {}
check.eq("both mid-stream players played", two.get("ok"), 2)
check.ok("both got about 6 s of frames (8 s run, 2 s warmup)", two.get("video_min", 0) >= 25 * 6, two)
check.eq("both started at a keyframe", two.get("first_video_key"), True)
check.eq("no frame skipped next to the bad clients", two.get("gaps"), 0)
check.ok("audio came too", two.get("audio_avg", 0) > 200, two)
sim.wait(30)
check.ok("gateway alive after the bad clients", gw.alive())

# 3. H.265 over RTMP is enhanced RTMP (hvc1): dumped by rtmpview, read back by flvinfo.
s3 = open_stream("rt3", port=0)
dump = os.path.join(gw.dir, "rt3.flv")
res = {}
t = in_thread(lambda: rtmpview("--stream", "rt3", "--count", 1, "--seconds", 9, "--warmup", 1, "--dump", dump), res, "v")
time.sleep(0.7)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip265, "--fps", 25, "--to", f"127.0.0.1:{s3['port']}"))
t.join(30)
info = gbtest.flvinfo(dump)
check.eq("h265: codec", (info.get("video") or {}).get("codec"), "h265")
check.eq("h265: enhanced RTMP", (info.get("video") or {}).get("flavour"), "enhanced")
check.near("h265: frames", (info.get("video") or {}).get("frames", 0), SENT, SENT * 0.02)
check.eq("h265: the dump is a clean FLV stream", info.get("errors"), 0)

# 4. A config rule relays "rule*" streams: the relay starts by itself and the RTMP server gets every frame.
out1 = os.path.join(gw.dir, "relay_rule.flv")
listener = rtmp_listen(out1)
time.sleep(1)
s4 = open_stream("rule4", port=0)
check.ok("rule relay listed", gbtest.wait_until(
    lambda: (gw.api("GET", "/api/v1/streams/rule4/relays")[1] or {}).get("relays", [{}])[0].get("state") == "live",
    10, "rule relay live"))
rel = (gw.api("GET", "/api/v1/streams/rule4/relays")[1] or {}).get("relays", [{}])[0]
check.eq("rule relay source", rel.get("source"), "rule")
check.eq("rule relay url has the stream id", rel.get("url"), f"rtmp://127.0.0.1:{relay_port}/live/rule4")
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--audio", aac, "--fps", 25, "--to",
                               f"127.0.0.1:{s4['port']}"))
try:
    listener.wait(20)  # the relay stops when the stream ends; ffmpeg then finishes the file by itself
except subprocess.TimeoutExpired:
    stop_listener(listener)
st = count_frames(out1)
check.eq("relayed: video codec h264", (st.get("video") or {}).get("codec_name"), "h264")
check.near("relayed: every video frame", int((st.get("video") or {}).get("nb_read_frames", 0)), SENT, SENT * 0.02)
check.eq("relayed: audio codec aac", (st.get("audio") or {}).get("codec_name"), "aac")
check.ok("relay gone with its stream", gbtest.wait_until(
    lambda: gw.api("GET", "/api/v1/streams/rule4/relays")[0] == 404, 10, "relay gone"))

# 5. An API relay reconnects after the RTMP server restarts, and starts the new session at a keyframe.
s5 = open_stream("rt5", port=0)
sim = gbtest.gbsim("send", "--video", clip, "--audio", aac, "--fps", 25, "--loop", "--duration", 25, "--to",
                   f"127.0.0.1:{s5['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/rt5")[1] or {}).get("frames", 0) > 30, 10, "frames")
out_a, out_b = os.path.join(gw.dir, "relay_a.flv"), os.path.join(gw.dir, "relay_b.flv")
listener = rtmp_listen(out_a)
time.sleep(1)
status, created = gw.api("POST", "/api/v1/streams/rt5/relays", {"url": f"rtmp://127.0.0.1:{relay_port}/live/x"})
check.eq("POST relays -> 201", status, 201)
rid = (created or {}).get("id")
check.ok("relay id returned", bool(rid), created)
check.eq("bad relay url -> 400", gw.api("POST", "/api/v1/streams/rt5/relays", {"url": "http://x/"})[0], 400)
check.eq("relay of an unknown stream -> 404",
         gw.api("POST", "/api/v1/streams/nope/relays", {"url": "rtmp://127.0.0.1/live/x"})[0], 404)


def relay_state():
    for r in (gw.api("GET", "/api/v1/streams/rt5/relays")[1] or {}).get("relays", []):
        if r.get("id") == rid:
            return r
    return {}


gbtest.wait_until(lambda: relay_state().get("bytes", 0) > 400_000, 15, "relay bytes")
stop_listener(listener)
listener = rtmp_listen(out_b)
check.ok("relay reconnected to the restarted server", gbtest.wait_until(
    lambda: relay_state().get("reconnects", 0) >= 1 and relay_state().get("state") == "live", 20, "reconnect"))
bytes_then = relay_state().get("bytes", 0)
time.sleep(4)
check.ok("relay keeps sending after reconnecting", relay_state().get("bytes", 0) > bytes_then + 100_000, relay_state())
m = gw.metrics()
if WIRED:
    check.ok("relay counters in /metrics", m.get("gbgate_rtmp_relays", 0) >= 1 and
             m.get("gbgate_rtmp_relay_reconnects_total", 0) >= 1, m)
check.eq("DELETE relay -> 204", gw.api("DELETE", f"/api/v1/streams/rt5/relays/{rid}")[0], 204)
check.eq("DELETE again -> 404", gw.api("DELETE", f"/api/v1/streams/rt5/relays/{rid}")[0], 404)
check.eq("no relay listed after DELETE", (gw.api("GET", "/api/v1/streams/rt5/relays")[1] or {}).get("relays"), [])
try:
    listener.wait(15)
except subprocess.TimeoutExpired:
    stop_listener(listener)
sim.terminate()
sim.wait(10)
a, b = count_frames(out_a), count_frames(out_b)
check.ok("first server got video", int((a.get("video") or {}).get("nb_read_frames", 0)) > 50, a)
check.ok("restarted server got video", int((b.get("video") or {}).get("nb_read_frames", 0)) > 50, b)
first = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "packet=flags", "-of", "csv",
                        "-read_intervals", "%+#1", out_b], capture_output=True, timeout=30).stdout.decode()
check.ok("restarted server's stream starts at a keyframe", first.strip().startswith("packet,K"), first)

code = gw.stop()
check.eq("gbgate exits 0 on SIGTERM (no leak under ASan)", code, 0)
check.summary([gw])
