// One program run many times with the same options, as a repeated test run does (Linux's
// bpf_test_run calls the program `repeat` times on one context and does nothing else in between).
// Interpreter::run builds its run state (the machine code's NativeRun or the interpreter's
// RunState) for every call; a RepeatedRun builds it once and each run() resets only what a run
// leaves behind, so every run starts as a fresh Interpreter::run would with the same options.
// (An unchecked run's stack keeps what the last run left there, as in Linux: verified programs
// never read stack they did not write. Checked runs get it zeroed, as a fresh checked run does.)
#pragma once

#include <cstdint>
#include <memory>

#include "userbpf/error.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::vm {

namespace detail {
class NativeRun;
class RunState;
}  // namespace detail

class RepeatedRun {
 public:
  // `program` and `options` must outlive this object. `options` is read at every run(): the
  // contents of its regions and its packet may change between runs; checked, insn_budget and
  // user may not (they pick the engine and the state built here).
  RepeatedRun(const Interpreter& program, const RunOptions& options);
  ~RepeatedRun();
  RepeatedRun(const RepeatedRun&) = delete;
  RepeatedRun& operator=(const RepeatedRun&) = delete;

  // Interpreter::run(arg1, arg2, options), without rebuilding the run state.
  Result<RunResult> run(uint64_t arg1, uint64_t arg2);

  // run() split for loops that run millions of times (a repeated test run): the common case of a
  // run that ends at its exit sets r0 and returns true, with no Result to build; a run that
  // faulted or requested a tail call returns false, and finish() then answers what run() would
  // have (running the tail call's hops, or the error).
  bool run_quick(uint64_t arg1, uint64_t arg2, uint64_t& r0);
  Result<RunResult> finish();

  // Up to `count` run_quick(arg1, 0) back to back, for loops with nothing to do between runs
  // unless *watch is set (the machine code then pays only its entry per run). `ran` is how many
  // runs ended at their exit (r0 the last one's). Stops after a run that leaves *watch set;
  // returns false when the run after those `ran` faulted or requested a tail call, which
  // finish() then completes.
  bool run_batch(uint64_t arg1, uint32_t count, const bool* watch, uint32_t& ran, uint64_t& r0);

 private:
  struct State;
  std::unique_ptr<State> state_;
  detail::NativeRun* native_ = nullptr;  // in state_, when the machine code runs
  detail::RunState* interp_ = nullptr;   // in state_, when the interpreter runs
};

}  // namespace userbpf::vm
