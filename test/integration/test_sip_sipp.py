"""SIPp (an independent SIP and digest implementation) registers to gbgate with the scenarios in test/sipp/:
digest over UDP and TCP with Date/Expires checked, a keepalive, unregister; and a wrong password refused with
403."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gbtest  # noqa: E402

SCENARIOS = os.path.join(gbtest.SOURCE, "test", "sipp")


def devices(gw):
    status, obj = gw.api("GET", "/api/v1/devices")
    return {d["id"]: d for d in obj["devices"]} if status == 200 else {}


def sipp(gw, scenario, dev_id, password, transport):
    inf = os.path.join(gw.dir, f"users-{dev_id}.csv")
    with open(inf, "w") as f:
        f.write(f"SEQUENTIAL\n{dev_id};34020000002000000001;3402000000\n")
    cmd = ["sipp", "-sf", os.path.join(SCENARIOS, scenario), "-inf", inf, "-au", dev_id, "-ap", password, "-m", "1", "-t", transport,
           "-i", "127.0.0.1", "-p", str(gbtest.free_port()), "-timeout", "30s", "-timeout_error", "-nostdin",
           "-trace_err", "-error_file", os.path.join(gw.dir, f"sipp-{dev_id}-errors.log"),
           f"127.0.0.1:{gw.sip_port}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=gw.dir)


def main():
    if shutil.which("sipp") is None:
        gbtest.skip("sipp not installed (Debian package sip-tester)")
    c = gbtest.Check("sip_sipp")
    gw = gbtest.Gateway(overrides={"sip.auth": "on", "sip.password": "12345678"}, name="sip_sipp")
    try:
        for transport, dev_id in (("u1", "34020000001320000601"), ("t1", "34020000001320000602")):
            p = sipp(gw, "register_digest.xml", dev_id, "12345678", transport)
            try:
                gbtest.wait_until(lambda: devices(gw).get(dev_id, {}).get("online"), 10, "SIPp device online")
                online = True
            except TimeoutError:
                online = False
            c.ok(f"SIPp ({transport}): registered with digest, online in the API", online)
            _, err = p.communicate(timeout=60)
            c.eq(f"SIPp ({transport}): scenario passed (Date/Expires checked, keepalive, unregister)", p.returncode, 0)
            if p.returncode:
                print(err.decode(errors="replace")[-2000:])
            d = devices(gw).get(dev_id, {})
            c.ok(f"SIPp ({transport}): unregistered at the end", d and not d["online"] and not d["registered"], d)
            c.eq(f"SIPp ({transport}): transport", d.get("transport"), "udp" if transport == "u1" else "tcp")
        p = sipp(gw, "register_wrong_password.xml", "34020000001320000603", "wrong", "u1")
        _, err = p.communicate(timeout=60)
        c.eq("SIPp with a wrong password gets 403", p.returncode, 0)
        c.ok("and is not registered", not devices(gw).get("34020000001320000603", {}).get("registered"))
    finally:
        code = gw.stop()
    c.eq("gbgate exits 0", code, 0)
    c.summary([gw])


if __name__ == "__main__":
    main()
