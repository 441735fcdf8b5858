#!/usr/bin/env bash
# Builds the libFuzzer targets in build-fuzz/ (clang, ASan+UBSan) and runs each for SECONDS,
# seeded from the conformance suite. Crashing inputs land in build-fuzz/artifacts/.
#   scripts/run-fuzz.sh [SECONDS]   (default 60)
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${USERBPF_FUZZ_BUILD_DIR:-$root/build-fuzz}"
shared="${USERBPF_SHARED_DIR:-$root/../shared}"
jobs="${USERBPF_JOBS:-2}"

cmake -S "$root" -B "$build" -DUSERBPF_FUZZ=ON -DUSERBPF_TESTS=OFF -DUSERBPF_BENCH=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$jobs" --target fuzz_decode fuzz_assemble fuzz_object fuzz_seeds \
  fuzz_verifier fuzz_verifier_seeds

corpus="$build/corpus"
"$build/bin/fuzz_seeds" "$shared/conformance" "$corpus/seeds"
mkdir -p "$build/artifacts"
# ELF seeds for fuzz_object: the project's BPF test programs and the seed tutorial, compiled.
mkdir -p "$corpus/seeds/fuzz_object"
for src in "$root"/tests/*/progs/*.bpf.c "$shared/seed/hello_kern.c"; do
  [[ -f "$src" ]] || continue
  clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$src" \
    -o "$corpus/seeds/fuzz_object/$(basename "${src%.c}").o" 2>/dev/null || true
done

# fuzz_verifier's seeds: the instructions of those programs (raw mode), mutated as real programs.
mkdir -p "$corpus/seeds/fuzz_verifier"
"$build/bin/fuzz_verifier_seeds" "$corpus/seeds/fuzz_verifier" "$corpus"/seeds/fuzz_object/*.o ||
  echo "(no verifier seeds: fuzz_verifier starts from generated programs only)"

status=0
for target in fuzz_decode fuzz_assemble fuzz_object fuzz_verifier; do
  mkdir -p "$corpus/$target"
  echo "== $target for ${seconds}s"
  # Generated programs need room: one input byte per choice, 8 per raw instruction.
  extra=()
  [[ "$target" == fuzz_verifier ]] && extra=(-max_len=16384)
  # The first directory collects new inputs; the seeds are read only.
  # A fixed seed (FUZZ_SEED) makes a CI run explore the same inputs as the run that was checked
  # before submitting; set another seed to explore further.
  if ! "$build/bin/$target" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "${extra[@]}" \
      "$corpus/$target" "$corpus/seeds/$target"; then
    echo "!! $target failed; see $build/artifacts/" >&2
    status=1
  fi
done
exit "$status"
