// Differential test: thousands of random programs of the kind Linux's verifier accepts
// (tests/support/random_program.hpp: every ALU/ALU32 form incl. signed division and movsx, byte
// swaps, 64- and 32-bit jumps, loads and stores of every size, atomics, lddw, bounded loops),
// each run in the interpreter and in the JIT over copies of the same random memory. r0 folds
// every register and the stack, and the memory is compared byte for byte.
#include <string>

#include "jit_random_differential.hpp"

namespace userbpf::jit::testing {
namespace {

void differential(uint32_t classes, uint64_t first_seed, int programs, size_t insns,
                  const CompileOptions& options) {
  expect_random_programs_agree(classes, first_seed, programs, insns, options,
                               /*require_interp_ok=*/true);
}

TEST(JitDifferential, RandomProgramsOfEveryInstructionClass) {
  differential(userbpf::testing::kAllClasses, 1, 3000, 64, {});
}

TEST(JitDifferential, RandomLongerProgramsWithoutBmi2) {
  CompileOptions no_bmi2;
  no_bmi2.use_bmi2 = false;
  differential(userbpf::testing::kAllClasses, 100000, 1000, 200, no_bmi2);
}

// Stores to the stack overwritten before they are read are left out (searched in every program
// here, not only in those with map calls).
TEST(JitDifferential, RandomProgramsWithDeadStoresLeftOut) {
  CompileOptions everywhere;
  everywhere.dead_stores = CompileOptions::DeadStores::everywhere;
  differential(userbpf::testing::kAllClasses, 300000, 2000, 96, everywhere);
}

TEST(JitDifferential, RandomAluOnlyPrograms) {
  differential(userbpf::testing::kAlu64 | userbpf::testing::kAlu32 | userbpf::testing::kEndian,
               200000, 2000, 96, {});
}

}  // namespace
}  // namespace userbpf::jit::testing
