"""Helpers of the live view tests (test_live_*.py), on top of gbtest.py: a simulated device whose stderr events
("gbsim: event=invite device=... channel=... call=... key=value...") the test can wait for, the IDs gbsim gives
its channels, an HTTP-FLV viewer that can be held open and left at a chosen moment, and stream listings.
Standard library only."""
import base64
import os
import socket
import subprocess
import threading
import time
import urllib.parse

import gbtest


def channel_id(device_id, n, device_index=0):
    """ID of channel n (1-based) of a gbsim device: its first 10 digits, type 131, serial index*1000+n."""
    return f"{device_id[:10]}131{(device_index * 1000 + n) % 10000000:07d}"


def stream_id(device_id, n=1):
    return f"{device_id}_{channel_id(device_id, n)}"


class Device:
    """One `gbsim device` process (one or more devices) with its own log; events parsed from the log."""

    def __init__(self, gw, *args, id_base="34020000001320000001", count=1, channels=2, transport="udp",
                 keepalive=5, duration=240, name="gbsim"):
        self.gw = gw
        self.id = id_base
        self.log_path = os.path.join(gw.dir, f"{name}-{id_base[-4:]}.log")
        self.proc = gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--transport", transport,
                                 "--count", count, "--channels", channels, "--per-message", 8,
                                 "--id-base", id_base, "--keepalive", keepalive, "--duration", duration,
                                 *args, log=self.log_path)

    def events(self, name=None):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines():
            if not line.startswith("gbsim: event="):
                continue
            fields = dict(kv.split("=", 1) for kv in line[len("gbsim: "):].split() if "=" in kv)
            if name is None or fields.get("event") == name:
                out.append(fields)
        return out

    def wait_event(self, name, count=1, timeout=15):
        return gbtest.wait_until(lambda: len(self.events(name)) >= count and self.events(name), timeout,
                                 f"{count} gbsim event(s) {name}")

    def wait_online(self, channels=2, timeout=20):
        def ok():
            status, d = self.gw.api("GET", f"/api/v1/devices/{self.id}")
            return status == 200 and d["online"] and d["channel_count"] == channels
        gbtest.wait_until(ok, timeout, f"device {self.id} online with {channels} channels")

    def stop(self, timeout=15):
        """SIGTERM (the devices unregister) and the final JSON summary."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return gbtest.sim_result(self.proc, timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return {}

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Viewer:
    """An HTTP-FLV viewer on its own thread: records the status line, the time to the first body byte and the
    bytes read; leave() closes the connection (the viewer goes away); it also notices when the server closes."""

    def __init__(self, url, max_bytes=64 << 20, timeout=30):
        self.url = urllib.parse.urlparse(url)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.status = None
        self.first_byte_s = None
        self.bytes = 0
        self.closed_by_server = False
        self.started = time.monotonic()
        self.sock = None
        self._stop = False
        self.head = b""
        self.error_body = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.sock = socket.create_connection((self.url.hostname, self.url.port), timeout=self.timeout)
            path = self.url.path + (f"?{self.url.query}" if self.url.query else "")
            self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n\r\n".encode())
            buf = b""
            while b"\r\n\r\n" not in buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    self.closed_by_server = True
                    return
                buf += chunk
            head, body = buf.split(b"\r\n\r\n", 1)
            self.head = head
            self.status = int(head.split(b" ", 2)[1])
            if self.status != 200:  # an error: its JSON body, then done (the connection may stay open)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(body) < length:
                    chunk = self.sock.recv(4096)
                    if not chunk:
                        break
                    body += chunk
                self.error_body = body
                return
            if body:
                self.first_byte_s = time.monotonic() - self.started
                self.bytes += len(body)
            while not self._stop and self.bytes < self.max_bytes:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.closed_by_server = True
                    return
                if self.first_byte_s is None:
                    self.first_byte_s = time.monotonic() - self.started
                self.bytes += len(chunk)
        except OSError:
            if not self._stop:
                self.closed_by_server = True

    def wait_bytes(self, n, timeout=15):
        gbtest.wait_until(lambda: self.bytes >= n, timeout, f"{n} FLV bytes (got status {self.status})")

    def leave(self):
        self._stop = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        self.thread.join(5)
        return time.monotonic()

    def wait_closed(self, timeout=15):
        gbtest.wait_until(lambda: not self.thread.is_alive(), timeout, "the server to close the viewer")
        return self.closed_by_server


def ws_flv(gw, sid, nbytes, timeout=20):
    """WS-FLV viewer: (HTTP status line, FLV bytes from the binary frames); closes cleanly after nbytes."""
    c = socket.create_connection(("127.0.0.1", gw.http_port), timeout=timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall((f"GET /live/{sid}.flv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = c.recv(4096)
        if not chunk:
            return None, b""
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0].decode(errors="replace")
    payload = b""
    while len(payload) < nbytes:
        need = 2
        if len(buf) >= 2:
            ln = buf[1] & 0x7F
            hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
            if len(buf) >= hl:
                ln = ln if ln < 126 else int.from_bytes(buf[2:hl], "big")
                need = hl + ln
        if len(buf) < need or need == 2:
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
            continue
        if buf[0] & 0x0F == 2:
            payload += buf[hl:need]
        buf = buf[need:]
    c.sendall(bytes([0x88, 0x82]) + b"\x00\x00\x00\x00" + b"\x03\xe8")  # masked close, code 1000
    c.close()
    return status, payload


def eventually(fn, timeout=10, interval=0.1):
    """True once fn() is truthy within timeout, else False (for checks that must not raise)."""
    try:
        return bool(gbtest.wait_until(fn, timeout, "condition", interval))
    except TimeoutError:
        return False


def streams(gw):
    status, obj = gw.api("GET", "/api/v1/streams")
    return obj["streams"] if status == 200 else None


def wait_no_streams(gw, timeout=10):
    gbtest.wait_until(lambda: streams(gw) == [], timeout, "no stream left")
    return True


def probe(gw, sid, seconds=2, timeout=40):
    """ffprobe on the stream's HTTP-FLV URL: (codec, width, height, frames read) of the video, or None."""
    r = gbtest.ffprobe(gw.url(f"/live/{sid}.flv"), seconds=seconds, timeout=timeout)
    for s in r.get("streams", []):
        if s.get("codec_type") == "video":
            return s.get("codec_name"), s.get("width"), s.get("height"), int(s.get("nb_read_frames") or 0)
    return None


def gateway(name, **overrides):
    settings = {"sip.auth": "off", "stream.idle_close_s": 2, "sip.invite_timeout_s": 3,
                "stream.first_frame_timeout_s": 8}
    settings.update(overrides)
    return gbtest.Gateway(overrides=settings, name=name)
