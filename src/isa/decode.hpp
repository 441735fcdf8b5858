// Strict decoding of raw eBPF instructions into the decoded form (see instruction.hpp).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::isa {

// Splits a byte image into 8-byte little-endian instruction slots. Fails on an empty image or a
// length that is not a multiple of 8.
Result<std::vector<RawInsn>> raw_from_bytes(std::span<const uint8_t> bytes);

// Decodes and checks every slot. Errors name the instruction index and the reason, e.g.
// "insn 3: BPF_EXIT uses reserved fields (src_reg=1)".
Result<Program> decode(std::span<const RawInsn> raw);

}  // namespace userbpf::isa
