// Register liveness: which of r0..r9 a later instruction may read after each instruction
// (Emitter::live_out_). What uses it:
// - An ALU instruction whose result nothing reads gets no code. clang -O2 leaves few of these
//   (random programs have many). A null test decided at compile time (a lookup that cannot
//   fail) is followed one way only, so a value set only for the null path that never runs (as
//   array_map_loop's `r9 = 0` before `if r0 == 0`) gets no code either.
// - An inlined call's result nobody reads is not set (the `r0 = 0` of an inlined array update,
//   whose result clang seldom tests).
// - The fused forms that leave a register without its program value ask whether anything reads
//   it (dead_after, dead_after_jump), and the entries set only the registers a run may read
//   before writing them (entry_reads); without the dataflow both look at straight-line code.
//
// Backward dataflow over the program's blocks (basic_blocks.hpp), one bit per register. What an
// instruction reads and writes comes from register_use below, conservatively: whatever is not
// known reads every register and writes none. An instruction another analysis left without code
// (skip_) still counts as reading its operands and writes nothing, so its register keeps what
// the code before it set, as it does at run time. The removed definitions are not put in skip_:
// the backward scans that look for what last set a register (known_below, stored_register) keep
// seeing them as definitions, which is sound because a register such a scan asks about is read
// at that point, so every definition that reaches it is live.
#include <algorithm>
#include <vector>

#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"

