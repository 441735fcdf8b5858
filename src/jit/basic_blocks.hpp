// The basic blocks of a translated program, for the JIT's backward dataflow analyses (dead stack
// stores, dead register definitions). All functions form one graph: a call falls through (the
// callee is another frame), code that falls into a function shares its frame, and an exit, a
// fault or the end of the program leaves it. A block starts at instruction 0, a function entry,
// a jump target and after a jump or a leaving instruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vm/threaded_code.hpp"

namespace userbpf::jit::detail {

class BasicBlocks {
 public:
  // False when a jump leaves [0, n): not a verified program, and nothing may be concluded.
  bool build(std::span<const vm::detail::TranslatedSlot> code,
             const std::vector<uint8_t>& is_function);

  size_t count() const { return starts_.size(); }
  size_t begin(size_t b) const { return starts_[b]; }
  size_t end(size_t b) const { return b + 1 < starts_.size() ? starts_[b + 1] : n_; }
  // The blocks control may go to from the end of block b (at most two).
  size_t successors(size_t b, size_t (&out)[2]) const;

 private:
  size_t block_at(size_t insn, size_t near) const;  // the block `insn` starts, searched from `near`
  std::span<const vm::detail::TranslatedSlot> code_;
  std::vector<uint32_t> starts_;  // sorted
  size_t n_ = 0;
};

// Does `op` end the frame's code (an exit or a fault)?
inline bool leaves_frame(vm::detail::Op op) {
  using vm::detail::Op;
  return op == Op::exit || op == Op::fell_off || op == Op::core_poisoned;
}

// Can execution continue from this instruction into the next slot?
inline bool falls_through(vm::detail::Op op) {
  return !leaves_frame(op) && op != vm::detail::Op::ja;
}

}  // namespace userbpf::jit::detail
