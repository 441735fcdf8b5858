#include "jit/basic_blocks.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "jit/emitter.hpp"

namespace userbpf::jit::detail {

bool BasicBlocks::build(std::span<const vm::detail::TranslatedSlot> code,
                        const std::vector<uint8_t>& is_function) {
  code_ = code;
  n_ = code.size();
  starts_.clear();
  // A bit per instruction in plain words: set directly, and read back a word at a time.
  std::vector<uint64_t> leader(n_ / 64 + 1, 0);
  const auto mark = [&](size_t i) { leader[i / 64] |= uint64_t{1} << (i % 64); };
  if (n_ > 0) mark(0);
  for (size_t i = 0; i < n_; ++i) {
    if (is_function[i]) mark(i);
    int64_t delta;
    if (jump_delta(code[i], delta)) {
      const int64_t target = static_cast<int64_t>(i) + 1 + delta;
      if (target < 0 || static_cast<size_t>(target) >= n_) return false;
      mark(static_cast<size_t>(target));
      mark(i + 1);
    } else if (leaves_frame(code[i].op)) {
      mark(i + 1);
    }
  }
  for (size_t w = 0; w < leader.size(); ++w)
    for (uint64_t bits = leader[w]; bits != 0; bits &= bits - 1) {
      const size_t i = w * 64 + static_cast<size_t>(std::countr_zero(bits));
      if (i < n_) starts_.push_back(static_cast<uint32_t>(i));
    }
  return true;
}

size_t BasicBlocks::block_at(size_t insn, size_t near) const {
  // Most jumps go a few blocks away: widen a window around `near` until it holds `insn`, then
  // search in it (O(log distance) rather than O(log blocks)).
  const auto first = starts_.begin();
  const size_t count = starts_.size();
  size_t lo = near, hi = near + 1;
  if (insn >= starts_[near]) {
    for (size_t step = 1; hi < count && starts_[hi] <= insn; step *= 2) {
      lo = hi;
      hi = std::min(count, hi + step);
    }
  } else {
    hi = near;
    for (size_t step = 1; lo > 0 && starts_[lo] > insn; step *= 2) {
      hi = lo;
      lo = lo > step ? lo - step : 0;
    }
  }
  return static_cast<size_t>(std::lower_bound(first + static_cast<ptrdiff_t>(lo),
                                              first + static_cast<ptrdiff_t>(hi), insn) -
                             first);
}

size_t BasicBlocks::successors(size_t b, size_t (&out)[2]) const {
  const size_t last = end(b) - 1;
  const vm::detail::TranslatedSlot& s = code_[last];
  size_t count = 0;
  int64_t delta;
  if (jump_delta(s, delta))
    out[count++] = block_at(static_cast<size_t>(static_cast<int64_t>(last) + 1 + delta), b);
  if (falls_through(s.op) && last + 1 < n_) out[count++] = b + 1;
  return count;
}

}  // namespace userbpf::jit::detail
