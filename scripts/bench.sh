#!/usr/bin/env bash
# Benchmark: K simulated cameras x R Mbit/s of H.264 PS over RTP into gbgate, V viewers per stream, everything
# on loopback and bounded in time. Prints one JSON line per run and a markdown table row (docs/PERFORMANCE.md).
#
#   scripts/bench.sh [-k STREAMS] [-v VIEWERS_PER_STREAM] [-r MBITS] [-s SECONDS] [-m shared|ports|tcp]
#                    [-t flv|ws|rtmp] [-w WORKERS] [-n SENDERS] [-P] [-g] [-o KEY=VALUE]...
#   scripts/bench.sh --table      the issue's scenarios in sequence, then the markdown table of all of them
#
#   -t flv: HTTP-FLV viewers, ws: WS-FLV viewers (both test/tools/benchview), rtmp: RTMP players
#   (test/tools/rtmpview; the first 10 of each process parse every message and report skipped frames as
#   "player_gaps"); -w: media.workers (default: one per core); -n: gbsim processes sharing the K streams (one
#   sender thread may not keep up with 1000 streams); -P: also `perf stat` gbgate over the measuring window;
#   -g: gbsim sends UDP with GSO (--gso: one UDP_SEGMENT send per run of equal-size packets, still one
#   datagram per RTP packet at the gateway), so that the sender fits on the machine at 1000 streams;
#   -o KEY=VALUE: a gbgate setting (repeatable), e.g. -o media.udp_rcvbuf_kb=32768.
#   Environment: BENCH_BUILD (build directory, default build-bench), BENCH_NOBUILD=1 (use the binaries there
#   as they are), BENCH_JSON=FILE (append every JSON line to FILE), BENCH_KEEP=1 (keep the work directory),
#   BENCH_GBGATE_OPTS="-o key=value ..." (extra gbgate settings, as -o does).
#
# CPU is gbgate's own (utime+stime from /proc/PID/stat over the measuring window; 100% = one core); the
# sender (gbsim) and the viewers (benchview) run on the same machine and are reported separately. The load
# average is recorded with every run: other jobs on the machine disturb CPU% and drops, never the counts. So is
# the VM's steal time over the window (steal_pct: the hypervisor running something else on our vCPUs).
#
# Latency: gbsim writes, for the first 200 streams, the wall-clock time each frame's last packet left
# (--stamp-log) and the first viewer process writes the time each video tag was fully read (--tag-log). The
# gateway's FLV timestamp is (DTS - first DTS) / 90 and gbsim's PS DTS is its RTP timestamp, so each tag maps
# to exactly one sent frame: latency = read time - send time, p50/p99 over the measuring window. The viewer
# also records when the kernel queued the data on its socket (SO_TIMESTAMPNS): "arrived" latency leaves out the
# reader's own scheduling delay, so a tail can be told apart: the gateway's or the co-located reader's.
# Time to first frame: after the window, 20 fresh viewers join running streams one every 50 ms; connect() to
# the first complete video picture tag (the GOP cache's keyframe), p50/p99/max.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --table ]; then
  out=$(mktemp /tmp/gbgate-bench-table.XXXXXX)
  scenarios=(
    "-k 200 -v 1 -m shared"         # the issue's headline: < 20% of one core, no loss, latency p99 < 5 ms
    "-k 200 -v 0 -m shared"
    "-k 20 -v 10 -m shared"
    "-k 200 -v 1 -m shared -t ws"
    "-k 200 -v 1 -m ports"
    "-k 200 -v 1 -m tcp"
    # 1000 cameras: the senders use GSO to fit on the two cores (-g), the sockets get 32 MiB (-o)
    "-k 1000 -v 1 -m shared -n 2 -s 30 -g -o media.udp_rcvbuf_kb=32768"
    "-k 1000 -v 0 -m shared -n 2 -g -o media.udp_rcvbuf_kb=32768" # ingest alone
    "-k 1000 -v 1 -m tcp -n 2 -s 30"                               # over TCP: no sender trick needed
    "-k 200 -v 1 -m shared -g" # the headline with the GSO sender: what -g changes at the gateway
  )
  for sc in "${scenarios[@]}"; do
    # shellcheck disable=SC2086
    BENCH_JSON=$out "$0" $sc | tail -1 >&2 || echo "bench: scenario '$sc' failed" >&2
    export BENCH_NOBUILD=1 # built once
  done
  python3 - "$out" <<'PY'
