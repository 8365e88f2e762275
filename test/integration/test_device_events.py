"""Alarms, mobile positions and subscriptions with gbsim: the gateway subscribes to Catalog, Alarm and
MobilePosition as soon as the device is online, refreshes before the (short) expiry, and unsubscribes at
shutdown; the device's catalog NOTIFY adds a channel; its Alarm MESSAGEs are acknowledged and stored with the
values sent (newest first, history bounded by sip.alarm_history), its MobilePosition MESSAGEs and NOTIFYs
stored (bounded per device by sip.position_history) and its last position shown in the device JSON. Filters
and bad parameters of the API; a device that refuses SUBSCRIBE is not retried before the period; the gateway
exits 0."""
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

EXPIRES_S = 4
ALARM_HISTORY = 5
POSITION_HISTORY = 3


def alarms(gw, query=""):
    status, r = gw.api("GET", f"/api/v1/alarms{query}")
    return r["alarms"] if status == 200 else None


def raw_notify(gw, from_id, body):
    """A NOTIFY outside any subscription, from a socket of ours: the status code of the answer."""
    body = body.encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        port = s.getsockname()[1]
        head = (f"NOTIFY sip:34020000002000000001@127.0.0.1:{gw.sip_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK{random.randrange(1 << 40)}\r\n"
                f"From: <sip:{from_id}@3402000000>;tag=raw1\r\nTo: <sip:34020000002000000001@3402000000>\r\n"
                f"Call-ID: raw-{random.randrange(1 << 40)}\r\nCSeq: 20 NOTIFY\r\nMax-Forwards: 70\r\n"
                f"Event: Catalog\r\nContent-Type: Application/MANSCDP+xml\r\nContent-Length: {len(body)}\r\n\r\n")
        s.sendto(head.encode() + body, ("127.0.0.1", gw.sip_port))
        return int(s.recv(4096).split()[1])


def event_time(n):
    return f"2026-01-01T08:{n // 60:02d}:{n % 60:02d}"


