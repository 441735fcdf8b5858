// Stores to the eBPF stack that nothing reads are left without code. clang spills a map key or
// value to the stack because the helper takes a pointer to it; where the JIT passes the key or
// value in a register instead (inlined array map calls, by-value hash map entries), the store
// is dead: three per iteration of the suite's array_map_loop (705-720 -> 605-625 ns without
// them, bench/RESULTS.md, 2026-11-27).
//
// The analysis is a backward liveness of the stack's bytes over the whole program, sound only
// when every read of the stack is visible: r10 is read as a memory base with a constant offset,
// or copied into a helper's argument as `rX = r10; rX += off` right before the call
// (Emitter::stack_address), which then reads at most the bytes from r10 + off up to r10 (fewer
// where the emitted code is known to read less: call_stack_reads). Anything else that reads r10
// (a stack pointer given to a bpf-to-bpf call, kept, compared, stored) may let any later
// instruction read the stack, and the analysis removes nothing. Writes through pointers never
// make a store dead (only a store through r10 does), so a helper that writes the stack is safe.
//
// All functions form one graph (basic_blocks.hpp); an exit, a fault and the end of the program
// leave the frame, where nothing is live.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"

namespace userbpf::jit::detail {
namespace {

constexpr int32_t kStackBytes = 512;

bool is_load(Op op) {
  return (Op::ldx8 <= op && op <= Op::ldxsx32) || (Op::load_acq8 <= op && op <= Op::load_acq64);
}
bool is_plain_store(Op op) {
  return Op::st8 <= op && op <= Op::stx64;
}
bool is_atomic(Op op) {
  return Op::atomic_add32 <= op && op <= Op::cmpxchg64;
}
bool is_release_store(Op op) {
  return Op::store_rel8 <= op && op <= Op::store_rel64;
}

// Bytes a memory instruction accesses.
int32_t access_bytes(Op op) {
  switch (op) {
    case Op::ldx8:
    case Op::ldxsx8:
    case Op::load_acq8:
    case Op::st8:
    case Op::stx8:
    case Op::store_rel8: return 1;
    case Op::ldx16:
    case Op::ldxsx16:
    case Op::load_acq16:
    case Op::st16:
    case Op::stx16:
    case Op::store_rel16: return 2;
    case Op::ldx32:
    case Op::ldxsx32:
    case Op::load_acq32:
    case Op::st32:
    case Op::stx32:
    case Op::store_rel32: return 4;
    default:
      if (Op::atomic_add32 <= op && op <= Op::cmpxchg32) return 4;
      return 8;
  }
}

// Does `s` read r10 other than as the base of a memory access?
bool reads_r10_otherwise(const TranslatedSlot& s) {
  const Op op = s.op;
  if (is_load(op)) return false;  // src is the base, dst is written
  if (is_plain_store(op) || is_release_store(op) || is_atomic(op))
    return op != Op::st8 && op != Op::st16 && op != Op::st32 && op != Op::st64 && s.src == 10;
  switch (register_effect(op)) {
    case RegisterEffect::none:
      if (Op::jeq64_reg <= op && op <= Op::jsle32_imm) return s.dst == 10 || s.src == 10;
      return false;
    case RegisterEffect::dst: return s.dst == 10 || s.src == 10;
    case RegisterEffect::unknown:
      return (Op::ld_ind8 <= op && op <= Op::ld_ind32) && s.src == 10;  // calls read no field
  }
  return true;
}

// A set of stack bytes: bit b of the words is r10 + lowest + b.
class ByteSet {
 public:
  ByteSet(uint64_t* words, size_t count, int32_t lowest)
      : words_(words), count_(count), lowest_(lowest) {}
  void set_range(int32_t from, int32_t to) {
    for_range(from, to, [](uint64_t& w, uint64_t m) { w |= m; });
  }
  void clear_range(int32_t from, int32_t to) {
    for_range(from, to, [](uint64_t& w, uint64_t m) { w &= ~m; });
  }
  bool any_in(int32_t from, int32_t to) {
    bool any = false;
    for_range(from, to, [&](uint64_t& w, uint64_t m) { any |= (w & m) != 0; });
    return any;
  }
  // this |= other; true when that added a byte.
  bool merge(const uint64_t* other) {
    bool grew = false;
    for (size_t w = 0; w < count_; ++w) {
      const uint64_t next = words_[w] | other[w];
      grew |= next != words_[w];
      words_[w] = next;
    }
    return grew;
  }