import json, sys
print("| streams | viewers/stream | Mbit/s | mode | gbgate CPU % | µs/packet | ctx sw/s | RSS MB | anon MB | above idle MB "
      "| GOP peak MB | memory target MB | UDP drops | RTP lost window / since start | input kbps | viewers ok "
      "| viewer kbps min/avg | latency p50/p99 ms (arrived p99) | TTFF p50/max ms | gbsim CPU % | viewers CPU % | load avg |")
print("|" + "---|" * 22)
for line in open(sys.argv[1]):
    print(json.loads(line)["row"])
PY
  rm -f "$out"
  exit 0
fi

K=200 V=1 R=2 S=20 MODE=shared WARM=5 PROTO=flv WORKERS=0 SENDERS=1 PERF=0 GSO=() SPLIT=0
read -r -a GW_OPTS <<<"${BENCH_GBGATE_OPTS:-}"
while getopts "k:v:r:s:m:t:w:n:Pgco:" o; do
  case $o in k) K=$OPTARG ;; v) V=$OPTARG ;; r) R=$OPTARG ;; s) S=$OPTARG ;; m) MODE=$OPTARG ;;
    t) PROTO=$OPTARG ;; w) WORKERS=$OPTARG ;; n) SENDERS=$OPTARG ;; P) PERF=1 ;; g) GSO=(--gso) ;; c) SPLIT=1 ;;
    o) GW_OPTS+=(-o "$OPTARG") ;;
    *) exit 2 ;; esac
done

B=${BENCH_BUILD:-build-bench} # another build directory: BENCH_BUILD=build-x scripts/bench.sh ...
if [ "${BENCH_NOBUILD:-0}" != 1 ]; then
  scripts/install-deps.sh >/dev/null
  cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DGBGATE_SANITIZE=OFF -DGBGATE_TESTS=OFF >/dev/null
  cmake --build $B --target gbgate gbsim benchview rtmpview >/dev/null
fi

work=$(mktemp -d /tmp/gbgate-bench.XXXXXX)
keep=${BENCH_KEEP:-0} # BENCH_KEEP=1: keep the work directory (logs, stamps, tag times) for a closer look
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [ "$keep" = 1 ] && echo "bench: kept $work" >&2 || rm -rf "$work"' EXIT
clip=$B/bench_${R}M.h264
if [ ! -f "$clip" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 20 -pix_fmt yuv420p -c:v libx264 \
    -preset veryfast -b:v ${R}M -maxrate ${R}M -bufsize ${R}M -x264-params keyint=50:min-keyint=50:scenecut=0 \
    -bf 0 -f h264 "$clip"
fi

# -c: gbgate alone on the last CPU, the senders and viewers on the others, so the load generators never hold the
# CPU a woken worker needs (on one shared 2-core machine they do: the latency tail, docs/PERFORMANCE.md)
GW_CPU=() GEN_CPU=()
if [ "$SPLIT" = 1 ]; then
  ncpu=$(nproc)
  [ "$ncpu" -ge 2 ] || { echo "bench: -c needs at least 2 CPUs" >&2; exit 2; }
  GW_CPU=(taskset -c $((ncpu - 1))) GEN_CPU=(taskset -c 0-$((ncpu - 2)))
fi

loadavg() { cut -d' ' -f1 /proc/loadavg; }
# Steal: time the hypervisor ran something else while this VM's vCPUs wanted to run ("cpu" line of /proc/stat,
# all CPUs): "user nice system idle iowait irq softirq steal" -> "steal total"
steal_ticks() { awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
load0=$(loadavg)
# BENCH_PORT_BASE: where gbgate's ports start (RTP, RTMP +35, HTTP +80, per-stream RTP ports +2000 on)
PB=${BENCH_PORT_BASE:-18400}
HTTP=$((PB + 80)) RTP=$PB RTMPP=$((PB + 35)) RANGE_MIN=$((PB + 2000)) RANGE_MAX=$((PB + 2000 + 2 * K + 10))
"${GW_CPU[@]}" $B/gbgate -c etc/gbgate.conf "${GW_OPTS[@]}" -o sip.enabled=off -o http.port=$HTTP -o media.rtp_port=$RTP \
  -o rtmp.port=$RTMPP -o media.workers=$WORKERS -o stream.max_viewers=100000 \
  -o media.rtp_port_range=$RANGE_MIN-$RANGE_MAX -o log.level=warn -o media.rtp_timeout_s=30 \
  -o storage.path=$work/gb.db 2>"$work/gbgate.log" &
GW=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$HTTP/api/v1/health >/dev/null && break; sleep 0.1; done
# the idle process (libraries, SQLite, threads, receive buffers) before any stream: the memory target is
# about what streams cost, so it is also compared with RSS above this baseline
rss_idle_kb=$(awk '/VmRSS/ {print $2}' /proc/$GW/status)

SSRC0=300000000
for i in $(seq 0 $((K - 1))); do
  case $MODE in
    shared) body="{\"id\":\"bench$i\",\"ssrc\":$((SSRC0 + i))}" ;;
    ports) body="{\"id\":\"bench$i\",\"port\":$((RANGE_MIN + 2 * i))}" ;;
    tcp) body="{\"id\":\"bench$i\",\"transport\":\"tcp-passive\",\"ssrc\":$((SSRC0 + i))}" ;;
  esac
  echo "$body"
