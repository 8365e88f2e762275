"""Live view against the answers real devices give (gbsim device quirk options, GB28181.md section 4): another
SSRC than offered, SSRC 0, a 200 without SDP, bare-LF SDP lines (over TCP active, where the answer's c=/m= are
what the gateway connects to), 100 + 101 before the 200, and a device that rings longer than
sip.invite_timeout_s (the gateway CANCELs: 487). Every playable one plays (ffprobe counts H.264 frames) and
ends with a BYE; the others fail with a clear JSON error and leave nothing behind."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

QUIRKS = [  # name, id_base, gbsim options, transport
    ("other SSRC", "34020000001320000601", ["--answer-ssrc", "123456789"], "udp"),
    ("SSRC 0", "34020000001320000701", ["--answer-ssrc", "0"], "udp"),
    ("200 without SDP", "34020000001320000801", ["--answer-no-sdp"], "udp"),
    ("bare-LF SDP, TCP active", "34020000001320000901", ["--answer-bare-lf"], "tcp-active"),
    ("100 and 101 before the 200", "34020000001320001001", ["--answer-provisional"], "tcp-passive"),
]


def play(gw, dev, body=None):
    return gw.api("POST", f"/api/v1/devices/{dev}/channels/{gblive.channel_id(dev, 1)}/play", body, timeout=20)


def stop(gw, dev):
    return gw.api("DELETE", f"/api/v1/devices/{dev}/channels/{gblive.channel_id(dev, 1)}/play")[0]


def main():
    gbtest.require_tools("ffprobe", "ffmpeg", "gbgate", "gbsim")
    c = gbtest.Check("live_quirks")
    gw = gblive.gateway("live_quirks", **{"sip.invite_timeout_s": 2})
    devs = {}
    try:
        h264 = gbtest.make_clip("h264", "640x360", gop=25, seconds=6)
        for name, base, opts, _ in QUIRKS:
            devs[name] = gblive.Device(gw, "--media-video", h264, *opts, id_base=base, channels=1, name=base[-4:])
        devs["ringing"] = gblive.Device(gw, "--media-video", h264, "--answer-provisional", "--answer-delay-ms",
                                        5000, id_base="34020000001320001101", channels=1, name="ringing")
        for d in devs.values():
            d.wait_online(1)

        for name, base, opts, transport in QUIRKS:
            d = devs[name]
            status, obj = play(gw, d.id, {"transport": transport})
            c.ok(f"{name}: play answers 200", status == 200, (status, obj))
            got = gblive.probe(gw, gblive.stream_id(d.id, 1), seconds=1) if status == 200 else None
            c.ok(f"{name}: H.264 640x360 frames read", got and got[:3] == ("h264", 640, 360) and got[3] >= 10, got)
            inv = d.events("invite")
            c.ok(f"{name}: offered {transport}", inv and inv[-1]["transport"] == transport, inv)
            if "--answer-ssrc" in opts:
                want = f"{int(opts[1]):010d}"
                c.ok(f"{name}: the device sent SSRC {want}, not the offered {obj and obj.get('ssrc')}",
                     inv[-1]["ssrc"] == want and obj and obj["ssrc"] != want, inv[-1])
            c.eq(f"{name}: stop -> 204", stop(gw, d.id), 204)
            d.wait_event("bye-received", 1, timeout=5)
            c.ok(f"{name}: the device got BYE, nothing left", gblive.wait_no_streams(gw))

        # tcp-active needs the answer's c=/m=: a 200 without SDP cannot be connected to
        d = devs["200 without SDP"]
        status, obj = play(gw, d.id, {"transport": "tcp-active"})
        c.ok("200 without SDP over TCP active: 502 bad_answer", status == 502 and obj.get("code") == "bad_answer",
             (status, obj))
        d.wait_event("bye-received", 2, timeout=5)
        c.ok("... the device got BYE, nothing left", gblive.wait_no_streams(gw))

        # a device still ringing when sip.invite_timeout_s passes: 504, and the gateway CANCELs the INVITE
        d = devs["ringing"]
        status, obj = play(gw, d.id)
        c.ok("ringing past the timeout: 504 invite_timeout", status == 504 and obj.get("code") == "invite_timeout",
             (status, obj))
        d.wait_event("cancel", 1, timeout=5)
        c.ok("... the device got CANCEL (and answered 487), never an ACK",
             len(d.events("cancel")) == 1 and not d.events("ack") and not d.events("answer"))
        c.ok("... nothing left", gblive.wait_no_streams(gw))
    finally:
        for d in devs.values():
            d.stop()
        code = gw.stop()
    c.eq("gbgate exits 0 (no leak under ASan)", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
