// One run of a program's machine code (NativeCode): the CallContext its helpers see, with the
// interpreter's semantics for callbacks (call_function), tail calls and faults. Lives on the
// caller's stack for the duration of Interpreter::run, like RunState (or in a RepeatedRun, which
// resets it before every run).
#pragma once

#include <cstdint>

#include "isa/opcodes.hpp"
#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"
#include "vm/native_code.hpp"

namespace userbpf::vm::detail {

class NativeRun final : public CallContext {
 public:
  NativeRun(const NativeCode& code, const RunOptions& options);

  // Makes this the state of a fresh run with `options` (a RepeatedRun's next repetition): the
  // machine code's state, the failure and the tail-call bookkeeping start over. Inline with
  // run(): a repeated test run pays for both once per repetition.
  void reset(const RunOptions& options) {
    user = options.user;
    state = NativeState{};
    state.context = this;
    state.packet = options.packet.data();
    state.packet_size = options.packet.size();
    state.writer_id = base::current_thread_id();
    failed = false;  // `error` is only read when failed, and the next failure overwrites it
    tail_target = nullptr;
    tail_user = nullptr;
    tail_ctx = 0;
    tail_calls = 0;
    base_depth_ = 0;
  }

  // Runs the program from its first instruction with r1..r5 = args; returns r0. On a fault
  // (failed) or a requested tail call (tail_target) the return value is meaningless.
  uint64_t run(const uint64_t (&args)[5]) { return enter(code_.main, args, 0); }

  // Up to `count` runs back to back, as many reset()+run() pairs would make them: a run that ends
  // at its exit leaves nothing a reset must undo (stop is still clear, call_site and call_rsp are
  // written before they are read), so only the batch entry's loop runs in between. Stops after a
  // run that leaves *watch set, and at a run that stopped (failed or tail_target then tell, as
  // after run()); returns the runs that ended at their exit, r0 the last one's.
  uint32_t run_batch(const uint64_t (&args)[5], uint32_t count, const bool* watch, uint64_t& r0) {
    const uint64_t reserve = static_cast<uint64_t>(isa::kMaxCallDepth - 1) * kNativeFrameBytes;
    base_depth_ = 0;
    if (count == 0) return 0;
    // The machine code repeats the runs itself: the trampoline's register saves once a batch.
    state.batch_left = count;
    const uint64_t value = code_.batch_entry(&state, args, code_.main, reserve, watch);
    if (state.claims != 0) base::let_go_all();
    const uint32_t done = count - state.batch_left;
    if (done != 0) r0 = value;
    return done;
  }

  // CallContext. Native runs are unchecked: they trust the verifier, so regions are not kept.
  void add_region(const Region& region) override;
  bool can_access(uint64_t addr, uint64_t size, bool write) const override;
  Result<uint64_t> call_function(uint64_t handle, uint64_t r1, uint64_t r2, uint64_t r3,
                                 uint64_t r4, uint64_t r5) override;
  bool request_tail_call(const Interpreter& target, void* target_user, uint64_t ctx) override;

  // Records the run's first error at the current call site and stops the machine code.
  void fail(Errc code, std::string message);

  NativeState state;
  bool failed = false;
  Error error;
  const Interpreter* tail_target = nullptr;
  void* tail_user = nullptr;
  uint64_t tail_ctx = 0;
  uint32_t tail_calls = 0;  // made so far in this run (carried across programs)

 private:
  // Call depth of the frame that made the current helper call (0 = the program's main frame).
  uint32_t helper_depth() const;
  uint64_t enter(const void* function, const uint64_t (&args)[5], uint32_t depth) {
    // Frames depth .. kMaxCallDepth-1 may exist below this entry; the entered one is the first.
    const uint64_t reserve =
        static_cast<uint64_t>(isa::kMaxCallDepth - 1 - static_cast<int>(depth)) * kNativeFrameBytes;
    const uint32_t saved_base = base_depth_;
    base_depth_ = depth;
    const uint64_t r0 = code_.entry(&state, args, function, reserve);
    if (state.claims != 0) base::let_go_all();
    base_depth_ = saved_base;
    return r0;
  }

  const NativeCode& code_;
  uint32_t base_depth_ = 0;  // depth of the frame the innermost trampoline entered
};

}  // namespace userbpf::vm::detail
