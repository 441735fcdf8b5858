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
#include "jit/register_use.hpp"

namespace userbpf::jit::detail {
namespace {

// The instructions whose only effect is their dst: an unread result means no code.
bool pure_definition(Op op) {
  return op_in(op, Op::add64_reg, Op::arsh32_imm) || op_in(op, Op::neg64, Op::movsx32_16) ||
         op_in(op, Op::trunc16, Op::swap64);
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

// Without the dataflow: every path from `start`, each up to the first instruction that reads or
// replaces reg, followed through gotos and through both ways of up to four conditional jumps
// (a loop's back edge included: byte_reverse's index register is replaced at the loop's head),
// 32 instructions in all; false when a path goes further, enters another function or calls one
// (a jump landing on the way does not matter: only what runs from `start` on can read the value
// it finds). Enough for the fused forms that ask, whose register clang reuses soon.
bool Emitter::replaced_before_read(size_t start, uint8_t reg) const {
  size_t budget = 32;
  return replaced_on_every_path(start, reg, budget, 4);
}

bool Emitter::replaced_on_every_path(size_t i, uint8_t reg, size_t& budget, int branches) const {
  const size_t start = i;
  for (; i < program_.insn_count && budget != 0; ++i, --budget) {
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
    int64_t delta = 0;
    if (jump_delta(s, delta)) {
      const int64_t target = static_cast<int64_t>(i) + 1 + delta;
      if (target < 0 || static_cast<size_t>(target) >= program_.insn_count) return false;
      if (s.op != Op::ja) {  // both ways: the target here, the fall-through below
        if (branches == 0 ||
            !replaced_on_every_path(static_cast<size_t>(target), reg, budget, branches - 1))
          return false;
        --branches;
        continue;
      }
      i = static_cast<size_t>(target) - 1;  // the loop's ++i lands on the target
      if (is_function_[i + 1]) return false;
      continue;
    }
    if (!skip_[i] && (use.writes & bit(reg))) return true;
  }
  return false;
}

uint16_t Emitter::entry_reads() const {
  const size_t n = program_.insn_count;
  // A callback (bpf_loop's, for_each_map_elem's) is entered through the same trampoline with
  // its own arguments.
  if (several_functions_ || n == 0) return kAllRegisters;
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
