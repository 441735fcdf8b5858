#include "vm/interpreter.hpp"

#include "vm/execute.hpp"
#include "vm/interpreter_impl.hpp"
#include "vm/loaded_program.hpp"
#include "vm/native_run.hpp"
#include "vm/run_state.hpp"
#include "vm/translate.hpp"

namespace userbpf::vm {

Interpreter::Interpreter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Interpreter::Interpreter(Interpreter&&) noexcept = default;
Interpreter& Interpreter::operator=(Interpreter&&) noexcept = default;
Interpreter::~Interpreter() = default;

Result<Interpreter> Interpreter::load(const isa::Program& program, const HelperTable& helpers,
                                      const LoadOptions& options) {
  if (program.insns.empty()) return make_error(Errc::invalid_argument, "program is empty");
  Result<detail::Translation> translated = detail::translate(program, helpers, options);
  if (!translated) return translated.take_error();
  auto impl = std::make_unique<Impl>();
  detail::LoadedProgram& p = impl->program;
  p.unchecked_code = detail::bind(translated->slots, detail::handler_table<false>());
  p.checked_code = detail::bind(translated->slots, detail::handler_table<true>());
  p.translated = std::move(translated->slots);
  p.helpers = std::move(translated->helpers);
  p.helper_ids = std::move(translated->helper_ids);
  p.function_entry = std::move(translated->function_entry);
  p.insn_count = program.size();
  return Interpreter(std::move(impl));
}

Result<RunResult> Interpreter::run(uint64_t arg1, uint64_t arg2, const RunOptions& options) const {
  uint64_t args[5] = {arg1, arg2, 0, 0, 0};
  return run_from(impl_.get(), options, args, 0, 0);
}

Result<RunResult> Interpreter::run_from(const Impl* current, RunOptions hop_options,
                                        uint64_t (&args)[5], uint64_t executed,
                                        uint32_t tail_calls) {
  // Each bpf_tail_call hop runs the next program in a fresh RunState (its helper regions and
  // frames belong to the program that made them) with the budget and tail-call count carried on.
  const bool checked = hop_options.checked;
  for (;;) {
    if (!checked && current->native) {
      detail::NativeRun native(*current->native, hop_options);
      native.tail_calls = tail_calls;
      const uint64_t r0 = native.run(args);
      if (native.failed) return std::move(native.error);
      if (native.tail_target != nullptr) {
        current = native.tail_target->impl_.get();
        hop_options.user = native.tail_user;
        args[0] = native.tail_ctx;
        args[1] = 0;
        tail_calls = native.tail_calls;
        continue;
      }
      RunResult result;
      result.r0 = r0;
      return result;
    }
    detail::RunState state(current->program, hop_options);
    state.executed = executed;
    state.tail_calls = tail_calls;
    const uint64_t r0 = checked ? detail::execute<true>(state, 0, 0, args)
                                : detail::execute<false>(state, 0, 0, args);
    if (state.failed) return std::move(state.error);
    if (state.tail_target != nullptr) {
      current = state.tail_target->impl_.get();
      hop_options.user = state.tail_user;
      args[0] = state.tail_ctx;
      args[1] = 0;
      executed = state.executed;
      tail_calls = state.tail_calls;
      continue;
    }
    RunResult result;
    result.r0 = r0;
    result.insns_executed = checked ? state.executed : 0;
    return result;
  }
}

const detail::LoadedProgram& Interpreter::loaded_program() const {
  return impl_->program;
}

void Interpreter::attach_native(std::shared_ptr<const NativeCode> code) {
  impl_->native = std::move(code);
}

void Interpreter::detach_native() {
  impl_->native.reset();
}

const NativeCode* Interpreter::native() const {
  return impl_->native.get();
}

}  // namespace userbpf::vm
