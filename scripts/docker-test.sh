#!/usr/bin/env bash
# docker-test.sh - container smoke test: builds the gbgate image from the Dockerfile, starts it with host
# networking on free ports, waits for GET /api/v1/health to say "status":"ok", stops it with SIGTERM and
# expects a clean exit 0 within the grace period. Run by .ci/run; exits 0 (pass or skip) or 1 (fail).
#
# Engines, in order: a `docker` whose engine answers; otherwise podman through ../shared/tools/oci-smoke.sh,
# which installs podman, makes the debian:bookworm base locally with debootstrap (no registry here) and keeps
# its storage, so the base and the package layers are cached from one run to the next. Where neither can work
# the test prints "docker-test: SKIP: <why>" and exits 0.
#
# Why podman's storage is driven directly after the build: the run has to be detached (the test polls from the
# host, then stops the container the way an orchestrator does), which oci-smoke.sh's foreground run cannot do.
# The flags below are the ones oci-smoke.sh uses for its own state under OCI_HOME.
#
# Environment: DOCKER_TEST_BUILD_TIMEOUT (s, default 900), DOCKER_TEST_IMAGE (default gbgate:test),
#              DOCKER_TEST_ENGINE (docker|podman, to force one), OCI_HOME (podman state, as in oci-smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
IMAGE=${DOCKER_TEST_IMAGE:-gbgate:test}
BUILD_TIMEOUT=${DOCKER_TEST_BUILD_TIMEOUT:-900}
HEALTH_WAIT_S=30
STOP_GRACE_S=10
NAME=gbgate-test-$$
SMOKE=$(cd "$ROOT/.." && pwd)/shared/tools/oci-smoke.sh
export OCI_HOME=${OCI_HOME:-${TMPDIR:-/tmp}/oci-smoke}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/docker-test.XXXXXX")

say() { echo "docker-test: $*"; }
# each outcome ends with the plain "N passed, N failed" line that CI logs are read by
skip() {
    say "SKIP: $*"
    say "0 passed, 0 failed, 1 skipped"
    exit 0
}
fail() {
    say "FAIL: $*"
    say "0 passed, 1 failed"
    exit 1
}
now() { date +%s; }

# --- pick the engine -------------------------------------------------------------------------------------------
podman_engine() {
    CONTAINERS_CONF=$OCI_HOME/containers.conf \
        podman --root "$OCI_HOME/storage" --runroot "$OCI_HOME/runroot" --tmpdir "$OCI_HOME/libpod" "$@"
}
ENGINE=${DOCKER_TEST_ENGINE:-}
if [ -z "$ENGINE" ]; then
    if command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1; then
        ENGINE=docker
    else
        ENGINE=podman
    fi
fi
case $ENGINE in
docker) engine() { docker "$@"; } ;;
podman)
    [ -f "$SMOKE" ] || skip "no docker engine answers and $SMOKE is missing"
    [ "$(id -u)" = 0 ] || skip "no docker engine answers and oci-smoke.sh (rootful podman) needs root"
    command -v podman >/dev/null 2>&1 || command -v apt-get >/dev/null 2>&1 ||
        skip "no docker engine answers, no podman, and no apt-get to install it"
    engine() { podman_engine "$@"; }
    ;;
*) fail "DOCKER_TEST_ENGINE must be docker or podman, not '$ENGINE'" ;;
esac
command -v curl >/dev/null 2>&1 || fail "curl is missing (scripts/install-deps.sh installs it)"

