"""Real camera material and bad input: the Hikvision RTP capture replayed gives the oracle H.264 NAL by NAL;
5% loss with reordering and duplicates keeps the stream going (loss counted, no smeared frames); a flood of
garbage datagrams and TCP bytes harms neither the stream nor the process; malformed API and HTTP requests get
clear errors; the proprietary non-PS payload is reported as unsupported."""
import json
import shutil
import os
import random
import socket
import struct
import subprocess
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_robust")
gw = gbtest.Gateway({"media.rtp_timeout_s": 3}, name="media_robust")
clip = gbtest.make_clip("h264", "640x360", 25, 6, 25)


def nal_units(data):
    """Splits Annex-B bytes into NAL units (without start codes, trailing zeros stripped), AUDs dropped."""
    out, i, n = [], 0, len(data)
    starts = []
    while True:
        j = data.find(b"\x00\x00\x01", i)
        if j < 0:
            break
        starts.append(j + 3)
        i = j + 3
    for k, s in enumerate(starts):
        e = (starts[k + 1] - 3) if k + 1 < len(starts) else n
        nal = data[s:e].rstrip(b"\x00")
        if nal and (nal[0] & 0x1F) != 9:
            out.append(nal)
    return out


def open_stream(sid, **kw):
    status, obj = gw.api("POST", "/api/v1/streams", dict({"id": sid}, **kw))
    check.eq(f"{sid}: POST /streams -> 201", status, 201)
    return obj or {}


# 1. The real Hikvision capture (RTP, PT 96, SSRC 100003190) replayed at 4x: byte-identical H.264.
capture = gbtest.shared("samples/hik_704x576_h264_rtp.zlmrtp")
reference = gbtest.shared("samples/hik_704x576_h264_reference.264")
if capture and reference:
    s = open_stream("hik", port=0)
    out_path = os.path.join(gw.dir, "hik_out.264")
    res = {}
    th = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(
        gw.url("/live/hik.flv"), "--max-seconds", 40, "--annexb", out_path, timeout=60)))
    th.start()
    time.sleep(0.5)
    sim = gbtest.gbsim("send", "--rtp", capture, "--speed", 4, "--to", f"127.0.0.1:{s['port']}")
    summary = gbtest.sim_result(sim, timeout=60)
    th.join(60)
    info = (res.get("r") or {}).get("video", {})
    check.eq("hik: 3096 packets replayed", summary.get("packets"), 3096)
    check.eq("hik: h264", info.get("codec"), "h264")
    check.eq("hik: 704x576", (info.get("width"), info.get("height")), (704, 576))
    check.eq("hik: 1400 frames out", info.get("frames"), 1400)
    ours = nal_units(open(out_path, "rb").read()) if os.path.exists(out_path) else []
    ref = nal_units(open(reference, "rb").read())
    # flvinfo writes the sequence header's SPS/PPS before the first frame, which carries them in band too
    while len(ours) > 2 and ours[0] == ours[2] and ours[1] == ours[3]:
        ours = ours[2:]
    shared_n = min(len(ours), len(ref))
    first_diff = next((i for i in range(shared_n) if ours[i] != ref[i]), None)
    check.ok("hik: output NAL units equal the oracle over the frames they share",
             shared_n >= 1400 and first_diff is None, f"(shared {shared_n}, first difference at NAL {first_diff})")
    st = gw.api("GET", "/api/v1/streams/hik")[1] or {}
    check.eq("hik: no loss counted", st.get("packets_lost", 0), 0)

# 2. 5% loss + 5% reordering + 2% duplicates: no crash, the stream goes on, loss counted, and after a gap no
#    frame is emitted until a keyframe (stream.drop_until_keyframe, on by default).
s = open_stream("lossy", port=0)
res = {}
th = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url("/live/lossy.flv"), "--max-seconds", 30)))
th.start()
time.sleep(0.5)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}", "--loss", 5,
                   "--reorder", 5, "--dup", 2, "--seed", 7)
summary = gbtest.sim_result(sim)
st = gw.api("GET", "/api/v1/streams/lossy")[1] or {}
th.join(40)
info = (res.get("r") or {}).get("video", {})
check.ok("loss: sender really dropped packets", summary.get("dropped", 0) > 20, summary)
check.ok("loss: counted by the gateway", st.get("packets_lost", 0) > 0, st.get("packets_lost"))
check.ok("loss: reordering seen", st.get("packets_reordered", 0) > 0, st.get("packets_reordered"))
check.ok("loss: frames held back until a keyframe are counted", st.get("frames_dropped", 0) > 0,
         st.get("frames_dropped"))
check.ok("loss: the stream went on (frames out)", info.get("frames", 0) > 10, info)
check.eq("loss: the FLV is well formed", (res.get("r") or {}).get("errors"), 0)
check.ok("loss: gateway alive", gw.alive())

