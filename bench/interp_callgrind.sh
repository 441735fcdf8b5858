#!/usr/bin/env bash
# Host instructions per executed eBPF instruction, measured with callgrind.
#
# Method: for each program and mode, run bench_interp_count twice under
# `valgrind --tool=callgrind`: once with 0 runs (the baseline: process start, loading, the one
# checked counting run) and once with RUNS runs. The difference of the two "Collected" instruction
# totals is the cost of RUNS runs alone, including each run()'s own set-up; divided by
# RUNS * (eBPF instructions one run executes) it is host instructions per eBPF instruction.
#
# usage: bench/interp_callgrind.sh [build-dir] [runs]    (defaults: build, 10)
set -euo pipefail
BUILD=${1:-build}
RUNS=${2:-10}
BIN="$BUILD/bin/bench_interp_count"
[[ -x "$BIN" ]] || { echo "missing $BIN (build the bench_interp_count target)" >&2; exit 1; }
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 1; }

collected() {  # program runs mode -> "Ir insns_per_run"
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" "$3" 2>&1)
  local ir insns
  ir=$(grep -oE 'Collected : [0-9]+' <<< "$out" | grep -oE '[0-9]+$')
  insns=$(grep -oE 'ebpf_insns_per_run=[0-9]+' <<< "$out" | grep -oE '[0-9]+$')
  echo "$ir $insns"
}

printf '%-14s %-10s %14s %16s %12s\n' program mode ebpf_insns/run host_insns/run host/ebpf
for prog in prime_count packet_hash switch_chain call_chain stack_loop; do
  for mode in unchecked checked; do
    read -r base insns < <(collected "$prog" 0 "$mode")
    read -r full _ < <(collected "$prog" "$RUNS" "$mode")
    awk -v p="$prog" -v m="$mode" -v b="$base" -v f="$full" -v n="$insns" -v r="$RUNS" \
      'BEGIN { d = (f - b) / r; printf "%-14s %-10s %14d %16.0f %12.2f\n", p, m, n, d, d / n }'
  done
done
