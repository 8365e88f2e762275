"""Recordings on a device (RecordInfo): gbsim answers with one 30-minute recording at every full hour of the
range, 3 per MESSAGE, last page first; the API lists them complete, with the right count, times, files and
order. Also: a start off the hour and an end inside a recording, the type asked echoed, a device with no
recordings (SumNum 0) -> empty list, a device that never answers -> 504 after sip.query_timeout_s, every
bad parameter -> 400, unknown device/channel -> 404, and the gateway exits 0."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

QUERY_TIMEOUT_S = 2


def records(gw, dev_id, ch, query):
    return gw.api("GET", f"/api/v1/devices/{dev_id}/channels/{ch}/records?{query}")


def main():
    gbtest.require_tools("gbgate", "gbsim")
    c = gbtest.Check("device_records")
    gw = gblive.gateway("device_records", **{"sip.query_timeout_s": QUERY_TIMEOUT_S, "sip.subscribe": ""})
    devs = []
    try:
        nvr = gblive.Device(gw, "--records-per-message", 3, id_base="34020000001320000001", name="nvr")
        empty = gblive.Device(gw, "--records-none", id_base="34020000001320000101", name="empty")
        mute = gblive.Device(gw, "--records-ignore", id_base="34020000001320000201", name="mute")
        devs += [nvr, empty, mute]
        for d in devs:
            d.wait_online(2)
        ch = gblive.channel_id(nvr.id, 1)

        # --- ten recordings over four pages (3+3+3+1), sent last page first
        t0 = time.monotonic()
        status, r = records(gw, nvr.id, ch, "start=2026-01-01T00:00:00&end=2026-01-01T10:00:00")
        c.eq("records: 200", status, 200)
        c.ok("records: answered without waiting for the timeout", time.monotonic() - t0 < QUERY_TIMEOUT_S, t0)
        recs = r.get("records", []) if status == 200 else []
        c.ok("records: device, channel, sum_num 10, complete",
             status == 200 and (r["device"], r["channel"], r["sum_num"], r["complete"], r["truncated"]) ==
             (nvr.id, ch, 10, True, False), r)
        c.eq("records: 10 recordings assembled from 4 pages", len(recs), 10)
        c.eq("records: sorted by start, one per hour",
             [x["start"] for x in recs], [f"2026-01-01T{h:02d}:00:00" for h in range(10)])
        c.eq("records: each 30 minutes long", [x["end"] for x in recs],
             [f"2026-01-01T{h:02d}:30:00" for h in range(10)])
        first = recs[0] if recs else {}
        c.eq("records: fields of the first recording", first,
             {"name": "gbsim-0000", "start": "2026-01-01T00:00:00", "end": "2026-01-01T00:30:00", "type": "time",
              "file_path": "/record/20260101/000000.mp4", "file_size": 30 * 1048576, "secrecy": 0,
              "recorder_id": nvr.id})

        # --- off-hour start (space form), end inside a recording, type echoed
        status, r = records(gw, nvr.id, ch, "start=2026-01-01%2000:30:00&end=2026-01-01T03:15:00&type=alarm")
        recs = r.get("records", []) if status == 200 else []
        c.eq("off-hour range: recordings at 01, 02 and 03 h", [x["start"] for x in recs],
             ["2026-01-01T01:00:00", "2026-01-01T02:00:00", "2026-01-01T03:00:00"])
        c.eq("off-hour range: the last one cut at the end asked", recs[-1]["end"] if recs else None,
             "2026-01-01T03:15:00")
        c.ok("type=alarm: the device's answer says alarm", recs and all(x["type"] == "alarm" for x in recs), recs)
        status, r = records(gw, nvr.id, nvr.id, "start=2026-01-01T00:00:00&end=2026-01-02T00:00:00")
        c.ok("the device's own ID as the channel: 24 recordings of a day",
             status == 200 and r["sum_num"] == 24 and len(r["records"]) == 24, (status, r and r.get("sum_num")))

        # --- none, and no answer at all
        status, r = records(gw, empty.id, gblive.channel_id(empty.id, 1),
                            "start=2026-01-01T00:00:00&end=2026-01-01T10:00:00")
        c.eq("no recordings (SumNum 0): empty complete list", (status, r.get("sum_num"), r.get("complete"),
                                                               r.get("records")), (200, 0, True, []))
        t0 = time.monotonic()
        status, r = records(gw, mute.id, gblive.channel_id(mute.id, 1),
                            "start=2026-01-01T00:00:00&end=2026-01-01T10:00:00")
        waited = time.monotonic() - t0
        c.eq("unanswered query: 504 device_timeout", (status, r.get("code") if isinstance(r, dict) else r),
             (504, "device_timeout"))
        c.ok("unanswered query: after sip.query_timeout_s", QUERY_TIMEOUT_S - 0.2 <= waited <= QUERY_TIMEOUT_S + 2,
             f"{waited:.2f} s")

        # --- bad parameters
        base = "start=2026-01-01T00:00:00&end=2026-01-01T10:00:00"
        bad = [("", "bad_time"), ("start=2026-01-01T00:00:00", "bad_time"),
               ("start=2026-13-01T00:00:00&end=2026-01-01T10:00:00", "bad_time"),
               ("start=yesterday&end=2026-01-01T10:00:00", "bad_time"),
               ("start=2026-01-01T10:00:00&end=2026-01-01T10:00:00", "bad_range"),
               ("start=2026-01-02T00:00:00&end=2026-01-01T10:00:00", "bad_range"),
               (base + "&type=everything", "bad_type")]
        for query, code in bad:
            status, r = records(gw, nvr.id, ch, query)
            c.eq(f"400 {code} for '{query}'", (status, r.get("code") if isinstance(r, dict) else r), (400, code))
        status, r = records(gw, "34020000001320009999", ch, base)
        c.eq("unknown device: 404", (status, r.get("code")), (404, "device_not_found"))
        status, r = records(gw, nvr.id, "34020000001319999999", base)
        c.eq("unknown channel: 404", (status, r.get("code")), (404, "channel_not_found"))

        summary = nvr.stop()
        c.eq("gbsim: RecordInfo queries received", summary.get("records", {}).get("queries"), 3)
        c.eq("gbsim: pages sent (4 + 1 + 8)", summary.get("records", {}).get("messages"), 13)
    finally:
        for d in devs:
            d.stop()
        c.eq("gateway exits 0 on SIGTERM", gw.stop(), 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
