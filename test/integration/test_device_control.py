"""Device control end to end with `gbsim device`: every PTZ action, focus/iris, presets and a raw PTZCmd go
through POST .../ptz and the test reads the device's --control-log to check the exact PTZCmd hex it received
(expected values computed here from the GB28181 byte layout, independently of signaling/ptz.c); the preset
list follows a set and a delete; each device command gets the device's Result; ConfigDownload returns the
device's own values; bad bodies get 400, unknown channels 404, a device that never answers 504 within
sip.query_timeout_s, an offline device 409; the counters show in /metrics; gbgate exits 0."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

QUERY_TIMEOUT_S = 2


def ptzcmd(command, data1=0, data2=0, zoom=0, address=1, version=0):
    """GB/T 28181 A.3: A5, version|check nibble, address low, command, data1, data2, zoom<<4|address high,
    checksum = sum of the first 7 bytes mod 256; 16 upper-case hex characters."""
    b = [0xA5, (version << 4) | ((0xA + 0x5 + version) & 0xF), address & 0xFF, command, data1, data2,
         ((zoom & 0xF) << 4) | ((address >> 8) & 0xF)]
    b.append(sum(b) % 256)
    return "".join(f"{x:02X}" for x in b)


def expected_action(action, speed):
    zoom = int(speed * 15 / 255 + 0.5)  # 0-255 onto the 4-bit zoom speed, rounded
    table = {
        "stop": (0x00, 0, 0, 0),
        "up": (0x08, 0, speed, 0), "down": (0x04, 0, speed, 0),
        "left": (0x02, speed, 0, 0), "right": (0x01, speed, 0, 0),
        "upleft": (0x0A, speed, speed, 0), "upright": (0x09, speed, speed, 0),
        "downleft": (0x06, speed, speed, 0), "downright": (0x05, speed, speed, 0),
        "zoomin": (0x10, 0, 0, zoom), "zoomout": (0x20, 0, 0, zoom),
        "focusfar": (0x41, speed, 0, 0), "focusnear": (0x42, speed, 0, 0),  # FI: data1 focus speed
        "irisopen": (0x44, 0, speed, 0), "irisclose": (0x48, 0, speed, 0),  # FI: data2 iris speed
    }
    return ptzcmd(*table[action])


def control_log(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def main():
    gbtest.require_tools("gbgate", "gbsim")
    c = gbtest.Check("device_control")
    gw = gblive.gateway("device_control", **{"sip.query_timeout_s": QUERY_TIMEOUT_S})
    devs = []
    try:
        log_path = os.path.join(gw.dir, "controls.jsonl")
        dev = gblive.Device(gw, "--control-log", log_path, id_base="34020000001320003001", channels=2,
                            name="ctl")
        silent = gblive.Device(gw, "--control-silent", id_base="34020000001320003101", channels=1,
                               name="silent")
        devs += [dev, silent]
        dev.wait_online(2)
        silent.wait_online(1)
        ch1 = gblive.channel_id(dev.id, 1)
        base = f"/api/v1/devices/{dev.id}/channels/{ch1}"

        # --- PTZ: every action at a few speeds, focus/iris, presets, a raw command
        sent = []  # (label, expected hex) in the order sent
        for action, speed in [("up", 128), ("down", 60), ("left", 255), ("right", 1), ("upleft", 64),
                              ("upright", 16), ("downleft", 200), ("downright", 33), ("zoomin", 255),
                              ("zoomout", 128), ("zoomin", 9), ("stop", 0), ("focusnear", 16),
                              ("focusfar", 100), ("irisopen", 200), ("irisclose", 5)]:
            want = expected_action(action, speed)
            status, body = gw.api("POST", f"{base}/ptz", {"action": action, "speed": speed})
            c.eq(f"ptz {action} {speed}: 200", status, 200)
            c.eq(f"ptz {action} {speed}: answers the PTZCmd", body, {"cmd": want, "sent": True})
            sent.append((f"{action} {speed}", want))
        status, body = gw.api("POST", f"{base}/ptz", {"action": "up"})
        c.eq("ptz without speed uses 128", (status, body and body.get("cmd")), (200, expected_action("up", 128)))
        sent.append(("up default", expected_action("up", 128)))
        for op, code, index in [("set", 0x81, 7), ("call", 0x82, 7), ("delete", 0x83, 7), ("call", 0x82, 255)]:
            want = ptzcmd(code, 0, index)
            status, body = gw.api("POST", f"{base}/ptz", {"preset": {"op": op, "index": index}})
            c.eq(f"preset {op} {index}", (status, body), (200, {"cmd": want, "sent": True}))
            sent.append((f"preset {op} {index}", want))
        raw = ptzcmd(0x08, 0, 0x01, address=0x123).lower()  # lower case in, canonical upper case out
        status, body = gw.api("POST", f"{base}/ptz", {"cmd": raw})
        c.eq("raw cmd", (status, body), (200, {"cmd": raw.upper(), "sent": True}))
        sent.append(("raw", raw.upper()))

        gbtest.wait_until(lambda: len([r for r in control_log(log_path) if r["ptzcmd"]]) >= len(sent), 5,
                          "the PTZ commands in the control log")
        got = [r for r in control_log(log_path) if r["ptzcmd"]]
        c.eq("the device got one DeviceControl per PTZ call", len(got), len(sent))
        for (label, want), rec in zip(sent, got):
            c.eq(f"device got {label} as {want}", rec["ptzcmd"], want)
        c.ok("every PTZ went to channel 1 of the device",
             all(r["channel"] == ch1 and r["device"] == dev.id and r["cmdtype"] == "DeviceControl" for r in got))

        # --- presets: 1 and 2 exist; a set adds one, a delete removes it
        def preset_indexes():
            status, body = gw.api("GET", f"{base}/presets")
            return status, [p["index"] for p in (body or {}).get("presets", [])], body
        status, idx, body = preset_indexes()
        c.eq("presets: 200 with the device's list (7 was set then deleted)", (status, idx), (200, [1, 2]))
        c.eq("presets: names as the device sent them", body["presets"][0]["name"], "预置位1")
        gw.api("POST", f"{base}/ptz", {"preset": {"op": "set", "index": 42}})
        status, idx, body = preset_indexes()
        c.eq("presets after set 42", idx, [1, 2, 42])
        c.eq("preset 42 name", body["presets"][-1], {"index": 42, "name": "预置位42"})
        gw.api("POST", f"{base}/ptz", {"preset": {"op": "delete", "index": 1}})
        c.eq("presets after delete 1", preset_indexes()[1], [2, 42])

        # --- device commands and the device's Result
        commands = {"keyframe": "IFameCmd=Send", "teleboot": "TeleBoot=Boot", "record_start": "RecordCmd=Record",
                    "record_stop": "RecordCmd=StopRecord", "guard": "GuardCmd=SetGuard",
                    "unguard": "GuardCmd=ResetGuard", "alarm_reset": "AlarmCmd=ResetAlarm"}
        for name, element in commands.items():
            target = dev.id if name == "teleboot" else ch1  # device-level command on the device ID
            status, body = gw.api("POST", f"/api/v1/devices/{dev.id}/channels/{target}/control", {"command": name})
            c.eq(f"control {name}", (status, body), (200, {"command": name, "result": "OK"}))
            rec = gbtest.wait_until(lambda: [r for r in control_log(log_path) if r["command"] == element], 5,
                                    f"{element} in the control log")
            c.eq(f"control {name}: the device got {element} for {target}", rec[-1]["channel"], target)

        # --- ConfigDownload: the device's own values
        status, body = gw.api("GET", f"/api/v1/devices/{dev.id}/config?type=BasicParam")
        c.eq("config BasicParam: 200", status, 200)
        basic = (body or {}).get("config", {}).get("BasicParam", {})
        c.eq("config BasicParam: type", (body or {}).get("type"), "BasicParam")
        c.eq("config BasicParam: the device's keepalive interval", basic.get("HeartBeatInterval"), "5")
        c.eq("config BasicParam: the device's expiry", basic.get("Expiration"), "3600")
        c.eq("config BasicParam: heartbeat count", basic.get("HeartBeatCount"), "3")
        c.eq("config BasicParam: name", basic.get("Name"), "模拟设备3001")
        status, body = gw.api("GET", f"/api/v1/devices/{dev.id}/config?type=BasicParam/VideoParamOpt")
        c.eq("config two types", (status, sorted((body or {}).get("config", {}))),
             (200, ["BasicParam", "VideoParamOpt"]))
        c.eq("config VideoParamOpt values", body["config"]["VideoParamOpt"],
             {"DownloadSpeed": "1/2/4/8", "Resolution": "5/6"})

        # --- bad requests: 400 with a clear message, nothing sent
        before = len(control_log(log_path))
        bad = [("ptz", {}), ("ptz", {"action": "spin"}), ("ptz", {"action": "up", "speed": 256}),
               ("ptz", {"action": "up", "speed": "fast"}), ("ptz", {"action": "up", "cmd": "A50F0100000000B5"}),
               ("ptz", {"preset": {"op": "set", "index": 0}}), ("ptz", {"preset": {"op": "goto", "index": 1}}),
               ("ptz", {"preset": 3}), ("ptz", {"cmd": "A50F0100000000B6"}), ("ptz", {"cmd": "A50F01"}),
               ("ptz", {"cmd": "B50F0100000000C5"}), ("ptz", "not json"), ("ptz", [1]),
               ("control", {"command": "explode"}), ("control", {}), ("control", "{")]
        for what, body in bad:
            status, answer = gw.api("POST", f"{base}/{what}", body)
            c.ok(f"{what} {body!r}: 400 with error and code",
                 status == 400 and isinstance(answer, dict) and answer.get("error") and answer.get("code"),
                 (status, answer))
        status, answer = gw.api("POST", f"{base}/ptz", {"cmd": "A50F0100000000B6"})
        c.ok("bad checksum: the message says so", "byte 8" in (answer or {}).get("error", ""), answer)
        for q in ["type=Nope", "", "type=BasicParam/", "type=BasicParam//VideoParamOpt"]:
            status, answer = gw.api("GET", f"/api/v1/devices/{dev.id}/config?{q}")
            c.eq(f"config {q!r}: 400", status, 400)
        time.sleep(0.3)
        c.eq("bad requests sent nothing to the device", len(control_log(log_path)), before)

        # --- unknown device or channel: 404
        for method, path, body in [("POST", f"/api/v1/devices/{dev.id}/channels/34020000001310009999/ptz",
                                    {"action": "up"}),
                                   ("GET", f"/api/v1/devices/{dev.id}/channels/34020000001310009999/presets", None),
                                   ("POST", f"/api/v1/devices/{dev.id}/channels/34020000001310009999/control",
                                    {"command": "keyframe"}),
                                   ("POST", f"/api/v1/devices/34020000001329999999/channels/{ch1}/ptz",
                                    {"action": "up"}),
                                   ("GET", "/api/v1/devices/34020000001329999999/config?type=BasicParam", None)]:
            status, answer = gw.api(method, path, body)
            c.eq(f"{method} {path.split('/api/v1/devices/')[1]}: 404", status, 404)

        # --- a device that never answers: 504 after sip.query_timeout_s; PTZ still returns on the 200
        sch = gblive.channel_id(silent.id, 1)
        sbase = f"/api/v1/devices/{silent.id}/channels/{sch}"
        for method, path, body in [("GET", f"{sbase}/presets", None),
                                   ("POST", f"{sbase}/control", {"command": "record_start"}),
                                   ("GET", f"/api/v1/devices/{silent.id}/config?type=BasicParam", None)]:
            t = time.monotonic()
            status, answer = gw.api(method, path, body)
            took = time.monotonic() - t
            c.eq(f"silent device {path.rsplit('/', 1)[1]}: 504", (status, (answer or {}).get("code")),
                 (504, "device_timeout"))
            c.ok(f"silent device {path.rsplit('/', 1)[1]}: within the timeout ({took:.1f} s)",
                 QUERY_TIMEOUT_S - 0.2 <= took <= QUERY_TIMEOUT_S + 2.5, took)
        status, answer = gw.api("POST", f"{sbase}/ptz", {"action": "stop"})
        c.eq("silent device: PTZ returns on the MESSAGE's 200", (status, answer),
             (200, {"cmd": "A50F0100000000B5", "sent": True}))
        status, answer = gw.api("POST", f"{sbase}/control", {"command": "keyframe"})
        c.eq("silent device: keyframe returns on the 200", status, 200)

        # --- counters (/metrics may lag the control thread by a publication interval)
        want_ptz = len(sent) + 3  # + preset set 42, delete 1, the silent device's stop
        try:
            gbtest.wait_until(lambda: (gw.metrics().get("gbgate_sip_ptz_sent_total") or 0) >= want_ptz, 5,
                              "ptz counter")
        except TimeoutError:
            pass
        c.eq("ptz counter", gw.metrics().get("gbgate_sip_ptz_sent_total"), want_ptz)
        c.ok("control failures counted", (gw.metrics().get("gbgate_sip_controls_failed_total") or 0) >= 1)
        c.ok("bad requests counted", (gw.metrics().get("gbgate_api_control_bad_requests_total") or 0) >= len(bad))

        # --- offline: the silent device unregisters -> 409
        silent_summary = silent.stop()
        gbtest.wait_until(lambda: not gw.api("GET", f"/api/v1/devices/{silent.id}")[1]["online"], 10,
                          "the silent device offline")
        status, answer = gw.api("POST", f"{sbase}/ptz", {"action": "up"})
        c.eq("offline device: 409", (status, (answer or {}).get("code")), (409, "device_offline"))
        c.eq("silent gbsim counted what it got", silent_summary.get("controls", {}).get("received"), 5)
        c.eq("silent gbsim answered nothing", silent_summary.get("controls", {}).get("answered"), 0)

        summary = dev.stop()
        lines = len(control_log(log_path))
        c.eq("gbsim summary: every received control was logged", summary.get("controls", {}).get("logged"), lines)
        c.eq("gbsim summary: received", summary.get("controls", {}).get("received"), lines)
        c.eq("gbsim summary: PTZ", summary.get("controls", {}).get("ptz"), len(sent) + 2)
    finally:
        for d in devs:
            d.stop()
        c.eq("gbgate exits 0", gw.stop(), 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
