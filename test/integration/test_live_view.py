"""GB28181 live view end to end, for each media transport: gbsim registers with a channel of H.264 (and one of
H.265 + G.711A), a viewer opens /live/{device}_{channel}.flv, the gateway INVITEs on demand, ffprobe (flvinfo
for H.265) reads frames of the right codec and size, the viewer leaves, and gbsim receives BYE after
stream.idle_close_s; nothing is left in GET /api/v1/streams. Also: two viewers share one INVITE, and a device
registered over SIP/TCP gets its INVITE, ACK and BYE over its own connection."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

IDLE_S = 2


def main():
    gbtest.require_tools("ffprobe", "ffmpeg", "gbgate", "gbsim", "flvinfo")
    c = gbtest.Check("live_view")
    gw = gblive.gateway("live_view", **{"stream.idle_close_s": IDLE_S})
    devs = []
    try:
        h264 = gbtest.make_clip("h264", "640x360", gop=25, seconds=6)
        h265 = gbtest.make_clip("h265", "480x272", gop=25, seconds=4)
        g711 = gbtest.make_g711(seconds=4)
        dev = gblive.Device(gw, "--media-video", h264, "--channel-media", f"2={h265},{g711}", channels=2)
        devs.append(dev)
        dev.wait_online(2)
        sid = gblive.stream_id(dev.id, 1)

        # --- one transport after the other: on-demand start, frames, viewer leaves, BYE after idle_close_s
        for i, transport in enumerate(("udp", "tcp-passive", "tcp-active")):
            status, _ = gw.api("PUT", f"/api/v1/devices/{dev.id}", {"media_transport": transport})
            c.eq(f"{transport}: PUT media_transport", status, 200)
            t0 = time.monotonic()
            got = gblive.probe(gw, sid, seconds=2)
            left = time.monotonic()
            c.ok(f"{transport}: ffprobe reads H.264 640x360 frames", got and got[:3] == ("h264", 640, 360) and
                 got[3] >= 25, got)
            inv = dev.events("invite")
            c.ok(f"{transport}: one INVITE with the offered transport", len(inv) == i + 1 and
                 inv[-1]["transport"] == transport and inv[-1]["channel"] == gblive.channel_id(dev.id, 1), inv)
            c.ok(f"{transport}: the device got the ACK", len(dev.events("ack")) == i + 1)
            c.ok(f"{transport}: on-demand start + 2 s of frames within 10 s", left - t0 < 10, left - t0)
            dev.wait_event("bye-received", i + 1, timeout=IDLE_S + 10)
            bye_after = time.monotonic() - left
            c.ok(f"{transport}: BYE about stream.idle_close_s after the viewer left",
                 IDLE_S - 0.5 <= bye_after <= IDLE_S + 3.5, f"{bye_after:.2f} s")
            c.ok(f"{transport}: the device sent media until the BYE",
                 int(dev.events("bye-received")[-1]["packets"]) > 100)
            c.ok(f"{transport}: nothing left in GET /api/v1/streams", gblive.wait_no_streams(gw))

        # --- channel 2: H.265 + G.711A (ffprobe 5.1 cannot read HEVC in FLV: our flvinfo)
        gw.api("PUT", f"/api/v1/devices/{dev.id}", {"media_transport": "udp"})
        info = gbtest.flvinfo(gw.url(f"/live/{gblive.stream_id(dev.id, 2)}.flv"), "--max-seconds", 3,
                              timeout=40)
        v, a = info.get("video", {}), info.get("audio", {})
        c.ok("channel 2: H.265 480x272 frames", (v.get("codec"), v.get("width"), v.get("height")) ==
             ("h265", 480, 272) and v.get("frames", 0) >= 25, info)
        c.ok("channel 2: audio present (G.711A, or AAC when transcoded)", a.get("codec") in ("g711a", "aac")
             and a.get("frames", 0) > 10, a)
        c.eq("channel 2: FLV without errors, starts on a keyframe", (info.get("errors"), info.get("first_tag_key")),
             (0, True))
        dev.wait_event("bye-received", 4, timeout=IDLE_S + 10)
        gblive.wait_no_streams(gw)

        # --- two viewers at once: one INVITE
        invites = len(dev.events("invite"))
        url = gw.url(f"/live/{sid}.flv")
        v1, v2 = gblive.Viewer(url), gblive.Viewer(url)
        v1.wait_bytes(100000, timeout=20)
        v2.wait_bytes(100000, timeout=20)
        c.eq("two viewers: both HTTP 200", (v1.status, v2.status), (200, 200))
        c.eq("two viewers: one INVITE", len(dev.events("invite")) - invites, 1)
        st = gblive.streams(gw)
        c.ok("two viewers: one stream with 2 viewers, source gb", len(st) == 1 and st[0]["id"] == sid and
             st[0]["source"] == "gb", st)
        gbtest.wait_until(lambda: gblive.streams(gw)[0]["viewers"] == 2, 5, "2 viewers in the stats")
        v1.leave()
        time.sleep(IDLE_S + 1)
        c.eq("one viewer left: no BYE while the other watches", len(dev.events("bye-received")), 4)
        v2.leave()
        c.ok("last viewer left: BYE", gblive.eventually(lambda: len(dev.events("bye-received")) == 5, IDLE_S + 10))
        gblive.wait_no_streams(gw)

        # --- WS-FLV and RTMP viewers start the channel on demand too
        status, flv = gblive.ws_flv(gw, sid, 200000)
        c.ok("WS-FLV: 101 and FLV bytes from a fresh on-demand start", "101" in (status or "") and
             flv[:3] == b"FLV" and len(flv) >= 200000, (status, len(flv)))
        c.ok("WS-FLV: BYE after the viewer left",
             gblive.eventually(lambda: len(dev.events("bye-received")) == 6, IDLE_S + 10))
        gblive.wait_no_streams(gw)
        r = gbtest.ffprobe(f"rtmp://127.0.0.1:{gw.rtmp_port}/live/{sid}", seconds=2, timeout=40)
        vs = [s for s in r.get("streams", []) if s.get("codec_type") == "video"]
        c.ok("RTMP: an on-demand start plays H.264 640x360", vs and (vs[0]["codec_name"], vs[0]["width"]) ==
             ("h264", 640) and int(vs[0].get("nb_read_frames", 0)) >= 25, vs)
        c.ok("RTMP: BYE after the player left",
             gblive.eventually(lambda: len(dev.events("bye-received")) == 7, IDLE_S + 10))
        gblive.wait_no_streams(gw)

        # --- a device registered over SIP/TCP: INVITE/ACK/BYE over its connection, TCP media
        tdev = gblive.Device(gw, "--media-video", h264, id_base="34020000001320000101", transport="tcp",
                             channels=1, name="gbsim-tcp")
        devs.append(tdev)
        tdev.wait_online(1)
        gw.api("PUT", f"/api/v1/devices/{tdev.id}", {"media_transport": "tcp-passive"})
        got = gblive.probe(gw, gblive.stream_id(tdev.id, 1), seconds=2)
        c.ok("SIP over TCP: the stream plays", got and got[:3] == ("h264", 640, 360), got)
        tdev.wait_event("bye-received", 1, timeout=IDLE_S + 10)
        c.ok("SIP over TCP: INVITE, ACK and BYE reached the device",
             (len(tdev.events("invite")), len(tdev.events("ack")), len(tdev.events("bye-received"))) == (1, 1, 1))
        _, d = gw.api("GET", f"/api/v1/devices/{tdev.id}")
        c.eq("SIP over TCP: the device is still registered over TCP", d["transport"], "tcp")
        gblive.wait_no_streams(gw)

        def counted():
            text = gw.api("GET", "/metrics")[1]
            return "gbgate_sip_invites_ok_total 8" in text and "gbgate_sip_bye_sent_total 8" in text
        c.ok("metrics: 8 INVITEs answered, 8 BYEs sent", gblive.eventually(counted, 5))
    finally:
        for d in devs:
            d.stop()
        code = gw.stop()
    c.eq("gbgate exits 0 (no leak under ASan)", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
