#include "vm/repeated_run.hpp"

#include <optional>

#include "vm/execute.hpp"
#include "vm/interpreter_impl.hpp"
#include "vm/native_run.hpp"
#include "vm/run_state.hpp"

namespace userbpf::vm {

// Exactly one of the two run states, chosen as Interpreter::run chooses its engine.
struct RepeatedRun::State {
  const Interpreter::Impl& program;
  const RunOptions& options;
  std::optional<detail::NativeRun> native;
  std::optional<detail::RunState> interp;

  State(const Interpreter::Impl& p, const RunOptions& o) : program(p), options(o) {}
};

RepeatedRun::RepeatedRun(const Interpreter& program, const RunOptions& options)
    : state_(std::make_unique<State>(*program.impl_, options)) {
  State& s = *state_;
  if (!options.checked && s.program.native)
    native_ = &s.native.emplace(*s.program.native, options);
  else
    interp_ = &s.interp.emplace(s.program.program, options);
}

RepeatedRun::~RepeatedRun() = default;

Result<RunResult> RepeatedRun::run(uint64_t arg1, uint64_t arg2) {
  RunResult result;
  if (!run_quick(arg1, arg2, result.r0)) return finish();
  if (interp_ != nullptr && interp_->checked) result.insns_executed = interp_->executed;
  return result;
}

bool RepeatedRun::run_quick(uint64_t arg1, uint64_t arg2, uint64_t& r0) {
  const RunOptions& options = state_->options;
  const uint64_t args[5] = {arg1, arg2, 0, 0, 0};
  if (native_ != nullptr) {
    detail::NativeRun& native = *native_;
    native.reset(options);
    r0 = native.run(args);
    return !native.failed && native.tail_target == nullptr;
  }
  detail::RunState& state = *interp_;
  state.reset();
  r0 = state.checked ? detail::execute<true>(state, 0, 0, args)
                     : detail::execute<false>(state, 0, 0, args);
  return !state.failed && state.tail_target == nullptr;
}

bool RepeatedRun::run_batch(uint64_t arg1, uint32_t count, const bool* watch, uint32_t& ran,
                            uint64_t& r0) {
  ran = 0;
  if (native_ != nullptr) {
    detail::NativeRun& native = *native_;
    native.reset(state_->options);
    const uint64_t args[5] = {arg1, 0, 0, 0, 0};
    ran = native.run_batch(args, count, watch, r0);
    return !native.state.stop;  // set by every fault and tail call request
  }
  while (ran < count) {
    uint64_t value = 0;
    if (!run_quick(arg1, 0, value)) return false;
    r0 = value;
    ++ran;
    if (*watch) break;
  }
  return true;
}

Result<RunResult> RepeatedRun::finish() {
  const RunOptions& options = state_->options;
  uint64_t args[5] = {0, 0, 0, 0, 0};
  if (native_ != nullptr) {
    detail::NativeRun& native = *native_;
    if (native.failed) return native.error;
    // The target is another program: its hops run as Interpreter::run runs them.
    RunOptions hop_options = options;
    hop_options.user = native.tail_user;
    args[0] = native.tail_ctx;
    return Interpreter::run_from(native.tail_target->impl_.get(), hop_options, args, 0,
                                 native.tail_calls);
  }
  detail::RunState& state = *interp_;
  if (state.failed) return state.error;
  RunOptions hop_options = options;
  hop_options.user = state.tail_user;
  args[0] = state.tail_ctx;
  return Interpreter::run_from(state.tail_target->impl_.get(), hop_options, args, state.executed,
                               state.tail_calls);
}

}  // namespace userbpf::vm
