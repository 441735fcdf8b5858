// What an eBPF instruction reads and writes among r0..r9, one bit per register, for the JIT's
// register analyses (dead_registers.cpp, stack_forwarding.cpp). Conservative: whatever is not
// known reads every register and writes none.
#pragma once

#include <cstdint>

#include "vm/threaded_code.hpp"

namespace userbpf::jit::detail {

using vm::detail::Op;
using vm::detail::TranslatedSlot;

inline constexpr uint16_t bit(unsigned reg) {
  return static_cast<uint16_t>(1u << reg);
}
inline constexpr uint16_t kAllRegisters = 0x3ff;  // r0..r9 (r10 is never written)
inline constexpr uint16_t kArguments = 0x3e;      // r1..r5
inline constexpr uint16_t kCallClobbers = 0x3f;   // r0..r5

struct RegisterUse {
  uint16_t reads = kAllRegisters;
  uint16_t writes = 0;
};

inline bool op_in(Op op, Op first, Op last) {
  return first <= op && op <= last;
}

inline RegisterUse register_use(const TranslatedSlot& s) {
  const Op op = s.op;
  const uint16_t dst = s.dst < 10 ? bit(s.dst) : 0;
  const uint16_t src = s.src < 10 ? bit(s.src) : 0;
  if (op == Op::mov64_imm || op == Op::mov32_imm) return {0, dst};
  if (op == Op::mov64_reg || op == Op::mov32_reg) return {src, dst};
  if (op_in(op, Op::add64_reg, Op::arsh64_reg) || op_in(op, Op::add32_reg, Op::arsh32_reg))
    return {static_cast<uint16_t>(dst | src), dst};
  if (op_in(op, Op::add64_imm, Op::arsh64_imm) || op_in(op, Op::add32_imm, Op::arsh32_imm))
    return {dst, dst};
  if (op == Op::neg64 || op == Op::neg32 || op_in(op, Op::trunc16, Op::swap64)) return {dst, dst};
  if (op_in(op, Op::movsx64_8, Op::movsx32_16)) return {src, dst};
  if (op == Op::nop || op == Op::ja || op == Op::may_goto || op == Op::lddw_tail ||
      op == Op::fell_off || op == Op::core_poisoned)
    return {0, 0};
  if (op_in(op, Op::jeq64_reg, Op::jsle64_reg) || op_in(op, Op::jeq32_reg, Op::jsle32_reg))
    return {static_cast<uint16_t>(dst | src), 0};
  if (op_in(op, Op::jeq64_imm, Op::jsle64_imm) || op_in(op, Op::jeq32_imm, Op::jsle32_imm))
    return {dst, 0};
  if (op == Op::call_helper || op == Op::call_local) return {kArguments, kCallClobbers};
  if (op == Op::exit) return {bit(0), 0};
  if (op_in(op, Op::ldx8, Op::ldxsx32) || op_in(op, Op::load_acq8, Op::load_acq64))
    return {src, dst};
  if (op_in(op, Op::st8, Op::st64)) return {dst, 0};
  if (op_in(op, Op::stx8, Op::stx64) || op_in(op, Op::store_rel8, Op::store_rel64))
    return {static_cast<uint16_t>(dst | src), 0};
  if (op == Op::lddw) return {0, dst};
  return {};  // atomics, LD_ABS/LD_IND: read everything, write nothing (as far as this knows)
}

}  // namespace userbpf::jit::detail
