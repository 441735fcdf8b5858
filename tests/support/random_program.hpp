// Random eBPF programs for differential testing (userbpf's interpreter against the Linux kernel).
//
// A program follows the conformance suite's convention: r1 = input memory, r2 = its length, the
// result is r0. Programs are built so that the privileged Linux verifier accepts them:
//   - r1 stays the memory base (never written) and r10 the frame pointer; neither is ever mixed
//     into arithmetic, compared or stored, so every other register is a scalar;
//   - r0 and r2-r9 are initialized first (constants, lddw or loads from the memory);
//   - a stack area is fully initialized before anything reads it; stack accesses are aligned
//     (Linux checks stack alignment strictly);
//   - memory accesses use constant offsets inside the memory; atomics only touch the upper half of
//     the stack area, which plain stores leave alone (works around a Linux 6.18 verifier bug, see
//     random_program.cpp);
//   - a 32-bit cmpxchg is followed by `w0 = w0` (works around a Linux 6.18 x86-64 bug: r0 is not
//     zero-extended after a successful 32-bit cmpxchg on some paths);
//   - shifts by an immediate stay below the operand width, div/mod by an immediate never divide by
//     zero (by a register they may: Linux defines the result);
//   - control flow only goes forward, except bounded counted loops; an unconditional jump only
//     appears in an if/else diamond, so no instruction is unreachable (Linux refuses dead code);
//   - the program ends by folding every register and the whole stack area into r0, so a wrong
//     value anywhere shows in r0 (besides the memory, which callers compare too).
// Generation is deterministic for a seed (std::mt19937_64 with its own range reduction, so it does
// not depend on the standard library's distributions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/instruction.hpp"

namespace userbpf::testing {

// Which instruction families the generator may use in the random part of a program (the fixed
// prologue and epilogue always use mov/lddw/loads/stores/ALU64 xor and mul).
enum InsnClass : uint32_t {
  kAlu64 = 1u << 0,   // ALU64 incl. sdiv/smod, movsx, neg, shifts, div/mod by register
  kAlu32 = 1u << 1,   // ALU (32-bit) incl. sdiv/smod, movsx
  kEndian = 1u << 2,  // le/be and bswap
  kJmp = 1u << 3,     // conditional jumps, 64-bit compare; if/else diamonds with ja
  kJmp32 = 1u << 4,   // conditional jumps, 32-bit compare; diamonds with gotol
  kLoad = 1u << 5,    // loads of every size from memory and stack, incl. sign-extending
  kStore = 1u << 6,   // stores (register and immediate) of every size to memory and stack
  kAtomic = 1u << 7,  // atomics on the stack (add/and/or/xor +fetch, xchg, cmpxchg)
  kLddw = 1u << 8,    // 64-bit immediate loads
  kLoop = 1u << 9,    // bounded counted loops (backward jumps)
  kAllClasses = (1u << 10) - 1,
};

struct RandomProgramOptions {
  uint64_t seed = 1;
  size_t insn_count = 64;   // instructions in the random part (between prologue and epilogue)
  size_t memory_size = 64;  // input memory bytes; 0 gives a program that never touches it
  uint32_t classes = kAllClasses;
};

struct RandomProgram {
  std::vector<isa::RawInsn> insns;
  std::vector<uint8_t> memory;  // random input contents, memory_size bytes
};

RandomProgram generate_random_program(const RandomProgramOptions& options);

// The raw slots as hex words, one per line ("0: 0x...."), for failure reports when no
// disassembler is available.
std::string hex_listing(const std::vector<isa::RawInsn>& insns);

}  // namespace userbpf::testing