done | xargs -d '\n' -P 4 -I{} curl -sf -XPOST http://127.0.0.1:$HTTP/api/v1/streams -d {} >/dev/null

case $MODE in
  shared) step=0 transport=udp ;;
  ports) step=2 transport=udp ;;
  tcp) step=0 transport=tcp ;;
esac
# -n senders: sender j sends streams [j*K/n, (j+1)*K/n); only the first writes the latency stamps
sims=()
for j in $(seq 0 $((SENDERS - 1))); do
  first=$((j * K / SENDERS)) count=$(((j + 1) * K / SENDERS - j * K / SENDERS))
  port=$([ "$MODE" = ports ] && echo $((RANGE_MIN + 2 * first)) || echo $RTP)
  stamp=()
  [ "$j" = 0 ] && stamp=(--stamp-log "$work/stamps.txt" --stamp-streams $((count < 200 ? count : 200)))
  "${GEN_CPU[@]}" $B/gbsim send --video "$clip" --fps 25 --loop --start-spread 2 --streams "$count" --ssrc $((SSRC0 + first)) \
    --port-step $step --transport $transport --to "127.0.0.1:$port" --duration $((S + WARM + 15)) "${stamp[@]}" "${GSO[@]}" \
    >"$work/sim$j.json" 2>"$work/sim$j.log" &
  sims+=($!)
done
sleep 3 # every stream has its first keyframe in the GOP cache
viewers=()
if [ "$V" -gt 0 ] && [ "$PROTO" = rtmp ] && [ "$V" -ge "$K" ]; then
  for i in $(seq 0 $((K - 1))); do # one process per stream, V players each
    "${GEN_CPU[@]}" $B/rtmpview --port $RTMPP --stream bench$i --count "$V" --seconds $((S + WARM)) --warmup $WARM \
      >"$work/view$i.json" &
    viewers+=($!)
  done
elif [ "$V" -gt 0 ] && [ "$PROTO" = rtmp ]; then
  for v in $(seq 1 "$V"); do # one process per viewer index, one player per stream
    "${GEN_CPU[@]}" $B/rtmpview --port $RTMPP --prefix bench --first 0 --count "$K" --seconds $((S + WARM)) --warmup $WARM \
      >"$work/view$v.json" &
    viewers+=($!)
  done
