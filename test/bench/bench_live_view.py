#!/usr/bin/env python3
"""Live view benchmark (issue 5 targets), everything on loopback and bounded in time:

  1. time to first FLV byte: a viewer opens /live/{device}_{channel}.flv of a registered channel that is not
     playing; gbsim answers the INVITE at once and starts its clip on a keyframe, so the time measured is the
     gateway's own (receiver, INVITE, answer, ACK, first keyframe through demux, parked viewer released).
     --trials sequential trials per transport, each on a channel not playing; median / p90 / max.
  2. --burst channels started at once: that many viewers open that many different channels at the same moment;
     every one must get FLV bytes; time to first byte median / max, INVITEs gbsim got, streams in the API.

  test/bench/bench_live_view.py [--build DIR] [--trials N] [--burst N] [--transports udp,tcp-passive,tcp-active]

Use a release build (BUILD defaults to build-bench, made with -DCMAKE_BUILD_TYPE=Release -DGBGATE_SANITIZE=OFF).
Prints one JSON line with every number at the end."""
import argparse
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(values):
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 1), "p90_ms": round(percentile(ms, 90), 1),
            "min_ms": round(min(ms), 1), "max_ms": round(max(ms), 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("GB_BUILD_DIR", "build-bench"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--burst", type=int, default=100)
    ap.add_argument("--transports", default="udp,tcp-passive,tcp-active")
    args = ap.parse_args()
    os.environ["GB_BUILD_DIR"] = os.path.abspath(args.build)
    import gbtest
    import gblive
    gbtest.BUILD = os.environ["GB_BUILD_DIR"]

    transports = args.transports.split(",")
    channels = max(args.trials * len(transports), args.burst)
    base = gbtest.free_port_block(2 * channels + 20)
    gw = gblive.gateway("bench_live", **{"stream.idle_close_s": 1, "log.level": "warn",
                                         "media.rtp_port_range": f"{base}-{base + 2 * channels + 19}",
                                         "stream.first_frame_timeout_s": 20, "sip.invite_timeout_s": 10})
    clip = gbtest.make_clip("h264", "320x180", gop=25, seconds=4, bitrate="300k")
    result = {"trials": args.trials, "burst": args.burst, "cores": os.cpu_count()}
    dev = None
    try:
        dev = gblive.Device(gw, "--media-video", clip, "--quiet", channels=channels, keepalive=30, duration=900,
                            name="bench")
        dev.wait_online(channels, timeout=60)

        # --- 1. time to the first FLV byte, sequential, one fresh channel per trial
        ch = 0
        for transport in transports:
            gw.api("PUT", f"/api/v1/devices/{dev.id}", {"media_transport": transport})
            ttfb = []
            for _ in range(args.trials):
                ch += 1
                v = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(dev.id, ch)}.flv"))
                v.wait_bytes(1, timeout=20)
                ttfb.append(v.first_byte_s)
                v.leave()
            result[f"first_byte_{transport}"] = summary(ttfb)
            print(f"first FLV byte, {transport}: {result[f'first_byte_{transport}']}", flush=True)
        gblive.wait_no_streams(gw, timeout=30)

        # --- 2. a burst of channels at once
        gw.api("PUT", f"/api/v1/devices/{dev.id}", {"media_transport": "udp"})
        invites_before = len(dev.events("invite"))
        start = threading.Event()
        viewers = [None] * args.burst

        def open_one(i):
            start.wait()
            viewers[i] = gblive.Viewer(gw.url(f"/live/{gblive.stream_id(dev.id, i + 1)}.flv"))

        threads = [threading.Thread(target=open_one, args=(i,)) for i in range(args.burst)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        start.set()
        for t in threads:
            t.join()
        deadline = t0 + 30
        while time.monotonic() < deadline and not all(v.bytes >= 20000 for v in viewers):
            time.sleep(0.1)
        playing = sum(1 for v in viewers if v.status == 200 and v.bytes >= 20000)
        streams = gblive.streams(gw) or []
        burst = {"channels": args.burst, "playing": playing, "all_playing_s": round(time.monotonic() - t0, 2),
                 "invites": len(dev.events("invite")) - invites_before,
                 "streams_in_api": len(streams),
                 "streams_with_video": sum(1 for s in streams if s.get("video"))}
        burst.update({"first_byte": summary([v.first_byte_s for v in viewers if v.first_byte_s is not None])})
        result["burst_result"] = burst
        print(f"burst of {args.burst}: {burst}", flush=True)
        for v in viewers:
            v.leave()
        gblive.wait_no_streams(gw, timeout=30)
    finally:
        if dev:
            dev.stop()
        result["gbgate_exit"] = gw.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
