#!/usr/bin/env bash
# The seed tutorial (../shared/seed) followed with userbpf in place of bpftool and the kernel:
# compile hello_kern.c as the tutorial says, load and pin it, list it, test-run it, attach it to
# sys_enter_execve, and read trace_pipe while commands started with `userbpf exec` fire it.
#
#   examples/tutorial.sh             uses build/bin/userbpf and ../shared/seed
#   USERBPF=/path/to/userbpf USERBPF_SEED_DIR=/path/to/seed examples/tutorial.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
USERBPF="${USERBPF:-$here/../build/bin/userbpf}"
seed="${USERBPF_SEED_DIR:-$here/../../shared/seed}"
if [[ ! -x "$USERBPF" ]]; then
  echo "tutorial: no userbpf binary at '$USERBPF' (build it, or set USERBPF)" >&2
  exit 1
fi
if [[ ! -f "$seed/hello_kern.c" ]]; then
  echo "tutorial: no hello_kern.c in '$seed' (set USERBPF_SEED_DIR)" >&2
  exit 1
fi

work="$(mktemp -d)"
# A private state directory, so the demo neither sees nor leaves other programs.
export USERBPF_STATE_DIR="$work/state"
tracer=""
cleanup() {
  [[ -n "$tracer" ]] && kill "$tracer" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

show() {
  echo
  printf '$ userbpf'
  printf ' %q' "$@"
  echo
  "$USERBPF" "$@" 2>&1
}

echo "== The tutorial's program, compiled as the tutorial says"
echo "\$ clang -O2 -target bpf -c hello_kern.c -o hello_kern.o"
(cd "$work" && clang -O2 -target bpf -I/usr/include/x86_64-linux-gnu -c "$seed/hello_kern.c" \
  -o hello_kern.o)

# trace_pipe in a second "terminal", as the tutorial reads /sys/kernel/debug/tracing/trace_pipe.
"$USERBPF" trace_pipe > "$work/trace_pipe.txt" 2>&1 &
tracer=$!

show prog load "$work/hello_kern.o" /sys/fs/bpf/hello
show prog list
show prog dump xlated pinned /sys/fs/bpf/hello
echo
echo "== Test-run it with an empty sys_enter_execve record"
show prog run pinned /sys/fs/bpf/hello

prog_id="$("$USERBPF" -j prog show pinned /sys/fs/bpf/hello | sed -n 's/^{"id":\([0-9]*\).*/\1/p')"
echo
echo "== Attach it as the tutorial does, then run commands under userbpf (sh, then two ls)"
show prog attach id "$prog_id" tracepoint syscalls:sys_enter_execve
show link list
show exec -- sh -c 'ls / > /dev/null; ls / > /dev/null'
sleep 0.5
kill "$tracer" 2>/dev/null || true
wait "$tracer" 2>/dev/null || true
tracer=""
echo
echo "== What \`userbpf trace_pipe\` printed meanwhile (in another terminal)"
cat "$work/trace_pipe.txt"
show link detach id "$("$USERBPF" -j link list | sed -n 's/^\[{"id":\([0-9]*\).*/\1/p')"

echo
echo "== In one command: load, attach by section name, run a command, print the trace"
show run "$work/hello_kern.o" -- sh -c 'ls / > /dev/null; ls / > /dev/null'
