#!/usr/bin/env bash
# Installs every build, run and test dependency of gbgate from Debian 12 packages (and mpegts.js from npm for
# the web console). Idempotent: packages already present are skipped, so run.sh and test.sh call it every time.
# Usage: scripts/install-deps.sh [--run-only | --runtime]
#   (none)      build, run and test dependencies (developers, CI)
#   --run-only  build and run, no test tools (scripts/run.sh, the Dockerfile's build stage)
#   --runtime   only the shared libraries gbgate loads: no compiler, no npm (the Dockerfile's runtime stage)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS=(build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  libre-dev libuv1-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  check libsqlite3-dev libxml2-dev libjansson-dev libhttp-parser-dev)
RUN_PKGS=(libre0 libuv1 libavformat59 libavcodec59 libavutil57 libswresample4 libsqlite3-0 libxml2
  libjansson4 libhttp-parser2.9 ca-certificates)
TEST_PKGS=(ffmpeg sip-tester sipsak python3 curl procps iproute2 chromium nodejs fonts-wqy-microhei)

mode=${1:-}
case $mode in
"" | --run-only | --runtime) ;;
*) echo "usage: $0 [--run-only | --runtime]" >&2; exit 2 ;;
esac
if [ "$mode" = --runtime ]; then
  want=("${RUN_PKGS[@]}")
else
  want=("${BUILD_PKGS[@]}" "${RUN_PKGS[@]}")
  [ "$mode" = --run-only ] || want+=("${TEST_PKGS[@]}")
  # Debian's npm conflicts with a Node.js installed from elsewhere: only ask for it where no npm exists.
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The console's player, served by gbgate itself (no CDN): mpegts.js and, for the browser test, playwright-core.
if [ "$mode" = "" ] || { [ "$mode" = --run-only ] && [ ! -f web/vendor/mpegts.js ]; }; then
  if command -v npm >/dev/null 2>&1 && [ ! -d node_modules/mpegts.js ] || [ ! -d node_modules/playwright-core ]; then
    if command -v npm >/dev/null 2>&1; then
      npm install --no-audit --no-fund --silent >/dev/null 2>&1 || echo "install-deps: npm install failed" >&2
    fi
  fi
  if [ -f node_modules/mpegts.js/dist/mpegts.js ]; then
    mkdir -p web/vendor
    cp -f node_modules/mpegts.js/dist/mpegts.js web/vendor/mpegts.js
  fi
fi
echo "install-deps: ok"