namespace userbpf::jit::detail {
namespace {

constexpr uint16_t bit(unsigned reg) {
  return static_cast<uint16_t>(1u << reg);
}
constexpr uint16_t kAllRegisters = 0x3ff;  // r0..r9 (r10 is never written)
constexpr uint16_t kArguments = 0x3e;      // r1..r5
constexpr uint16_t kCallClobbers = 0x3f;   // r0..r5

struct RegisterUse {
  uint16_t reads = kAllRegisters;
  uint16_t writes = 0;
};

bool in(Op op, Op first, Op last) {
  return first <= op && op <= last;
}

RegisterUse register_use(const TranslatedSlot& s) {
  const Op op = s.op;
  const uint16_t dst = s.dst < 10 ? bit(s.dst) : 0;
  const uint16_t src = s.src < 10 ? bit(s.src) : 0;
  if (op == Op::mov64_imm || op == Op::mov32_imm) return {0, dst};
  if (op == Op::mov64_reg || op == Op::mov32_reg) return {src, dst};
  if (in(op, Op::add64_reg, Op::arsh64_reg) || in(op, Op::add32_reg, Op::arsh32_reg))
    return {static_cast<uint16_t>(dst | src), dst};
  if (in(op, Op::add64_imm, Op::arsh64_imm) || in(op, Op::add32_imm, Op::arsh32_imm))
    return {dst, dst};
  if (op == Op::neg64 || op == Op::neg32 || in(op, Op::trunc16, Op::swap64)) return {dst, dst};
  if (in(op, Op::movsx64_8, Op::movsx32_16)) return {src, dst};
  if (op == Op::nop || op == Op::ja || op == Op::may_goto || op == Op::lddw_tail ||
      op == Op::fell_off || op == Op::core_poisoned)
    return {0, 0};
  if (in(op, Op::jeq64_reg, Op::jsle64_reg) || in(op, Op::jeq32_reg, Op::jsle32_reg))
    return {static_cast<uint16_t>(dst | src), 0};
  if (in(op, Op::jeq64_imm, Op::jsle64_imm) || in(op, Op::jeq32_imm, Op::jsle32_imm))
    return {dst, 0};
  if (op == Op::call_helper || op == Op::call_local) return {kArguments, kCallClobbers};
  if (op == Op::exit) return {bit(0), 0};
  if (in(op, Op::ldx8, Op::ldxsx32) || in(op, Op::load_acq8, Op::load_acq64)) return {src, dst};
  if (in(op, Op::st8, Op::st64)) return {dst, 0};
  if (in(op, Op::stx8, Op::stx64) || in(op, Op::store_rel8, Op::store_rel64))
    return {static_cast<uint16_t>(dst | src), 0};
  if (op == Op::lddw) return {0, dst};
  return {};  // atomics, LD_ABS/LD_IND: read everything, write nothing (as far as this knows)
}

// The instructions whose only effect is their dst: an unread result means no code.
bool pure_definition(Op op) {
  return in(op, Op::add64_reg, Op::arsh32_imm) || in(op, Op::neg64, Op::movsx32_16) ||
         in(op, Op::trunc16, Op::swap64);
}

}  // namespace

void Emitter::find_live_registers() {
  const size_t n = program_.insn_count;
  if (n == 0 || !dead_code_search()) return;
  BasicBlocks graph;
  if (!graph.build({program_.translated.data(), n}, is_function_)) return;
  const size_t blocks = graph.count();
  std::vector<uint16_t> live_in(blocks, 0);
  std::vector<uint16_t> live_out(n, kAllRegisters);
  // A null test decided at compile time (known_non_null) leaves its block one way: the jump
  // (jne) or the fall-through (jeq), successors' [0] and [1]. What only the other path read
  // (array_map_loop's `r9 = 0` for a lookup that cannot fail) is dead.
  std::vector<int8_t> only_successor(blocks, -1);
  for (size_t b = 0; b < blocks; ++b) {
    const size_t last = graph.end(b) - 1;
    const TranslatedSlot& s = program_.translated[last];
    if ((s.op == Op::jeq64_imm || s.op == Op::jne64_imm) && s.imm == 0 &&
        known_non_null(last, s.dst))
      only_successor[b] = s.op == Op::jne64_imm ? 0 : 1;
  }
  // A helper call reads r1..r5, except the arguments an inlined call takes from elsewhere: an
  // argument whose setup got no code (plan_inlined_calls: the map's lddw, a key pointer read as
  // r10 + offset) still holds whatever was there before, so the call's code cannot read it.
  std::vector<std::pair<size_t, uint16_t>> call_reads;
  for (size_t i = 0; i < n; ++i) {
    if (program_.translated[i].op != Op::call_helper) continue;
    uint16_t reads = kArguments;
    for (uint8_t r = 1; r <= 5; ++r)
      if (const size_t d = last_definition(i, r); d != SIZE_MAX && skip_[d])
        reads = static_cast<uint16_t>(reads & ~bit(r));
    if (reads != kArguments) call_reads.emplace_back(i, reads);
  }
  const auto reads_of = [&](size_t i) {
    RegisterUse use = register_use(program_.translated[i]);
    if (program_.translated[i].op == Op::call_helper) {
      const auto it =
          std::lower_bound(call_reads.begin(), call_reads.end(), std::pair<size_t, uint16_t>{i, 0});
      if (it != call_reads.end() && it->first == i) use.reads = it->second;
    }
    return use;
  };
  // Walks block b backward from what its successors need; true when its live_in grew.
  const auto walk = [&](size_t b) {
    uint16_t live = 0;
    size_t next[2];
    size_t count = graph.successors(b, next);
    if (only_successor[b] >= 0 && count == 2) {
      next[0] = next[only_successor[b]];
      count = 1;
    }
    for (size_t k = 0; k < count; ++k) live |= live_in[next[k]];
    for (size_t i = graph.end(b); i-- > graph.begin(b);) {
      live_out[i] = live;
      const RegisterUse use = reads_of(i);
      if (!skip_[i]) live = static_cast<uint16_t>(live & ~use.writes);
      live |= use.reads;
    }
    const uint16_t grown = live_in[b] | live;
    const bool changed = grown != live_in[b];
    live_in[b] = grown;
    return changed;
  };
  // live_in only grows from nothing (the least fixed point); without a backward jump one pass in
  // reverse order is final.
  const bool loops = std::find(loop_head_.begin(), loop_head_.end(), true) != loop_head_.end();
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t b = blocks; b-- > 0;) changed |= walk(b);
    if (!loops) break;
  }
  live_out_ = std::move(live_out);
}

