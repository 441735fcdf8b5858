#!/usr/bin/env bash
# Installs every Debian package userbpf needs to build, test, fuzz and benchmark.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang clang-14 llvm libclang-rt-14-dev   # BPF target, libFuzzer, sanitizers
  libelf-dev zlib1g-dev                    # ELF objects
  libbpf-dev linux-libc-dev bpftool        # BTF API, <linux/bpf.h>, the kernel oracle
  libxbyak-dev libzydis-dev libcapstone-dev # JIT encoder, disassembly
  libcli11-dev nlohmann-json3-dev libfmt-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  valgrind clang-format
  linux-source-6.12                        # the Linux verifier selftests (cmake/VerifierSelftests.cmake)
  systemtap-sdt-dev                        # <sys/sdt.h> for the USDT test binary (tests/hooks/usdt)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
