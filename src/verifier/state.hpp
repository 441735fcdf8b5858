// The abstract state of one path through the program: a stack of function frames (registers and
// stack slots each) and the references the path holds.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "verifier/reg_state.hpp"

namespace userbpf::verifier {

// What one stack byte holds (Linux's STACK_INVALID, STACK_MISC, STACK_ZERO, STACK_SPILL,
// STACK_ITER). An iterator's slots keep its state in `spilled` (kfunc_iter.cpp).
enum class SlotByte : uint8_t { invalid, misc, zero, spill, iter };

// 8 bytes of stack; bytes[0] is the slot's lowest address. `spilled` is meaningful when the slot
// holds a spill: a register stored into its low bytes (all 8, or fewer for a scalar), whose bytes
// are `spill` from bytes[0] up (Linux's is_spilled_reg looks at the same byte).
struct StackSlot {
  std::array<SlotByte, 8> bytes{};
  RegState spilled;

  bool is_spill() const { return bytes[0] == SlotByte::spill; }
  friend bool operator==(const StackSlot&, const StackSlot&) = default;
};

struct FuncFrame {
  std::array<RegState, 11> regs{};
  std::vector<StackSlot> stack;    // slot i covers fp-8*(i+1) .. fp-8*i-1; grows as written
  uint32_t callsite = UINT32_MAX;  // the call instruction in the caller; UINT32_MAX for main
  uint32_t subprog_start = 0;
  uint32_t frameno = 0;
  uint32_t stack_depth = 0;  // deepest byte touched, for the combined stack limit
  // Callback frames (bpf_loop, for_each_map_elem, timers, ...): how their exit continues and the
  // values their r0 may return (Linux's in_callback_fn, in_async_callback_fn,
  // callback_ret_range).
  enum class Callback : uint8_t { none, iterating, async };
  Callback callback = Callback::none;
  bool global_func = false;  // a global function, entered from its prototype (global_calls.cpp)
  int32_t callback_ret_min = 0;
  int32_t callback_ret_max = 0;

  friend bool operator==(const FuncFrame&, const FuncFrame&) = default;
};

struct Reference {
  uint32_t id = 0;
  uint32_t insn = 0;  // where it was acquired
  friend bool operator==(const Reference&, const Reference&) = default;
};

// The bpf_spin_lock a path holds (Linux's active_lock): the map whose value holds it and the id
// of the map value pointer it was taken through.
struct ActiveLock {
  uint32_t map_index = UINT32_MAX;
  uint32_t id = 0;
  bool held() const { return map_index != UINT32_MAX; }
  friend bool operator==(const ActiveLock&, const ActiveLock&) = default;
};

// One executed instruction of a path, for backtracking (Linux's jmp_history, kept for every
// instruction): the frame it ran in, the stack slot a load or store used at a fixed offset, and
// the scalars linked (by id) to a compared register, whose bounds the comparison refined too.
struct HistEntry {
  static constexpr uint8_t kNoSlot = 0xff;
  uint32_t insn = 0;
  uint8_t frame = 0;
  uint8_t stack_frame = 0;
  uint8_t stack_slot = kNoSlot;  // slot index (fp-8*(i+1)); kNoSlot when not a stack access
  uint32_t linked = 0;           // 1 + index into Env's linked sets; 0 for none
};

struct VerifierState {
  std::vector<FuncFrame> frames;
  std::vector<Reference> refs;
  ActiveLock lock;
  // may_goto iterations on this path (Linux's may_goto_depth): a loop whose state repeats with a
  // different depth is bounded by may_goto, not infinite.
  uint32_t may_goto_depth = 0;
  // Iterations of callbacks entered on this path (Linux's callback_unroll_depth): a callback body
  // whose state repeats in the next iteration is not an infinite loop.
  uint32_t callback_unroll_depth = 0;
  // bpf_rcu_read_lock() held, and bpf_preempt_disable() nesting (Linux's active_rcu_lock,
  // active_preempt_lock): both must be undone before exit (kfunc_check.cpp).
  bool active_rcu_lock = false;
  uint32_t active_preempt_lock = 0;
  // A path the CPU may only execute speculatively (Linux's sanitize_speculative_path): checked
  // for unprivileged programs, never used to prune a real path.
  bool speculative = false;
  uint32_t insn = 0;
  // Pruning bookkeeping: the checkpoint this path continues from (see explore.cpp), and the
  // instructions executed since (precision.cpp backtracks through them).
  int32_t parent = -1;
  std::vector<HistEntry> history;
  uint32_t history_jumps = 0;  // jump, call and exit entries in `history`

  FuncFrame& cur() { return frames.back(); }
  const FuncFrame& cur() const { return frames.back(); }
  std::array<RegState, 11>& regs() { return frames.back().regs; }
  const std::array<RegState, 11>& regs() const { return frames.back().regs; }
};

}  // namespace userbpf::verifier