elif [ "$V" -gt 0 ]; then
  for v in $(seq 1 "$V"); do
    extra=()
    [ "$PROTO" = ws ] && extra+=(--ws)
    [ "$v" = 1 ] && extra+=(--tag-log "$work/tags.txt")
    "${GEN_CPU[@]}" $B/benchview --port $HTTP --prefix /live/bench --first 0 --count "$K" --seconds $((S + WARM)) \
      --warmup $WARM "${extra[@]}" >"$work/view$v.json" &
    viewers+=($!)
  done
fi

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
cpu_ticks_all() { local t=0; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
# context switches of every gbgate thread (voluntary + involuntary): each one is a wakeup or a preemption
ctx_switches() { cat /proc/$GW/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
# drops of gbgate's own RTP sockets only (the shared port and the per-stream range), from /proc/net/udp
udp_errs() {
  python3 -c 'import sys
lo, hi, rtp = map(int, sys.argv[1:4]); d = 0
for f in ("/proc/net/udp", "/proc/net/udp6"):
    for line in open(f).readlines()[1:]:
        x = line.split(); p = int(x[1].split(":")[1], 16)
        if p == rtp or lo <= p <= hi: d += int(x[-1])
print(d)' $RANGE_MIN $RANGE_MAX $RTP
}
# RTP packets taken in by all streams (UDP or TCP; published by the workers every 500 ms)
packets() { curl -sf http://127.0.0.1:$HTTP/metrics | awk '/^gbgate_stream_packets_total/ {s += $2} END {print s + 0}'; }
sleep $WARM
t0=$(cpu_ticks $GW) s0=$(cpu_ticks_all "${sims[@]}") e0=$(udp_errs) x0=$(ctx_switches) p0=$(packets)
st0=$(steal_ticks)
w0=$(date +%s.%N)
curl -sf http://127.0.0.1:$HTTP/api/v1/streams >"$work/streams0.json" # loss in the window = end - start
# GOP-cache bytes every 2 s of the window: RSS is a high-water mark, so it is compared with the peak too
(while sleep 2; do curl -sf http://127.0.0.1:$HTTP/metrics | awk '/^gbgate_gop_cache_bytes / {print $2}'; done \
  >"$work/gop.txt") &
gop_sampler=$!
if [ "$PERF" = 1 ]; then
  perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p $GW -- sleep "$S" 2>"$work/perf.txt"
else
  sleep "$S"
fi
kill $gop_sampler 2>/dev/null || true
t1=$(cpu_ticks $GW) s1=$(cpu_ticks_all "${sims[@]}") e1=$(udp_errs) x1=$(ctx_switches) p1=$(packets)
st1=$(steal_ticks)
w1=$(date +%s.%N)
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$GW/status)
cp /proc/$GW/smaps_rollup "$work/smaps_rollup.txt" 2>/dev/null || true
cp /proc/$GW/smaps "$work/smaps.txt" 2>/dev/null || true
anon_kb=$(awk '/^Anonymous:/ {print $2}' "$work/smaps_rollup.txt" 2>/dev/null || echo 0)
curl -sf http://127.0.0.1:$HTTP/api/v1/streams >"$work/streams.json"
curl -sf http://127.0.0.1:$HTTP/metrics >"$work/metrics.txt"
for p in "${viewers[@]}"; do wait "$p" || true; done
# time to first frame: fresh viewers joining running streams (after the window, so they do not disturb it)
join=$((K < 20 ? K : 20))
"${GEN_CPU[@]}" $B/benchview --port $HTTP --prefix /live/bench --first 0 --count $join --stagger 50 --seconds 2.5 --warmup 1.5 \
  $([ "$PROTO" = ws ] && echo --ws) >"$work/join.json" || true
load1=$(loadavg)
kill -TERM $GW; wait $GW || true
for p in "${sims[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" || true; done
[ "$PERF" = 1 ] && grep -E "task-clock|context-switches|cpu-migrations|page-faults" "$work/perf.txt" >&2

python3 - "$K" "$V" "$R" "$MODE:$PROTO${GSO:++gso}$([ "$SPLIT" = 1 ] && echo +split)" "$t0" "$t1" "$s0" "$s1" "$w0" "$w1" "$(getconf CLK_TCK)" "$rss_kb" \
  "$e0" "$e1" "$work" "$x0" "$x1" "$p0" "$p1" "$load0" "$load1" "$SENDERS" "$rss_idle_kb" "${anon_kb:-0}" "$st0" "$st1" <<'PY' | tee -a "${BENCH_JSON:-/dev/null}"
import json, sys, glob, os
K, V, R, mode = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t0, t1, s0, s1 = map(int, sys.argv[5:9]); w0, w1 = float(sys.argv[9]), float(sys.argv[10])
hz, rss_kb, e0, e1, work = int(sys.argv[11]), int(sys.argv[12]), int(sys.argv[13]), int(sys.argv[14]), sys.argv[15]
x0, x1, p0, p1 = map(int, sys.argv[16:20]); load0, load1, senders = sys.argv[20], sys.argv[21], int(sys.argv[22])
rss_idle_kb, anon_kb = int(sys.argv[23]), int(sys.argv[24] or 0)
st0, st1 = sys.argv[25], sys.argv[26]
wall = w1 - w0


def steal_pct(a, b):
    """steal over all CPUs' time in the window, percent (the ticks of /proc/stat's "cpu" line)"""
    (sa, ta), (sb, tb) = map(int, a.split()), map(int, b.split())
    return round(100 * (sb - sa) / (tb - ta), 2) if tb > ta else None


streams = json.load(open(work + "/streams.json"))["streams"]
try:
    streams0 = json.load(open(work + "/streams0.json"))["streams"]
except (OSError, ValueError, KeyError):
    streams0 = []
views = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(work + "/view*.json"))]
try:
    join = json.loads(open(work + "/join.json").read().strip().splitlines()[-1])