def main():
    gbtest.require_tools("gbgate", "gbsim")
    c = gbtest.Check("device_events")
    gw = gblive.gateway("device_events", **{
        "sip.subscribe": "catalog,alarm,position", "sip.subscribe_expires_s": EXPIRES_S,
        "sip.position_interval_s": 1, "sip.alarm_history": ALARM_HISTORY,
        "sip.position_history": POSITION_HISTORY})
    devs = []
    try:
        dev = gblive.Device(gw, "--alarm-every", 0.4, "--position-every", 0.6, "--notify-catalog-add", id_base="34020000001320000001")
        devs.append(dev)
        # --- subscriptions: established, and the catalog NOTIFY adds a third channel
        dev.wait_online(3, timeout=20)
        added = f"{dev.id[:10]}131{9000000 + int(dev.id[13:]) % 1000000:07d}"
        status, chs = gw.api("GET", f"/api/v1/devices/{dev.id}/channels")
        new = [x for x in chs["channels"] if x["id"] == added] if status == 200 else []
        c.ok("catalog NOTIFY (Event ADD) added the channel with its name", new and new[0]["name"] == "新增摄像机" and
             new[0]["online"], chs)
        gbtest.wait_until(lambda: all(s["state"] == "active" for s in
                                      gw.api("GET", f"/api/v1/devices/{dev.id}")[1]["subscriptions"].values()),
                          10, "three active subscriptions")
        d = gw.api("GET", f"/api/v1/devices/{dev.id}")[1]
        subs = d["subscriptions"]
        c.eq("device JSON: catalog, alarm and position subscriptions", sorted(subs), ["alarm", "catalog", "position"])
        c.ok("device JSON: each active with an expiry", all(s["state"] == "active" and s["expires_at"] and
                                                             s["expires_at"].endswith("Z") for s in subs.values()), subs)
        first = {e["kind"] for e in dev.events("subscribe") if e["refresh"] == "0"}
        c.eq("gbsim: one new subscription per kind", sorted(first), ["alarm", "catalog", "position"])
        gbtest.wait_until(lambda: {e["kind"] for e in dev.events("subscribe") if e["refresh"] == "1"} ==
                          {"alarm", "catalog", "position"}, EXPIRES_S + 4, "a refresh of every subscription")
        c.ok("refreshed before the 4 s expiry, in the same dialog (no new subscription)",
             len([e for e in dev.events("subscribe") if e["refresh"] == "0"]) == 3, dev.events("subscribe"))
        c.ok("still active after the refresh", all(s["state"] == "active" for s in gw.api(
            "GET", f"/api/v1/devices/{dev.id}")[1]["subscriptions"].values()))

        # --- alarms: stored with the values sent, acknowledged, bounded
        dev.wait_event("alarm", ALARM_HISTORY + 3, timeout=15)
        time.sleep(0.3)
        got = alarms(gw)
        c.eq("alarm history bounded by sip.alarm_history", len(got or []), ALARM_HISTORY)
        c.ok("newest first", got and [a["id"] for a in got] == sorted((a["id"] for a in got), reverse=True), got)
        a = got[0] if got else {}
        n = int(a.get("description", "gbsim alarm 0").split()[-1])
        c.eq("alarm values as gbsim sent them", {k: a.get(k) for k in ("device", "channel", "priority", "method",
                                                                       "type", "time", "description")},
             {"device": dev.id, "channel": dev.id, "priority": (n - 1) % 4 + 1, "method": 2, "type": 1,
              "time": event_time(n), "description": f"gbsim alarm {n}"})
        c.ok("alarm position and received_at", a.get("longitude") == 117.2 and a.get("latitude") == 31.8 and
             a.get("received_at", "").endswith("Z"), a)
        c.ok("the device got Response Alarm (Result OK) acknowledgements", len(dev.events("alarm-ack")) >= 3)
        c.eq("?limit=2", len(alarms(gw, "?limit=2") or []), 2)
        c.eq("?device= another device: none", alarms(gw, "?device=34020000001320009999"), [])
        c.eq("?device= this device", len(alarms(gw, f"?device={dev.id}") or []), ALARM_HISTORY)
        c.eq("?since= the future: none", alarms(gw, "?since=2099-01-01T00:00:00Z"), [])
        c.eq("?since= the past: all", len(alarms(gw, "?since=2020-01-01T00:00:00Z") or []), ALARM_HISTORY)
        for q, code in (("?limit=0", "bad_limit"), ("?limit=abc", "bad_limit"), ("?since=yesterday", "bad_time"),
                        ("?device=not%20an%20id", "bad_device_id")):
            status, r = gw.api("GET", f"/api/v1/alarms{q}")
            c.eq(f"400 {code} for {q}", (status, r.get("code") if isinstance(r, dict) else r), (400, code))
        newest = got[0]["id"] if got else 0
        status, _ = gw.api("DELETE", "/api/v1/alarms")
        c.eq("DELETE /api/v1/alarms: 204", status, 204)
        c.ok("after DELETE only newer alarms are listed", all(x["id"] > newest for x in alarms(gw) or []))

        # --- catalog NOTIFY outside a subscription: OFF for channel 1, DEL (Hikvision's OperateType) for the added
        ch1 = gblive.channel_id(dev.id, 1)
        body = (f'<?xml version="1.0"?><Notify><CmdType>Catalog</CmdType><SN>52</SN><DeviceID>{dev.id}</DeviceID>'
                f'<SumNum>2</SumNum><DeviceList Num="2"><Item><DeviceID>{ch1}</DeviceID><Event>OFF</Event></Item>'
                f'<Item><DeviceID>{added}</DeviceID><OperateType>DEL</OperateType></Item></DeviceList></Notify>')
        c.eq("catalog NOTIFY from the device: 200", raw_notify(gw, dev.id, body), 200)
        status, chs = gw.api("GET", f"/api/v1/devices/{dev.id}/channels")
        by_id = {x["id"]: x for x in chs["channels"]} if status == 200 else {}
        c.ok("DEL removed the added channel", added not in by_id and len(by_id) == 2, sorted(by_id))
        c.ok("OFF set channel 1 offline", ch1 in by_id and by_id[ch1]["status"] == "OFF" and
             not by_id[ch1]["online"], by_id.get(ch1))
        c.eq("NOTIFY from an unknown device: 481", raw_notify(gw, "34020000001320009999", body), 481)
        c.eq("NOTIFY with a broken body: 400", raw_notify(gw, dev.id, "<Notify><CmdType>Catalog"), 400)

        # --- positions: MESSAGEs every 0.6 s and NOTIFYs every second, bounded per device
        dev.wait_event("position", 4, timeout=10)
        gbtest.wait_until(lambda: len(dev.events("notify")) >= 3, 10, "position NOTIFYs")
        status, r = gw.api("GET", f"/api/v1/devices/{dev.id}/positions")
        pos = r["positions"] if status == 200 else []
        c.eq("position history bounded by sip.position_history", len(pos), POSITION_HISTORY)
        p = pos[0] if pos else {}
        k = int(p.get("time", "2026-01-01T08:00:00")[-2:]) + 60 * int(p.get("time", "2026-01-01T08:00:00")[-5:-3])
        c.ok("position values as gbsim sent them", p.get("channel") == dev.id and abs(p.get("longitude", 0) - (116 + k / 1000)) < 1e-6
             and (p.get("latitude"), p.get("speed"), p.get("direction"), p.get("altitude")) == (39.9, 10.5, 90, 50), p)
        last = gw.api("GET", f"/api/v1/devices/{dev.id}")[1].get("last_position") or {}
        c.ok("device JSON: last_position", last.get("longitude") and last.get("channel") == dev.id, last)
        status, r = gw.api("GET", f"/api/v1/devices/{dev.id}/positions?limit=1")
        c.eq("positions ?limit=1", len(r["positions"]) if status == 200 else None, 1)
        status, r = gw.api("GET", "/api/v1/devices/34020000001320009999/positions")
        c.eq("positions of an unknown device: 404", status, 404)

        # --- per-device setting: PUT "subscribe" overrides sip.subscribe, is stored, and ends what is dropped
        picky_id = "34020000001320000401"
        status, d = gw.api("PUT", f"/api/v1/devices/{picky_id}", {"subscribe": ["alarm"]})
        c.ok("PUT subscribe [alarm] on a new device: 201, shown as the device's own",
             status == 201 and d["subscribe"] == "alarm" and d["subscribe_source"] == "device", (status, d))
        for bad in ({"subscribe": "alarm,weather"}, {"subscribe": 5}, {"subscribe": ["alarm", 3]}):
            status, r = gw.api("PUT", f"/api/v1/devices/{picky_id}", bad)
            c.ok(f"PUT {bad}: 400 bad_subscribe", status == 400 and r["code"] == "bad_subscribe", (status, r))
        picky = gblive.Device(gw, id_base=picky_id, name="picky")
        devs.append(picky)
        picky.wait_online(2)
        gbtest.wait_until(lambda: gw.api("GET", f"/api/v1/devices/{picky_id}")[1]["subscriptions"].get(
            "alarm", {}).get("state") == "active", 10, "the picky device's alarm subscription")
        subs = gw.api("GET", f"/api/v1/devices/{picky_id}")[1]["subscriptions"]
        c.eq("only the device's own kinds are subscribed", sorted(subs), ["alarm"])
        c.eq("gbsim: one subscription, alarm", sorted(e["kind"] for e in picky.events("subscribe")), ["alarm"])
        status, d = gw.api("PUT", f"/api/v1/devices/{picky_id}", {"subscribe": ""})
        c.ok("PUT subscribe \"\": none", status == 200 and d["subscribe"] == "", (status, d))
        gbtest.wait_until(lambda: picky.events("unsubscribe"), 5, "the alarm subscription ended")
        c.eq("the dropped subscription is ended with Expires 0", [e["kind"] for e in picky.events("unsubscribe")],
             ["alarm"])
        status, d = gw.api("PUT", f"/api/v1/devices/{picky_id}", {"subscribe": None})
        c.ok("PUT subscribe null: back to sip.subscribe", status == 200 and d["subscribe_source"] == "config" and
             d["subscribe"] == "catalog,alarm,position", (status, d))

        def picky_subs():
            return gw.api("GET", f"/api/v1/devices/{picky_id}")[1]["subscriptions"]
        try:
            gbtest.wait_until(lambda: sorted(k for k, x in picky_subs().items() if x["state"] == "active") ==
                              ["alarm", "catalog", "position"], 10, "the configured subscriptions")
        except TimeoutError:
            pass
        c.eq("then subscribed to what the config lists", sorted(k for k, x in picky_subs().items()
                                                                  if x["state"] == "active"),
             ["alarm", "catalog", "position"])

        # --- a device that refuses SUBSCRIBE is tried once per period, not every second
        refuser = gblive.Device(gw, "--subscribe-refuse", 489, id_base="34020000001320000301", name="refuser")
        devs.append(refuser)
        refuser.wait_online(2)
        time.sleep(2)
        subs = gw.api("GET", f"/api/v1/devices/{refuser.id}")[1]["subscriptions"]
        c.ok("refused: state and SIP status shown", all(s["state"] == "refused" and s.get("sip_status") == 489
                                                        for s in subs.values()), subs)
        c.eq("refused: one SUBSCRIBE per kind in 2 s", len(refuser.events("subscribe-refused")), 3)

        # --- shutdown: Expires 0 for every active subscription, then exit 0
        code = gw.stop()
        c.eq("gateway exits 0 on SIGTERM", code, 0)
        c.eq("gbsim: the three subscriptions ended by the gateway", sorted(e["kind"] for e in dev.events("unsubscribe")),
             ["alarm", "catalog", "position"])
        ev = dev.stop().get("events", {})
        c.ok("gbsim summary: 3 subscriptions, refreshed, ended; NOTIFYs sent; alarms acknowledged",
             ev.get("subscribes") == 3 and ev.get("refreshes", 0) >= 3 and ev.get("unsubscribes") == 3 and
             ev.get("notifies", 0) >= 4 and ev.get("alarm_acks", 0) >= 3 and ev.get("positions", 0) >= 4, ev)
    finally:
        for d in devs:
            d.stop()
        gw.stop()
    c.summary([gw])


if __name__ == "__main__":
    main()
