"""Recording to MP4 (issue 9 item 3, the recorder): a stream recorded through the API is a valid MP4 with the
clip's codec, size and duration (H.264 + G.711 transcoded to AAC, and H.265); a recording ends by itself when
its stream closes and at shutdown; the files are served with HEAD and byte ranges (exact bytes); bad names,
unknown streams and path traversal are refused."""
import http.client
import os
import shutil
import subprocess
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim")
check = gbtest.Check("record")
clip264 = gbtest.make_clip("h264", "640x360", 25, 6, 25)
clip265 = gbtest.make_clip("h265", "480x272", 25, 8, 25)
tone = gbtest.make_g711(6, "alaw")

gw = gbtest.Gateway({"media.rtp_timeout_s": 3}, name="record", start=False)
records = os.path.join(gw.dir, "records")
gw.settings["record.dir"] = records
gw.start()


def request(method, path, headers=None):
    """Raw HTTP (urllib hides 206 details): returns (status, headers dict lower-case, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", gw.http_port, timeout=15)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def streams_of(probe):
    return {s["codec_type"]: s for s in probe.get("streams", [])}


def probe_duration(url):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url],
                       capture_output=True, timeout=30)
    try:
        return float(r.stdout.decode().strip())
    except ValueError:
        return None


# 1. H.264 + G.711 A-law (transcoded to AAC by the stream): record the whole 6 s clip, stop through the API.
status, s = gw.api("POST", "/api/v1/streams", {"id": "av", "port": 0})
status, rec = gw.api("POST", "/api/v1/streams/av/record", {"file": "av.mp4"})
check.eq("av: POST record -> 201", status, 201)
check.eq("av: state recording", (rec or {}).get("state"), "recording")
check.eq("av: file name kept", (rec or {}).get("file"), "av.mp4")
gbtest.sim_result(gbtest.gbsim("send", "--video", clip264, "--audio", tone, "--fps", 25, "--to",
                               f"127.0.0.1:{s['port']}"))
status, running = gw.api("GET", "/api/v1/streams/av/record")
check.eq("av: GET record while running", (running or {}).get("state"), "recording")
status, done = gw.api("DELETE", "/api/v1/streams/av/record")
check.eq("av: DELETE record -> 200", status, 200)
check.eq("av: finalized", (done or {}).get("state"), "done")
check.near("av: API duration_ms ~ 6000", (done or {}).get("duration_ms"), 6000, 600)
check.ok("av: frames counted (150 video + audio)", (done or {}).get("frames", 0) >= 150 + 80, done)
size = (done or {}).get("bytes", 0)
check.ok("av: file on disk has the reported size",
         os.path.exists(os.path.join(records, "av.mp4")) and os.path.getsize(os.path.join(records, "av.mp4")) == size,
         size)
p = gbtest.ffprobe(gw.url("/records/av.mp4"))
v, a = streams_of(p).get("video", {}), streams_of(p).get("audio", {})
check.eq("av: served MP4 video h264", v.get("codec_name"), "h264")
check.eq("av: 640x360", (v.get("width"), v.get("height")), (640, 360))
check.eq("av: every video frame recorded", int(v.get("nb_read_frames", 0)), 150)
check.eq("av: audio aac", a.get("codec_name"), "aac")
check.near("av: duration 6 s +-10%", probe_duration(gw.url("/records/av.mp4")), 6.0, 0.6)

# 2. HTTP serving: HEAD, whole file, byte ranges with exact bytes, 416, ignored malformed ranges.
st, h, whole = request("GET", "/records/av.mp4")
check.eq("GET whole file: 200", st, 200)
check.eq("GET: video/mp4", h.get("content-type"), "video/mp4")
check.eq("GET: Content-Length = file size", (int(h.get("content-length", -1)), len(whole)), (size, size))
check.eq("GET: Accept-Ranges", h.get("accept-ranges"), "bytes")
with open(os.path.join(records, "av.mp4"), "rb") as f:
    on_disk = f.read()
check.ok("GET: bytes identical to the file", whole == on_disk)
st, h, body = request("HEAD", "/records/av.mp4")
check.eq("HEAD: 200, Content-Length, no body", (st, int(h.get("content-length", -1)), body), (200, size, b""))
st, h, body = request("GET", "/records/av.mp4", {"Range": "bytes=100-1099"})
check.eq("Range 100-1099: 206", st, 206)
check.eq("Range 100-1099: Content-Range", h.get("content-range"), f"bytes 100-1099/{size}")
check.ok("Range 100-1099: exact bytes", body == on_disk[100:1100], len(body))
st, h, body = request("GET", "/records/av.mp4", {"Range": "bytes=-500"})
check.ok("Range suffix -500: the last 500 bytes", st == 206 and body == on_disk[-500:], (st, len(body)))
st, h, body = request("GET", "/records/av.mp4", {"Range": f"bytes={size - 1000}-"})
check.ok("Range open-ended: the rest", st == 206 and body == on_disk[-1000:], (st, len(body)))
st, h, body = request("GET", "/records/av.mp4", {"Range": f"bytes={size - 10}-{size + 5000}"})
check.ok("Range past the end: clamped", st == 206 and body == on_disk[-10:], (st, len(body)))
st, h, body = request("GET", "/records/av.mp4", {"Range": f"bytes={size}-"})
check.eq("Range at the end: 416 with bytes */size", (st, h.get("content-range")), (416, f"bytes */{size}"))
st, h, body = request("GET", "/records/av.mp4", {"Range": "bytes=500-100"})
check.ok("Range malformed (last < first): whole file", st == 200 and len(body) == size, st)
st, h, body = request("GET", "/records/av.mp4", {"Range": "bytes=0-1,5-9"})
check.ok("Range with two ranges: whole file", st == 200 and len(body) == size, st)

# 3. Errors: bad names -> 400, unknown stream -> 404, existing file -> 409, traversal -> 404.
for bad in ("../x.mp4", "a b.mp4", "x.txt", ".hidden.mp4", "a/b.mp4", "", "x" * 130 + ".mp4"):
    check.eq(f"bad name {bad[:20]!r} -> 400", gw.api("POST", "/api/v1/streams/av/record", {"file": bad})[0], 400)
check.eq("non-string name -> 400", gw.api("POST", "/api/v1/streams/av/record", {"file": 5})[0], 400)
check.eq("unknown stream -> 404", gw.api("POST", "/api/v1/streams/nosuch/record", {"file": "n.mp4"})[0], 404)
check.eq("GET record of unknown stream -> 404", gw.api("GET", "/api/v1/streams/nosuch/record")[0], 404)
check.eq("existing file -> 409", gw.api("POST", "/api/v1/streams/av/record", {"file": "av.mp4"})[0], 409)
check.eq("DELETE when not recording -> 404", gw.api("DELETE", "/api/v1/streams/av/record")[0], 404)
for path in ("/records/..%2fgbgate.db", "/records/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/records/../gbgate.db",
             "/records/.av.mp4.part", "/records/nosuch.mp4", "/records/", "/records/av.mp4%00.txt"):
    check.ok(f"traversal/unknown {path} -> 404 (or 400)", request("GET", path)[0] in (400, 404), path)
check.eq("POST on /records -> 405", request("POST", "/records/av.mp4")[0], 405)

# 4. H.265, started mid-stream with a default name, ends by itself when the stream closes.
status, s = gw.api("POST", "/api/v1/streams", {"id": "hevc", "port": 0})
sim = gbtest.gbsim("send", "--video", clip265, "--fps", 25, "--to", f"127.0.0.1:{s['port']}")
time.sleep(2.0)
status, rec = gw.api("POST", "/api/v1/streams/hevc/record")
check.eq("hevc: POST record (no body) -> 201", status, 201)
name = (rec or {}).get("file", "")
check.ok("hevc: default name {stream}_{yyyymmddHHMMSS}.mp4",
         name.startswith("hevc_") and len(name) == len("hevc_") + 14 + 4 and name[5:19].isdigit(), name)
gbtest.sim_result(sim)
try:
    final = gbtest.wait_until(lambda: (lambda r: r if r.get("state") != "recording" else None)(
        gw.api("GET", "/api/v1/streams/hevc/record")[1] or {}), 15, "hevc recording to end with its stream")
except TimeoutError:
    final = {}
check.eq("hevc: ended by itself when the stream closed", final.get("state"), "done")
p = gbtest.ffprobe(gw.url(f"/records/{name}"))
v = streams_of(p).get("video", {})
check.eq("hevc: codec hevc", v.get("codec_name"), "hevc")
check.eq("hevc: 480x272", (v.get("width"), v.get("height")), (480, 272))
dur = probe_duration(gw.url(f"/records/{name}"))
check.near("hevc: duration matches the API's", dur, final.get("duration_ms", 0) / 1000, 0.1 * max(dur or 1, 1))
check.ok("hevc: about the 6 s left after the start (GOP cache: up to 1 s more)", dur and 4.5 <= dur <= 7.5, dur)

# 5. Listing and deleting files.
status, lst = gw.api("GET", "/api/v1/recordings")
files = {f["file"]: f for f in (lst or {}).get("files", [])}
check.ok("list: both files with their size", files.get("av.mp4", {}).get("bytes") == size and name in files, files)
check.ok("list: recordings with their state", len((lst or {}).get("recordings", [])) >= 2, lst)
check.eq("DELETE file -> 204", gw.api("DELETE", "/api/v1/recordings/av.mp4")[0], 204)
check.eq("deleted file no longer served", request("GET", "/records/av.mp4")[0], 404)
check.eq("DELETE it again -> 404", gw.api("DELETE", "/api/v1/recordings/av.mp4")[0], 404)
check.eq("DELETE bad name -> 400", gw.api("DELETE", "/api/v1/recordings/bad%20name.mp4")[0], 400)
check.eq("DELETE traversal -> 404", gw.api("DELETE", "/api/v1/recordings/..%2fgbgate.db")[0], 404)
check.ok("database untouched", os.path.exists(os.path.join(gw.dir, "gbgate.db")))

status, lst = gw.api("GET", "/api/v1/recordings?stream=hevc")
check.eq("list ?stream=hevc: its file only", [f["file"] for f in (lst or {}).get("files", [])], [name])

# 6. Shutdown finalizes a running recording (record.dir removed meanwhile: made again).
shutil.rmtree(records)
status, s = gw.api("POST", "/api/v1/streams", {"id": "tail", "port": 0})
sim = gbtest.gbsim("send", "--video", clip264, "--fps", 25, "--loop", "--duration", 30, "--to",
                   f"127.0.0.1:{s['port']}")
time.sleep(1.0)
status, rec = gw.api("POST", "/api/v1/streams/tail/record", {"file": "tail.mp4"})
check.eq("tail: recording", status, 201)
time.sleep(3.0)
code = gw.stop()
sim.kill()
sim.wait()
check.eq("gbgate exits 0 (recording finalized at shutdown)", code, 0)
tail = os.path.join(records, "tail.mp4")
p = gbtest.ffprobe(tail) if os.path.exists(tail) else {}
check.eq("tail: finalized file readable (h264)", streams_of(p).get("video", {}).get("codec_name"), "h264")
check.ok("tail: no .part file left", not os.path.exists(os.path.join(records, ".tail.mp4.part")))
check.summary([gw])
