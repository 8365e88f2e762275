#!/usr/bin/env bash
# Benchmark: K simulated cameras x R Mbit/s of H.264 PS over RTP into gbgate, V HTTP-FLV viewers per stream,
# everything on loopback and bounded in time. Prints one JSON line per run and a markdown table row.
#
#   scripts/bench.sh [-k STREAMS] [-v VIEWERS_PER_STREAM] [-r MBITS] [-s SECONDS] [-m shared|ports|tcp]
#                    [-t flv|rtmp] [-w WORKERS]
#   -t rtmp: the viewers are RTMP players (test/tools/rtmpview; the first 10 of each process parse every
#   message and report skipped frames as "player_gaps"); -w: media.workers (default: one per core).
#
# CPU is gbgate's own (utime+stime from /proc/PID/stat over the measuring window; 100% = one core); the
# sender (gbsim) and the viewers (benchview) run on the same machine and are reported separately.
set -euo pipefail
cd "$(dirname "$0")/.."
K=200 V=1 R=2 S=20 MODE=shared WARM=5 PROTO=flv WORKERS=0
while getopts "k:v:r:s:m:t:w:" o; do
  case $o in k) K=$OPTARG ;; v) V=$OPTARG ;; r) R=$OPTARG ;; s) S=$OPTARG ;; m) MODE=$OPTARG ;;
    t) PROTO=$OPTARG ;; w) WORKERS=$OPTARG ;; *) exit 2 ;; esac
done

scripts/install-deps.sh >/dev/null
B=${BENCH_BUILD:-build-bench} # another build directory: BENCH_BUILD=build-x scripts/bench.sh ...
cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DGBGATE_SANITIZE=OFF -DGBGATE_TESTS=OFF >/dev/null
cmake --build $B --target gbgate gbsim benchview rtmpview >/dev/null

work=$(mktemp -d /tmp/gbgate-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
clip=$B/bench_${R}M.h264
if [ ! -f "$clip" ]; then
  ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=25 -t 20 -pix_fmt yuv420p -c:v libx264 \
    -preset veryfast -b:v ${R}M -maxrate ${R}M -bufsize ${R}M -x264-params keyint=50:min-keyint=50:scenecut=0 \
    -bf 0 -f h264 "$clip"
fi

HTTP=18480 RTP=18400 RTMPP=18435 RANGE_MIN=42000 RANGE_MAX=$((42000 + 2 * K + 10))
$B/gbgate -c etc/gbgate.conf -o sip.enabled=off -o http.port=$HTTP -o media.rtp_port=$RTP \
  -o rtmp.port=$RTMPP -o media.workers=$WORKERS -o stream.max_viewers=100000 \
  -o media.rtp_port_range=$RANGE_MIN-$RANGE_MAX -o log.level=warn -o media.rtp_timeout_s=30 \
  -o storage.path=$work/gb.db 2>"$work/gbgate.log" &
GW=$!
for _ in $(seq 50); do curl -sf http://127.0.0.1:$HTTP/api/v1/health >/dev/null && break; sleep 0.1; done

SSRC0=300000000
for i in $(seq 0 $((K - 1))); do
  case $MODE in
    shared) body="{\"id\":\"bench$i\",\"ssrc\":$((SSRC0 + i))}" ;;
    ports) body="{\"id\":\"bench$i\",\"port\":$((RANGE_MIN + 2 * i))}" ;;
    tcp) body="{\"id\":\"bench$i\",\"transport\":\"tcp-passive\",\"ssrc\":$((SSRC0 + i))}" ;;
  esac
  curl -sf -XPOST http://127.0.0.1:$HTTP/api/v1/streams -d "$body" >/dev/null
done

case $MODE in
  shared) dest="127.0.0.1:$RTP" step=0 transport=udp ;;
  ports) dest="127.0.0.1:$RANGE_MIN" step=2 transport=udp ;;
  tcp) dest="127.0.0.1:$RTP" step=0 transport=tcp ;;
esac
$B/gbsim send --video "$clip" --fps 25 --loop --start-spread 2 --streams "$K" --ssrc $SSRC0 --port-step $step \
  --transport $transport --to "$dest" --duration $((S + WARM + 15)) >"$work/sim.json" 2>"$work/sim.log" &
