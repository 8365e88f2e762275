"""Viewer policy (DESIGN.md section 2): a viewer that stops reading goes over its byte budget
(stream.viewer_queue_kb), skips to the next keyframe, and is closed when it keeps falling behind, while a
normal viewer of the same stream gets every frame; a crowd of viewers joining at once (each sent the GOP cache:
far more than a worker writes in one loop round, relay/viewer.c ROUND_WRITE_BUDGET) all get intact streams from a
keyframe and ingest loses nothing; a WebSocket client sending garbage is disconnected and nothing else is
harmed."""
import base64
import os
import socket
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_viewers")
gw = gbtest.Gateway({"media.rtp_timeout_s": 2, "stream.viewer_queue_kb": 256}, name="media_viewers")
clip = gbtest.make_clip("h264", "1280x720", 25, 12, 25, "3M")  # ~375 KB/s: a stalled viewer overflows quickly

status, s = gw.api("POST", "/api/v1/streams", {"id": "v", "port": 0})
check.eq("201", status, 201)
res = {}
good = threading.Thread(target=lambda: res.update(r=gbtest.flvinfo(gw.url("/live/v.flv"), "--max-seconds", 30)))
good.start()
# a viewer that never reads: a small receive buffer so the kernel cannot absorb the stream for it
stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stalled.connect(("127.0.0.1", gw.http_port))
stalled.sendall(b"GET /live/v.flv HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(0.3)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}")
gbtest.wait_until(lambda: "too slow" in gw.log(), 25, "the stalled viewer closed")
gbtest.sim_result(sim, timeout=40)
good.join(40)
log = gw.log()
check.ok("stalled viewer skipped to the next keyframe first", "skipping to the next keyframe" in log)
check.ok("stalled viewer closed for falling behind", "too slow: kept falling behind" in log)
info = (res.get("r") or {}).get("video", {})
check.eq("the reading viewer got every frame", info.get("frames"), 300)
stalled.close()

# A crowd: 60 viewers at once, each sent the cached GOP (~375 KB, 22 MB in all) before the live frames.
CROWD = 60
status, s = gw.api("POST", "/api/v1/streams", {"id": "c", "port": 0})
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/c")[1] or {}).get("frames", 0) > 40, 10, "a GOP cached")
crowd = [None] * CROWD


def watch(i):
    try:
        crowd[i] = gbtest.flvinfo(gw.url("/live/c.flv"), "--max-frames", 60, "--max-seconds", 25)
    except RuntimeError as e:
        crowd[i] = {"failed": str(e)}


threads = [threading.Thread(target=watch, args=(i,)) for i in range(CROWD)]
for t in threads:
    t.start()
for t in threads:
    t.join(40)
intact = [r for r in crowd if r and r.get("errors") == 0 and r.get("first_tag_key") and
          (r.get("video") or {}).get("frames") == 60]
bad = [r for r in crowd if r not in intact]
if bad:
    print("crowd: viewers that failed:", bad[:2])
check.eq("crowd: every viewer got 60 frames from a keyframe, no FLV error", len(intact), CROWD)
time.sleep(0.7)  # stream counters are published by the worker's 500 ms tick
check.eq("crowd: ingest lost nothing", (gw.api("GET", "/api/v1/streams/c")[1] or {}).get("packets_lost"), 0)
gbtest.sim_result(sim, timeout=40)

# WebSocket garbage: an unmasked client frame (protocol error) closes that viewer only.
status, s = gw.api("POST", "/api/v1/streams", {"id": "w", "port": 0})
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--duration", 5, "--to", f"127.0.0.1:{s['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/w")[1] or {}).get("frames", 0) > 10, 10, "frames")
c = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
key = base64.b64encode(os.urandom(16)).decode()
c.sendall((f"GET /live/w.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
head = c.recv(200)
check.ok("ws: upgraded", b"101" in head, head[:40])
c.sendall(b"\x81\x05hello" + os.urandom(64))  # unmasked frame from a client: RFC 6455 says fail the connection
closed = False
deadline = time.time() + 10
while time.time() < deadline:
    try:
        if not c.recv(65536):
            closed = True
            break
    except OSError:
        closed = True
        break
check.ok("ws: a client protocol error closes that connection", closed)
check.eq("ws: the stream is unharmed", gw.api("GET", "/api/v1/streams/w")[0], 200)
bad_key = socket.create_connection(("127.0.0.1", gw.http_port), timeout=5)
bad_key.sendall(b"GET /live/w.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: short\r\n\r\n")
check.ok("ws: a malformed key gets 400", bad_key.recv(100).startswith(b"HTTP/1.1 400"))
sim.wait(20)
check.eq("gbgate exits 0", gw.stop(), 0)
check.summary([gw])
