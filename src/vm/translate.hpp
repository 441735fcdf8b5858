// Translation of a decoded program into the interpreter's threaded form (see threaded_code.hpp).
// Everything that can be decided once is decided here: the handler per instruction, relative jump
// targets, helper functions by id, lddw values (pseudo forms resolved), function handles.
#pragma once

#include <cstdint>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"
#include "vm/threaded_code.hpp"

namespace userbpf::vm::detail {

// A BPF_PSEUDO_FUNC lddw loads kFunctionHandleTag | <instruction index of the function>. The tag
// keeps handles from looking like small integers or user-space pointers.
inline constexpr uint64_t kFunctionHandleTag = 0xbfbf'0000'0000'0000ull;
inline constexpr uint64_t kFunctionHandleMask = 0xffff'ffff'0000'0000ull;

struct Translation {
  std::vector<TranslatedSlot> slots;  // program size + 1: the last one is the fell_off sentinel
  std::vector<HelperFn> helpers;      // call_helper's imm indexes this
  std::vector<uint32_t> helper_ids;   // Linux id of helpers[i], for messages
  std::vector<bool> function_entry;   // per instruction: a BPF_PSEUDO_FUNC target
};

Result<Translation> translate(const isa::Program& program, const HelperTable& helpers,
                              const LoadOptions& options);

// Binds translated slots to one engine's handler table (indexed by Op).
std::vector<Slot> bind(const std::vector<TranslatedSlot>& slots, const void* const* handlers);

}  // namespace userbpf::vm::detail
