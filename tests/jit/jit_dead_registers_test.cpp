// Register results nothing reads get no machine code (dead_registers.cpp, searched everywhere
// here), and every result something may read keeps its code: a read on any path (after a join,
// around a loop), an argument of a helper or bpf-to-bpf call, r0 at an exit, a store's value or
// base, an atomic's operand. Each program also runs in both engines with the same results.
#include <linux/bpf.h>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint32_t kAddHelper = BPF_FUNC_csum_diff;  // any id: the table below defines it

// r0 = r1 + ... + r5.
uint64_t add_arguments(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e,
                       vm::CallContext&) {
  return a + b + c + d + e;
}

vm::HelperTable add_helper() {
  vm::HelperTable t;
  t.set(kAddHelper, vm::Helper{"add_arguments", add_arguments});
  return t;
}

class JitDeadRegisters : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!jit::available()) GTEST_SKIP() << "the JIT runs on x86-64 only";
  }

  std::vector<size_t> sizes(const std::vector<RawInsn>& code, uint64_t want_r0,
                            const std::vector<uint8_t>& memory = {}) {
    return sizes_with_dead_code_left_out(code, want_r0, add_helper(), memory);
  }
};

TEST_F(JitDeadRegisters, OverwrittenAndNeverReadResultsGetNoCode) {
  Builder p;
  p.mov64_imm(3, 5).alu64_imm(BPF_MUL, 4, 3);         // 0-1: overwritten by 2-3 before any read
  p.mov64_imm(3, 7).mov64_imm(4, 2);                  // 2-3
  p.alu32_imm(BPF_ADD, 5, 9);                         // 4: never read (the program ends)
  p.mov64_reg(0, 3).alu64_reg(BPF_ADD, 0, 4).exit();  // 5-7
  const auto s = sizes(p.finish(), 9);
  ASSERT_EQ(s.size(), 8u);
  EXPECT_EQ(s[0], 0u);
  EXPECT_EQ(s[1], 0u);
  EXPECT_NE(s[2], 0u);
  EXPECT_NE(s[3], 0u);
  EXPECT_EQ(s[4], 0u);
}

TEST_F(JitDeadRegisters, ResultsReadOnSomePathOrAroundALoopKeepTheirCode) {
  // 2 is read only where r1 == 0 jumps over 4; 7 is read by the next round of the loop only
  // (r4 = the counter before the increment, summed at the loop's top).
  Builder p;
  p.mov64_imm(0, 0).mov64_imm(2, 0);                          // 0-1
  p.mov64_imm(3, 11).jmp_imm(BPF_JEQ, 1, 0, "join");          // 2-3
  p.mov64_imm(3, 22).label("join");                           // 4
  p.mov64_imm(4, 0);                                          // 5
  p.label("loop").alu64_reg(BPF_ADD, 0, 4).mov64_reg(4, 2);   // 6-7
  p.alu64_imm(BPF_ADD, 2, 1).jmp_imm(BPF_JLT, 2, 4, "loop");  // 8-9
  p.alu64_reg(BPF_ADD, 0, 3).exit();                          // 10-11
  // r1 is the memory's address (not 0): r3 = 22; the loop adds 0 + 0 + 1 + 2.
  const auto s = sizes(p.finish(), 25, std::vector<uint8_t>(8));
  ASSERT_EQ(s.size(), 12u);
  EXPECT_NE(s[2], 0u);
  EXPECT_NE(s[4], 0u);
  EXPECT_NE(s[7], 0u);
}

TEST_F(JitDeadRegisters, ArgumentsExitValuesStoresAndAtomicsKeepTheirCode) {
  Builder p;
  p.mov64_imm(6, 0).mov64_imm(7, 0);                                  // 0-1: dead
  p.mov64_imm(1, 1).mov64_imm(2, 2).mov64_imm(3, 3).mov64_imm(4, 4);  // 2-5: arguments
  p.mov64_imm(5, 5).call_helper(kAddHelper);                          // 6-7
  p.mov64_reg(6, 0).stx(BPF_DW, 10, 6, -8);                           // 8-9: a store's value
  p.mov64_imm(7, 100).atomic(BPF_DW, 10, 7, -8, BPF_ADD);             // 10-11: an atomic's
  p.ldx(BPF_DW, 0, 10, -8).mov64_imm(8, 1).exit();                    // 12-14: 13 is dead
  const auto s = sizes(p.finish(), 115);
  ASSERT_EQ(s.size(), 15u);
  EXPECT_EQ(s[0], 0u);
  EXPECT_EQ(s[1], 0u);
  for (size_t i : {2u, 3u, 4u, 5u, 6u, 8u, 10u}) EXPECT_NE(s[i], 0u) << "instruction " << i;
  EXPECT_EQ(s[13], 0u);
}

TEST_F(JitDeadRegisters, ABpfToBpfCallReadsItsArgumentsAndKeepsR6ToR9) {
  Builder p;
  p.mov64_imm(6, 40).mov64_imm(1, 1).mov64_imm(2, 2);  // 0-2: r6 survives the call, read at 5
  p.mov64_imm(7, 9).call_local("leaf");                // 3-4: r7 is never read
  p.alu64_reg(BPF_ADD, 0, 6).exit();                   // 5-6
  p.label("leaf").mov64_reg(0, 1).alu64_reg(BPF_ADD, 0, 2).exit();
  const auto s = sizes(p.finish(), 43);
  ASSERT_GE(s.size(), 7u);
  EXPECT_NE(s[0], 0u);
  EXPECT_NE(s[1], 0u);
  EXPECT_NE(s[2], 0u);
  EXPECT_EQ(s[3], 0u);
}

TEST_F(JitDeadRegisters, TheDefaultSearchesOnlyProgramsWithMapCalls) {
  Builder p;
  p.mov64_imm(3, 5).mov64_imm(0, 1).exit();
  expect_searched_only_everywhere(p.finish());
}

}  // namespace
}  // namespace userbpf::jit::testing
