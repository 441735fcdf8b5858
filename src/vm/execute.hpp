// The execution engine: a computed-goto loop over threaded Slots, instantiated twice. The
// unchecked instance trusts the program (verified code); the checked one counts instructions
// against the budget and checks every memory access before it happens.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vm/run_state.hpp"

namespace userbpf::vm::detail {

// Linux's BPF_MAX_LOOPS: how often one frame's may_goto instructions fall through before they jump.
inline constexpr uint64_t kMayGotoLoops = 8ull * 1024 * 1024;

// The engine's handler addresses, indexed by Op (for bind()).
template <bool Checked>
const void* const* handler_table();

// Runs the function starting at slot `entry` as a new frame at call depth `depth` (0 = the
// program's main frame) with r1..r5 = args, until that frame exits. Returns r0; on a fault the
// error is in `state` (state.failed) and the return value is meaningless.
template <bool Checked>
uint64_t execute(RunState& state, size_t entry, uint32_t depth, const uint64_t (&args)[5]);

}  // namespace userbpf::vm::detail
