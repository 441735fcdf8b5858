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
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"
#include "jit/register_use.hpp"

namespace userbpf::jit::detail {
namespace {

constexpr uint8_t kNoHolder = 0xff;  // Emitter::kNoRegister

// The state at one point: for each tracked slot (the offsets some 64-bit load from r10 reads,
// `Slots`), the register known to hold its value, or kNoHolder. A register a slot was loaded
// into while another held it keeps it: either serves. Blocks store their states side by side in
// one array, blocks × slots bytes: memory touched for the first time costs a page fault, and
// faults are what large programs' compile time was made of (bench/RESULTS.md, 2026-11-29).
using Slots = std::vector<int32_t>;  // sorted offsets
using Holders = std::span<uint8_t>;

void forget_register(Holders h, uint8_t reg) {
  for (uint8_t& r : h)
    if (r == reg) r = kNoHolder;
}

void forget_bytes(const Slots& slots, Holders h, int32_t from, int32_t to) {
  for (size_t k = 0; k < slots.size(); ++k)
    if (slots[k] < to && from < slots[k] + 8) h[k] = kNoHolder;
}

size_t slot_of(const Slots& slots, int32_t off) {
  const auto at = std::lower_bound(slots.begin(), slots.end(), off);
  return at != slots.end() && *at == off ? static_cast<size_t>(at - slots.begin()) : SIZE_MAX;
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
  // Offsets are 16-bit: a bit for each tells the distinct ones without sorting every load.
  std::vector<uint64_t> reloaded((1 << 16) / 64, 0);
  Slots slots;
  for (size_t i = 0; i < n; ++i) {
    const TranslatedSlot& s = program_.translated[i];
    if (s.op != Op::ldx64 || s.src != 10) continue;
    const auto offset = static_cast<uint16_t>(s.off);
    uint64_t& word = reloaded[offset / 64];
    const uint64_t mask = uint64_t{1} << (offset % 64);
    if (!(word & mask)) {
      word |= mask;
      slots.push_back(s.off);
    }
  }
  std::sort(slots.begin(), slots.end());
  if (slots.empty()) return;  // only worth the search where a 64-bit stack load exists
  const size_t width = slots.size();
  BasicBlocks graph;
  if (!graph.build({program_.translated.data(), n}, is_function_)) return;
  const size_t blocks = graph.count();
  std::vector<uint8_t> in(blocks * width, kNoHolder);
  const auto in_of = [&](size_t b) { return Holders(in.data() + b * width, width); };
  std::vector<uint8_t> reached(blocks, false);
  std::vector<uint8_t> from(n, kNoRegister);
  static_assert(kNoHolder == kNoRegister);
  // The effect of instruction i on `h`; records the forwarding of a reload.
  const auto step = [&](size_t i, Holders h) {
    const TranslatedSlot& s = program_.translated[i];
    const auto forget_all = [&] { std::fill(h.begin(), h.end(), kNoHolder); };
    if (skip_[i]) {
      // No code: the machine registers keep their values. A store left out writes nothing
      // either, so the slot no longer matches what the program stored: forget it.
      if (s.op >= Op::st8 && s.op <= Op::stx64 && s.dst == 10)
        forget_bytes(slots, h, s.off, s.off + static_cast<int32_t>(access_bytes(s.op)));
      return;
    }
    if (s.op == Op::ldx64 && s.src == 10) {
      const size_t k = slot_of(slots, s.off);
      from[i] = h[k];
      forget_register(h, s.dst);
      // A load nothing reads gets no code: its register keeps its old value.
      if (!dead_definition(i) && h[k] == kNoHolder) h[k] = s.dst;
      return;
    }
    if (s.op >= Op::st8 && s.op <= Op::stx64) {
      if (s.dst != 10) {
        forget_all();
        return;
      }
      forget_bytes(slots, h, s.off, s.off + static_cast<int32_t>(access_bytes(s.op)));
      if (s.op == Op::stx64 && s.src < 10)
        if (const size_t k = slot_of(slots, s.off); k != SIZE_MAX) h[k] = s.src;
      return;
    }
    if (s.op == Op::call_helper) {
      if (inlined_call_keeps_arguments(i)) {
        forget_register(h, 0);
      } else {
        forget_all();
      }
      return;
    }
    if (s.op == Op::call_local || register_effect(s.op) == RegisterEffect::unknown) {
      forget_all();
      return;
    }
    const uint16_t writes = register_use(s).writes;
    for (uint8_t& r : h)
      if (r != kNoHolder && (writes & bit(r))) r = kNoHolder;
  };
  // The state at the start of block b: nothing known at a function's entry (another frame).
  std::vector<uint8_t> state(width);
  const auto start_block = [&](size_t b) {
    const bool entry = b == 0 || is_function_[graph.begin(b)];
    if (entry)
      std::fill(state.begin(), state.end(), kNoHolder);
    else
      std::copy_n(in.begin() + static_cast<ptrdiff_t>(b * width), width, state.begin());
  };
  // The greatest fixed point: a block's state is what holds on every path reaching it
  // (unreached blocks contribute nothing yet). Blocks wait in `pending` while their input has
  // changed since their last walk; walking in program order settles forward edges within one
  // sweep, and only loops bring a block back. Inputs only lose facts, so a block's last walk
  // has its final input: every walk records, the last one stands.
  std::vector<uint8_t> pending(blocks, false);
  for (size_t b = 0; b < blocks; ++b)
    if (b == 0 || is_function_[graph.begin(b)]) pending[b] = reached[b] = true;
  for (bool again = true; again;) {
    again = false;
    for (size_t b = 0; b < blocks; ++b) {
      if (!pending[b]) continue;
      pending[b] = false;
      start_block(b);
      for (size_t i = graph.begin(b); i < graph.end(b); ++i) step(i, state);
      size_t next[2];
      const size_t count = graph.successors(b, next);
      for (size_t k = 0; k < count; ++k) {
        const size_t t = next[k];
        if (is_function_[graph.begin(t)]) continue;
        const Holders target = in_of(t);
        bool changed = !reached[t];
        if (!reached[t]) {
          std::copy(state.begin(), state.end(), target.begin());
          reached[t] = true;
        } else {
          // What holds on both paths: the same register, else nothing known.
          for (size_t j = 0; j < width; ++j)
            if (target[j] != kNoHolder && target[j] != state[j]) {
              target[j] = kNoHolder;
              changed = true;
            }
        }
        if (changed) {
          pending[t] = true;
          again |= t <= b;
        }
      }
    }
  }
  reload_from_ = std::move(from);
}

}  // namespace userbpf::jit::detail
