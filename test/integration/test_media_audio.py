"""Audio that browsers play (issue 3 item 3): G.711 from the camera becomes AAC in the FLV, once per stream; the
real audio-only G.711 capture with the broken PSM plays as AAC; audio and video stay in sync; with
stream.audio_transcode=off G.711 passes through.

FFmpeg is loaded on first use (relay/av_lazy.h): a video-only stream with a viewer must not load it, the first
G.711 stream must, off the worker, and lose no audio while it loads (the duration and sync checks below are
that stream's)."""
import json
import os
import subprocess
import threading
import time

import gbtest

gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim", "flvinfo")
check = gbtest.Check("media_audio")
clip = gbtest.make_clip("h264", "640x360", 25, 6, 25)
tone = gbtest.make_g711(6, "alaw")


def record(gw, sid, seconds, path):
    """Saves the FLV of a stream to a file (bounded) in a thread; returns a join function."""
    def run():
        data = b""
        try:
            data = gbtest.http_get_bytes(gw.url(f"/live/{sid}.flv"), 20_000_000, timeout=seconds)
        except Exception:
            pass
        open(path, "wb").write(data)
    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.4)
    return lambda: t.join(seconds + 20)


def probe_file(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json",
                        path], capture_output=True, timeout=60)
    return json.loads(r.stdout or b"{}")


def first_pts(path, kind):
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", kind, "-show_entries", "packet=pts_time",
                        "-read_intervals", "%+#1", "-of", "csv=p=0", path], capture_output=True, timeout=30)
    try:
        return float(r.stdout.decode().split()[0])
    except (ValueError, IndexError):
        return None


version = subprocess.run([os.path.join(gbtest.BUILD, "gbgate"), "--version"], capture_output=True, text=True,
                         timeout=30)
check.ok("gbgate --version loads FFmpeg and names its libraries",
         version.returncode == 0 and "libavcodec 59." in version.stdout and "libswresample" in version.stdout,
         version.stdout + version.stderr)


def ffmpeg_mapped(gw):
    with open(f"/proc/{gw.proc.pid}/maps") as f:
        return "libavcodec.so" in f.read()


gw = gbtest.Gateway({"media.rtp_timeout_s": 2}, name="media_audio")

# 0. Video only, watched: FFmpeg stays unloaded (nothing needs it).
check.eq("idle: FFmpeg not loaded (metric)", gw.metric_sum("gbgate_ffmpeg_loaded"), 0)
check.eq("idle: libavcodec not mapped", ffmpeg_mapped(gw), False)
status, s = gw.api("POST", "/api/v1/streams", {"id": "vonly", "port": 0})
vonly = os.path.join(gw.dir, "vonly.flv")
join = record(gw, "vonly", 20, vonly)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--fps", 25, "--duration", 2, "--to",
                               f"127.0.0.1:{s['port']}"))
join()
check.eq("video only: the viewer got h264", (gbtest.flvinfo(vonly).get("video") or {}).get("codec"), "h264")
check.eq("video only: FFmpeg still not loaded", (gw.metric_sum("gbgate_ffmpeg_loaded"), ffmpeg_mapped(gw)),
         (0, False))

# 1. H.264 + G.711 A-law in: AAC out, durations match, audio and video start within 100 ms.
status, s = gw.api("POST", "/api/v1/streams", {"id": "av", "port": 0})
out = os.path.join(gw.dir, "av.flv")
join = record(gw, "av", 30, out)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--audio", tone, "--fps", 25, "--to",
                               f"127.0.0.1:{s['port']}"))
check.eq("av: FFmpeg loaded by the first G.711 stream", (gw.metric_sum("gbgate_ffmpeg_loaded"), ffmpeg_mapped(gw)),
         (1, True))
check.ok("av: loaded off the worker, its G.711 held meanwhile",
         "held until FFmpeg is loaded" in gw.log() and "libraries loaded on first use" in gw.log())


def transcode_counts(sid):
    """(audio frames demuxed, frames into the transcoder, frames held for FFmpeg) once the two agree."""
    got = {}

    def agree():
        st = gw.api("GET", f"/api/v1/streams/{sid}")[1] or {}
        tc = (st.get("audio") or {}).get("transcode") or {}
        got["v"] = (st.get("audio_frames"), tc.get("frames_in"), tc.get("held_for_ffmpeg"))
        return got["v"][0] and got["v"][0] == got["v"][1]
    try:
        gbtest.wait_until(agree, 3, "transcoder stats")
    except Exception:
        pass
    return got.get("v")


