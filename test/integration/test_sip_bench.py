"""Benchmark (issue 4 target): N simulated devices (default 1000) register with digest over UDP and report their
catalogs; the time until every device is online with its full catalog in the API is measured and printed.

None may be lost: the test fails when a device is missing, offline or has an incomplete catalog after 60 s.
The 10 s target itself is asserted only with GB_BENCH_STRICT=1 (a sanitizer build on a busy 2-core machine is
slower than the release build the number is quoted for). GB_SIP_BENCH_DEVICES changes N."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402


def main():
    n = int(os.environ.get("GB_SIP_BENCH_DEVICES", "1000"))
    channels = 4
    strict = os.environ.get("GB_BENCH_STRICT") == "1"
    c = gbtest.Check("sip_bench")
    gw = gbtest.Gateway(overrides={"sip.auth": "on", "log.level": "warn"}, name="sip_bench")
    sim = None
    try:
        t0 = time.monotonic()
        sim = gbtest.gbsim("device", "--server", f"127.0.0.1:{gw.sip_port}", "--count", n, "--channels", channels,
                           "--per-message", 2, "--id-base", "34020000001320100001", "--keepalive", 30,
                           "--duration", 90, "--quiet", log=os.path.join(gw.dir, "gbsim.log"))
        done_at = None
        last = (0, 0)
        while time.monotonic() - t0 < 60:
            status, obj = gw.api("GET", "/api/v1/devices")
            if status == 200:
                devs = obj["devices"]
                online = sum(1 for d in devs if d["online"])
                complete = sum(1 for d in devs if d["online"] and d["channel_count"] == channels)
                last = (online, complete)
                if complete == n:
                    done_at = time.monotonic() - t0
                    break
            time.sleep(0.2)
        online, complete = last
        print(f"bench: {n} devices, digest over UDP, {channels} channels each in {channels // 2} MESSAGEs: "
              + (f"all online with complete catalogs after {done_at:.2f} s" if done_at is not None
                 else f"after 60 s {online} online, {complete} with complete catalogs"))
        c.eq("every device online with its whole catalog (none lost)", complete, n)
        if strict:
            c.ok("within 10 s (GB_BENCH_STRICT)", done_at is not None and done_at <= 10.0, done_at)
        sim.send_signal(2)
        res = gbtest.sim_result(sim, timeout=60)
        sim = None
        c.eq("gbsim: no device failed", res.get("failed"), 0)
        print(f"bench: gbsim all_registered_ms={res.get('all_registered_ms')} all_catalogs_ms={res.get('all_catalogs_ms')}")
    finally:
        if sim and sim.poll() is None:
            sim.kill()
            sim.wait()
        code = gw.stop(timeout=60)
    c.eq("gbgate exits 0", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