SIM=$!
sleep 3 # every stream has its first keyframe in the GOP cache
viewers=()
if [ "$V" -gt 0 ] && [ "$PROTO" = rtmp ] && [ "$V" -ge "$K" ]; then
  for i in $(seq 0 $((K - 1))); do # one process per stream, V players each
    $B/rtmpview --port $RTMPP --stream bench$i --count "$V" --seconds $((S + WARM)) --warmup $WARM \
      >"$work/view$i.json" &
    viewers+=($!)
  done
elif [ "$V" -gt 0 ] && [ "$PROTO" = rtmp ]; then
  for v in $(seq 1 "$V"); do # one process per viewer index, one player per stream
    $B/rtmpview --port $RTMPP --prefix bench --first 0 --count "$K" --seconds $((S + WARM)) --warmup $WARM \
      >"$work/view$v.json" &
    viewers+=($!)
  done
elif [ "$V" -gt 0 ]; then
  for v in $(seq 1 "$V"); do
    $B/benchview --port $HTTP --prefix /live/bench --first 0 --count "$K" --seconds $((S + WARM)) --warmup $WARM \
      >"$work/view$v.json" &
    viewers+=($!)
  done
fi

cpu_ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
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
sleep $WARM
t0=$(cpu_ticks $GW) s0=$(cpu_ticks $SIM) e0=$(udp_errs) w0=$(date +%s.%N)
sleep "$S"
t1=$(cpu_ticks $GW) s1=$(cpu_ticks $SIM) e1=$(udp_errs) w1=$(date +%s.%N)
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$GW/status)
hz=$(getconf CLK_TCK)
curl -sf http://127.0.0.1:$HTTP/api/v1/streams >"$work/streams.json"
for p in "${viewers[@]}"; do wait "$p" || true; done
kill -TERM $GW; wait $GW || true
kill -TERM $SIM 2>/dev/null || true
wait $SIM || true

python3 - "$K" "$V" "$R" "$MODE:$PROTO" "$t0" "$t1" "$s0" "$s1" "$w0" "$w1" "$hz" "$rss_kb" "$e0" "$e1" "$work" <<PY
import json, sys, glob
K, V, R, mode = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t0, t1, s0, s1 = map(int, sys.argv[5:9]); w0, w1 = float(sys.argv[9]), float(sys.argv[10])
hz, rss_kb, e0, e1, work = int(sys.argv[11]), int(sys.argv[12]), int(sys.argv[13]), int(sys.argv[14]), sys.argv[15]
wall = w1 - w0
streams = json.load(open(work + "/streams.json"))["streams"]
views = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(work + "/view*.json"))]
res = {
  "streams": K, "viewers_per_stream": V, "mbit_per_stream": R, "mode": mode, "seconds": round(wall, 1),
  "gbgate_cpu_pct": round(100.0 * (t1 - t0) / hz / wall, 1),
  "gbsim_cpu_pct": round(100.0 * (s1 - s0) / hz / wall, 1),
  "rss_mb": round(rss_kb / 1024, 1), "rss_per_stream_kb": round(rss_kb / max(K, 1), 1),
  "udp_drops": e1 - e0,
  "rtp_lost": sum(s.get("packets_lost", 0) for s in streams),
  "frames_dropped": sum(s.get("frames_dropped", 0) for s in streams),
  "input_kbps_avg": round(sum(s.get("bitrate_kbps", 0) for s in streams) / max(len(streams), 1)),
  "viewers_ok": sum(v.get("ok", 0) for v in views),
  "viewer_kbps_min": min((v.get("min_kbps", 0) for v in views), default=0),
  "viewer_kbps_avg": round(sum(v.get("avg_kbps", 0) for v in views) / max(len(views), 1)),
}
if any("gaps" in v for v in views):
  res["player_gaps"] = sum(v.get("gaps", 0) for v in views)
print(json.dumps(res))
print(f"| {K} | {V} | {R:g} | {mode} | {res['gbgate_cpu_pct']} | {res['rss_mb']} | {res['rss_per_stream_kb']} | "
      f"{res['udp_drops']} | {res['rtp_lost']} | {res['viewers_ok']}/{K*V} | {res['viewer_kbps_min']:.0f} / "
      f"{res['viewer_kbps_avg']} | {res['gbsim_cpu_pct']} |")
PY
