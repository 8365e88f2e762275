"""Media breadth (issue 3): RTCP receiver reports and sender reports, TCP active, WS-FLV identical to HTTP-FLV,
every sender shape seen in the field, SSRC policies on per-stream and shared ports, and drop-until-keyframe after
loss (no frame after a gap until a keyframe)."""
import base64
import os
import socket
import struct
import subprocess
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_breadth")
gw = gbtest.Gateway({"media.rtp_timeout_s": 2}, name="media_breadth")
clip = gbtest.make_clip("h264", "640x360", 25, 4, 25)  # 100 frames, 4 keyframes
SENT = 100


def open_stream(sid, **kw):
    status, obj = gw.api("POST", "/api/v1/streams", dict({"id": sid}, **kw))
    check.eq(f"{sid}: POST /streams -> 201", status, 201)
    return obj or {}


def watch_stats(sid):
    """Polls a stream's stats until it is gone; returns a function giving the last ones seen."""
    last = {}

    def run():
        for _ in range(600):
            status, obj = gw.api("GET", f"/api/v1/streams/{sid}")
            if status != 200:
                return
            last.clear()
            last.update(obj)
            time.sleep(0.2)
    t = threading.Thread(target=run, daemon=True)
    t.start()

    def get():
        t.join(130)
        return last
    return get


def view(sid, seconds=25, tags=False):
    """Starts flvinfo on the stream in a thread; returns a function that joins and gives the result."""
    res = {}
    args = ["--max-seconds", seconds] + (["--tags"] if tags else [])

    def run():
        cmd = [os.path.join(gbtest.BUILD, "flvinfo")] + [str(a) for a in args] + [gw.url(f"/live/{sid}.flv")]
        r = subprocess.run(cmd, capture_output=True, timeout=seconds + 20)
        lines = r.stdout.decode().strip().splitlines()
        res["tags"] = [l for l in lines if not l.startswith("{")]
        try:
            import json
            res["info"] = json.loads(lines[-1])
        except Exception:
            res["info"] = {}
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.4)

    def done():
        t.join(seconds + 30)
        return res
    return done


# 1. RTCP: a sender on ports P/P+1 gets receiver reports on P+1; its sender report is counted.
s = open_stream("rtcp", port=0)
rtp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
base = gbtest.free_port_block(2)
while gw.range_min - 2 <= base <= gw.range_max:  # the sender's ports must not be the gateway's
    base = gbtest.free_port_block(2)
rtp_sock.bind(("127.0.0.1", base))
rtcp_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rtcp_sock.bind(("127.0.0.1", base + 1))
rtcp_sock.settimeout(12)
ps = subprocess.run([os.path.join(gbtest.BUILD, "gbsim"), "send", "--video", clip, "--dump-ps", os.path.join(gw.dir, "c.ps"),
                     "--speed", "0", "--duration", "1"], capture_output=True)
payload = open(os.path.join(gw.dir, "c.ps"), "rb").read()[:1400]
ssrc = 0x1234ABCD
stats = watch_stats("rtcp")
rtcp_sock.setblocking(False)
rr, last_seq = b"", 0
for seq in range(80):  # 8 s of packets: the stream lives past the first report interval (5 s)
    rtp_sock.sendto(struct.pack("!BBHII", 0x80, 96, seq, seq * 3600, ssrc) + payload, ("127.0.0.1", s["port"]))
    if seq == 5:  # SR: V=2 RC=0 PT=200 len=6, sender SSRC, NTP 64-bit, RTP ts, packet count, octet count
        sr = struct.pack("!BBHIQIII", 0x80, 200, 6, ssrc, 0xE1234567_89ABCDEF, 18000, 6, 8400)
        rtcp_sock.sendto(sr, ("127.0.0.1", s["port"] + 1))
    try:
        rr, _ = rtcp_sock.recvfrom(2048)
        last_seq = seq
        break
    except BlockingIOError:
        time.sleep(0.1)
