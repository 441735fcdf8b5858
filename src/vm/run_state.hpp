// The state of one run: stack memory, call frames, budget, helper-added regions and the first
// error. It lives on the caller's stack for the duration of Interpreter::run, which is what makes
// run() const and safe to call from several threads at once (a RepeatedRun keeps one and resets
// it before every run). It is also the CallContext helpers see.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "isa/opcodes.hpp"
#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"
#include "vm/loaded_program.hpp"

namespace userbpf::vm::detail {

// [start, start + size) contains [addr, addr + n), without overflow.
inline bool range_contains(uint64_t start, uint64_t size, uint64_t addr, uint64_t n) {
  return addr >= start && n <= size && addr - start <= size - n;
}

struct Frame {
  uint64_t saved[4];    // the caller's r6..r9 while this frame is calling
  const Slot* ret;      // where the caller continues
  uint64_t loops_left;  // may_goto budget of this frame (Linux keeps one counter per subprogram)
};

class RunState final : public CallContext {
 public:
  RunState(const LoadedProgram& program, const RunOptions& options);

  // Makes this the state of a fresh run (a RepeatedRun's next repetition): budget, failure,
  // tail-call bookkeeping and helper regions start over, and a checked run's stack is zeroed again.
  // `options` (held by reference) keeps its engine, budget and user; its regions may have changed.
  void reset();

  // CallContext
  void add_region(const Region& region) override;
  bool can_access(uint64_t addr, uint64_t size, bool write) const override;
  Result<uint64_t> call_function(uint64_t handle, uint64_t r1, uint64_t r2, uint64_t r3,
                                 uint64_t r4, uint64_t r5) override;
  bool request_tail_call(const Interpreter& target, void* target_user, uint64_t ctx) override;

  uint64_t stack_top() const { return reinterpret_cast<uint64_t>(stack_ + sizeof(stack_)); }

  // Checked mode: may the program access [addr, addr + n) while frame `depth` runs? The live stack
  // is the frames 0..depth; deeper (returned) frames are dead.
  bool access_ok(uint64_t addr, uint64_t n, bool write, uint32_t depth) const {
    const uint64_t live = static_cast<uint64_t>(depth + 1) * isa::kStackSize;
    if (range_contains(stack_top() - live, live, addr, n)) return true;
    // The caller's regions inline (ctx, packet: the common case), helpers' additions out of line.
    for (const Region& r : options.regions)
      if (range_contains(r.start, r.size, addr, n) && (!write || r.writable)) return true;
    return region_ok(addr, n, write);
  }

  // Record the run's error (the first one wins). `pc` names the instruction.
  void fail(Errc code, const Slot* pc, std::string message);
  void fail_access(const Slot* pc, uint64_t addr, uint64_t n, bool write, uint32_t depth);
  void fail_misaligned(const Slot* pc, uint64_t addr, uint64_t n);

  const LoadedProgram& program;
  const RunOptions& options;
  const Slot* code;  // the bound code of this run's mode
  const bool checked;
  uint64_t executed = 0;  // checked mode: instructions so far (synchronised at helper calls)
  uint64_t limit;         // checked mode: the budget, or UINT64_MAX
  uint32_t depth = 0;     // frame that made the current helper call
  const Slot* call_site = nullptr;  // the current helper call
  bool failed = false;
  Error error;
  // A tail call the last helper asked for (the engine leaves the program when it is set).
  const Interpreter* tail_target = nullptr;
  void* tail_user = nullptr;
  uint64_t tail_ctx = 0;
  uint32_t tail_calls = 0;  // made so far in this run (carried across programs)
  Frame frames[isa::kMaxCallDepth];

 private:
  bool region_ok(uint64_t addr, uint64_t n, bool write) const;  // regions added by helpers

  std::vector<Region> added_;
  alignas(16) uint8_t stack_[isa::kMaxCallDepth * isa::kStackSize];
};

}  // namespace userbpf::vm::detail
