// Conditional jumps that repeat a compare whose outcome is already known. eBPF has no select, so
// clang's BPF backend lowers two selects on one condition into two identical branches:
//
//   J1: if r5 > r4 goto J2        (skip the first select's move)
//       r3 = r4; r3 >>= 4
//   J2: if r5 > r4 goto L         (skip the second's)
//       r0 |= 4
//   L:  ...
//
// (log2_array's inner steps, each compare then made twice). When J1 jumps, it lands on J2 with
// the same registers, so J2 jumps too: J1 goes to L at once (threading). When J1 falls through
// and nothing on the straight way to J2 writes the compared registers or lands there, J2's
// condition is false: J2 needs no code at all, provided J1's own jump went to L, which the emitter
// confirms per copy of J1 (jump_to_insn sets threaded_), since some forms of J1 emit no jump to J2
// through it (a null test folded into a lookup, an inverted jump).
#include "jit/emitter.hpp"
#include "jit/register_use.hpp"

namespace userbpf::jit::detail {
namespace {

bool immediate_form(Op op) {
  return (Op::jeq64_imm <= op && op <= Op::jsle64_imm) ||
         (Op::jeq32_imm <= op && op <= Op::jsle32_imm);
}

// The same compare of the same operands and the same condition.
bool same_test(const TranslatedSlot& a, const TranslatedSlot& b) {
  if (!is_conditional_jump(a.op) || a.op != b.op || a.dst != b.dst) return false;
  return immediate_form(a.op) ? a.imm == b.imm : a.src == b.src;
}

}  // namespace

size_t Emitter::jump_target_of(size_t index) const {
  const TranslatedSlot& s = program_.translated[index];
  const int64_t delta = s.op == Op::ja ? s.imm : s.off;
  const int64_t target = static_cast<int64_t>(index) + 1 + delta;
  return target >= 0 && static_cast<size_t>(target) < program_.insn_count
             ? static_cast<size_t>(target)
             : SIZE_MAX;
}

void Emitter::find_threaded_jumps() {
  const size_t n = program_.insn_count;
  // Allocated on the first threaded jump: most programs have none, and memory touched for the
  // first time costs a page fault per 4 KiB.
  thread_to_.clear();
  decided_by_.clear();
  threaded_.clear();
  for (size_t j1 = 0; j1 < n; ++j1) {
    const TranslatedSlot& s = program_.translated[j1];
    if (!is_conditional_jump(s.op) || skip_[j1]) continue;
    // Follow a few identical tests (each lands where the next one jumps from).
    const size_t j2 = jump_target_of(j1);
    size_t to = j2;
    for (int hops = 0;
         hops < 4 && to != SIZE_MAX && same_test(s, program_.translated[to]) && !skip_[to];
         ++hops) {
      const size_t next = jump_target_of(to);
      if (next == to) break;  // `goto -1`: only unverified programs loop so
      to = next;
    }
    if (to == j2 || to == SIZE_MAX) continue;
    if (thread_to_.empty()) {
      thread_to_.assign(n, SIZE_MAX);
      decided_by_.assign(n, SIZE_MAX);
      threaded_.assign(n, false);
    }
    thread_to_[j1] = to;
    // Is j2 reached only from j1, by its jump or along straight code that keeps the operands?
    if (j2 <= j1 || is_function_[j2]) continue;
    const std::span<const uint32_t> into_j2 = jump_sources(j2);
    if (into_j2.size() != 1 || into_j2[0] != j1) continue;
    const uint16_t operands = register_use(s).reads;
    bool straight = true;
    for (size_t k = j1 + 1; k < j2 && straight; ++k) {
      const TranslatedSlot& t = program_.translated[k];
      straight = !is_function_[k] && jump_sources(k).empty() && !is_jump(t.op) &&
                 register_effect(t.op) != RegisterEffect::unknown &&
                 !(register_use(t).writes & operands);
    }
    if (straight) decided_by_[j2] = j1;
  }
}

}  // namespace userbpf::jit::detail
