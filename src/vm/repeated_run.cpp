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
  const RunOptions& options = state_->options;
  uint64_t args[5] = {arg1, arg2, 0, 0, 0};
  RunResult result;
  if (native_ != nullptr) {
    detail::NativeRun& native = *native_;
    native.reset(options);
    result.r0 = native.run(args);
    if (native.failed) [[unlikely]]
      return native.error;
    if (native.tail_target != nullptr) [[unlikely]] {
      // The target is another program: its hops run as Interpreter::run runs them.
      RunOptions hop_options = options;
      hop_options.user = native.tail_user;
      args[0] = native.tail_ctx;
      args[1] = 0;
      return Interpreter::run_from(native.tail_target->impl_.get(), hop_options, args, 0,
                                   native.tail_calls);
    }
    return result;
  }
  detail::RunState& state = *interp_;
  state.reset();
  result.r0 = state.checked ? detail::execute<true>(state, 0, 0, args)
                            : detail::execute<false>(state, 0, 0, args);
  if (state.failed) [[unlikely]]
    return state.error;
  if (state.tail_target != nullptr) [[unlikely]] {
    RunOptions hop_options = options;
    hop_options.user = state.tail_user;
    args[0] = state.tail_ctx;
    args[1] = 0;
    return Interpreter::run_from(state.tail_target->impl_.get(), hop_options, args, state.executed,
                                 state.tail_calls);
  }
  result.insns_executed = state.checked ? state.executed : 0;
  return result;
}

}  // namespace userbpf::vm
