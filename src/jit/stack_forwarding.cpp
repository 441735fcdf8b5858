// Stack reloads of a value a register still holds. clang spills a value that must outlive a
// helper call (r1..r5 do not) and reloads it after the call; when the call is inlined and leaves
// r1..r5 alone, or the value sat in r6..r9, the reload reads back what the register already
// holds. Such a load becomes a register move, or nothing when it is the same register: one load
// fewer in the loop, and one the CPU cannot wrongly predict to depend on the loop's stores
// (array_map_loop ran 15-60% slower in some processes with its reload, bench/RESULTS.md).
//
// Forward dataflow over the blocks (basic_blocks.hpp): per 8-byte stack slot, the register known
// to hold the slot's value. What it tracks is the machine register, so an instruction left
// without code (skip_) changes nothing; everything else that may change a register or the stack
// forgets conservatively: any definition of the register (even one without code), a store
// overlapping the slot, a store or atomic through any register but r10 (it may point into the
// stack), a helper call not inlined (r0..r5 and every slot: helpers write through pointers), a
// bpf-to-bpf call, LD_ABS/LD_IND and atomics (everything). A function entry starts with nothing
// known (another frame).
#include <algorithm>
#include <utility>
#include <vector>

#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"
#include "jit/register_use.hpp"

namespace userbpf::jit::detail {
namespace {

// (slot offset from r10, register), sorted by offset; at most one register per slot.
using Holders = std::vector<std::pair<int32_t, uint8_t>>;

void forget_register(Holders& h, uint8_t reg) {
  std::erase_if(h, [&](const auto& p) { return p.second == reg; });
}

void forget_bytes(Holders& h, int32_t from, int32_t to) {
  std::erase_if(h, [&](const auto& p) { return p.first < to && from < p.first + 8; });
}

void remember(Holders& h, int32_t slot, uint8_t reg) {
  const auto at = std::lower_bound(h.begin(), h.end(), std::pair<int32_t, uint8_t>{slot, 0});
  h.insert(at, {slot, reg});
}

Holders intersect(const Holders& a, const Holders& b) {
  Holders out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

unsigned access_bytes(Op op) {
  switch (op) {
    case Op::st8:
    case Op::stx8: return 1;
    case Op::st16:
    case Op::stx16: return 2;
    case Op::st32:
    case Op::stx32: return 4;
    default: return 8;
  }
}

}  // namespace

void Emitter::find_forwarded_reloads() {
  const size_t n = program_.insn_count;
  if (n == 0 || options_.blind_constants) return;
  // Only worth the search where a 64-bit stack load exists.
  bool any_reload = false;
  for (size_t i = 0; i < n && !any_reload; ++i)
    any_reload = program_.translated[i].op == Op::ldx64 && program_.translated[i].src == 10;
  if (!any_reload) return;
  BasicBlocks graph;
  if (!graph.build({program_.translated.data(), n}, is_function_)) return;
  const size_t blocks = graph.count();
  std::vector<Holders> in(blocks);
  std::vector<bool> reached(blocks, false);
  std::vector<uint8_t> from(n, kNoRegister);
  // The effect of instruction i on `h`; records the forwarding of a reload when `record`.
  const auto step = [&](size_t i, Holders& h, bool record) {
    const TranslatedSlot& s = program_.translated[i];
    if (skip_[i]) {
      // No code: the machine registers keep their values. A store left out writes nothing
      // either, so the slot no longer matches what the program stored: forget it.
      if (s.op >= Op::st8 && s.op <= Op::stx64 && s.dst == 10)
        forget_bytes(h, s.off, s.off + static_cast<int32_t>(access_bytes(s.op)));
      return;
    }
    if (s.op == Op::ldx64 && s.src == 10) {
      uint8_t holder = kNoRegister;
      for (const auto& p : h)
        if (p.first == s.off) holder = p.second;
      if (record) from[i] = holder;
      forget_register(h, s.dst);
      // A load nothing reads gets no code: its register keeps its old value.
      if (!dead_definition(i)) remember(h, s.off, s.dst);
      return;
    }
    if (s.op >= Op::st8 && s.op <= Op::stx64) {
      if (s.dst != 10) {
        h.clear();
        return;
      }
      forget_bytes(h, s.off, s.off + static_cast<int32_t>(access_bytes(s.op)));
      if (s.op == Op::stx64 && s.src < 10) remember(h, s.off, s.src);
      return;
    }
    if (s.op == Op::call_helper) {
      if (inlined_call_keeps_arguments(i)) {
        forget_register(h, 0);
      } else {
        h.clear();
      }
      return;
    }
    if (s.op == Op::call_local || register_effect(s.op) == RegisterEffect::unknown) {
      h.clear();
      return;
    }
    const uint16_t writes = register_use(s).writes;
    for (uint8_t r = 0; r < 10; ++r)
      if (writes & bit(r)) forget_register(h, r);
  };
  // Iterate to the greatest fixed point: a block's state is what holds on every path reaching
  // it (unreached blocks contribute nothing yet).
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t b = 0; b < blocks; ++b) {
      const bool entry = b == 0 || is_function_[graph.begin(b)];
      if (entry && !reached[b]) {
        reached[b] = true;
        changed = true;
      }
      if (!reached[b]) continue;
      Holders h = entry ? Holders{} : in[b];
      for (size_t i = graph.begin(b); i < graph.end(b); ++i) step(i, h, false);
      size_t next[2];
      const size_t count = graph.successors(b, next);
      for (size_t k = 0; k < count; ++k) {
        const size_t t = next[k];
        if (is_function_[graph.begin(t)]) continue;
        Holders merged = reached[t] ? intersect(in[t], h) : h;
        if (!reached[t] || merged != in[t]) {
          in[t] = std::move(merged);
          reached[t] = true;
          changed = true;
        }
      }
    }
  }
  for (size_t b = 0; b < blocks; ++b) {
    if (!reached[b]) continue;
    const bool entry = b == 0 || is_function_[graph.begin(b)];
    Holders h = entry ? Holders{} : in[b];
    for (size_t i = graph.begin(b); i < graph.end(b); ++i) step(i, h, true);
  }
  reload_from_ = std::move(from);
}

}  // namespace userbpf::jit::detail
