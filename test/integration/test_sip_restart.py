"""A restart keeps every device and channel (SQLite); devices are offline after it until they talk again: a
keepalive (registration still valid) or a new REGISTER brings them back."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
from test_sip_protocol import RawDevice, keepalive_body  # noqa: E402


def devices(gw):
    status, obj = gw.api("GET", "/api/v1/devices")
    return {d["id"]: d for d in obj["devices"]} if status == 200 else {}


def main():
    c = gbtest.Check("sip_restart")
    gw = gbtest.Gateway(overrides={"sip.auth": "on"}, name="sip_restart")
    ids = ["34020000001320000301", "34020000001320000302"]
    sim = None
    try:
        log = os.path.join(gw.dir, "gbsim.log")
        sim = gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--count", 2, "--channels", 5,
                           "--id-base", ids[0], "--keepalive", 1, "--duration", 60, log=log)
        gbtest.wait_until(lambda: all(devices(gw).get(i, {}).get("channel_count") == 5 for i in ids), 20,
                          "catalogs")
        gw.api("PUT", f"/api/v1/devices/{ids[0]}", {"name": "仓库", "media_transport": "tcp-active"})
        before = devices(gw)
        sim.kill()  # vanishes without unregistering
        sim.wait()
        sim = None

        code = gw.restart()
        c.eq("SIGTERM exit code 0", code, 0)
        after = devices(gw)
        c.eq("both devices kept", sorted(after), ids)
        c.ok("offline after the restart", all(not after[i]["online"] for i in ids), after)
        c.ok("registration state and times kept", all(after[i]["registered"] and
                                                      after[i]["registered_at"] == before[i]["registered_at"]
                                                      for i in ids))
        c.ok("DeviceInfo kept", after[ids[1]]["manufacturer"] == "gbsim" and after[ids[1]]["name"] == "模拟设备2")
        c.ok("API settings kept", after[ids[0]]["name"] == "仓库" and after[ids[0]]["media_transport"] == "tcp-active")
        status, obj = gw.api("GET", f"/api/v1/devices/{ids[1]}/channels")
        c.eq("channels kept with their Chinese names", [ch["name"] for ch in obj["channels"]] if status == 200 else None,
             ["东门摄像机1", "西门摄像机2", "南门摄像机3", "北门摄像机4", "大厅摄像机5"])
        c.eq("channel count kept", after[ids[0]]["channel_count"], 5)

        raw = RawDevice(gw, ids[0])
        c.eq("keepalive from a remembered device after the restart: 200", raw.message(keepalive_body(ids[0])), 200)
        d = devices(gw)[ids[0]]
        c.ok("back online through its keepalive, at its new address",
             d["online"] and d["address"] == f"127.0.0.1:{raw.port}", d)
        raw.close()

        sim = gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--count", 1, "--channels", 5,
                           "--id-base", ids[1], "--keepalive", 1, "--duration", 60, log=log)
        gbtest.wait_until(lambda: devices(gw).get(ids[1], {}).get("online"), 15, "device 2 online")
        c.ok("back online through a new REGISTER", True)
        c.eq("still exactly two devices", sorted(devices(gw)), ids)
    finally:
        if sim and sim.poll() is None:
            sim.kill()
            sim.wait()
        code = gw.stop()
    c.eq("final exit code 0", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
