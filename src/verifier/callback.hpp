// Callbacks of helpers (bpf_loop, bpf_for_each_map_elem): after the helper's own checks, the
// callback is verified as a function called from the helper's call instruction, with the
// arguments Linux gives it (set_loop_callback_state, set_map_elem_callback_state), and its return
// value must be 0 or 1. When it returns, the caller continues after the call with the helper's
// result in R0 (not the callback's).
//
// Like Linux before 6.7, the callback body is explored once per path, not iterated to a fixed
// point: what one call of the callback does to memory the caller shares with it (its stack
// through the ctx argument) is assumed for every call.
#pragma once

#include <array>
#include <cstdint>

#include "verifier/env.hpp"

namespace userbpf::verifier {

enum class CallbackEntry : uint8_t { none, entered, failed };

// After check_helper_call accepted helper `id` at the current instruction: enters the callback
// frame when the helper has one (the caller marks it FuncFrame::in_callback, so that its exit
// goes through callback_return_ok and leaves the helper's R0). `args` are the caller's registers
// before the call.
CallbackEntry enter_callback(Env& env, VerifierState& st, uint32_t id,
                             const std::array<RegState, 11>& args);

// At the callback's exit: R0 must be a scalar in [0, 1]. Rejects through `env` otherwise.
bool callback_return_ok(Env& env, const RegState& r0);

}  // namespace userbpf::verifier
