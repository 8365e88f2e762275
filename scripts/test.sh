#!/usr/bin/env bash
# Installs every dependency, builds with ASan + UBSan, runs every unit and integration test through ctest,
# then builds the libFuzzer targets with clang and runs each briefly. Non-zero on any failure.
#   scripts/test.sh            everything
#   scripts/test.sh -R REGEX   only the ctest tests matching REGEX (no fuzz run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGBGATE_SANITIZE=ON -DGBGATE_TESTS=ON >/dev/null
cmake --build build -j "$jobs"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build --output-on-failure -j 2 "$@"

if [ $# -eq 0 ]; then
  CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGBGATE_FUZZ=ON -DGBGATE_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs"
  # each target runs ~10 s from an empty corpus: a smoke test that the harness and parsers hold up; longer
  # campaigns are run by hand (docs/TESTING.md)
  ctest --test-dir build-fuzz --output-on-failure -j 2
fi
