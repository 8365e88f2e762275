"""Playback and download of device recordings end to end (issue 9, docs/API_DEVICES.md "Playback and download").

gbsim plays the NVR: the "recording" of a channel is its clip looped (H.264 640x360, 25 fps, a keyframe a
second), sent from the requested position at the requested speed with the recording's own timestamps; it obeys
INFO MANSRTSP and sends MediaStatus 121 at the end of the range. The test reads the HTTP-FLV output with its
own FLV tag reader (arrival wall time, timestamp, type of every tag) and checks:
  - playback at 1x: FLV video timestamps advance 1 s (+-25%) per wall second, 25 fps (+-30%) arrive, ffprobe
    decodes H.264 640x360; the INVITE carries s=Playback, t= in Unix seconds and a recording SSRC (leading 1);
  - "4x", measured exactly so: over a 3 s wall-clock window starting 1 s after the speed command, the viewer
    receives 4x the clip's 25 fps in video frames (+-30%), the recording position gbsim reports advances
    4 s (+-1) per wall second, and the FLV timestamps of those frames still advance 1 s (+-30%) per wall second
    (output timestamps are the recording's divided by the speed);
  - pause: no video frame for 2.5 s while paused (longer than media.rtp_timeout_s, and the stream stays up),
    resume: frames again, FLV timestamps monotonic and continuous (gap < 0.5 s) across the pause;
  - seek: gbsim jumps to the keyframe at or before the position, the stream JSON says the position, FLV
    timestamps stay monotonic across backward and forward seeks;
  - end of range: MediaStatus 121 -> BYE from the gateway -> the stream closes with "end of recording" and the
    FLV ends cleanly (the chunked body's last chunk);
  - DELETE /api/v1/streams/{id} -> BYE; two playbacks of one channel at once; idle close without viewers;
  - download at speed 4: 202, progress, an MP4 that ffprobe reads as H.264 with a duration within 10% of
    (end - start), served over HTTP, then deleted;
  - errors: bad times, reversed range, bad transport, unknown channel, unknown and offline device, control of
    an unknown stream (404), of a stream that is not a playback (409), bad control values (400).
"""
import json
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

FPS = 25
IDLE_S = 3
RTP_TIMEOUT_S = 2


class FlvTap:
    """HTTP-FLV reader on its own thread: every tag as (wall seconds, type 8/9, timestamp ms, keyframe)."""

    def __init__(self, url, timeout=60):
        self.url = urllib.parse.urlparse(url)
        self.tags = []
        self.status = None
        self.clean_end = False  # the chunked terminator arrived
        self.closed = False
        self.lock = threading.Lock()
        self.sock = None
        self.thread = threading.Thread(target=self._run, args=(timeout,), daemon=True)
        self.thread.start()

    def _chunks(self, f):
        while True:
            line = f.readline()
            if not line:
                return
            size = int(line.strip().split(b";")[0] or b"0", 16)
            if size == 0:
                self.clean_end = True
                return
            data = f.read(size)
            f.readline()
            yield data

    def _run(self, timeout):
        try:
            self.sock = socket.create_connection((self.url.hostname, self.url.port), timeout=timeout)
            self.sock.sendall(f"GET {self.url.path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n\r\n".encode())
            f = self.sock.makefile("rb")
            self.status = int(f.readline().split()[1])
            while f.readline() not in (b"\r\n", b""):
                pass
            buf = b""
            header_done = False
            for data in self._chunks(f):
                buf += data
                if not header_done:
                    if len(buf) < 13:
                        continue
                    buf = buf[13:]
                    header_done = True
                while len(buf) >= 11:
                    size = int.from_bytes(buf[1:4], "big")
                    if len(buf) < 11 + size + 4:
                        break
                    ts = int.from_bytes(buf[4:7], "big") | (buf[7] << 24)
                    key = buf[0] == 9 and size > 0 and (buf[11] >> 4) == 1
                    seq = buf[0] == 9 and size > 1 and (buf[11] & 0x0F) == 7 and buf[12] == 0
                    if buf[0] in (8, 9) and not seq:
                        with self.lock:
                            self.tags.append((time.monotonic(), buf[0], ts, key))
                    buf = buf[11 + size + 4:]
        except (OSError, ValueError):
            pass
        self.closed = True

    def video(self, t0=None, t1=None):
        with self.lock:
            return [t for t in self.tags if t[1] == 9 and (t0 is None or t[0] >= t0) and (t1 is None or t[0] < t1)]

    def close(self):
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(5)


