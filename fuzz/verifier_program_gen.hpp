// Turns fuzzer bytes into a verifier test case: either a structure-aware random program (mostly
// valid instructions built from idioms real programs use: map lookups with or without a null
// check, packet bounds checks, ringbuf reservations, helper calls, spills, atomics, bounded and
// unbounded loops, bpf-to-bpf calls and bpf_loop callbacks) or, in raw mode, the bytes as
// instructions (the seed corpus holds the project's compiled programs in that form, so libFuzzer's
// mutations of them are mutations of real programs).
//
// Input layout: byte 0 = mode flags (kRawMode, kUnprivileged), byte 1 = program type index into
// kFuzzProgTypes, the rest = generator choices (or raw instructions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "isa/instruction.hpp"

namespace userbpf::fuzz {

inline constexpr uint8_t kRawMode = 0x01;
inline constexpr uint8_t kUnprivileged = 0x02;

// socket_filter, xdp, kprobe, tracepoint.
extern const uint32_t kFuzzProgTypes[4];

// The maps every case may reference by index (BPF_PSEUDO_MAP_IDX / _IDX_VALUE): 0 hash, 1 array,
// 2 ringbuf. Raw programs' map indexes are folded onto these.
struct FuzzMapSpec {
  uint32_t type, key_size, value_size, max_entries;
};
extern const FuzzMapSpec kFuzzMaps[3];

struct FuzzCase {
  std::vector<isa::RawInsn> insns;
  uint32_t prog_type = 0;
  bool privileged = true;
};

// Never fails; the program may of course be invalid.
FuzzCase make_case(std::span<const uint8_t> bytes);

}  // namespace userbpf::fuzz
