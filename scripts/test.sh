#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the unit, conformance and kernel
# cross-check tests (optimized build), the same tests under ASan+UBSan, and bounded fuzz runs.
# Environment: FUZZ_SECONDS (per fuzz target, default 30), SKIP_SANITIZE=1, SKIP_FUZZ=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "build (RelWithDebInfo)"
bash scripts/build.sh "$root/build"

step "tests (RelWithDebInfo)"
(cd build && ctest --output-on-failure -j2 --timeout 900)

if [[ "${SKIP_SANITIZE:-0}" != 1 ]]; then
  step "build (ASan+UBSan)"
  bash scripts/build.sh "$root/build-asan" -DUSERBPF_SANITIZE=ON -DUSERBPF_BENCH=OFF
  step "tests (ASan+UBSan)"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest --output-on-failure -j2 --timeout 1800)
fi

if [[ "${SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzzing (${FUZZ_SECONDS:-30} s per target)"
  bash scripts/run-fuzz.sh "${FUZZ_SECONDS:-30}"
fi

step "all test stages passed"
