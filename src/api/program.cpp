// userbpf::Program: facts, test runs and pins of one program (include/userbpf/program.hpp).
#include "userbpf/program.hpp"

#include "api/object_state.hpp"
#include "runtime/test_run.hpp"

namespace userbpf {
namespace {

const object::Program& def_of(const api::ObjectState& state, size_t index) {
  return state.obj.programs[index];
}

Error not_loaded(const api::ObjectState& state, const object::Program& prog, const char* what) {
  return api::object_error(
      state.obj, Errc::invalid_argument,
      "program '" + prog.name + "' is not loaded: " + what + " needs Object::load() first");
}

}  // namespace

const std::string& Program::name() const {
  return def_of(*state_, index_).name;
}
const std::string& Program::section() const {
  return def_of(*state_, index_).section;
}
uint32_t Program::type() const {
  return static_cast<uint32_t>(def_of(*state_, index_).def.prog_type);
}
std::string Program::type_name() const {
  return runtime::prog_type_name(type());
}
size_t Program::insn_count() const {
  return def_of(*state_, index_).insns.size();
}
bool Program::loaded() const {
  std::lock_guard<std::mutex> guard(state_->mutex);
  return state_->loaded();
}
uint32_t Program::id() const {
  std::lock_guard<std::mutex> guard(state_->mutex);
  return state_->loaded() ? state_->programs[index_]->record.id : 0;
}
bool Program::verified() const {
  std::lock_guard<std::mutex> guard(state_->mutex);
  return state_->loaded() && state_->programs[index_]->record.verified;
}

Result<RunResult> Program::run(const RunOptions& options) const {
  api::LoadedProgram* prog = nullptr;
  {
    std::lock_guard<std::mutex> guard(state_->mutex);
    if (!state_->loaded()) return not_loaded(*state_, def_of(*state_, index_), "a test run");
    prog = state_->programs[index_].get();
  }
  std::lock_guard<std::mutex> run_guard(prog->run_mutex);
  if (!prog->runnable) {
    std::lock_guard<std::mutex> rt_guard(state_->runtime->mutex);
    auto made = state_->runtime->rt.instantiate(prog->record);
    if (!made) return made.take_error();
    prog->runnable = std::move(*made);
  }
  runtime::TestRunInput input;
  input.data_in = options.data_in;
  input.ctx_in = options.ctx_in;
  input.repeat = options.repeat;
  input.checked = options.checked;
  auto out = runtime::test_run(*prog->runnable, input);
  if (!out) return out.take_error();
  RunResult r;
  r.retval = static_cast<uint32_t>(out->retval);
  r.data_out = std::move(out->data_out);
  r.ctx_out = std::move(out->ctx_out);
  r.duration_ns = out->duration_ns;
  r.redirected = out->redirected;
  r.redirect_ifindex = out->redirect_ifindex;
  return r;
}

Result<RunResult> Program::run_packet(std::span<const uint8_t> packet, uint32_t repeat) const {
  RunOptions options;
  options.data_in.assign(packet.begin(), packet.end());
  options.repeat = repeat;
  return run(options);
}

Result<RunResult> Program::run_context(std::span<const uint8_t> ctx, uint32_t repeat) const {
  RunOptions options;
  options.ctx_in.assign(ctx.begin(), ctx.end());
  options.repeat = repeat;
  return run(options);
}

Status Program::pin(const std::string& path) const {
  uint32_t id = 0;
  {
    std::lock_guard<std::mutex> guard(state_->mutex);
    if (!state_->loaded()) return not_loaded(*state_, def_of(*state_, index_), "pinning");
    id = state_->programs[index_]->record.id;
  }
  std::lock_guard<std::mutex> rt_guard(state_->runtime->mutex);
  return state_->runtime->rt.pin(path, {runtime::PinKind::prog, id});
}

}  // namespace userbpf
