"""gbsim's device side of playback and download, driven without the gateway: this test is the platform. A few
lines of SIP over UDP (stdlib socket) accept gbsim's REGISTER, send INVITE s=Playback / s=Download / s=Play,
ACK, INFO MANSRTSP and BYE, answer the device's MediaStatus MESSAGE, and receive the RTP, reading the PS PTS
of every video frame. Checks: 1x pacing, Scale 4 (PTS advance 4 s per wall second), PAUSE (nothing sent),
resume without a jump, seek to npt=2 (next PTS = 2.000 s exactly, a keyframe), the end of the recording
(MediaStatus 121 with the INVITE's Call-ID, then silence while the dialog stays), refused MANSRTSP bodies
(400), download at a=downloadspeed:4, --playback-end-never, and the JSON summary / --events-log records."""
import json
import os
import random
import re
import socket
import threading
import time

import gbtest
from gbtest import Check

SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000001"
CHANNEL_1 = "34020000001310000001"
CLOCK = 90000


class Sip:
    """A minimal SIP platform on one UDP socket: answers REGISTER/MESSAGE 200 on its own thread, keeps the
    MESSAGE bodies, and hands responses to requests it sent back to the caller."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.device_addr = None
        self.messages = []  # (monotonic time, headers, body) of every MESSAGE
        self.responses = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def parse(data):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        return lines[0], headers, body

    def _reply(self, headers, addr, code=200, reason="OK", extra=""):
        to = headers["to"][0]
        if ";tag=" not in to:
            to += ";tag=plat%06d" % random.randint(0, 999999)
        text = f"SIP/2.0 {code} {reason}\r\n"
        for via in headers.get("via", []):
            text += f"Via: {via}\r\n"
        text += (f"From: {headers['from'][0]}\r\nTo: {to}\r\nCall-ID: {headers['call-id'][0]}\r\n"
                 f"CSeq: {headers['cseq'][0]}\r\n{extra}Content-Length: 0\r\n\r\n")
        self.sock.sendto(text.encode(), addr)

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            first, headers, body = self.parse(data)
            if first.startswith("SIP/2.0"):
                with self.lock:
                    self.responses.append((first, headers, body))
                continue
            method = first.split(" ", 1)[0]
            if method == "REGISTER":
                self.device_addr = addr
                self._reply(headers, addr, extra="Expires: 3600\r\n")
            elif method == "MESSAGE":
                with self.lock:
                    self.messages.append((time.monotonic(), headers, body))
                self._reply(headers, addr)
            elif method != "ACK":
                self._reply(headers, addr)

    def request(self, method, uri, call, cseq, body=b"", ctype=None, to_tag=None, timeout=5):
        """Sends a request in the call's dialog; returns (status code, headers, body) of the final answer."""
        branch = "z9hG4bK%08x" % random.getrandbits(32)
        to = f"<sip:{call['channel']}@3402000000>" + (f";tag={to_tag}" if to_tag else "")
        text = (f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{self.port};rport;branch={branch}\r\n"
                f"From: <sip:{SERVER_ID}@3402000000>;tag={call['tag']}\r\nTo: {to}\r\n"
                f"Call-ID: {call['id']}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
                f"Contact: <sip:{SERVER_ID}@127.0.0.1:{self.port}>\r\n")
        if method == "INVITE":
            text += f"Subject: {call['channel']}:{call['ssrc']},{SERVER_ID}:0\r\n"
        if ctype:
            text += f"Content-Type: {ctype}\r\n"
        data = (text + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        self.sock.sendto(data, self.device_addr)
        if method == "ACK":
            return None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for i, (first, headers, rbody) in enumerate(self.responses):
                    if headers["call-id"][0] == call["id"] and headers["cseq"][0] == f"{cseq} {method}":
                        code = int(first.split(" ")[1])
                        if code >= 200:
                            del self.responses[i]
                            return code, headers, rbody
            time.sleep(0.01)
        return None, {}, b""

    def media_status(self, call_id):
        with self.lock:
            return [(t, b, h) for t, h, b in self.messages
                    if h["call-id"][0] == call_id and b"MediaStatus" in b]

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


class Rtp:
    """Receives one call's RTP; keeps (arrival time, 90 kHz PTS) of every video PES that carries a PTS."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.frames = []
        self.packets = 0
        self.seqs = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                pkt = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            self.packets += 1
            self.seqs.append(int.from_bytes(pkt[2:4], "big"))
            payload = pkt[12:]
            i = payload.find(b"\x00\x00\x01\xe0")
            if i >= 0 and len(payload) >= i + 14 and payload[i + 7] & 0x80:
                p = payload[i + 9:i + 14]
                pts = ((p[0] >> 1) & 7) << 30 | p[1] << 22 | (p[2] >> 1) << 15 | p[3] << 7 | p[4] >> 1
                self.frames.append((now, pts))

    def between(self, t0, t1):
        return [f for f in self.frames if t0 <= f[0] < t1]

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def rate(frames):
    """PTS seconds per wall second over frames [(t, pts)]."""
    if len(frames) < 2 or frames[-1][0] <= frames[0][0]:
        return None
    return (frames[-1][1] - frames[0][1]) / CLOCK / (frames[-1][0] - frames[0][0])


def sdp(kind, rtp_port, ssrc, start, end, speed=None):
    lines = ["v=0", f"o={CHANNEL_1} 0 0 IN IP4 127.0.0.1", f"s={kind}"]
    if kind != "Play":
        lines.append(f"u={CHANNEL_1}:0")
    lines += ["c=IN IP4 127.0.0.1", f"t={start} {end}", f"m=video {rtp_port} RTP/AVP 96 98",
              "a=recvonly", "a=rtpmap:96 PS/90000", "a=rtpmap:98 H264/90000"]
    if speed:
        lines.append(f"a=downloadspeed:{speed}")
    lines.append(f"y={ssrc}")
    return ("\r\n".join(lines) + "\r\n").encode()


def invite(sip, kind, start, end, speed=None):
    rtp = Rtp()
    ssrc = "1200000%03d" % random.randint(0, 999) if kind != "Play" else "0200000001"
    call = {"id": "%016x@plat" % random.getrandbits(64), "tag": "t%08x" % random.getrandbits(32),
            "channel": CHANNEL_1, "ssrc": ssrc, "cseq": 1}
    uri = f"sip:{CHANNEL_1}@127.0.0.1:{sip.device_addr[1]}"
    code, headers, body = sip.request("INVITE", uri, call, 1, sdp(kind, rtp.port, ssrc, start, end, speed),
                                      "APPLICATION/SDP")
    call["code"], call["answer"], call["uri"] = code, body.decode(errors="replace"), uri
    call["to_tag"] = re.search(r";tag=([^;>\s]+)", headers["to"][0]).group(1) if code == 200 else None
    if code == 200:
        sip.request("ACK", uri, call, 1, to_tag=call["to_tag"])
    call["acked"] = time.monotonic()
    return call, rtp


def info(sip, call, body):
    call["cseq"] += 1
    code, _, _ = sip.request("INFO", call["uri"], call, call["cseq"], body.encode(), "Application/MANSRTSP",
                             to_tag=call["to_tag"])
    return code


def bye(sip, call):
    call["cseq"] += 1
    return sip.request("BYE", call["uri"], call, call["cseq"], to_tag=call["to_tag"])[0]


def start_gbsim(sip, clip, log, events, *extra):
    return gbtest.gbsim("device", "--server", f"127.0.0.1:{sip.port}", "--channels", 2, "--id-base", DEVICE_ID,
                        "--keepalive", 30, "--duration", 60, "--media-video", clip, "--events-log", events, *extra,
                        log=log)


def main():
    gbtest.require_tools("ffmpeg", "gbsim")
    c = Check("sim_playback")
    clip = gbtest.make_clip("h264", size="320x240", fps=25, seconds=4, gop=25, bitrate="300k")
    out = os.path.join(gbtest.OUTPUT, "sim_playback")
    os.makedirs(out, exist_ok=True)
    log, events_path = os.path.join(out, "gbsim.log"), os.path.join(out, "events.jsonl")
    sip = Sip()
    proc = start_gbsim(sip, clip, log, events_path, "--record-length", 10)
    expected_media_s = None
    t0 = 1767225600  # 2026-01-01 00:00:00 UTC; the recording asked for is an hour, gbsim has 10 s of it
    try:
        gbtest.wait_until(lambda: sip.device_addr, 10, "gbsim's REGISTER")

        # ---- playback: 1x, Scale 4, pause, resume, seek, end ----
        call, rtp = invite(sip, "Playback", t0, t0 + 3600)
        c.eq("playback INVITE answered 200", call["code"], 200)
        c.ok("answer says s=Playback and echoes t=", "s=Playback" in call["answer"] and
             f"t={t0} {t0 + 3600}" in call["answer"], call["answer"])
        time.sleep(1.5)
        a_end = time.monotonic()
        pts0 = rtp.frames[0][1] if rtp.frames else None
        c.near("1x: PTS advance per wall second", rate(rtp.between(call["acked"] + 0.2, a_end)), 1.0, 0.15)
        c.eq("INFO Scale: 4.0 answered 200", info(sip, call, "PLAY RTSP/1.0\r\nCSeq: 2\r\nScale: 4.0\r\n"), 200)
        b0 = time.monotonic()
        time.sleep(1.2)
        c.near("4x: PTS advance per wall second", rate(rtp.between(b0 + 0.2, time.monotonic())), 4.0, 0.5)
        c.eq("INFO PAUSE answered 200", info(sip, call, "PAUSE RTSP/1.0\r\nCSeq: 3\r\nPauseTime: now\r\n"), 200)
        call["cseq"] -= 1  # the same INFO again, as a UDP retransmission: answered, not obeyed twice
        c.eq("retransmitted PAUSE answered 200", info(sip, call, "PAUSE RTSP/1.0\r\nCSeq: 3\r\nPauseTime: now\r\n"),
             200)
        p0 = time.monotonic()
        time.sleep(1.0)
        paused = rtp.between(p0 + 0.15, time.monotonic())
        c.eq("paused: no video frame for 0.85 s", len(paused), 0)
        before = rtp.frames[-1][1]
        c.eq("INFO PLAY npt=now- (resume) answered 200",
             info(sip, call, "PLAY RTSP/1.0\r\nCSeq: 4\r\nRange: npt=now-\r\n"), 200)
        r0 = time.monotonic()
        time.sleep(0.4)
        resumed = rtp.between(r0, time.monotonic())
        c.ok("resumed: frames again", len(resumed) > 5, f"({len(resumed)} frames)")
        if resumed:
            c.near("resume goes on where it paused (PTS step, s)", (resumed[0][1] - before) / CLOCK, 0.04, 0.045)
        c.eq("garbage INFO refused 400", info(sip, call, "PLAY RTSP/1.0\r\nScale: 2.0\r\n"), 400)
        c.eq("Scale 16 refused 400", info(sip, call, "PLAY RTSP/1.0\r\nCSeq: 5\r\nScale: 16\r\n"), 400)
        s0 = time.monotonic()
        c.eq("INFO PLAY npt=2- (seek) answered 200",
             info(sip, call, "PLAY RTSP/1.0\r\nCSeq: 6\r\nRange: npt=2-\r\n"), 200)
        gbtest.wait_until(lambda: sip.media_status(call["id"]), 6, "MediaStatus after the seek")
        frames = list(rtp.frames)
        jump = next((i for i in range(1, len(frames)) if frames[i][1] < frames[i - 1][1]), None)
        c.ok("seek: the PTS jump back is seen", jump is not None)
        seeked = frames[jump:] if jump else []
        if pts0 is not None and seeked:
            # media sent = the run before the seek + the run after it (a seek is a jump, not media)
            expected_media_s = (frames[jump - 1][1] - pts0 + seeked[-1][1] - seeked[0][1]) / CLOCK
            c.eq("seek: first PTS is recording second 2.000 (a keyframe)", (seeked[0][1] - pts0) / CLOCK, 2.0)
            c.near("after the seek still 4x", rate(seeked[5:]), 4.0, 0.5)
            c.near("last PTS before the end: 10 s - one frame", (seeked[-1][1] - pts0) / CLOCK, 9.96, 0.001)
        ms_time, ms_body, ms_headers = sip.media_status(call["id"])[0]
        c.ok("MediaStatus From: the device's ID with its dialog tag",
             ms_headers["from"][0].startswith(f"<sip:{DEVICE_ID}@") and
             ms_headers["from"][0].endswith(f";tag={call['to_tag']}"), ms_headers["from"])
        c.ok("MediaStatus 121 with the device's ID",
             b"<NotifyType>121</NotifyType>" in ms_body and f"<DeviceID>{DEVICE_ID}</DeviceID>".encode() in ms_body,
             ms_body[:300])
        c.near("MediaStatus about 2 s after the seek (8 s at 4x)", ms_time - s0, 2.0, 0.4)
        n_end = rtp.packets
        time.sleep(0.6)
        c.eq("after the end: no more RTP (dialog kept)", rtp.packets, n_end)
        c.eq("RTP seq contiguous over pause and seek",
             all((b - a) % 65536 == 1 for a, b in zip(rtp.seqs, rtp.seqs[1:])), True)
        c.eq("BYE answered 200", bye(sip, call), 200)
        rtp.close()

        # ---- download at a=downloadspeed:4, 4 s of recording ----
        call, rtp = invite(sip, "Download", t0 + 100, t0 + 104, speed=4)
        c.eq("download INVITE answered 200", call["code"], 200)
        c.ok("answer says s=Download", "s=Download" in call["answer"], call["answer"])
        gbtest.wait_until(lambda: sip.media_status(call["id"]), 5, "MediaStatus of the download")
        f = rtp.frames
        if f:
            c.near("download: 4 s of recording (PTS span)", (f[-1][1] - f[0][1]) / CLOCK, 3.96, 0.001)
            c.near("download: sent in about 1 s", f[-1][0] - f[0][0], 0.99, 0.25)
            c.eq("download: 100 video frames", len(f), 100)
        c.eq("download BYE answered 200", bye(sip, call), 200)
        rtp.close()

        # ---- live view still answered as before ----
        call, rtp = invite(sip, "Play", 0, 0)
        c.ok("live INVITE: 200 with s=Play, t=0 0", call["code"] == 200 and "s=Play\r\n" in call["answer"] and
             "t=0 0" in call["answer"], call["answer"])
        time.sleep(0.5)
        c.eq("live: INFO still answered 200 (ignored)", info(sip, call, "garbage"), 200)
        c.ok("live: media flows", len(rtp.frames) >= 8, f"({len(rtp.frames)} frames)")
        c.eq("live BYE answered 200", bye(sip, call), 200)
        rtp.close()
    finally:
        if proc.poll() is None:
            proc.terminate()
        summary = gbtest.sim_result(proc, 20)

    calls = {x["kind"]: x for x in summary.get("calls", [])}
    c.eq("summary lists the three calls", sorted(calls), ["download", "play", "playback"])
    pb, dl = calls.get("playback", {}), calls.get("download", {})
    c.eq("playback: start/end asked", (pb.get("start"), pb.get("end"), pb.get("length_s")), (t0, t0 + 3600, 10))
    c.eq("playback: speeds, pauses, resumes, seeks", (pb.get("speeds"), pb.get("pauses"), pb.get("resumes"),
                                                      pb.get("seeks")), ([4], 1, 1, [2]))
    c.eq("playback: infos and refused", (pb.get("infos"), pb.get("infos_refused")), (6, 2))
    c.ok("playback: reached the end, one MediaStatus, ended by BYE",
         pb.get("reached_end") and pb.get("media_status_sent") == 1 and pb.get("ended_by") == "bye-received", pb)
    c.near("playback: media seconds sent (= the PTS runs received)", pb.get("media_seconds"), expected_media_s,
           0.001)
    c.near("playback: last position", pb.get("last_position_s"), 9.96, 0.001)
    c.eq("download: speed, MediaStatus, frames", (dl.get("speed"), dl.get("media_status_sent"), dl.get("frames")),
         (4, 1, 100))
    c.near("download: media seconds", dl.get("media_seconds"), 3.96, 0.001)
    c.eq("MediaStatus answered 200 twice", summary.get("media_status_answered"), 2)
    with open(events_path) as fh:
        events = [json.loads(line) for line in fh]
    names = [e["event"] for e in events if e["kind"] == "playback"]
    c.eq("events log: playback sequence",
         [n for n in names if n != "info-refused"],
         ["info", "info", "info", "info", "playback-end", "media-status-sent", "call-end"])
    c.eq("events log: two refused INFOs", names.count("info-refused"), 2)
    c.ok("events log: call-end for every call", sum(e["event"] == "call-end" for e in events) == 3, events[-3:])

    # ---- --playback-end-never: the media stops at the end, no MediaStatus ----
    proc = start_gbsim(sip, clip, log, events_path, "--record-length", 1, "--playback-end-never")
    try:
        sip.device_addr = None
        gbtest.wait_until(lambda: sip.device_addr, 10, "gbsim's REGISTER")
        call, rtp = invite(sip, "Playback", t0, t0 + 3600)
        time.sleep(2.0)
        c.eq("end-never: 1 s of recording sent (25 frames)", len(rtp.frames), 25)
        c.eq("end-never: no MediaStatus", sip.media_status(call["id"]), [])
        c.eq("end-never: BYE answered 200", bye(sip, call), 200)
        rtp.close()
    finally:
        if proc.poll() is None:
            proc.terminate()
        summary = gbtest.sim_result(proc, 20)
        sip.close()
    pb = (summary.get("calls") or [{}])[0]
    c.ok("end-never: reached the end, sent no MediaStatus",
         pb.get("reached_end") is True and pb.get("media_status_sent") == 0, pb)
    if c.failed:
        with open(log, errors="replace") as fh:
            print("--- gbsim log tail ---\n" + fh.read()[-3000:])
    c.summary()


if __name__ == "__main__":
    main()