# 3. Garbage: random datagrams to the shared port and a per-stream port while a stream plays, garbage on TCP.
s = open_stream("victim", port=0)
res = {}
th = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url("/live/victim.flv"), "--max-seconds", 30)))
th.start()
time.sleep(0.5)
rng = random.Random(3)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(50):  # garbage that arrives before the camera must not capture the stream
    u.sendto(bytes([0x80, 96]) + bytes(rng.getrandbits(8) for _ in range(300)), ("127.0.0.1", s["port"]))
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    size = rng.choice([0, 1, 11, 12, 13, 200, 1400, 9000])
    junk = bytes(rng.getrandbits(8) for _ in range(size))
    if i % 3 == 0 and size >= 12:  # valid RTP headers with garbage payloads under other SSRCs
        # (a forger using the stream's own SSRC is indistinguishable from the camera under RFC 3550 rules)
        junk = struct.pack("!BBHII", 0x80, 96, rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32)) + junk[12:]
    u.sendto(junk, ("127.0.0.1", s["port"] if i % 2 else gw.rtp_port))
for _ in range(5):
    t = socket.create_connection(("127.0.0.1", gw.rtp_port))
    t.sendall(bytes(rng.getrandbits(8) for _ in range(5000)))
    t.close()

def victim_stats():
    return gw.api("GET", "/api/v1/streams/victim")[1] or {}


# stream counters are published by the worker's tick, so wait for the garbage to show up rather than racing it
try:
    st = gbtest.wait_until(lambda: (lambda v: v if v.get("bad_packets", 0) > 100 else None)(victim_stats()), 5,
                           "bad packets counted")
except TimeoutError:
    st = victim_stats()
summary = gbtest.sim_result(sim)
th.join(40)
info = (res.get("r") or {}).get("video", {})
check.ok("garbage: the stream delivered every frame", info.get("frames", 0) == 150, (info, st, summary))
check.ok("garbage: counted as bad packets", st.get("bad_packets", 0) > 100, st.get("bad_packets"))
check.ok("garbage: gateway alive", gw.alive())
check.eq("garbage: health ok", gw.api("GET", "/api/v1/health")[0], 200)

# 4. The Hikvision proprietary payload under PT 96 (not PS): reported, nothing else harmed.
pcap = gbtest.shared("samples/hik2013_live_media_NOT_PS_private_payload.pcapng")
if pcap:
    r = subprocess.run(["tshark", "-r", pcap, "-Y", "udp.dstport==5494", "-T", "fields", "-e", "udp.payload"],
                       capture_output=True, timeout=60) if shutil.which("tshark") else None
    payloads = [bytes.fromhex(l.strip().replace(":", "")) for l in (r.stdout.decode().splitlines() if r else [])
                if l.strip()]
    if payloads:
        s = open_stream("notps", port=0)
        for p in payloads:
            u.sendto(p, ("127.0.0.1", s["port"]))
            time.sleep(0.0005)
        time.sleep(1.5)
        st = gw.api("GET", "/api/v1/streams/notps")[1] or {}
        check.ok("not-PS payload reported as unsupported", "not MPEG-PS" in (st.get("error") or ""), st.get("error"))
        check.ok("not-PS: no frames invented", st.get("frames", 0) == 0, st.get("frames"))
    else:
        print("SKIP part: tshark not available to extract the capture's payloads")

# 5. Bad API and HTTP input: clear errors.
check.eq("bad JSON -> 400", gw.api("POST", "/api/v1/streams", b"{nope")[0], 400)
check.eq("bad id -> 400", gw.api("POST", "/api/v1/streams", {"id": "../x", "port": 0})[0], 400)
check.eq("shared port without ssrc -> 400", gw.api("POST", "/api/v1/streams", {"id": "nossrc"})[0], 400)
check.eq("bad transport -> 400", gw.api("POST", "/api/v1/streams", {"id": "t", "transport": "sctp", "port": 0})[0], 400)
check.eq("tcp-active without remote -> 400",
         gw.api("POST", "/api/v1/streams", {"id": "t", "transport": "tcp-active"})[0], 400)
open_stream("dup", port=0)
status, obj = gw.api("POST", "/api/v1/streams", {"id": "dup", "port": 0})
check.eq("duplicate id -> 409", status, 409)
check.ok("error body has error and code", isinstance(obj, dict) and obj.get("code") and obj.get("error"), obj)
check.eq("unknown stream -> 404", gw.api("GET", "/api/v1/streams/none")[0], 404)
check.eq("unknown endpoint -> 404", gw.api("GET", "/api/v1/nothing")[0], 404)
check.eq("wrong method -> 405", gw.api("PUT", "/api/v1/streams")[0], 405)
check.eq("DELETE -> 204", gw.api("DELETE", "/api/v1/streams/dup")[0], 204)
check.eq("FLV of unknown stream -> 404", gw.api("GET", "/live/none.flv")[0], 404)


def raw_http(payload):
    c = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
    c.sendall(payload)
    try:
        return c.recv(4096)
    except OSError:
        return b""
    finally:
        c.close()


check.ok("garbage request line -> 400", raw_http(b"\x00\x01garbage\r\n\r\n").startswith(b"HTTP/1.1 400"))
check.ok("9 KiB of headers -> 431",
         raw_http(b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431"))
check.ok("huge body -> 413", raw_http(b"POST /api/v1/streams HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
         .startswith(b"HTTP/1.1 413"))
check.ok("path traversal -> 404", raw_http(b"GET /../etc/passwd HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404"))
check.ok("gateway alive after bad input", gw.alive())
code = gw.stop()
check.eq("gbgate exits 0 (no leak under ASan)", code, 0)
check.summary([gw])