 private:
  // f(word, mask) for each word the bytes [from, to) touch.
  template <class F>
  void for_range(int32_t from, int32_t to, F f) {
    for (uint32_t b = static_cast<uint32_t>(from - lowest_),
                  e = static_cast<uint32_t>(to - lowest_);
         b < e;) {
      const uint32_t in_word = std::min(e - b, 64 - b % 64);
      const uint64_t mask = (in_word == 64 ? ~uint64_t{0} : (uint64_t{1} << in_word) - 1)
                            << (b % 64);
      f(words_[b / 64], mask);
      b += in_word;
    }
  }
  uint64_t* words_;
  size_t count_;
  int32_t lowest_;
};

}  // namespace

bool Emitter::dead_code_search() const {
  using DeadStores = CompileOptions::DeadStores;
  const bool map_calls = options_.inline_helpers && !options_.blind_constants &&
                         (!options_.array_maps.empty() || !options_.direct_maps.empty());
  return options_.dead_stores == DeadStores::everywhere ||
         (options_.dead_stores == DeadStores::in_map_programs && map_calls);
}

void Emitter::find_dead_stack_stores() {
  const size_t n = program_.insn_count;
  if (n == 0 || !dead_code_search()) return;
  // One pass: every access of the stack and the reads of r10 calls do not account for.
  std::vector<bool> accounted(n, false);  // `rX = r10` copies a call consumes
  std::vector<size_t> other_r10_reads;
  std::vector<std::vector<StackRange>> call_reads;
  std::vector<size_t> calls;
  int32_t lowest = 0;
  bool any_store = false;
  const auto within = [](int32_t from, int32_t to) { return from >= -kStackBytes && to <= 0; };
  for (size_t i = 0; i < n; ++i) {
    const TranslatedSlot& s = program_.translated[i];
    if (s.op == Op::call_helper || s.op == Op::call_local) {
      std::vector<StackRange> reads;
      if (!call_stack_reads(i, reads, accounted)) return;
      for (const StackRange& r : reads) {
        if (!within(r.from, r.to)) return;
        if (r.from < r.to) lowest = std::min(lowest, r.from);
      }
      calls.push_back(i);
      call_reads.push_back(std::move(reads));
      continue;
    }
    const bool memory =
        is_load(s.op) || is_plain_store(s.op) || is_release_store(s.op) || is_atomic(s.op);
    const uint8_t base = is_load(s.op) ? s.src : s.dst;
    if (memory && base == 10) {
      const int32_t from = s.off, to = s.off + access_bytes(s.op);
      if (!within(from, to)) return;
      lowest = std::min(lowest, from);
      any_store |= is_plain_store(s.op);
    }
    if (reads_r10_otherwise(s)) other_r10_reads.push_back(i);
  }
  if (!any_store) return;
  // A copy of r10 a later call consumes is accounted for only once that call was seen.
  for (size_t i : other_r10_reads)
    if (!(program_.translated[i].op == Op::mov64_reg && accounted[i])) return;
  BasicBlocks graph;
  if (!graph.build({program_.translated.data(), n}, is_function_)) return;  // not verified
  const size_t blocks = graph.count();
  const size_t words = static_cast<size_t>(-lowest + 63) / 64;
  // live_in per block; iterate in reverse order until nothing changes.
  std::vector<uint64_t> live_in(blocks * words, 0);
  std::vector<uint64_t> scratch(words);
  ByteSet live(scratch.data(), words, lowest);
  // Walks block b backward from its live-out; with `mark`, records dead stores in skip_.
  const auto walk = [&](size_t b, bool mark) {
    std::fill(scratch.begin(), scratch.end(), 0);
    size_t next[2];
    for (size_t k = 0, count = graph.successors(b, next); k < count; ++k)
      live.merge(&live_in[next[k] * words]);
    for (size_t i = graph.end(b); i-- > graph.begin(b);) {
      const TranslatedSlot& s = program_.translated[i];
      if (s.op == Op::call_helper || s.op == Op::call_local) {
        const size_t k =
            static_cast<size_t>(std::lower_bound(calls.begin(), calls.end(), i) - calls.begin());
        for (const StackRange& r : call_reads[k]) live.set_range(r.from, r.to);
        continue;
      }
      if (is_load(s.op) && s.src == 10) {
        live.set_range(s.off, s.off + access_bytes(s.op));
      } else if (is_atomic(s.op) && s.dst == 10) {
        live.set_range(s.off, s.off + access_bytes(s.op));
      } else if ((is_plain_store(s.op) || is_release_store(s.op)) && s.dst == 10) {
        const int32_t from = s.off, to = s.off + access_bytes(s.op);
        if (mark && is_plain_store(s.op) && !live.any_in(from, to)) skip_[i] = true;
        live.clear_range(from, to);
      }
    }
    // live_in only grows (the graph's liveness is a least fixed point reached from nothing).
    return ByteSet(&live_in[b * words], words, lowest).merge(scratch.data());
  };
  // Without a backward jump every block's successors come after it: one pass in reverse order
  // is final and can mark as it goes. Otherwise go round until nothing changes, then mark.
  const bool loops = std::find(loop_head_.begin(), loop_head_.end(), true) != loop_head_.end();
  for (bool changed = loops; changed;) {
    changed = false;
    for (size_t b = blocks; b-- > 0;) changed |= walk(b, false);
  }
  for (size_t b = blocks; b-- > 0;) walk(b, true);
}

}  // namespace userbpf::jit::detail
