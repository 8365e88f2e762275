"""scripts/bench.sh end to end, small: the harness that docs/PERFORMANCE.md's numbers come from must keep working.

Four streams for six seconds, with the load generators on another CPU than gbgate (-c), on this build (ASan: the
numbers are meaningless, the fields and the joins are not). Checks what a broken harness would get wrong: every
viewer served at the stream's bitrate, every video tag matched to the frame gbsim stamped (a changed tag-log or
stamp-log format, or a shifted timestamp, shows up as unmatched or missing frames), the socket arrival times
present and never later than the reads, the time-to-first-frame viewers, nothing lost, the private memory and
steal time fields, and a table row with as many cells as --table's header."""
import json
import os
import re
import subprocess

import gbtest

gbtest.require_tools("gbgate", "gbsim", "benchview", "ffmpeg", "curl", "taskset")
if os.cpu_count() is None or os.cpu_count() < 2:
    gbtest.skip("bench -c needs two CPUs")
check = gbtest.Check("bench_harness")
STREAMS, SECONDS = 4, 6

env = dict(os.environ, BENCH_BUILD=gbtest.BUILD, BENCH_NOBUILD="1", BENCH_PORT_BASE=str(gbtest.free_port_block(81)))
proc = subprocess.run([os.path.join(gbtest.SOURCE, "scripts", "bench.sh"), "-k", str(STREAMS), "-s", str(SECONDS),
                       "-c"], cwd=gbtest.SOURCE, env=env, capture_output=True, text=True, timeout=180)
lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
check.eq("bench.sh exits 0", proc.returncode, 0)
if not check.eq("one JSON line", len(lines), 1):
    print(proc.stdout[-2000:], proc.stderr[-4000:])
    check.summary()
r = json.loads(lines[0])
print(r["row"])
check.eq("mode names the CPU split", r["mode"], "shared:flv+split")
check.eq("every viewer got 200 OK and data", r["viewers_ok"], STREAMS)
check.ok("viewers at the stream's bitrate (2 Mbit/s clip)", r["viewer_kbps_min"] > 1500, r["viewer_kbps_min"])
frames = STREAMS * 25 * (SECONDS - 1)  # 25 fps over the window, a second of slack
check.ok(f"at least {frames} tags timed", r["latency_frames"] >= frames, r["latency_frames"])
check.eq("every tag matched a stamped frame", r["latency_unmatched"], 0)
check.ok("latency p50 is positive", (r["latency_ms_p50"] or 0) > 0, r["latency_ms_p50"])
check.ok("socket arrival times recorded", r["latency_arrived_ms_p50"] is not None, r)
check.ok("arrival never later than the read (p50, p99)",
         r["latency_arrived_ms_p50"] is not None and r["latency_arrived_ms_p50"] <= r["latency_ms_p50"]
         and r["latency_arrived_ms_p99"] <= r["latency_ms_p99"], (r["latency_arrived_ms_p50"], r["latency_ms_p50"]))
check.eq("time to first frame measured for each joining viewer", r["ttff_viewers"], STREAMS)
check.eq("no RTP lost in the window", r["rtp_lost"], 0)
check.eq("no UDP drops on gbgate's sockets", r["udp_drops"], 0)
check.ok("gbgate CPU measured", r["gbgate_cpu_pct"] > 0, r["gbgate_cpu_pct"])
check.ok("GOP cache bytes sampled", r["gop_peak_mb"] > 0, r["gop_peak_mb"])
check.ok("RSS above the idle process", r["rss_streams_mb"] > 0, r["rss_streams_mb"])
check.ok("steal time of the window measured", r["steal_pct"] is not None and 0 <= r["steal_pct"] <= 100, r)
check.ok("private memory measured, within the RSS", 0 < r["anon_mb"] <= r["rss_mb"], (r["anon_mb"], r["rss_mb"]))
# the markdown row must line up with --table's header (a column added to one and not the other shifts them all)
with open(os.path.join(gbtest.SOURCE, "scripts", "bench.sh")) as f:
    columns = re.search(r'"---\|" \* (\d+)', f.read())
check.ok("--table's separator line found", columns is not None)
check.eq("row has as many cells as the table header", r["row"].count("|") - 1, int(columns.group(1)) if columns else 0)
check.summary()