check.ok("RTCP: receiver report received on RTP port + 1", len(rr) >= 32 and rr[1] == 201, rr[:4].hex())
if len(rr) >= 32:
    block_ssrc, lost_word, ext_seq = struct.unpack("!III", rr[8:20])
    lsr = struct.unpack("!I", rr[24:28])[0]
    check.eq("RTCP: report block is about our SSRC", block_ssrc, ssrc)
    check.near("RTCP: extended highest sequence", ext_seq, last_seq, 1)
    check.eq("RTCP: LSR = middle of the SR's NTP time", lsr, 0x456789AB)
gw.api("DELETE", "/api/v1/streams/rtcp")
st = stats()
check.ok("RTCP: sender report counted", (st.get("rtcp") or {}).get("sr_received", 0) >= 1, st.get("rtcp"))

# 2. TCP active: gbgate connects to the device (gbsim listening) and reads RFC 4571.
lport = gbtest.free_port()
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--transport", "tcp-listen", "--listen", lport)
time.sleep(0.3)
s = open_stream("active", transport="tcp-active", remote=f"127.0.0.1:{lport}")
done = view("active")
gbtest.sim_result(sim, timeout=30)
info = done()["info"].get("video", {})
check.near("tcp-active: frames", info.get("frames", 0), SENT, 2)
check.eq("tcp-active: size", (info.get("width"), info.get("height")), (640, 360))
# and a device that is not listening: bounded retries, then a clear error in the stream stats
s = open_stream("noactive", transport="tcp-active", remote=f"127.0.0.1:{gbtest.free_port()}")
gbtest.wait_until(lambda: gw.api("GET", "/api/v1/streams/noactive")[0] == 404, 30, "tcp-active gives up")
check.ok("tcp-active: gives up after bounded retries with a clear reason",
         "[noactive] closed: tcp-active: could not connect" in gw.log(), "")


# 3. WS-FLV: the same bytes as HTTP-FLV from the same keyframe on.
def ws_read(path, nbytes, out):
    c = socket.create_connection(("127.0.0.1", gw.http_port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += c.recv(4096)
    head, buf = buf.split(b"\r\n\r\n", 1)
    out["status"] = head.split(b"\r\n")[0]
    payload = b""
    frames = 0
    while len(payload) < nbytes:
        while True:
            if len(buf) >= 2:
                ln = buf[1] & 0x7F
                hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
                if len(buf) >= hl:
                    ln = ln if ln < 126 else int.from_bytes(buf[2:hl], "big")
                    if len(buf) >= hl + ln:
                        break
            chunk = c.recv(65536)
            if not chunk:
                out["payload"] = payload
                return
            buf += chunk
        op = buf[0] & 0x0F
        if op == 2:
            payload += buf[hl:hl + ln]
            frames += 1
        buf = buf[hl + ln:]
    # a clean close: masked close frame from the client
    c.sendall(bytes([0x88, 0x82]) + b"\x00\x00\x00\x00" + b"\x03\xe8")
    out["payload"], out["frames"] = payload, frames
    c.close()


s = open_stream("ws", port=0)
sim = gbtest.gbsim("send", "--video", clip, "--fps", 25, "--loop", "--duration", 10, "--to", f"127.0.0.1:{s['port']}")
gbtest.wait_until(lambda: (gw.api("GET", "/api/v1/streams/ws")[1] or {}).get("frames", 0) > 10, 10, "frames")
ws_out, http_out = {}, {}
t1 = threading.Thread(target=ws_read, args=("/live/ws.flv", 300_000, ws_out))
t2 = threading.Thread(target=lambda: http_out.update(b=gbtest.http_get_bytes(gw.url("/live/ws.flv"), 300_000)))
t1.start()
t2.start()
t1.join(20)
t2.join(20)
check.ok("ws-flv: 101 Switching Protocols", b"101" in ws_out.get("status", b""), ws_out.get("status"))
wsb, hb = ws_out.get("payload", b""), http_out.get("b", b"")
n = min(len(wsb), len(hb))
check.ok("ws-flv: one FLV tag per binary frame", ws_out.get("frames", 0) > 10, ws_out.get("frames"))
check.ok("ws-flv: bytes identical to HTTP-FLV", n > 200_000 and wsb[:n] == hb[:n], n)
sim.wait(15)

# 4. Sender shapes seen in the field: every one still gives every frame.
shapes = [["--marker", "never"], ["--marker", "every-packet"], ["--psm", "first"], ["--psm", "none"],
          ["--pes-split", "1000"], ["--pes-len-zero"], ["--one-pes-per-packet"], ["--sparse-packs"]]
for i, shape in enumerate(shapes):
    sid = f"shape{i}"
    s = open_stream(sid, port=0)
    done = view(sid, 15)
    gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}", *shape))
    info = done()["info"].get("video", {})
    # without a marker a frame ends when the next one starts: the last frame is flushed at stream end
    check.near(f"shape {' '.join(shape)}: frames", info.get("frames", 0), SENT, 1)

# 5. SSRC policies: SSRC 0 and a foreign SSRC are accepted on a per-stream port; on the shared port an SSRC
#    nobody expects is refused (counted), while the expected one plays.
s = open_stream("ssrc0", port=0, ssrc=200000001)
done = view("ssrc0", 15)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}", "--ssrc", 0))
check.near("per-stream port: SSRC 0 accepted", done()["info"].get("video", {}).get("frames", 0), SENT, 1)
s = open_stream("shared_expect", ssrc=200000123)
done = view("shared_expect", 12)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{gw.rtp_port}",
                               "--ssrc", 200000124))
