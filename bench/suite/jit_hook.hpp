// Where the JIT plugs into the suite. bench/CMakeLists.txt defines USERBPF_BENCH_SUITE_HAVE_JIT
// to 1 once src/jit provides what engine_jit.cpp calls (detected at configure time, as
// cmake/VerifierSelftests.cmake detects the verifier); until then the jit column says why it is
// empty.
#pragma once

#include <string>

#include "runtime/runtime.hpp"
#include "userbpf/error.hpp"

namespace userbpf::bench::suite {

bool jit_available(std::string& why);

// Compiles the instantiated program with the JIT so that its runs (runtime::test_run) execute
// the machine code; returns the compile time in microseconds.
Result<double> attach_jit(runtime::RunnableProgram& prog);

}  // namespace userbpf::bench::suite