cleanup() {
    engine rm -f -v "$NAME" >/dev/null 2>&1 || true # -v: the anonymous /var/lib/gbgate volume too
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- podman only: can this machine build and run an image at all? ----------------------------------------------
# A trivial image separates "this sandbox cannot run podman" (skip) from "our Dockerfile is broken" (fail). The
# first run installs podman and debootstraps the base (about a minute); later runs take a second or two.
if [ "$ENGINE" = podman ]; then
    mkdir -p "$WORK/probe"
    printf 'FROM debian:bookworm\nCMD ["true"]\n' >"$WORK/probe/Dockerfile"
    if ! timeout -k 10 600 bash "$SMOKE" -t gbgate-probe:latest "$WORK/probe" >"$WORK/probe.log" 2>&1; then
        tail -n 15 "$WORK/probe.log" | sed 's/^/  | /'
        skip "no docker engine answers and podman cannot build/run a trivial image here (log above)"
    fi
fi

# --- build -----------------------------------------------------------------------------------------------------
say "building $IMAGE with $ENGINE (timeout ${BUILD_TIMEOUT}s)"
t0=$(now)
if [ "$ENGINE" = docker ]; then
    timeout -k 30 "$BUILD_TIMEOUT" docker build -t "$IMAGE" "$ROOT" >"$WORK/build.log" 2>&1 || {
        tail -n 30 "$WORK/build.log" | sed 's/^/  | /'
        fail "image build failed or timed out after $(($(now) - t0))s"
    }
else
    # builds (cached layers are reused) and runs `gbgate --version` in the result: binary and libraries load
    # (--version also loads FFmpeg, which gbgate otherwise loads on first use)
    timeout -k 30 "$BUILD_TIMEOUT" bash "$SMOKE" -t "$IMAGE" "$ROOT" gbgate --version >"$WORK/build.log" 2>&1 || {
        tail -n 30 "$WORK/build.log" | sed 's/^/  | /'
        fail "image build (or gbgate --version in it) failed or timed out after $(($(now) - t0))s"
    }
fi
if [ "$ENGINE" = podman ]; then
    # Keep the podman storage bounded across CI runs: tag the build stage (all cached, a few seconds) so that
    # pruning untagged images drops the chains of earlier builds but keeps the cache of this one.
    if podman_engine build --pull=never --network host --target build -t gbgate-build-cache:latest "$ROOT" \
        >"$WORK/build-cache.log" 2>&1; then
        podman_engine image prune -f >/dev/null 2>&1 || say "warning: pruning old images failed"
    else
        say "warning: could not tag the build stage; old images are not pruned"
    fi
fi
size=$(engine image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec)
say "built in $(($(now) - t0))s, image size $size"
version=$(engine run --rm "$IMAGE" gbgate --version 2>&1) || fail "gbgate --version failed in the image: $version"
# FFmpeg is loaded on first use (relay/av_lazy.h), not at start: --version loads it, so this proves the image has it
grep -q "libavcodec [0-9]" <<<"$version" || fail "gbgate --version did not load FFmpeg in the image: $version"
say "image runs: $(tr '\n' ' ' <<<"$version")"

# --- free ports on the host (host networking: the container binds the host's ports) ----------------------------
used_ports() { ss -Htuln 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | sort -u; }
declare -A taken=()
for p in $(used_ports); do taken[$p]=1; done
# free_block N: sets FREE to the first of N consecutive ports nobody listens on (random even start, 20000-59999)
free_block() {
    local n=$1 base i
    for _ in $(seq 200); do
        base=$((20000 + (RANDOM * 2) % 40000))
        for ((i = 0; i < n; i++)); do [ -z "${taken[$((base + i))]:-}" ] || continue 2; done
        for ((i = 0; i < n; i++)); do taken[$((base + i))]=1; done
        FREE=$base
        return 0
    done
    fail "found no $n free consecutive ports"
}
free_block 1 && sip_port=$FREE
free_block 1 && http_port=$FREE
free_block 1 && rtmp_port=$FREE
free_block 1 && rtp_port=$FREE
free_block 16 && range_lo=$FREE
range="$range_lo-$((range_lo + 15))"

# --- run, wait for health --------------------------------------------------------------------------------------
say "starting $NAME (sip $sip_port, http $http_port, rtmp $rtmp_port, rtp $rtp_port, range $range)"
log_opt=()
[ "$ENGINE" = podman ] && log_opt=(--log-driver k8s-file) # podman's default may be journald, absent in sandboxes
engine run -d --name "$NAME" --network host "${log_opt[@]}" "$IMAGE" \
    gbgate -c /etc/gbgate/gbgate.conf -o media.workers=1 -o sip.listen=127.0.0.1 -o http.listen=127.0.0.1 \
    -o sip.port="$sip_port" \
    -o http.port="$http_port" -o rtmp.port="$rtmp_port" -o media.rtp_port="$rtp_port" \
    -o media.rtp_port_range="$range" >/dev/null || fail "could not start the container"

show_logs() { engine logs "$NAME" 2>&1 | tail -n 40 | sed 's/^/  | /'; }
url=http://127.0.0.1:$http_port/api/v1/health
body=
deadline=$(($(now) + HEALTH_WAIT_S))
while [ "$(now)" -lt "$deadline" ]; do
    if [ "$(engine inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
        show_logs
        fail "gbgate exited before answering (exit code $(engine inspect --format '{{.State.ExitCode}}' "$NAME"))"
    fi
    body=$(curl -fsS --max-time 2 "$url" 2>/dev/null) && break
    body=
    sleep 0.5
done
[ -n "$body" ] || { show_logs; fail "no answer from $url within ${HEALTH_WAIT_S}s"; }
say "health: $body"
echo "$body" | grep -Eq '"status"[[:space:]]*:[[:space:]]*"ok"' || { show_logs; fail "health is not \"status\":\"ok\""; }

# --- stop with SIGTERM: gbgate is PID 1 in the container and must exit 0 by itself ------------------------------
t0=$(now)
engine stop -t "$STOP_GRACE_S" "$NAME" >/dev/null 2>&1 || true
took=$(($(now) - t0))
rc=$(engine inspect --format '{{.State.ExitCode}}' "$NAME")
engine logs "$NAME" >"$WORK/gbgate.log" 2>&1 || true
if [ "$rc" != 0 ] || [ "$took" -ge "$STOP_GRACE_S" ]; then
    tail -n 40 "$WORK/gbgate.log" | sed 's/^/  | /'
    fail "on SIGTERM gbgate exited with $rc after ${took}s (want 0, within ${STOP_GRACE_S}s)"
fi
say "stopped by SIGTERM in ${took}s, exit code 0"
say "PASS ($ENGINE, image $size)"
say "1 passed, 0 failed"
