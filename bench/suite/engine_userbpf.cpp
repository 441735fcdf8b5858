// userbpf's engines: the program loaded (and verified) by the runtime in a private state
// directory, test-run as XDP with runtime::test_run, unchecked as a verified program runs; the
// JIT engine attaches the JIT to the same instance.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "engines.hpp"
#include "jit_hook.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"
#include "runtime/test_run.hpp"
#include "thread_clock.hpp"
#include "userbpf/map.hpp"

namespace userbpf::bench::suite {
namespace {

class UserbpfProgram final : public PreparedProgram {
 public:
  ~UserbpfProgram() override {
    prog_.reset();
    rt_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static Result<std::unique_ptr<PreparedProgram>> load(const SuiteCase& c, bool jit) {
    static int counter = 0;
    auto out = std::make_unique<UserbpfProgram>();
    out->case_ = &c;
    out->dir_ =
        std::filesystem::temp_directory_path() /
        ("userbpf-bench-suite-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(out->dir_);
    auto obj = object::open(object_path(c));
    if (!obj) return obj.take_error();
    auto rt = runtime::Runtime::open(out->dir_);
    if (!rt) return rt.take_error();
    out->rt_.emplace(std::move(*rt));
    // The interpreter column is the interpreter whatever the runtime's default engine; the JIT
    // column attaches the machine code itself, to time the compile.
    out->rt_->set_engine(runtime::Engine::interpreter);
    runtime::LoadOptions options;
    options.only_program = c.name;
    auto records = out->rt_->load(*obj, options);
    if (!records && records.error().code == Errc::verify && !jit) {
      // Still measurable, but only in the checked interpreter: say so in the table.
      out->note = "userbpf's verifier refuses it: runs checked";
      options.unverified = true;
      records = out->rt_->load(*obj, options);
    }
    if (!records) return records.take_error();
    out->checked_ = !records->front().verified;
    out->insns = records->front().insns.size();
    auto prog = out->rt_->instantiate(records->front());
    if (!prog) return prog.take_error();
    out->prog_ = std::move(*prog);
    if (jit) {
      auto us = attach_jit(*out->prog_);
      if (!us) return us.take_error();
      out->compile_us = *us;
    }
    return std::unique_ptr<PreparedProgram>(std::move(out));
  }

  Result<Outcome> run_once(const std::vector<uint8_t>& frame) override {
    auto run = test_run(frame, 1);
    if (!run) return run.take_error();
    Outcome out;
    out.r0 = static_cast<uint32_t>(run->retval);
    out.frame_out = std::move(run->data_out);
    if (case_->map_name) {
      auto entries = read_map(case_->map_name);
      if (!entries) return entries.take_error();
      out.map = std::move(*entries);
    }
    return out;
  }

  // The thread's CPU time around the test run, not the wall time test_run reports: on a loaded
  // machine a preempted batch would otherwise count the other processes' time (the kernel's
  // test-run timer also leaves out the time it is rescheduled).
  Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) override {
    const double start = thread_cpu_ns();
    auto run = test_run(frame, repeat);
    const double elapsed = thread_cpu_ns() - start;
    if (!run) return run.take_error();
    return elapsed / (repeat ? repeat : 1);
  }

 private:
  Result<runtime::TestRunOutput> test_run(const std::vector<uint8_t>& frame, uint32_t repeat) {
    runtime::TestRunInput in;
    in.data_in = frame;
    in.repeat = repeat;
    in.checked = checked_;
    return runtime::test_run(*prog_, in);
  }

  Result<std::vector<std::pair<uint64_t, uint64_t>>> read_map(const std::string& name) {
    for (const auto& map : prog_->maps())
      if (map->spec().name == name) return map_contents(*map);
    return make_error(Errc::not_found, std::string("program has no map ") + name);
  }

  const SuiteCase* case_ = nullptr;
  std::filesystem::path dir_;
  std::optional<runtime::Runtime> rt_;
  std::unique_ptr<runtime::RunnableProgram> prog_;
  bool checked_ = false;
};

}  // namespace

Result<std::unique_ptr<PreparedProgram>> prepare_userbpf(const SuiteCase& c, bool jit) {
  return UserbpfProgram::load(c, jit);
}

}  // namespace userbpf::bench::suite
