"""How a live view session ends, each while a viewer watches: RTP stops for media.rtp_timeout_s (the gateway
BYEs and closes the viewer), the device sends BYE, the device goes offline (keepalives stop), the device
unregisters, and gbgate shuts down (SIGTERM: a BYE to every device before it exits 0). Each time the viewer's
connection is closed by the server and nothing is left in GET /api/v1/streams."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402


def watch(c, gw, dev, label):
    """A viewer on the device's channel 1, playing."""
    v = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(dev.id, 1)}.flv"))
    v.wait_bytes(50000, timeout=20)
    c.eq(f"{label}: the viewer plays", v.status, 200)
    return v


def main():
    gbtest.require_tools("ffmpeg", "gbgate", "gbsim")
    c = gbtest.Check("live_lifecycle")
    gw = gblive.gateway("live_lifecycle", **{"media.rtp_timeout_s": 2, "sip.keepalive_timeout_s": 10,
                                             "stream.idle_close_s": 30, "sip.invite_timeout_s": 20})
    devs = []
    try:
        h264 = gbtest.make_clip("h264", "640x360", gop=25, seconds=6)

        def device(base, *opts, keepalive=5):
            d = gblive.Device(gw, "--media-video", h264, *opts, id_base=base, channels=1, keepalive=keepalive,
                              name=base[-4:])
            devs.append(d)
            return d

        silent = device("34020000001320002001", "--media-stop-after", 2)
        byer = device("34020000001320002101", "--bye-after", 2)
        quiet = device("34020000001320002201", "--keepalive-stop-after", 2, keepalive=1)
        leaver = device("34020000001320002301")
        last = device("34020000001320002401")
        ringing = device("34020000001320002501", "--answer-provisional", "--answer-delay-ms", 60000)
        for d in devs:
            d.wait_online(1)

        # --- RTP timeout
        v = watch(c, gw, silent, "RTP timeout")
        silent.wait_event("media-stopped", 1, timeout=10)
        t = time.monotonic()
        silent.wait_event("bye-received", 1, timeout=10)
        took = time.monotonic() - t
        c.ok("RTP timeout: BYE about media.rtp_timeout_s after the media stopped", 1 <= took <= 6, took)
        c.ok("RTP timeout: the server closed the viewer", v.wait_closed(5))
        c.ok("RTP timeout: nothing left", gblive.wait_no_streams(gw))
        c.ok("RTP timeout: logged", "rtp timeout" in gw.log())

        # --- the device sends BYE
        v = watch(c, gw, byer, "device BYE")
        byer.wait_event("bye-sent", 1, timeout=10)
        c.ok("device BYE: the server closed the viewer", v.wait_closed(5))
        c.ok("device BYE: nothing left", gblive.wait_no_streams(gw))
        c.ok("device BYE: no BYE back to the device", not byer.events("bye-received"))
        c.ok("device BYE: logged with the device and channel", "BYE from the device" in gw.log())

        # --- the device goes offline (its keepalives stop; sip.keepalive_timeout_s = 10)
        v = watch(c, gw, quiet, "offline")
        quiet.wait_event("keepalive-stopped", 1, timeout=10)
        gbtest.wait_until(lambda: not gw.api("GET", f"/api/v1/devices/{quiet.id}")[1]["online"], 20,
                          "the device offline")
        c.ok("offline: the server closed the viewer", v.wait_closed(5))
        c.ok("offline: nothing left", gblive.wait_no_streams(gw))
        c.ok("offline: a BYE was still tried (this device is alive and got it)",
             gblive.eventually(lambda: quiet.events("bye-received"), 5))

        # --- the device unregisters (gbsim exits: REGISTER Expires: 0)
        v = watch(c, gw, leaver, "unregister")
        leaver.stop()
        c.ok("unregister: the server closed the viewer", v.wait_closed(10))
        c.ok("unregister: nothing left", gblive.wait_no_streams(gw))

        # --- shutdown BYEs every session, and ends the ones still ringing (a play call and a viewer waiting on a
        # tcp-active INVITE the device has not answered) without leaking them
        v = watch(c, gw, last, "shutdown")
        answer = {}
        ring_ch = gblive.channel_id(ringing.id, 1)
        t = threading.Thread(target=lambda: answer.update(r=gw.api(
            "POST", f"/api/v1/devices/{ringing.id}/channels/{ring_ch}/play", {"transport": "tcp-active"}, timeout=30)))
        t.start()
        ringing.wait_event("invite", 1, timeout=10)
        parked = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(ringing.id, 1)}.flv"))
        time.sleep(0.5)
        code = gw.stop()
        t.join(10)
        c.ok("shutdown: the waiting play call got an error answer", answer.get("r") and answer["r"][0] >= 400,
             answer)
        c.ok("shutdown: the device still ringing got CANCEL", gblive.eventually(lambda: ringing.events("cancel"), 5))
        parked.wait_closed(5)
        c.eq("shutdown: gbgate exits 0 (no leak under ASan)", code, 0)
        c.ok("shutdown: the device got BYE before gbgate exited", len(last.events("bye-received")) == 1,
             last.events())
        c.ok("shutdown: logged", "shutdown: ending 2 media sessions" in gw.log())
    finally:
        for d in devs:
            d.stop()
        gw.stop()
    c.summary([gw])


if __name__ == "__main__":
    main()
