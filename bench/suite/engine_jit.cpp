// The JIT engine's hook (see jit_hook.hpp): jit::compile on the instantiated program's
// interpreter, the machine code attached to it, so the runtime's unchecked test runs execute it.
// Without src/jit (USERBPF_BENCH_SUITE_HAVE_JIT 0) the engine is reported as not built.
#include <algorithm>
#include <chrono>
#include <vector>

#include "jit_hook.hpp"

#if USERBPF_BENCH_SUITE_HAVE_JIT
#include "jit/jit.hpp"
#endif

namespace userbpf::bench::suite {

#if USERBPF_BENCH_SUITE_HAVE_JIT

bool jit_available(std::string& why) {
  if (jit::available()) return true;
  why = "the JIT does not run on this host (x86-64 only)";
  return false;
}

Result<double> attach_jit(runtime::RunnableProgram& prog) {
  if (!prog.record().verified)
    return make_error(Errc::unsupported, "unverified programs never reach the JIT");
  // The runtime has no engine option yet; the instance owns its interpreter (not const), so
  // attaching through the accessor is sound until RunnableProgram offers it.
  auto& interp = const_cast<vm::Interpreter&>(prog.interpreter());
  // Compile time: the median of 5 compiles of the same program (the first warms caches).
  std::vector<double> us;
  std::shared_ptr<const vm::NativeCode> code;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto compiled = jit::compile(interp, prog.jit_options());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (!compiled) return compiled.take_error();
    code = std::move(*compiled);
    us.push_back(std::chrono::duration<double, std::micro>(elapsed).count());
  }
  std::sort(us.begin(), us.end());
  interp.attach_native(std::move(code));
  return us[us.size() / 2];
}

#else

bool jit_available(std::string& why) {
  why = "the JIT (src/jit) is not built";
  return false;
}

Result<double> attach_jit(runtime::RunnableProgram&) {
  return make_error(Errc::unsupported, "the JIT (src/jit) is not built");
}

#endif

}  // namespace userbpf::bench::suite
