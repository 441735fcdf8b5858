// x86-64 machine code as text, for `prog dump jited`: zydis (Intel syntax) over a range of a JIT
// image. The image is disassembled as if loaded at address 0, so branch targets read as image
// offsets, the numbers the dump prints before each instruction (as bpftool's jited dump does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace userbpf::cli {

struct MachineInsn {
  uint32_t offset = 0;                // in the image
  std::span<const uint8_t> bytes;     // the encoding, inside the image
  std::string text;                   // "mov dword ptr [r12+0x20], 0x5"
  std::string operation;              // "mov" (prefixes included: "lock cmpxchg")
  std::vector<std::string> operands;  // {"dword ptr [r12+0x20]", "0x5"}
  bool ends_flow = false;             // ret or an unconditional jmp: nothing falls through
  bool is_call = false;
  // The image offset a relative jmp, jcc or call goes to.
  std::optional<uint64_t> target;
};

// Disassembles image[begin, end). Bytes zydis cannot decode become one-byte "(bad)" entries, as
// objdump shows them, so a dump never stops early. With `stop_after_flow_end` the listing ends
// after the first instruction that does not fall through (ret, jmp).
std::vector<MachineInsn> disassemble_x86(std::span<const uint8_t> image, size_t begin, size_t end,
                                         bool stop_after_flow_end = false);

}  // namespace userbpf::cli
