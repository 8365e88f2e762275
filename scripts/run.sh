#!/usr/bin/env bash
# Installs what is missing, builds gbgate (Release) and runs it with etc/gbgate.conf.
# Extra arguments go to gbgate, e.g. scripts/run.sh -o media.ip=192.168.1.10
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run-only
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGBGATE_SANITIZE=OFF -DGBGATE_TESTS=OFF >/dev/null
cmake --build build --target gbgate gbsim
exec build/gbgate -c etc/gbgate.conf "$@"
