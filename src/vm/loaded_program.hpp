// What Interpreter::load produces: the program bound to both engines' handlers, plus the tables
// the handlers consult. Immutable after load, so any number of runs may share it.
#pragma once

#include <cstdint>
#include <vector>

#include "vm/interpreter.hpp"
#include "vm/threaded_code.hpp"

namespace userbpf::vm::detail {

struct LoadedProgram {
  std::vector<Slot> unchecked_code;        // bound to execute<false>'s handlers
  std::vector<Slot> checked_code;          // bound to execute<true>'s handlers
  std::vector<TranslatedSlot> translated;  // before binding: what the JIT compiles
  std::vector<HelperFn> helpers;           // call_helper slots index this
  std::vector<uint32_t> helper_ids;        // Linux id of helpers[i]
  std::vector<bool> function_entry;        // instruction index -> BPF_PSEUDO_FUNC target
  size_t insn_count = 0;                   // program slots, without the sentinel
};

}  // namespace userbpf::vm::detail
