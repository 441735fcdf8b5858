// The program tag the kernel shows in `bpftool prog list`: the first 8 bytes of a digest of the
// instructions with map references' immediates zeroed (kernel/bpf/core.c bpf_prog_calc_tag).
// Linux computed it with SHA-1 up to 6.17 and with SHA-256 since (the program digest that signed
// programs introduced); userbpf follows current Linux, and the host-kernel test checks it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "isa/instruction.hpp"

namespace userbpf::runtime {

// 16 lowercase hex digits. Map references in userbpf's index form are hashed as the fd form the
// kernel sees after libbpf's relocation, so tags match the kernel's for the same program.
std::string program_tag(std::span<const isa::RawInsn> insns);

// SHA-256 of `data` (FIPS 180-4).
std::array<uint8_t, 32> sha256(std::span<const uint8_t> data);

}  // namespace userbpf::runtime
