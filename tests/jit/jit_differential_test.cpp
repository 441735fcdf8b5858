// Differential test: thousands of random programs of the kind Linux's verifier accepts
// (tests/support/random_program.hpp: every ALU/ALU32 form incl. signed division and movsx, byte
// swaps, 64- and 32-bit jumps, loads and stores of every size, atomics, lddw, bounded loops),
// each run in the interpreter and in the JIT over copies of the same random memory. r0 folds
// every register and the stack, and the memory is compared byte for byte.
#include <string>

#include "jit_test_util.hpp"
#include "support/random_program.hpp"

namespace userbpf::jit::testing {
namespace {

void differential(uint32_t classes, uint64_t first_seed, int programs, size_t insns,
                  const CompileOptions& options) {
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
    EXPECT_TRUE(interp.ok) << "seed " << gen.seed << ": " << interp.error.to_string();
  }
}

TEST(JitDifferential, RandomProgramsOfEveryInstructionClass) {
  differential(userbpf::testing::kAllClasses, 1, 3000, 64, {});
}

TEST(JitDifferential, RandomLongerProgramsWithoutBmi2) {
  CompileOptions no_bmi2;
  no_bmi2.use_bmi2 = false;
  differential(userbpf::testing::kAllClasses, 100000, 1000, 200, no_bmi2);
}

TEST(JitDifferential, RandomAluOnlyPrograms) {
  differential(userbpf::testing::kAlu64 | userbpf::testing::kAlu32 | userbpf::testing::kEndian,
               200000, 2000, 96, {});
}

}  // namespace
}  // namespace userbpf::jit::testing
