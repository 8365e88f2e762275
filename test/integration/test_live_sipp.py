"""SIPp (sip-tester, an independent SIP implementation) acting as the camera: it registers, answers the
platform's queries and INVITE with its own SSRC (y=0100003190, not the offered one), and plays the RTP of a real
Hikvision camera (../shared/samples/derived/hik_704x576_h264_udp30000.pcap, 704x576 H.264 in PS) with
play_pcap_video to the offered port. The stream plays (flvinfo counts frames, no FLV errors), and the idle
close BYE reaches SIPp, which answers 200. Scenarios: test/sipp/live_device_register.xml + -oocsf
live_device_answer.xml."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402
import gblive  # noqa: E402

SCENARIOS = os.path.join(gbtest.SOURCE, "test", "sipp")
PCAP = "samples/derived/hik_704x576_h264_udp30000.pcap"
DEVICE = "34020000001320003001"


def main():
    if shutil.which("sipp") is None:
        gbtest.skip("sipp not installed (Debian package sip-tester)")
    if os.geteuid() != 0:
        gbtest.skip("SIPp's play_pcap_video sends through a raw socket: run as root")
    pcap = gbtest.shared(PCAP)
    if pcap is None:
        gbtest.skip(f"{PCAP} not present")
    gbtest.require_tools("gbgate", "flvinfo")
    c = gbtest.Check("live_sipp")
    gw = gblive.gateway("live_sipp")
    inf = os.path.join(gw.dir, "device.csv")
    with open(inf, "w") as f:
        f.write(f"SEQUENTIAL\n{DEVICE};34020000002000000001;3402000000\n")
    os.symlink(pcap, os.path.join(gw.dir, os.path.basename(pcap)))  # SIPp reads it from its working directory
    cmd = ["sipp", "-sf", os.path.join(SCENARIOS, "live_device_register.xml"),
           "-oocsf", os.path.join(SCENARIOS, "live_device_answer.xml"), "-inf", inf, "-m", "1", "-t", "u1",
           "-i", "127.0.0.1", "-p", str(gbtest.free_port()), "-mi", "127.0.0.1", "-mp", str(gbtest.free_port()),
           "-timeout", "100s", "-nostdin", "-trace_msg", "-message_file", os.path.join(gw.dir, "sipp-messages.log"),
           f"127.0.0.1:{gw.sip_port}"]
    sipp = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=gw.dir)
    try:
        def online():
            status, d = gw.api("GET", f"/api/v1/devices/{DEVICE}")
            return status == 200 and d["online"]
        c.ok("SIPp registered", gblive.eventually(online, 10))
        sid = f"{DEVICE}_{DEVICE}"  # a single-channel device's own ID as channel
        info = gbtest.flvinfo(gw.url(f"/live/{sid}.flv"), "--max-seconds", 5, timeout=40)
        left = time.monotonic()
        v = info.get("video", {})
        c.ok("the camera's H.264 704x576 plays", (v.get("codec"), v.get("width"), v.get("height")) ==
             ("h264", 704, 576), info)
        c.ok("about 25 frames per second arrive (>= 75 in 5 s)", v.get("frames", 0) >= 75, v)
        c.eq("FLV without errors, starting on a keyframe", (info.get("errors"), info.get("first_tag_key")), (0, True))
        log = gw.log()
        c.ok("the answer's y= (0100003190) was seen and its SSRC accepted on the per-stream port",
             "answered with SSRC 0100003190" in log and "first RTP packet: PT 96 SSRC 100003190" in log)
        c.ok("idle close: BYE answered 200 by SIPp", gblive.eventually(lambda: "BYE answered 200" in gw.log(), 10))
        c.ok("... within stream.idle_close_s (2 s) and a margin", time.monotonic() - left < 2 + 8)
        c.ok("nothing left", gblive.wait_no_streams(gw))
        with open(os.path.join(gw.dir, "sipp-messages.log"), "rb") as f:
            trace = f.read().decode(errors="replace")
        c.ok("SIPp saw the INVITE with Subject and APPLICATION/SDP, then ACK and BYE",
             "Subject: " in trace and "APPLICATION/SDP" in trace and "ACK sip:" in trace and "BYE sip:" in trace)
    finally:
        sipp.terminate()
        try:
            sipp.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            sipp.kill()
            sipp.communicate()
        code = gw.stop()
    c.eq("gbgate exits 0", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