def rates(tap, t0, t1):
    """(video frames per wall second, FLV timestamp seconds per wall second) of the tags that arrived in [t0,t1)."""
    v = tap.video(t0, t1)
    if len(v) < 2:
        return 0.0, 0.0
    wall = t1 - t0
    return len(v) / wall, (v[-1][2] - v[0][2]) / 1000.0 / (v[-1][0] - v[0][0])


def monotonic_ts(tags):
    return all(b[2] >= a[2] for a, b in zip(tags, tags[1:]))


def control(gw, sid, body):
    return gw.api("POST", f"/api/v1/streams/{sid}/playback", body)


def info_events(dev, method=None):
    ev = dev.events("info")
    return [e for e in ev if method is None or e.get("method") == method]


def local(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ts))


def main():
    gbtest.require_tools("ffprobe", "ffmpeg", "gbgate", "gbsim")
    c = gbtest.Check("playback")
    os.makedirs(gbtest.OUTPUT, exist_ok=True)
    records = tempfile.mkdtemp(prefix="playback-records-", dir=gbtest.OUTPUT)
    gw = gblive.gateway("playback", **{"stream.idle_close_s": IDLE_S, "media.rtp_timeout_s": RTP_TIMEOUT_S,
                                       "record.dir": records})
    dev = None
    try:
        clip = gbtest.make_clip("h264", "640x360", fps=FPS, gop=FPS, seconds=6)
        dev = gblive.Device(gw, "--media-video", clip, channels=2)
        dev.wait_online(2)
        ch = gblive.channel_id(dev.id, 1)
        base = f"/api/v1/devices/{dev.id}/channels/{ch}"
        t_start = int(time.mktime((2026, 1, 1, 10, 0, 0, 0, 0, -1)))

        # ---- errors
        st, o = gw.api("POST", f"{base}/playback", {"start": "yesterday", "end": "2026-01-01T10:30:00"})
        c.ok("bad time -> 400 bad_time", st == 400 and o["code"] == "bad_time", (st, o))
        st, o = gw.api("POST", f"{base}/playback", {"start": "2026-01-01T10:30:00", "end": "2026-01-01T10:00:00"})
        c.ok("end before start -> 400 bad_range", st == 400 and o["code"] == "bad_range", (st, o))
        st, o = gw.api("POST", f"{base}/playback", {"start": "2026-01-01T10:00:00", "end": "2026-01-01T10:01:00",
                                                     "transport": "sctp"})
        c.ok("bad transport -> 400", st == 400 and o["code"] == "bad_transport", (st, o))
        rng = {"start": "2026-01-01T10:00:00", "end": "2026-01-01T10:01:00"}
        st, o = gw.api("POST", f"/api/v1/devices/{dev.id}/channels/{dev.id[:10]}1319999999/playback", rng)
        c.ok("unknown channel -> 404 channel_not_found", st == 404 and o["code"] == "channel_not_found", (st, o))
        st, o = gw.api("POST", f"/api/v1/devices/34020000001329999999/channels/{ch}/playback", rng)
        c.ok("unknown device -> 404 device_not_found", st == 404 and o["code"] == "device_not_found", (st, o))
        dev2 = gblive.Device(gw, id_base="34020000001320000002", channels=1, name="gbsim2")
        dev2.wait_online(1)
        dev2.stop()
        gblive.eventually(lambda: not gw.api("GET", f"/api/v1/devices/{dev2.id}")[1]["online"], 10)
        st, o = gw.api("POST", f"/api/v1/devices/{dev2.id}/channels/{gblive.channel_id(dev2.id, 1)}/playback", rng)
        c.ok("offline device -> 409 device_offline", st == 409 and o["code"] == "device_offline", (st, o))
        st, o = control(gw, "nosuchstream", {"action": "pause"})
        c.ok("control of an unknown stream -> 404", st == 404, (st, o))
        st, _ = gw.api("POST", "/api/v1/streams", {"id": "plain", "port": 0})
        st, o = control(gw, "plain", {"action": "pause"})
        c.ok("control of a stream that is not a playback -> 409", st == 409 and o["code"] == "not_playback", (st, o))
        gw.api("DELETE", "/api/v1/streams/plain")

        # ---- playback at 1x (UDP), 30 s of recording
        st, pb = gw.api("POST", f"{base}/playback", {"start": local(t_start), "end": local(t_start + 30),
                                                      "transport": "udp"}, timeout=30)
        c.ok("playback -> 200 with stream and urls", st == 200 and pb["stream"].startswith(f"pb_{dev.id}_{ch}_")
             and pb["urls"]["flv"].endswith(f"/live/{pb['stream']}.flv"), (st, pb))
        if st != 200:
            return
        sid = pb["stream"]
        c.ok("reply echoes start/end, recording SSRC starts with 1",
             pb["start"] == local(t_start) and pb["end"] == local(t_start + 30) and pb["ssrc"].startswith("1"), pb)
        inv = dev.wait_event("invite")[-1]
        c.ok("INVITE s=Playback with t= in Unix seconds",
             inv.get("kind") == "playback" and inv.get("start") == str(t_start) and
             inv.get("end") == str(t_start + 30), inv)
        tap = FlvTap(gw.url(f"/live/{sid}.flv"))
        got = gblive.probe(gw, sid, seconds=2)
        c.ok("1x: ffprobe decodes H.264 640x360", got and got[:3] == ("h264", 640, 360) and got[3] >= 20, got)
        t0 = time.monotonic()
        time.sleep(3.5)
        fps, ts_rate = rates(tap, t0 + 0.5, time.monotonic())
        print(f"measured 1x: {fps:.1f} video frames per wall second, FLV timestamps {ts_rate:.2f} s per wall second")
        c.near("1x: video frames per wall second ~ 25", fps, FPS, FPS * 0.3)
        c.near("1x: FLV timestamps advance ~1 s per wall second", ts_rate, 1.0, 0.25)
        st, js = gw.api("GET", f"/api/v1/streams/{sid}")
        pbj = js.get("playback", {}) if st == 200 else {}
        c.ok("stream JSON has the playback state", pbj.get("kind") == "playback" and pbj.get("speed") == 1 and
             pbj.get("paused") is False and pbj.get("device") == dev.id and pbj.get("channel") == ch, pbj)

        # ---- 4x
        st, o = control(gw, sid, {"action": "speed", "speed": 4})
        c.ok("speed 4 -> 200, state speed 4", st == 200 and o["playback"]["speed"] == 4, (st, o))
        t_cmd = time.monotonic()
        time.sleep(1.0)
        w0 = time.monotonic()
        time.sleep(3.0)
        w1 = time.monotonic()
        fps, ts_rate = rates(tap, w0, w1)
        print(f"measured 4x: {fps:.1f} video frames per wall second, FLV timestamps {ts_rate:.2f} s per wall second")
        c.near("4x: video frames per wall second ~ 4 x 25", fps, 4 * FPS, 4 * FPS * 0.3)
        c.near("4x: FLV timestamps still advance ~1 s per wall second", ts_rate, 1.0, 0.3)

        # ---- pause (the first INFO event position after the speed command gives the device's position)
        st, o = control(gw, sid, {"action": "pause"})
        c.ok("pause -> 200 paused", st == 200 and o["playback"]["paused"] is True, (st, o))
        t_pause = time.monotonic()
        infos = gbtest.wait_until(lambda: len(info_events(dev)) >= 2 and info_events(dev), 5, "2 INFOs")
        sp, pa = infos[0], infos[1]
        c.ok("INFO PLAY Scale: 4 reached the device", sp.get("method") == "PLAY" and sp.get("scale") == "4", sp)
        c.ok("INFO PAUSE reached the device", pa.get("method") == "PAUSE" and pa.get("paused") == "1", pa)
        dev_rate = (float(pa["position"]) - float(sp["position"])) / (t_pause - t_cmd)
        print(f"measured 4x: gbsim's recording position advanced {dev_rate:.2f} s per wall second")
        c.near("4x: the recording (gbsim's position) advances ~4 s per wall second", dev_rate, 4.0, 1.0)
        time.sleep(0.5)
        p0 = time.monotonic()
        time.sleep(2.5)
        c.eq("paused: no video frame for 2.5 s", len(tap.video(p0, time.monotonic())), 0)
        st, js = gw.api("GET", f"/api/v1/streams/{sid}")
        c.ok("paused longer than media.rtp_timeout_s: the stream is still there, paused",
             st == 200 and js["playback"]["paused"] is True, (st, js))
        last_before = tap.video()[-1]
        st, o = control(gw, sid, {"action": "resume"})
        c.ok("resume -> 200", st == 200 and o["playback"]["paused"] is False, (st, o))
        gbtest.wait_until(lambda: len(tap.video(time.monotonic() - 0.5)) > 5, 5, "frames after resume")
        after = [t for t in tap.video() if t[0] > last_before[0]]
        c.ok("resume: frames flow again, timestamps continue (< 0.5 s gap)",
             after and 0 <= after[0][2] - last_before[2] < 500, (last_before, after[:1]))

        # ---- seek forward and backward (speed 4 goes on)
        st, o = control(gw, sid, {"action": "seek", "position": 20})
        c.ok("seek 20 -> 200, position 20", st == 200 and abs(o["playback"]["position_s"] - 20) < 1, (st, o))
        ev = gbtest.wait_until(lambda: [e for e in info_events(dev) if e.get("seek")], 5, "seek INFO")[-1]
        c.ok("the device jumped to the keyframe at or before 20 s", ev.get("seek") == "20" and
             19 <= float(ev.get("at", -1)) <= 20, ev)
        st, o = control(gw, sid, {"action": "seek", "position": 2})
        c.ok("seek back to 2 -> 200", st == 200 and o["playback"]["position_s"] < 3, (st, o))
        time.sleep(1.0)
        c.ok("FLV video timestamps monotonic across pause, resume and seeks", monotonic_ts(tap.video()))

        # ---- end of range: seek near the end, MediaStatus 121, BYE, clean end of the FLV
        control(gw, sid, {"action": "seek", "position": 27})
        dev.wait_event("media-status-sent", timeout=10)
        gone = gblive.eventually(lambda: gw.api("GET", f"/api/v1/streams/{sid}")[0] == 404, 8)
        c.ok("MediaStatus 121 -> the stream closes", gone)
        tap.thread.join(5)
        c.ok("the viewer got the end of the FLV (last chunk)", tap.clean_end and tap.closed)
        c.ok("gateway log: end of recording", "end of recording" in gw.log())
        ends = dev.wait_event("call-end")
        c.ok("the device got BYE after its MediaStatus", "how=bye-received" in json.dumps(ends[-1]) or
             ends[-1].get("how") == "bye-received", ends[-1])
        st, o = control(gw, sid, {"action": "pause"})
        c.eq("control after the end -> 404", st, 404)

        # ---- two playbacks of one channel (tcp-passive), DELETE -> BYE, idle close without viewers
        r2 = {"start": local(t_start + 60), "end": local(t_start + 120), "transport": "tcp-passive"}
        st2, a = gw.api("POST", f"{base}/playback", r2, timeout=30)
        st3, b = gw.api("POST", f"{base}/playback", r2, timeout=30)
        c.ok("two playbacks of one channel at once", st2 == 200 and st3 == 200 and a["stream"] != b["stream"],
             (st2, a, st3, b))
        if st2 == 200 and st3 == 200:
            n_end = len(dev.events("call-end"))
            st, _ = gw.api("DELETE", f"/api/v1/streams/{a['stream']}")
            c.eq("DELETE the playback stream -> 204", st, 204)
            ev = dev.wait_event("call-end", n_end + 1)
            c.ok("DELETE -> the device got BYE", any(e.get("how") == "bye-received" for e in ev[n_end:]), ev[n_end:])
            for bad in ({"action": "speed", "speed": 9}, {"action": "speed", "speed": 0.1},
                        {"action": "seek", "position": -1}, {"action": "seek", "position": 60},
                        {"action": "rewind"}):
                st, o = control(gw, b["stream"], bad)
                c.ok(f"bad control {bad} -> 400", st == 400, (st, o))
            st, o = control(gw, b["stream"], {"action": "speed", "speed": 0.5})
            c.ok("speed 0.5 -> 200", st == 200 and o["playback"]["speed"] == 0.5, (st, o))
            closed = gblive.eventually(lambda: gw.api("GET", f"/api/v1/streams/{b['stream']}")[0] == 404,
                                       IDLE_S + 6)
            c.ok(f"a playback nobody watches closes after stream.idle_close_s ({IDLE_S} s)", closed)

        # ---- download at speed 4: 12 s of recording -> MP4
        st, dl = gw.api("POST", f"{base}/download", {"start": local(t_start), "end": local(t_start + 12),
                                                      "speed": 4}, timeout=30)
        c.ok("download -> 202 with id and stream", st == 202 and dl["id"].startswith("dl_") and dl["stream"], (st, dl))
        if st == 202:
            inv = dev.events("invite")[-1]
            c.ok("INVITE s=Download with a=downloadspeed:4", inv.get("kind") == "download" and
                 inv.get("speed") == "4", inv)
            st, mid = gw.api("GET", f"/api/v1/downloads/{dl['id']}")
            c.ok("downloading, progress between 0 and 1", st == 200 and mid["state"] in ("downloading", "done") and
                 0 <= mid["progress"] <= 1, mid)
            done = gblive.eventually(lambda: gw.api("GET", f"/api/v1/downloads/{dl['id']}")[1]["state"] != "downloading",
                                     20)
            st, fin = gw.api("GET", f"/api/v1/downloads/{dl['id']}")
            c.ok("download done (MediaStatus 121), progress >= 0.9", done and fin["state"] == "done" and
                 fin["progress"] >= 0.9 and fin["bytes"] > 10000, fin)
            st, lst = gw.api("GET", "/api/v1/downloads")
            c.ok("GET /api/v1/downloads lists it", st == 200 and any(d["id"] == dl["id"] for d in lst["downloads"]))
            if fin.get("url"):
                path = os.path.join(gw.dir, "download.mp4")
                with urllib.request.urlopen(fin["url"], timeout=10) as r, open(path, "wb") as f:
                    f.write(r.read())
                probe = gbtest.ffprobe(path, extra=["-show_format"])
                v = [s for s in probe.get("streams", []) if s.get("codec_type") == "video"]
                dur = float(probe.get("format", {}).get("duration", 0))
                print(f"measured download: {fin['bytes']} bytes, MP4 duration {dur:.2f} s for a 12 s range")
                c.ok("the MP4 is H.264 640x360", v and v[0]["codec_name"] == "h264" and v[0]["width"] == 640, v)
                c.near("MP4 duration within 10% of end - start (12 s)", dur, 12.0, 1.2)
            else:
                c.ok("the finished download has a url", False, fin)
            st, _ = gw.api("DELETE", f"/api/v1/downloads/{dl['id']}")
            c.eq("DELETE the download -> 204", st, 204)
            st, _ = gw.api("GET", f"/api/v1/downloads/{dl['id']}")
            c.eq("then it is gone (404)", st, 404)
            c.eq("and so is its file", [f for f in os.listdir(records) if f.endswith(".mp4")], [])

        # ---- shutdown with a playback being watched and a download running: BYE both, exit 0 (no leak)
        st, pb = gw.api("POST", f"{base}/playback", {"start": local(t_start), "end": local(t_start + 600)},
                        timeout=30)
        tap = FlvTap(gw.url(f"/live/{pb['stream']}.flv")) if st == 200 else None
        st2, dl = gw.api("POST", f"{base}/download", {"start": local(t_start), "end": local(t_start + 600)},
                         timeout=30)
        c.ok("a playback and a download run at shutdown", st == 200 and st2 == 202, (st, st2))
        if tap:
            gbtest.wait_until(lambda: tap.video(), 5, "playback frames")
        n_end = len(dev.events("call-end"))
        c.eq("SIGTERM with both running: exit 0 (ASan: no leak)", gw.stop(), 0)
        ev = dev.wait_event("call-end", n_end + 2)
        c.ok("both calls got BYE at shutdown", [e.get("how") for e in ev[n_end:]] == ["bye-received"] * 2,
             ev[n_end:])
    finally:
        if dev:
            dev.stop()
        gw.stop()
        c.summary([gw])


if __name__ == "__main__":
    main()
