#!/usr/bin/env bash
# userbpf demo: first the seed tutorial with userbpf in place of bpftool (examples/tutorial.sh),
# then eBPF programs written in the conformance suite's assembly, shown with
# `userbpf prog dump xlated` and run with `userbpf prog run`, in plain and JSON form.
#
#   examples/demo.sh                 uses build/bin/userbpf
#   USERBPF=/path/to/userbpf examples/demo.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
USERBPF="${USERBPF:-$here/../build/bin/userbpf}"
if [[ ! -x "$USERBPF" ]]; then
  echo "demo: no userbpf binary at '$USERBPF' (build it, or set USERBPF)" >&2
  exit 1
fi

# Shows a command, then runs it.
show() {
  echo
  echo "\$ userbpf $*"
  "$USERBPF" "$@" 2>&1
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A little-endian u32 as hex, for --data-hex.
u32_hex() { printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }

USERBPF="$USERBPF" bash "$here/tutorial.sh"

echo
echo "== Counting primes: examples/primes.asm"
show prog dump xlated "$here/primes.asm"
show prog run "$here/primes.asm" --data-hex "$(u32_hex 100)"
show -j prog run "$here/primes.asm" --data-hex "$(u32_hex 1000)"
# bpftool's keyword form, abbreviated as bpftool allows; the duration is the mean of 50 runs.
printf '\x10\x27\x00\x00' > "$work/limit.bin"  # 10000
show p r "$here/primes.asm" data_in "$work/limit.bin" repeat 50

echo
echo "== Summing the bytes of a packet: examples/sum_bytes.asm"
show prog dump xlated "$here/sum_bytes.asm" opcodes
show prog run "$here/sum_bytes.asm" --data-hex 0102030405060708090a
show -p prog run "$here/sum_bytes.asm" --data-hex ff00ff00

echo
echo "== Changing the packet in place: examples/uppercase.asm"
packet="$(printf 'Hello, eBPF world!' | od -An -v -tx1 | tr -d ' \n')"
show prog run "$here/uppercase.asm" --data-hex "$packet" data_out -
show -j prog run "$here/uppercase.asm" --data-hex "$packet"

echo
echo "== Errors are precise, never a crash or a hang"
# A program that never ends stops at the instruction budget of a checked run.
show prog run "$here/spin.asm" --budget 100000 || true
# A read past the end of the data stops with the instruction and the address.
show prog run "$here/primes.asm" --data-hex 0100 || true
show -j prog run "$here/primes.asm" --data-hex 01zz || true
show prog run missing.o || true
