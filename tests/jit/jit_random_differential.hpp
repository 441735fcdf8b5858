// The random-program differential check the JIT tests share: `programs` random programs of the
// given instruction classes (tests/support/random_program.hpp), each run in the interpreter and
// in the JIT compiled with `options`, must give the same r0 and memory. Stops after 3 failures.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "jit_test_util.hpp"
#include "support/random_program.hpp"

namespace userbpf::jit::testing {

// `require_interp_ok`: also fail when the interpreter itself faults on a program.
inline void expect_random_programs_agree(uint32_t classes, uint64_t first_seed, int programs,
                                         size_t insns, const CompileOptions& options,
                                         bool require_interp_ok) {
  int failures = 0;
  for (int k = 0; k < programs && failures < 3; ++k) {
    userbpf::testing::RandomProgramOptions gen;
    gen.seed = first_seed + static_cast<uint64_t>(k);
    gen.insn_count = insns;
    gen.classes = classes;
    const userbpf::testing::RandomProgram program = userbpf::testing::generate_random_program(gen);
    EngineResult interp = run_engine(program.insns, false, program.memory);
    EngineResult jit = run_engine(program.insns, true, program.memory, {}, nullptr, options);
    if (interp.ok != jit.ok || interp.r0 != jit.r0 || interp.memory != jit.memory) {
      ++failures;
      ADD_FAILURE() << "seed " << gen.seed << ": interp " << std::hex << interp.r0 << " ("
                    << interp.error.to_string() << ") jit " << jit.r0 << " ("
                    << jit.error.to_string() << ")"
                    << (interp.memory != jit.memory ? ", memory differs" : "") << "\n"
                    << userbpf::testing::hex_listing(program.insns);
    }
    if (require_interp_ok) {
      EXPECT_TRUE(interp.ok) << "seed " << gen.seed << ": " << interp.error.to_string();
    }
  }
}

}  // namespace userbpf::jit::testing
