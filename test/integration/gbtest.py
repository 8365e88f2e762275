"""Integration-test harness: starts the real gbgate and gbsim on loopback with free ports, talks to the API,
makes test clips with ffmpeg, reads FLV with ffprobe and our own flvinfo, and reports like
"N passed, M failed" (exit 0 / 1, or 77 = skipped). Standard library only."""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("GB_SOURCE_DIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("GB_BUILD_DIR") or os.path.join(SOURCE, "build")
SHARED = os.environ.get("GB_SHARED_DIR") or os.path.abspath(os.path.join(SOURCE, "..", "shared"))
OUTPUT = os.environ.get("GB_TEST_OUTPUT") or os.path.join(BUILD, "test-output")
CLIPS = os.path.join(OUTPUT, "clips")


def skip(message):
    print(f"SKIP: {message}")
    sys.exit(77)


def shared(relative):
    """Path of a file under ../shared, or None (after printing why) when it is absent."""
    path = os.path.join(SHARED, relative)
    if not os.path.exists(path):
        print(f"SKIP part: {path} not found (../shared is not present here)")
        return None
    return path


def _port_free(port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


# Single ports and port blocks come from separate ranges: a gateway's RTP port drawn inside its own RTP port range
# is a configuration error (it failed CI once: media.rtp_port 53055 in 53054-53093).
SINGLE_PORTS = (42000, 59000)
BLOCK_BASES = (20000, 39000)  # even bases; blocks of up to a few hundred ports stay below SINGLE_PORTS


def free_port(exclude=()):
    """A port free for both TCP and UDP on 127.0.0.1, not in `exclude`."""
    for _ in range(200):
        p = random.randint(*SINGLE_PORTS)
        if p not in exclude and _port_free(p):
            return p
    raise RuntimeError("no free port")


def free_ports(count):
    """`count` different free ports (free_port() twice may draw the same one: nothing is bound in between)."""
    ports = []
    while len(ports) < count:
        ports.append(free_port(exclude=ports))
    return ports


def free_port_block(count):
    """`count` consecutive ports free for TCP and UDP, starting at an even port."""
    for _ in range(200):
        base = random.randint(BLOCK_BASES[0] // 2, BLOCK_BASES[1] // 2) * 2
        if all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no free port block")


def wait_until(fn, timeout=10.0, what="condition", interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # the condition may raise while the system comes up
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


_running = []  # gateways started by this test process


@atexit.register
def _kill_leftover_gateways():
    """A test that ends (or dies) without stopping its gateway must not leave gbgate running after ctest: the
    process would hold its ports and disturb whatever runs next on the machine."""
    for gw in _running:
        if gw.alive():
            print(f"gbtest: {gw.name}: gbgate still running at exit, killed (the test never stopped it)")
            gw.proc.kill()
            gw.proc.wait()


class Gateway:
    """One gbgate process with its own temp dir, SQLite file and free ports."""

    def __init__(self, overrides=None, name="gw", start=True, workers=2):
        os.makedirs(OUTPUT, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"{name}-", dir=OUTPUT)
        self.name = name
        self.http_port, self.sip_port, self.rtmp_port, self.rtp_port = free_ports(4)
        self.range_min = free_port_block(40)
        self.range_max = self.range_min + 39
        self.log_path = os.path.join(self.dir, "gbgate.log")
        self.settings = {
            "http.listen": "127.0.0.1",
            "http.port": str(self.http_port),
            "http.www": os.path.join(SOURCE, "web"),
            "sip.listen": "127.0.0.1",
            "sip.port": str(self.sip_port),
            "rtmp.port": str(self.rtmp_port),
            "media.ip": "127.0.0.1",
            "media.rtp_port": str(self.rtp_port),
            "media.rtp_port_range": f"{self.range_min}-{self.range_max}",
            "media.workers": str(workers),
            "storage.path": os.path.join(self.dir, "gbgate.db"),
            "record.dir": os.path.join(self.dir, "records"),
            "log.level": "debug",
        }
        self.settings.update({k: str(v) for k, v in (overrides or {}).items()})
        self.proc = None
        if start:
            self.start()

    def command(self):
        cmd = [os.path.join(BUILD, "gbgate"), "-c", os.path.join(SOURCE, "etc", "gbgate.conf")]
        for k, v in self.settings.items():
            cmd += ["-o", f"{k}={v}"]
        return cmd

    def start(self, timeout=15):
        self._log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=self._log, env=env)
        if self not in _running:  # restart() starts the same gateway again
            _running.append(self)
        try:
            wait_until(lambda: self.proc.poll() is None and self.api("GET", "/api/v1/health")[0] == 200,
                       timeout, "gbgate health")
        except TimeoutError:
            raise RuntimeError(f"gbgate did not start (exit {self.proc.poll()}):\n{self.log()[-3000:]}")

    def url(self, path, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.http_port}{path}"

    def api(self, method, path, body=None, headers=None, timeout=15):
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        if isinstance(data, str):
            data = data.encode()
        req = urllib.request.Request(self.url(path), data=data, method=method, headers=headers or {})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            obj = json.loads(raw) if raw else None
        except ValueError:
            obj = raw.decode(errors="replace")
        return status, obj

    def metrics(self):
        """/metrics as {'name{labels}': value}."""
        text = http_get_bytes(self.url("/metrics"), 4_000_000).decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def metric_sum(self, name):
        """The sum of a metric over all its label sets (e.g. every worker), 0 when absent."""
        return sum(v for k, v in self.metrics().items() if k == name or k.startswith(name + "{"))

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit code (0 = clean, which under ASan also means no leak)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung"
        self._log.close()
        return self.proc.returncode

    def restart(self):
        code = self.stop()
        self.start()
        return code

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def gbsim(*args, stdout=subprocess.PIPE, log=None):
    """Starts build/gbsim with the given arguments (strings)."""
    cmd = [os.path.join(BUILD, "gbsim")] + [str(a) for a in args]
    err = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen(cmd, stdout=stdout, stderr=err)


def sim_result(proc, timeout=60):
    """Waits for gbsim and returns its final JSON summary line (dict) or {}."""
    out, _ = proc.communicate(timeout=timeout)
    for line in reversed((out or b"").decode(errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return {}


def make_clip(codec="h264", size="640x360", fps=25, seconds=6, gop=25, bitrate="800k"):
    """An Annex-B test clip made with ffmpeg (libx264/libx265), cached across tests."""
    os.makedirs(CLIPS, exist_ok=True)
    ext = "h264" if codec == "h264" else "h265"
    path = os.path.join(CLIPS, f"{codec}_{size}_{fps}_{seconds}_{gop}_{bitrate}.{ext}")
    if os.path.exists(path):
        return path
    enc = ["-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-x264-params", f"keyint={gop}:min-keyint={gop}:scenecut=0"] \
        if codec == "h264" else \
        ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:log-level=error"]
    # tests run in parallel (ctest -j): each process writes its own temp file, the rename is atomic
    tmp = f"{path}.{os.getpid()}.tmp"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
                    "-t", str(seconds), "-pix_fmt", "yuv420p", *enc, "-b:v", bitrate, "-f", ext if ext == "h264" else "hevc", tmp],
                   check=True)
    os.replace(tmp, path)
    return path


def make_g711(seconds=6, law="alaw"):
    os.makedirs(CLIPS, exist_ok=True)
    path = os.path.join(CLIPS, f"tone_{seconds}.{'g711a' if law == 'alaw' else 'g711u'}")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000",
                        "-t", str(seconds), "-ac", "1", "-f", law, tmp], check=True)
        os.replace(tmp, path)
    return path


def ffprobe(url, seconds=None, extra=None, timeout=60):
    """ffprobe -show_streams -count_frames on a URL/file; returns the parsed JSON (or raises)."""
    cmd = ["ffprobe", "-v", "error", "-show_streams", "-count_frames", "-of", "json"]
    if seconds:
        cmd += ["-read_intervals", f"%+{seconds}"]
    cmd += (extra or []) + [url]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"ffprobe failed: {r.stderr.decode(errors='replace')[-500:]}")
    return json.loads(r.stdout)


