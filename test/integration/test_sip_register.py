"""gbsim devices register to gbgate over UDP and TCP (digest, and every quirk option), the API lists them with
their DeviceInfo and their channels with the right Chinese names; DeviceStatus on demand, a catalog refresh
through the API, a wrong password refused, and unregistering at exit."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402

NAMES = ["东门摄像机1", "西门摄像机2", "南门摄像机3", "北门摄像机4", "大厅摄像机5", "停车场摄像机6"]


def devices(gw):
    status, obj = gw.api("GET", "/api/v1/devices")
    return {d["id"]: d for d in obj["devices"]} if status == 200 else {}


def channels(gw, dev_id):
    status, obj = gw.api("GET", f"/api/v1/devices/{dev_id}/channels")
    return obj["channels"] if status == 200 else []


def sim(gw, *args, count=2, channels_=6, id_base="34020000001320000001", transport="udp", duration=60, log=None):
    return gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--transport", transport,
                        "--count", count, "--channels", channels_, "--per-message", 4, "--id-base", id_base,
                        "--keepalive", 1, "--duration", duration, *args, log=log)


def wait_catalogs(gw, ids, n, timeout=20):
    def done():
        ds = devices(gw)
        return all(i in ds and ds[i]["online"] and ds[i]["channel_count"] == n for i in ids)
    gbtest.wait_until(done, timeout, f"{len(ids)} devices online with {n} channels")


def main():
    c = gbtest.Check("sip_register")
    gw = gbtest.Gateway(overrides={"sip.auth": "on", "sip.password": "12345678"}, name="sip_register")
    procs = []
    try:
        log = os.path.join(gw.dir, "gbsim.log")
        # --- UDP, plain
        udp = sim(gw, "--password", "12345678", count=3, id_base="34020000001320000001", log=log)
        procs.append(udp)
        udp_ids = [f"340200000013200000{i:02d}" for i in (1, 2, 3)]
        wait_catalogs(gw, udp_ids, 6)
        ds = devices(gw)
        d = ds[udp_ids[0]]
        c.ok("UDP devices registered and online", all(ds[i]["online"] and ds[i]["registered"] for i in udp_ids))
        c.eq("transport udp", d["transport"], "udp")
        c.eq("DeviceInfo: name (GB2312 -> UTF-8)", d["name"], "模拟设备1")
        c.ok("DeviceInfo: manufacturer, model, firmware, reported channels",
             (d["manufacturer"], d["model"], d["firmware"], d["reported_channels"]) == ("gbsim", "SIM-NVR", "V1.0.0", 6),
             d)
        c.ok("times in ISO 8601 UTC", all(d[k] and d[k].endswith("Z") for k in ("registered_at", "expires_at",
                                                                                  "catalog_at")), d)
        chs = channels(gw, udp_ids[0])
        c.eq("6 channels, assembled from 2 MESSAGEs (SumNum 6, 4 per message)", len(chs), 6)
        c.eq("channel names in Chinese", [ch["name"] for ch in chs], NAMES)
        c.ok("channel fields", all(ch["parent_id"] == udp_ids[0] and ch["status"] == "ON" and ch["online"]
                                   and ch["latitude"] == 31.8 for ch in chs), chs[:1])
        c.ok("distinct source ports per device", len({ds[i]["address"] for i in udp_ids}) == 3)

        # --- keepalives arrive (1 s interval)
        first = ds[udp_ids[0]]["keepalive_at"]
        gbtest.wait_until(lambda: devices(gw)[udp_ids[0]]["keepalive_at"] not in (None, first), 5, "keepalive")
        c.ok("keepalive_at advances", True)

        # --- DeviceStatus on demand
        status, obj = gw.api("GET", f"/api/v1/devices/{udp_ids[1]}/status")
        c.ok("GET status: 200 with the device's answer",
             status == 200 and obj["result"] == "OK" and obj["online"] is True and obj["encode"] == "ON", (status, obj))
        status, obj = gw.api("GET", "/api/v1/devices/34020000001320009999/status")
        c.eq("GET status of an unknown device: 404", status, 404)

        # --- catalog refresh through the API
        before = devices(gw)[udp_ids[2]]["catalog_at"]
        time.sleep(1.1)
        status, obj = gw.api("POST", f"/api/v1/devices/{udp_ids[2]}/catalog")
        c.ok("POST catalog: 202", status == 202 and obj["status"] in ("queried", "in_progress"), (status, obj))
        gbtest.wait_until(lambda: devices(gw)[udp_ids[2]]["catalog_at"] != before, 10, "catalog refreshed")
        c.eq("channels still 6 after the refresh", devices(gw)[udp_ids[2]]["channel_count"], 6)

        # --- TCP with every quirk option
        tcp = sim(gw, "--password", "12345678", "--realm-quirk", "--auth-first", "--utf8-under-gb2312",
                  "--no-xml-decl", "--no-qop", count=2, id_base="34020000001320000101", transport="tcp", log=log)
        procs.append(tcp)
        tcp_ids = ["34020000001320000101", "34020000001320000102"]
        wait_catalogs(gw, tcp_ids, 6)
        ds = devices(gw)
        c.ok("TCP devices (realm quirk, Authorization first, no qop) online", all(ds[i]["online"] for i in tcp_ids))
        c.eq("transport tcp", ds[tcp_ids[0]]["transport"], "tcp")
        c.eq("UTF-8 under a GB2312 declaration, no XML declaration: names right",
             [ch["name"] for ch in channels(gw, tcp_ids[1])], NAMES)
        status, obj = gw.api("GET", f"/api/v1/devices/{tcp_ids[0]}/status")
        c.ok("DeviceStatus over TCP: 200", status == 200 and obj["result"] == "OK", (status, obj))

        # --- wrong password
        bad = sim(gw, "--password", "wrong", "--retry", 1, count=1, id_base="34020000001320000201", duration=3, log=log)
        res = gbtest.sim_result(bad, timeout=30)
        c.ok("wrong password: gbsim reports the device failed", res.get("failed") == 1 and res.get("auth_rejected", 0) >= 2,
             res)
        c.ok("wrong password: not registered in the API",
             not devices(gw).get("34020000001320000201", {}).get("registered"))

        # --- PUT then GET, DELETE
        status, obj = gw.api("PUT", f"/api/v1/devices/{udp_ids[0]}", {"name": "一楼NVR"})
        c.ok("PUT name", status == 200 and obj["name"] == "一楼NVR" and obj["device_name"] == "模拟设备1", obj)
        status, obj = gw.api("GET", f"/api/v1/devices/{udp_ids[0]}")
        c.eq("GET one device shows the name", obj.get("name") if status == 200 else None, "一楼NVR")

        # --- unregister at exit
        udp.send_signal(2)
        res = gbtest.sim_result(udp, timeout=20)
        c.ok("gbsim summary: 3 registered, 0 failed, catalogs answered",
             res.get("registered") == 3 and res.get("failed") == 0 and res.get("catalog_devices") == 3, res)
        c.eq("gbsim unregistered its devices at exit", res.get("unregistered"), 3)
        ds = devices(gw)
        c.ok("unregistered devices are offline and not registered",
             all(not ds[i]["online"] and not ds[i]["registered"] for i in udp_ids), [ds[i] for i in udp_ids])
        c.eq("their channels are kept", ds[udp_ids[0]]["channel_count"], 6)

        status, _ = gw.api("DELETE", f"/api/v1/devices/{udp_ids[2]}")
        c.eq("DELETE: 204", status, 204)
        c.eq("DELETE: gone", gw.api("GET", f"/api/v1/devices/{udp_ids[2]}")[0], 404)
        c.eq("DELETE again: 404", gw.api("DELETE", f"/api/v1/devices/{udp_ids[2]}")[0], 404)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        code = gw.stop()
    c.eq("gbgate exits 0", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