except (OSError, IndexError, ValueError):
    join = {}
gop_bytes = heap_free = 0
for line in open(work + "/metrics.txt"):
    if line.startswith("gbgate_gop_cache_bytes "):
        gop_bytes = int(float(line.split()[1]))
    elif line.startswith('gbgate_malloc_bytes{state="free"} '):  # free inside the C heap's arenas
        heap_free = int(float(line.split()[1]))

gop_peak = gop_bytes
if os.path.exists(work + "/gop.txt"):
    for line in open(work + "/gop.txt"):
        try:
            gop_peak = max(gop_peak, int(float(line)))
        except ValueError:
            pass

def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else None

# latency: (stream, FLV ms) -> the send time of the frame whose DTS is first DTS + 90 * ms (+ 0..89 ticks)
sent, first_ts = {}, {}
if os.path.exists(work + "/stamps.txt"):
    for line in open(work + "/stamps.txt"):
        ts, us, idx = map(int, line.split())
        first_ts.setdefault(idx, ts)
        sent[(idx, (ts - first_ts[idx]) // 90)] = us
lat, arrived = [], []  # read by the viewer; queued on the viewer's socket (kernel stamp, excludes its scheduling)
unmatched = 0
if os.path.exists(work + "/tags.txt"):
    for line in open(work + "/tags.txt"):
        idx, ms, us, arrival_us = map(int, line.split())
        if idx not in first_ts:
            continue
        if (idx, ms) in sent:
            lat.append((us - sent[(idx, ms)]) / 1000)
            if arrival_us:
                arrived.append((arrival_us - sent[(idx, ms)]) / 1000)
        else:
            unmatched += 1
lat.sort()
arrived.sort()
packets = p1 - p0
res = {
  "streams": K, "viewers_per_stream": V, "mbit_per_stream": R, "mode": mode, "senders": senders,
  "seconds": round(wall, 1), "loadavg_start": float(load0), "loadavg_end": float(load1),
  "steal_pct": steal_pct(st0, st1),
  "gbgate_cpu_pct": round(100.0 * (t1 - t0) / hz / wall, 1),
  "gbgate_ctx_per_s": round((x1 - x0) / wall),
  "gbgate_cpu_us_per_packet": round(1e6 * (t1 - t0) / hz / packets, 2) if packets else None,
  "packets_per_s": round(packets / wall),
  "gbsim_cpu_pct": round(100.0 * (s1 - s0) / hz / wall, 1),
  "viewers_cpu_pct": round(sum(v.get("cpu_pct", 0) for v in views), 1),  # over their whole run
  "rss_mb": round(rss_kb / 1024, 1), "rss_per_stream_kb": round(rss_kb / max(K, 1), 1),
  "gop_mb": round(gop_bytes / 1048576, 1),
  "rss_target_mb": round((1.2 * gop_bytes + 64 * 1024 * K) / 1048576, 1),
  "gop_peak_mb": round(gop_peak / 1048576, 1),
  "rss_target_peak_mb": round((1.2 * gop_peak + 64 * 1024 * K) / 1048576, 1),
  "rss_idle_mb": round(rss_idle_kb / 1024, 1), "rss_streams_mb": round((rss_kb - rss_idle_kb) / 1024, 1),
  "anon_mb": round(anon_kb / 1024, 1), "heap_free_mb": round(heap_free / 1048576, 1),
  "udp_drops": e1 - e0,
  "rtp_lost": sum(s.get("packets_lost", 0) for s in streams) - sum(s.get("packets_lost", 0) for s in streams0),
  "frames_dropped": sum(s.get("frames_dropped", 0) for s in streams)
                    - sum(s.get("frames_dropped", 0) for s in streams0),
  "rtp_lost_since_start": sum(s.get("packets_lost", 0) for s in streams),
  "input_kbps_avg": round(sum(s.get("bitrate_kbps", 0) for s in streams) / max(len(streams), 1)),
  "viewers_ok": sum(v.get("ok", 0) for v in views),
  "viewer_kbps_min": min((v.get("min_kbps", 0) for v in views), default=0),
  "viewer_kbps_avg": round(sum(v.get("avg_kbps", 0) for v in views) / max(len(views), 1)),
  "latency_frames": len(lat), "latency_unmatched": unmatched,
  "latency_ms_p50": round(pct(lat, 50), 2) if lat else None,
  "latency_ms_p99": round(pct(lat, 99), 2) if lat else None,
  "latency_ms_max": round(lat[-1], 2) if lat else None,
  "latency_arrived_ms_p50": round(pct(arrived, 50), 2) if arrived else None,
  "latency_arrived_ms_p99": round(pct(arrived, 99), 2) if arrived else None,
  "latency_arrived_ms_max": round(arrived[-1], 2) if arrived else None,
  "ttff_viewers": join.get("first_frames", 0),
  "ttff_ms_p50": join.get("ttff_ms_p50"), "ttff_ms_p99": join.get("ttff_ms_p99"),
  "ttff_ms_max": join.get("ttff_ms_max"),
}
if any("gaps" in v for v in views):
  res["player_gaps"] = sum(v.get("gaps", 0) for v in views)
r = {k: "-" if v is None else v for k, v in res.items()}  # the row --table prints
res["row"] = (
    f"| {K} | {V} | {R:g} | {mode} | {r['gbgate_cpu_pct']} | {r['gbgate_cpu_us_per_packet']} | "
    f"{r['gbgate_ctx_per_s']} | {r['rss_mb']} | {r['anon_mb']} | {r['rss_streams_mb']} | {r['gop_peak_mb']} | "
    f"{r['rss_target_peak_mb']} | {r['udp_drops']} | {r['rtp_lost']} / {r['rtp_lost_since_start']} | "
    f"{r['input_kbps_avg']} | {r['viewers_ok']}/{K * V} | {r['viewer_kbps_min']:.0f} / {r['viewer_kbps_avg']} | "
    f"{r['latency_ms_p50']} / {r['latency_ms_p99']} ({r['latency_arrived_ms_p99']}) | {r['ttff_ms_p50']} / {r['ttff_ms_max']} | "
    f"{r['gbsim_cpu_pct']} | {r['viewers_cpu_pct']} | {load0}-{load1} |")
print(json.dumps(res))
print(res["row"], file=sys.stderr)
PY