def flvinfo(source, *args, timeout=60):
    """Our own FLV reader (build/flvinfo): JSON summary of a file or http:// URL."""
    cmd = [os.path.join(BUILD, "flvinfo")] + [str(a) for a in args] + [source]
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    try:
        return json.loads(r.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"flvinfo failed ({r.returncode}): {r.stderr.decode(errors='replace')[-500:]}")


def http_get_bytes(url, max_bytes, timeout=10):
    """Reads up to max_bytes of a (possibly endless) HTTP body."""
    chunks, total = [], 0
    with urllib.request.urlopen(url, timeout=timeout) as r:
        while total < max_bytes:
            b = r.read(min(65536, max_bytes - total))
            if not b:
                break
            chunks.append(b)
            total += len(b)
    return b"".join(chunks)


class Check:
    """Named assertions; summary() prints them and the closing 'N passed, M failed' line and exits."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def ok(self, label, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {label}")
        else:
            self.failed += 1
            print(f"FAIL {label} {detail}")
        return bool(cond)

    def eq(self, label, got, want):
        return self.ok(label, got == want, f"(got {got!r}, want {want!r})")

    def near(self, label, got, want, tolerance):
        return self.ok(label, got is not None and abs(got - want) <= tolerance,
                       f"(got {got!r}, want {want!r} +- {tolerance})")

    def summary(self, gateways=()):
        for gw in gateways:
            if self.failed and gw is not None:
                print(f"--- {gw.name} log tail ---\n{gw.log()[-4000:]}")
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        sys.exit(0 if self.failed == 0 and self.passed > 0 else 1)


CHROMIUM = os.environ.get("GB_CHROMIUM") or "/usr/bin/chromium"


def require_browser():
    """Skips (77) unless Debian's chromium, node, playwright-core and mpegts.js are installed (the browser tests
    never download a browser)."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    if not shutil.which("node"):
        missing.append("node (Debian package nodejs)")
    if not os.path.isdir(os.path.join(SOURCE, "node_modules", "playwright-core")):
        missing.append("node_modules/playwright-core")
    if not os.path.isfile(os.path.join(SOURCE, "web", "vendor", "mpegts.js")):
        missing.append("web/vendor/mpegts.js")
    if missing:
        skip("the browser test needs " + ", ".join(missing) + " (run scripts/install-deps.sh; "
             "the test never downloads a browser)")


def require_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None and not os.path.exists(os.path.join(BUILD, t))]
    if missing:
        skip(f"missing tools: {', '.join(missing)} (run scripts/install-deps.sh)")