bool Emitter::dead_after(size_t index, uint8_t reg) const {
  if (reg >= 10) return false;
  if (!live_out_.empty()) return !(live_out_[index] >> reg & 1);
  return replaced_before_read(index + 1, reg);
}

bool Emitter::dead_after_jump(size_t index, uint8_t reg) const {
  if (reg >= 10) return false;
  if (!live_out_.empty()) return !(live_out_[index] >> reg & 1);
  int64_t delta = 0;
  if (!jump_delta(program_.translated[index], delta)) return false;
  const int64_t target = static_cast<int64_t>(index) + 1 + delta;
  return target >= 0 && replaced_before_read(index + 1, reg) &&
         replaced_before_read(static_cast<size_t>(target), reg);
}

// Without the dataflow: the path that falls through from `start`, up to the first instruction
// that reads or replaces reg, as long as it is straight (a jump or a call into another function
// may lead to a reader; a jump landing on the way does not matter: only what runs from `start`
// on can read the value it finds). A few instructions suffice for the fused forms that ask,
// whose register clang reuses at once.
bool Emitter::replaced_before_read(size_t start, uint8_t reg) const {
  constexpr size_t kScan = 16;
  const size_t end = std::min(program_.insn_count, start + kScan);
  for (size_t i = start; i < end; ++i) {
    const TranslatedSlot& s = program_.translated[i];
    if (s.op == Op::lddw_tail) continue;
    if ((is_function_[i] && i != start) || s.op == Op::call_local) return false;
    if (s.op == Op::exit) return reg != 0;
    if (s.op == Op::call_helper) {
      if (reg >= 1 && reg <= 5) return false;  // an argument, maybe
      if (reg == 0) return true;               // the call's result replaces it
      continue;
    }
    const RegisterUse use = register_use(s);
    if (use.reads & bit(reg)) return false;
    if (is_jump(s.op)) return false;
    if (!skip_[i] && (use.writes & bit(reg))) return true;
  }
  return false;
}

uint16_t Emitter::entry_reads() const {
  const size_t n = program_.insn_count;
  // A callback (bpf_loop's, for_each_map_elem's) is entered through the same trampoline with
  // its own arguments.
  for (size_t i = 1; i < n; ++i)
    if (is_function_[i]) return kAllRegisters;
  if (n == 0) return kAllRegisters;
  const TranslatedSlot& first = program_.translated[0];
  if (!live_out_.empty()) {
    const RegisterUse use = register_use(first);
    const uint16_t written = skip_[0] ? 0 : use.writes;
    return static_cast<uint16_t>((live_out_[0] & ~written) | use.reads);
  }
  // Without the dataflow: the straight-line code the program starts with, which every path
  // runs first. What it writes before reading is set by the program itself; at its end
  // anything still unwritten may be read (at an exit, only r0).
  constexpr size_t kScan = 64;
  uint16_t written = 0, read = 0;
  for (size_t i = 0; i < n && i < kScan; ++i) {
    const TranslatedSlot& s = program_.translated[i];
    const RegisterUse use = register_use(s);
    read |= use.reads & ~written;
    if (s.op == Op::exit) return read;
    if (!skip_[i]) written |= use.writes;
    if (is_jump(s.op) || s.op == Op::call_helper || s.op == Op::call_local ||
        register_effect(s.op) == RegisterEffect::unknown)
      break;
  }
  return static_cast<uint16_t>(read | (kAllRegisters & ~written));
}

bool Emitter::dead_definition(size_t i) const {
  if (live_out_.empty()) return false;
  const TranslatedSlot& s = program_.translated[i];
  return pure_definition(s.op) && s.dst < 10 && !(live_out_[i] >> s.dst & 1);
}

}  // namespace userbpf::jit::detail
