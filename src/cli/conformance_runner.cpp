#include "cli/conformance_runner.hpp"

#include "isa/decode.hpp"
#include "jit/jit.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::cli {
namespace {

// The suite's helper 5: hands back its first argument.
uint64_t suite_unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, vm::CallContext&) {
  return r1;
}

const vm::HelperTable& suite_helpers() {
  static const vm::HelperTable table = [] {
    vm::HelperTable t;
    t.set(5, vm::Helper{"unwind", suite_unwind});
    return t;
  }();
  return table;
}

}  // namespace

Result<uint64_t> run_conformance_program(std::span<const isa::RawInsn> raw,
                                         std::span<const uint8_t> memory,
                                         const ConformanceRunOptions& options) {
  auto program = isa::decode(raw);
  if (!program) return program.take_error();
  auto interp = vm::Interpreter::load(*program, suite_helpers());
  if (!interp) return interp.take_error();
  if (options.engine == ConformanceEngine::jit && !options.checked) {
    Status attached = jit::attach(*interp);
    if (!attached) return attached.take_error();
  }

  std::vector<uint8_t> copy(memory.begin(), memory.end());
  vm::Region region{reinterpret_cast<uint64_t>(copy.data()), copy.size(), true, "memory"};
  vm::RunOptions run;
  run.checked = options.checked;
  run.insn_budget = options.insn_budget;
  if (!copy.empty()) run.regions = std::span<const vm::Region>(&region, 1);
  const uint64_t r1 = copy.empty() ? 0 : reinterpret_cast<uint64_t>(copy.data());
  auto result = interp->run(r1, copy.size(), run);
  if (!result) return result.take_error();
  return result->r0;
}

}  // namespace userbpf::cli