frames, into, held = transcode_counts("av")
check.ok("av: every G.711 frame went into the transcoder, those held for FFmpeg too",
         frames and frames == into and held and held >= 1, (frames, into, held))
api_audio = (gw.api("GET", "/api/v1/streams/av")[1] or {}).get("audio") or {}
check.eq("av: the API names the ingest codec and what viewers get", (api_audio.get("codec"),
         api_audio.get("viewer_codec")), ("g711a", "aac"))
join()
p = probe_file(out)
streams = {x["codec_type"]: x for x in p.get("streams", [])}
a, v = streams.get("audio", {}), streams.get("video", {})
check.eq("av: video h264", v.get("codec_name"), "h264")
check.eq("av: audio transcoded to aac", a.get("codec_name"), "aac")
check.eq("av: aac mono", a.get("channels"), 1)
audio_seconds = int(a.get("nb_read_frames", 0)) * 1024 / max(int(a.get("sample_rate", 16000)), 1)
check.near("av: audio duration matches the 6 s sent", audio_seconds, 6.0, 0.35)
va, aa = first_pts(out, "v"), first_pts(out, "a")
check.ok("av: audio and video start within 100 ms", va is not None and aa is not None and abs(va - aa) <= 0.1,
         (va, aa))
st = gw.api("GET", "/api/v1/streams")[1]

# 1b. The same stream again, FFmpeg now loaded: as many AAC frames, so the first stream's G.711, held while
# FFmpeg loaded, was all transcoded (none dropped, none late enough to be cut).
status, s = gw.api("POST", "/api/v1/streams", {"id": "av2", "port": 0})
out2 = os.path.join(gw.dir, "av2.flv")
join = record(gw, "av2", 30, out2)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--audio", tone, "--fps", 25, "--to",
                               f"127.0.0.1:{s['port']}"))
frames, into, held = transcode_counts("av2")
check.ok("av2: FFmpeg already loaded: nothing held, every frame transcoded", frames and frames == into and held == 0,
         (frames, into, held))
join()
a2 = next((x for x in probe_file(out2).get("streams", []) if x["codec_type"] == "audio"), {})
check.eq("av: the stream that waited for FFmpeg has every AAC frame of one that did not",
         int(a.get("nb_read_frames", 0)), int(a2.get("nb_read_frames", -1)))

# 2. The real audio-only G.711 capture with the broken PSM (GB28181.md section 6): plays as AAC.
mpg = gbtest.shared("samples/fri_g711a_audio_only_badpsm.mpg")
if mpg:
    status, s = gw.api("POST", "/api/v1/streams", {"id": "audioonly", "port": 0})
    out = os.path.join(gw.dir, "audioonly.flv")
    join = record(gw, "audioonly", 25, out)
    gbtest.sim_result(gbtest.gbsim("send", "--ps", mpg, "--speed", 4, "--duration", 6, "--to",
                                   f"127.0.0.1:{s['port']}"), timeout=40)
    join()
    p = probe_file(out)
    kinds = [x["codec_type"] for x in p.get("streams", [])]
    a = next((x for x in p.get("streams", []) if x["codec_type"] == "audio"), {})
    check.eq("audio-only: no video track", "video" in kinds, False)
    check.eq("audio-only: aac", a.get("codec_name"), "aac")
    check.ok("audio-only: frames came out", int(a.get("nb_read_frames", 0)) > 100, a.get("nb_read_frames"))
code = gw.stop()
check.eq("gbgate exits 0", code, 0)

# 3. stream.audio_transcode=off: G.711 passes through (FLV sound format 7).
gw2 = gbtest.Gateway({"media.rtp_timeout_s": 2, "stream.audio_transcode": "off"}, name="media_audio_off")
status, s = gw2.api("POST", "/api/v1/streams", {"id": "raw", "port": 0})
out = os.path.join(gw2.dir, "raw.flv")
join = record(gw2, "raw", 30, out)
gbtest.sim_result(gbtest.gbsim("send", "--video", clip, "--audio", tone, "--fps", 25, "--duration", 3, "--to",
                               f"127.0.0.1:{s['port']}"))
api_audio = (gw2.api("GET", "/api/v1/streams/raw")[1] or {}).get("audio") or {}
check.eq("off: the API says viewers get G.711 as is", api_audio.get("viewer_codec"), "g711a")
join()
info = gbtest.flvinfo(out)
check.eq("off: g711a passes through", (info.get("audio") or {}).get("codec"), "g711a")
check.eq("gbgate exits 0 (off)", gw2.stop(), 0)
check.summary([gw, gw2])
