"""The play API (POST/DELETE /api/v1/devices/{id}/channels/{ch}/play) and every error of live view, each a JSON
error with the SIP status or the reason, with the SSRC and port released (GET /api/v1/streams shows nothing
left, and more failed plays than the per-stream port range holds still leave it usable):
404 unknown device / channel, 409 offline device, 400 bad transport, 502 refused (486), 504 INVITE timeout
(a device that never answers), 504 no media (a device that answers but sends nothing), and the same errors for
an HTTP-FLV viewer."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402


def play(gw, dev, ch, body=None, timeout=20):
    return gw.api("POST", f"/api/v1/devices/{dev}/channels/{ch}/play", body, timeout=timeout)


def is_error(obj, code):
    return isinstance(obj, dict) and obj.get("code") == code and isinstance(obj.get("error"), str) and obj["error"]


def main():
    gbtest.require_tools("ffprobe", "ffmpeg", "gbgate", "gbsim")
    c = gbtest.Check("live_play_api")
    gw = gblive.gateway("live_play_api", **{"sip.invite_timeout_s": 2, "stream.first_frame_timeout_s": 3})
    devs = []
    try:
        h264 = gbtest.make_clip("h264", "640x360", gop=25, seconds=6)
        dev = gblive.Device(gw, "--media-video", h264, channels=2)
        refuse = gblive.Device(gw, "--answer-refuse", 486, id_base="34020000001320000201", channels=1,
                               name="refuse")
        never = gblive.Device(gw, "--answer-never", id_base="34020000001320000301", channels=1, name="never")
        silent = gblive.Device(gw, id_base="34020000001320000401", channels=1, name="silent")  # no media
        gone = gblive.Device(gw, "--media-video", h264, id_base="34020000001320000501", channels=1, name="gone")
        devs += [dev, refuse, never, silent, gone]
        for d in devs:
            d.wait_online(2 if d is dev else 1)
        ch1 = gblive.channel_id(dev.id, 1)
        sid = gblive.stream_id(dev.id, 1)

        # --- play, join, list, watch, stop
        t0 = time.monotonic()
        status, obj = play(gw, dev.id, ch1, {"transport": "tcp-passive"})
        c.eq("POST play: 200 once the first keyframe is in", status, 200)
        c.ok("POST play: stream, ssrc, port and URLs", obj["stream"] == sid and len(obj["ssrc"]) == 10 and
             obj["port"] > 0 and obj["urls"]["flv"].endswith(f"/live/{sid}.flv") and
             obj["transport"] == "tcp-passive", obj)
        c.ok("POST play: answered within 3 s", time.monotonic() - t0 < 3, time.monotonic() - t0)
        inv = dev.events("invite")
        c.ok("the INVITE offered TCP passive with the SSRC the API shows",
             len(inv) == 1 and inv[0]["transport"] == "tcp-passive" and inv[0]["ssrc"] == obj["ssrc"], inv)
        status2, obj2 = play(gw, dev.id, ch1)
        c.ok("a second play joins the session (same SSRC, no new INVITE)",
             status2 == 200 and obj2["ssrc"] == obj["ssrc"] and len(dev.events("invite")) == 1, obj2)
        st = gblive.streams(gw)
        c.ok("GET /api/v1/streams: the GB stream", len(st) == 1 and st[0]["id"] == sid and st[0]["source"] == "gb"
             and st[0]["transport"] == "tcp-passive" and st[0]["ssrc"] == int(obj["ssrc"]), st)
        got = gblive.probe(gw, sid, seconds=1)
        c.ok("its FLV URL plays", got and got[0] == "h264", got)
        status, _ = gw.api("DELETE", f"/api/v1/devices/{dev.id}/channels/{ch1}/play")
        c.eq("DELETE play: 204", status, 204)
        dev.wait_event("bye-received", 1, timeout=5)
        c.ok("DELETE play: the device got BYE and the stream is gone", gblive.wait_no_streams(gw))
        status, obj = gw.api("DELETE", f"/api/v1/devices/{dev.id}/channels/{ch1}/play")
        c.ok("DELETE play again: 404 not_playing", status == 404 and is_error(obj, "not_playing"), (status, obj))

        # --- DELETE /api/v1/streams/{id} of a GB stream also BYEs
        play(gw, dev.id, ch1)
        status, _ = gw.api("DELETE", f"/api/v1/streams/{sid}")
        c.eq("DELETE /api/v1/streams/{id}: 204", status, 204)
        dev.wait_event("bye-received", 2, timeout=5)
        c.ok("... and the device got BYE", gblive.wait_no_streams(gw))

        # --- errors
        status, obj = play(gw, "34020000001329999999", ch1)
        c.ok("unknown device: 404 device_not_found", status == 404 and is_error(obj, "device_not_found"), obj)
        status, obj = play(gw, dev.id, "34020000001319999999")
        c.ok("unknown channel: 404 channel_not_found", status == 404 and is_error(obj, "channel_not_found"), obj)
        status, obj = play(gw, dev.id, ch1, {"transport": "sctp"})
        c.ok("bad transport: 400 bad_transport", status == 400 and is_error(obj, "bad_transport"), obj)
        status, obj = play(gw, "3402", ch1)
        c.ok("bad device id: 400", status == 400, obj)

        status, obj = play(gw, refuse.id, gblive.channel_id(refuse.id, 1))
        c.ok("refused INVITE: 502 invite_refused with sip_status 486",
             status == 502 and is_error(obj, "invite_refused") and obj.get("sip_status") == 486, obj)
        c.ok("refused: nothing left", gblive.wait_no_streams(gw))

        t0 = time.monotonic()
        status, obj = play(gw, never.id, gblive.channel_id(never.id, 1))
        took = time.monotonic() - t0
        c.ok("no answer: 504 invite_timeout after sip.invite_timeout_s",
             status == 504 and is_error(obj, "invite_timeout") and 1.5 < took < 6, (status, obj, took))
        c.ok("no answer: nothing left", gblive.wait_no_streams(gw))
        c.ok("no answer: the device saw the INVITE", len(never.events("invite")) >= 1)

        t0 = time.monotonic()
        status, obj = play(gw, silent.id, gblive.channel_id(silent.id, 1))
        took = time.monotonic() - t0
        c.ok("answered but no media: 504 no_media", status == 504 and is_error(obj, "no_media") and took < 8,
             (status, obj, took))
        silent.wait_event("bye-received", 1, timeout=5)
        c.ok("no media: the device got BYE, nothing left", gblive.wait_no_streams(gw))

        gone.stop()  # unregisters
        gbtest.wait_until(lambda: not gw.api("GET", f"/api/v1/devices/{gone.id}")[1]["online"], 10, "offline")
        status, obj = play(gw, gone.id, gblive.channel_id(gone.id, 1))
        c.ok("offline device: 409 device_offline", status == 409 and is_error(obj, "device_offline"), obj)

        # --- the same errors for HTTP-FLV viewers (JSON bodies)
        v = gblive.Viewer(gw.url(f"/live/34020000001329999999_{ch1}.flv"))
        v.wait_closed(10)
        c.ok("viewer of an unknown device: 404", v.status == 404, v.status)
        v = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(refuse.id, 1)}.flv"))
        v.wait_closed(10)
        c.ok("viewer of a refusing device: 502", v.status == 502, v.status)
        v = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(never.id, 1)}.flv"))
        v.wait_closed(15)
        c.ok("viewer of a silent device: 504", v.status == 504, v.status)

        # --- ports and SSRCs are released: more failed plays than the 20 per-stream port pairs of the range
        codes = [play(gw, refuse.id, gblive.channel_id(refuse.id, 1))[0] for _ in range(25)]
        c.ok("25 refused plays in a row: all 502", codes == [502] * 25, codes)
        status, obj = play(gw, dev.id, ch1, {"transport": "udp"})
        c.ok("the range is still usable: a play works after them", status == 200, (status, obj))
        gw.api("DELETE", f"/api/v1/devices/{dev.id}/channels/{ch1}/play")
        c.ok("nothing left at the end", gblive.wait_no_streams(gw))
    finally:
        for d in devs:
            d.stop()
        code = gw.stop()
    c.eq("gbgate exits 0 (no leak under ASan)", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
