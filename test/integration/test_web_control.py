"""The console's PTZ panel and Recordings page in a real browser (Debian's chromium through playwright-core, driven
by test/integration/web/control_test.mjs) against gbgate and a gbsim device that answers PTZ, presets, device
commands, RecordInfo, playback and download. What the browser did is checked where it lands: the PTZCmd bytes in
gbsim's control log (computed here independently from the GB28181 byte layout), the presets the camera reports,
the recordings the API lists, the playback stream's state in the API (speed, pause), and the MP4 the download
link serves (ffprobe). Skips (77) without chromium, node or node_modules. Details: docs/CONSOLE.md."""
import json
import os
import signal
import subprocess
import time

import gbtest

DEVICE = "34020000001320000071"
DAY = "2026-01-02"
HOLD_ACTIONS = ["up", "left", "zoomin", "focusnear"]
WEB_OUT = os.path.join(gbtest.OUTPUT, "web")


def ptz_cmd(code, h=0, v=0, z=0, address=1):
    """PTZCmd per GB28181 A.3: A5, version 0 + check nibble, address low byte, command, pan speed, tilt speed,
    zoom speed (high nibble) | address high nibble, checksum."""
    b = [0xA5, ((0xA + 0x5 + 0) & 0xF), address & 0xFF, code, h, v, ((z & 0xF) << 4) | ((address >> 8) & 0xF)]
    return "".join(f"{x:02X}" for x in b + [sum(b) & 0xFF])


def expected_hold(action, speed):
    """The move the panel sends for a held button at `speed` (zoom speed is 4 bits: speed x 15/255, rounded)."""
    z = (speed * 15 + 127) // 255
    return {"up": ptz_cmd(0x08, 0, speed), "left": ptz_cmd(0x02, speed, 0), "zoomin": ptz_cmd(0x10, 0, 0, z),
            "focusnear": ptz_cmd(0x42, speed, 0)}[action]


gbtest.require_tools("ffmpeg", "ffprobe", "gbgate", "gbsim")
gbtest.require_browser()
os.makedirs(WEB_OUT, exist_ok=True)
check = gbtest.Check("web_control")
clip = gbtest.make_clip("h264", "640x360", 25, 6, 25)
gw = gbtest.Gateway({"sip.query_timeout_s": 5}, name="web_control")
control_log = os.path.join(gw.dir, "controls.jsonl")
sim = gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--count", 1, "--channels", 2, "--keepalive",
                   2, "--id-base", DEVICE, "--duration", 150, "--quiet", "--channel-media", f"1={clip}",
                   "--control-log", control_log, "--records-per-message", 5, "--record-length", 30)
channels = gbtest.wait_until(lambda: (gw.api("GET", f"/api/v1/devices/{DEVICE}/channels")[1] or {}).get("channels"),
                             20, "the device's catalog")
channel = channels[0]["id"]
records = gw.api("GET", f"/api/v1/devices/{DEVICE}/channels/{channel}/records?start={DAY}T00:00:00&"
                        f"end={DAY}T23:59:59")[1] or {}

config = {
    "source": gbtest.SOURCE, "chromium": gbtest.CHROMIUM, "base": gw.url(""), "outDir": WEB_OUT,
    "budgetMs": 110000, "deviceId": DEVICE, "channelId": channel, "day": DAY, "holdActions": HOLD_ACTIONS,
    "downloadWaitMs": 40000,
}
config_path = os.path.join(gw.dir, "control_test.json")
with open(config_path, "w") as f:
    json.dump(config, f)
driver = subprocess.Popen(["node", os.path.join(gbtest.HERE, "web", "control_test.mjs"), config_path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=gbtest.SOURCE, start_new_session=True)
try:
    out, err = driver.communicate(timeout=130)
except subprocess.TimeoutExpired:
    os.killpg(driver.pid, signal.SIGKILL)
    out, err = driver.communicate()
    err += b"\ndriver timed out"
results = {}
for line in out.decode(errors="replace").splitlines():
    if line.startswith("RESULT "):
        r = json.loads(line[7:])
        results[r.pop("step")] = r
if not results.get("done"):
    print("--- driver stderr ---\n" + err.decode(errors="replace")[-3000:])


def result(step):
    r = results.get(step) or {"ok": False, "error": "step did not run"}
    check.ok(f"step {step} ran", r.get("ok"), r.get("error", ""))
    return r


def logged():
    try:
        with open(control_log) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


result("play")
r = result("ptz_panel")
check.ok("PTZ panel names the played channel", channels[0]["name"] in r.get("target", ""), r.get("target"))
result("ptz_moves")
ptz = [e["ptzcmd"] for e in logged() if e.get("ptzcmd") and e.get("channel") == channel]
stop = ptz_cmd(0, 0, 0)
for action in HOLD_ACTIONS:
    want = expected_hold(action, 200)
    check.ok(f"hold {action}: the device got {want} then stop {stop}", want in ptz and
             stop in ptz[ptz.index(want) + 1:ptz.index(want) + 3], ptz)
r = result("ptz_presets")
check.ok("preset 7 saved (0x81) and called (0x82) on the device", ptz_cmd(0x81, 0, 7) in
         [e["ptzcmd"] for e in logged()] and ptz_cmd(0x82, 0, 7) in [e["ptzcmd"] for e in logged()],
         [e["ptzcmd"] for e in logged()][-4:])
check.ok("the camera's preset list shows preset 7", 7 in (r.get("presets") or []), r.get("presets"))
r = result("device_command")
check.ok("keyframe command answered", "OK" in (r.get("toast") or ""), r.get("toast"))
check.ok("the device got IFameCmd", any((e.get("command") or "").startswith("IFameCmd") for e in logged()),
         logged()[-3:])

r = result("records")
api_records = records.get("records") or []
check.ok("the API lists the day's recordings", len(api_records) >= 20, len(api_records))
check.eq("timeline segments = recordings", r.get("segments"), len(api_records))
check.eq("table rows = recordings (start, end)", [tuple(x) for x in r.get("rows") or []],
         [(x["start"].replace("T", " "), x["end"].replace("T", " ")) for x in api_records])
r = result("playback")
check.ok("playback plays in the browser (currentTime > 2 s, 640x360)", (r.get("currentTime") or 0) > 2 and
         (r.get("width"), r.get("height")) == (640, 360), r)
stream = r.get("stream") or ""
r = result("speed")
st = (gw.api("GET", f"/api/v1/streams/{stream}")[1] or {}).get("playback") or {}
check.eq("speed 4 reached the gateway", st.get("speed"), 4)
r = result("pause")
st = (gw.api("GET", f"/api/v1/streams/{stream}")[1] or {}).get("playback") or {}
check.eq("pause reached the gateway", st.get("paused"), True)
r = result("download")
href = r.get("href") or ""
mp4 = os.path.join(gw.dir, "download.mp4")
if href:
    with open(mp4, "wb") as f:
        f.write(gbtest.http_get_bytes(href if href.startswith("http") else gw.url(href), 64 << 20))
probe = gbtest.ffprobe(mp4) if href else {}
vs = [s for s in (probe or {}).get("streams", []) if s.get("codec_type") == "video"]
check.ok("the downloaded MP4 has H.264 video 640x360", vs and vs[0].get("codec_name") == "h264" and
         (vs[0].get("width"), vs[0].get("height")) == (640, 360), probe)
check.eq("no uncaught exception in the console", results.get("done", {}).get("pageErrors"), [])

sim.send_signal(signal.SIGTERM)
gbtest.sim_result(sim)
check.eq("gbgate exits 0 (no leak under ASan)", gw.stop(), 0)
check.summary([gw])
