// The decoded form of an eBPF program that every later stage (text forms, interpreter, verifier,
// JIT) consumes. A program is decoded once; nobody else parses raw opcode bits for validity.
//
// Invariants of a decoded Program (guaranteed by decode()):
//   1. insns has one entry per 8-byte slot, so an index is Linux's instruction index. The second
//      slot of an lddw is an entry of kind `lddw_tail` that is never executed.
//   2. Every jump, may_goto, bpf-to-bpf call and BPF_PSEUDO_FUNC lddw has `target` set to an
//      index inside the program that is not an lddw tail.
//   3. Registers are in 0..10 and no instruction writes r10.
//   4. Every field that Linux requires to be zero is zero.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "isa/opcodes.hpp"

namespace userbpf::isa {

using RawInsn = ::bpf_insn;
static_assert(sizeof(RawInsn) == 8);

enum class CallKind : uint8_t { helper, local, kfunc };

struct Insn {
  uint8_t opcode = 0;  // the raw opcode byte
  uint8_t dst = 0;
  uint8_t src = 0;
  Kind kind = Kind::invalid;  // Kind::invalid marks the second slot of an lddw
  uint8_t width = 0;          // see OpcodeInfo::width; for endian: 16, 32 or 64 (the imm)
  int16_t off = 0;
  int32_t imm = 0;
  int64_t imm64 = 0;   // lddw: imm | next_imm << 32
  int32_t next_imm = 0;  // lddw: imm of the second slot (map value offset for pseudo forms)
  int32_t target = -1;   // absolute index: jumps, may_goto, bpf-to-bpf calls, pseudo-func lddw
  CallKind call = CallKind::helper;

  bool is_lddw_tail() const { return kind == Kind::invalid; }
};

struct Program {
  std::vector<Insn> insns;
  std::vector<RawInsn> raw;  // the input, slot for slot

  size_t size() const { return insns.size(); }
};

// Builders for raw instructions, used by the assembler, generators and tests.
inline RawInsn make_raw(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  RawInsn r{};
  r.code = code;
  r.dst_reg = dst & 0xf;
  r.src_reg = src & 0xf;
  r.off = off;
  r.imm = imm;
  return r;
}

}  // namespace userbpf::isa