check.eq("shared port: a foreign SSRC is refused", done()["info"].get("video", {}).get("frames", 0), 0)

# 6. Loss with drop-until-keyframe: after every gap in the video timestamps the next frame is a keyframe.
s = open_stream("drop", port=0)
stats = watch_stats("drop")
done = view("drop", 20, tags=True)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}", "--loss", 3,
                               "--seed", 11))
res = done()
frames = []
for line in res["tags"]:
    parts = dict(p.split("=") for p in line.split()[1:])
    if line.startswith("video") and int(parts["size"]) > 100:
        frames.append((int(parts["ts"]), parts["key"] == "1"))
gaps = [(a, b) for a, b in zip(frames, frames[1:]) if b[0] - a[0] > 60]
check.ok("drop: the lossy run had gaps", len(gaps) >= 1, len(gaps))
check.ok("drop: every frame after a gap is a keyframe", all(b[1] for _, b in gaps), gaps)
st = stats()
check.ok("drop: dropped frames counted", st.get("frames_dropped", 0) > 0 or not gaps, st.get("frames_dropped"))

# 7. Debug dump: the raw RTP of a stream, replayed with gbsim --rtp, gives the same stream again.
s = open_stream("dumped", port=0)
status, d = gw.api("POST", "/api/v1/streams/dumped/dump", {"seconds": 20, "max_mb": 8})
check.eq("dump: 202", status, 202)
check.eq("dump: a second one is refused", gw.api("POST", "/api/v1/streams/dumped/dump", {})[0], 409)
check.eq("dump: bad limits -> 400", gw.api("POST", "/api/v1/streams/dumped/dump", {"max_mb": 9999})[0], 400)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--to", f"127.0.0.1:{s['port']}"))
path = (d or {}).get("path", "")
gbtest.wait_until(lambda: os.path.exists(path) and os.path.getsize(path) > 100_000, 15, "dump file written")
s = open_stream("replayed", port=0)
done = view("replayed", 15)
gbtest.sim_result(gbtest.gbsim("send", "--rtp", path, "--to", f"127.0.0.1:{s['port']}"))
check.eq("dump: the replayed capture gives every frame", done()["info"].get("video", {}).get("frames"), SENT)

code = gw.stop()
check.eq("gbgate exits 0 (no leak under ASan)", code, 0)
check.summary([gw])
