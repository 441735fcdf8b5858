// Stores to the eBPF stack that nothing reads get no machine code (dead_stack_stores.cpp, searched
// everywhere here; by default only in programs with inlined or direct map calls), and
// every store something may read keeps its code: a later load on any path (after a join, around
// a loop, of part of it), a helper given a pointer below it, an atomic, a bpf-to-bpf call given a
// stack pointer, and any program that copies r10 where the analysis cannot follow it. Each
// program also runs in both engines with the same results.
#include <linux/bpf.h>

#include <cstring>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint32_t kSumHelper = BPF_FUNC_csum_diff;  // any id: the table below defines it

// r0 = the sum of the r2 bytes at r1.
uint64_t sum_bytes(uint64_t address, uint64_t size, uint64_t, uint64_t, uint64_t,
                   vm::CallContext&) {
  const auto* p = reinterpret_cast<const uint8_t*>(address);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < size; ++i) sum += p[i];
  return sum;
}

vm::HelperTable sum_helper() {
  vm::HelperTable t;
  t.set(kSumHelper, vm::Helper{"sum_bytes", sum_bytes});
  return t;
}

class JitDeadStores : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!jit::available()) GTEST_SKIP() << "the JIT runs on x86-64 only";
  }

  std::vector<size_t> sizes(const std::vector<RawInsn>& code, uint64_t want_r0) {
    return sizes_with_dead_code_left_out(code, want_r0, sum_helper());
  }
};

TEST_F(JitDeadStores, OverwrittenAndNeverReadStoresGetNoCode) {
  Builder p;
  p.mov64_imm(1, 5).stx(BPF_DW, 10, 1, -8);  // 0-1: overwritten by 2 before any read
  p.st(BPF_DW, 10, -8, 7);                   // 2: read by 4
  p.st(BPF_W, 10, -16, 9);                   // 3: never read (the program ends)
  p.ldx(BPF_DW, 0, 10, -8).exit();           // 4-5
  const auto s = sizes(p.finish(), 7);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[1], 0u);
  EXPECT_NE(s[2], 0u);
  EXPECT_EQ(s[3], 0u);
}

TEST_F(JitDeadStores, StoresReadOnSomePathOrAroundALoopKeepTheirCode) {
  // 1 is read only after the join when r1 != 0; 4 is read by the next round of the loop.
  Builder p;
  p.mov64_imm(0, 0).st(BPF_DW, 10, -8, 3);            // 0-1
  p.mov64_imm(1, 1).jmp_imm(BPF_JEQ, 1, 0, "skip");   // 2-3
  p.st(BPF_W, 10, -16, 0).label("loop");              // 4
  p.ldx(BPF_W, 2, 10, -16).alu64_reg(BPF_ADD, 0, 2);  // 5-6
  p.alu64_imm(BPF_ADD, 2, 1).stx(BPF_W, 10, 2, -16);  // 7-8: read by 5, next round
  p.jmp_imm(BPF_JLT, 2, 4, "loop");                   // 9
  p.ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2);  // 10-11
  p.label("skip").exit();                             // 12
  const auto s = sizes(p.finish(), 0 + 1 + 2 + 3 + 3);
  ASSERT_EQ(s.size(), 13u);
  for (size_t i : {1u, 4u, 8u}) EXPECT_NE(s[i], 0u) << "instruction " << i;
}

// The store at 10 is read (at 2) only through a backward, a forward and another backward jump
// (10 -> 6 -> 8 -> 2): liveness has to go round until nothing changes, whatever the order it
// visits the blocks in.
TEST_F(JitDeadStores, AStoreReadOnlyAroundSeveralJumpsKeepsItsCode) {
  Builder p;
  p.mov64_imm(0, 0).st(BPF_W, 10, -16, 1);                           // 0-1
  p.label("read").ldx(BPF_W, 2, 10, -16).alu64_reg(BPF_ADD, 0, 2);   // 2-3
  p.jmp_imm(BPF_JGE, 0, 20, "out").ja("store");                      // 4-5
  p.label("back").mov64_imm(3, 0).ja("again");                       // 6-7
  p.label("again").ja("read");                                       // 8
  p.label("store").alu64_imm(BPF_ADD, 2, 1).stx(BPF_W, 10, 2, -16);  // 9-10
  p.ja("back");                                                      // 11
  p.label("out").exit();                                             // 12
  const auto s = sizes(p.finish(), 1 + 2 + 3 + 4 + 5 + 6);
  ASSERT_EQ(s.size(), 13u);
  EXPECT_NE(s[10], 0u);
}

TEST_F(JitDeadStores, AStoreHalfReadOrReadByAnAtomicKeepsItsCode) {
  Builder p;
  p.lddw(1, 0x0102030405060708ull).stx(BPF_DW, 10, 1, -8);  // 0-2: the high half is read by 4
  p.st(BPF_W, 10, -8, 0);                                   // 3
  p.ldx(BPF_W, 0, 10, -4);                                  // 4: 0x01020304
  p.st(BPF_DW, 10, -16, 40).mov64_imm(2, 2);                // 5-6: 5 is read by the atomic
  p.atomic(BPF_DW, 10, 2, -16, BPF_ADD);                    // 7
  p.ldx(BPF_DW, 2, 10, -16).alu64_reg(BPF_ADD, 0, 2).exit();
  const auto s = sizes(p.finish(), 0x01020304 + 42);
  ASSERT_EQ(s.size(), 11u);
  EXPECT_NE(s[2], 0u);
  EXPECT_NE(s[5], 0u);
}

// A helper given r10 - 16 may read every byte from there up to r10 (the JIT does not know how
// many it reads): the store at -4 is live, one below the pointer is dead.
TEST_F(JitDeadStores, AHelpersStackPointerKeepsEveryStoreAboveIt) {
  Builder p;
  p.st(BPF_DW, 10, -16, 1).st(BPF_DW, 10, -8, 0);  // 0-1
  p.st(BPF_W, 10, -4, 0x05000000);                 // 2: read by the helper (byte -1)
  p.st(BPF_DW, 10, -24, 77);                       // 3: below the pointer, never read
  p.mov64_reg(1, 10).alu64_imm(BPF_ADD, 1, -16).mov64_imm(2, 16);
  p.call_helper(kSumHelper).exit();
  const auto s = sizes(p.finish(), 1 + 5);
  ASSERT_EQ(s.size(), 9u);
  for (size_t i : {0u, 1u, 2u}) EXPECT_NE(s[i], 0u) << "instruction " << i;  // 1: -8..-5 read
  EXPECT_EQ(s[3], 0u);
}

// r10 copied where the analysis cannot follow it (kept in r6 and read through it, or given to a
// bpf-to-bpf call, whose frame may keep it): every store keeps its code.
TEST_F(JitDeadStores, AStackPointerTheAnalysisCannotFollowKeepsEveryStore) {
  Builder kept;
  kept.st(BPF_DW, 10, -8, 11).mov64_reg(6, 10).alu64_imm(BPF_ADD, 6, -8);  // 0-2
  kept.st(BPF_DW, 10, -16, 12);                                            // 3: never read
  kept.ldx(BPF_DW, 0, 6, 0).exit();
  auto s = sizes(kept.finish(), 11);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_NE(s[0], 0u);
  EXPECT_NE(s[3], 0u);

  Builder call;
  call.st(BPF_DW, 10, -8, 21).st(BPF_DW, 10, -16, 22);                 // 0-1: 1 never read
  call.mov64_reg(1, 10).alu64_imm(BPF_ADD, 1, -8).call_local("read");  // 2-4
  call.exit();                                                         // 5
  call.label("read").ldx(BPF_DW, 0, 1, 0).exit();                      // 6-7
  s = sizes(call.finish(), 21);
  ASSERT_EQ(s.size(), 8u);
  EXPECT_NE(s[0], 0u);
  EXPECT_NE(s[1], 0u);
}

// A dead store a jump lands on gets no code; the jump lands on what follows.
TEST_F(JitDeadStores, ADeadStoreAJumpLandsOnIsLeftOut) {
  Builder p;
  p.mov64_imm(0, 1).jmp_imm(BPF_JEQ, 0, 1, "store");  // 0-1
  p.mov64_imm(0, 2);                                  // 2
  p.label("store").st(BPF_DW, 10, -8, 5);             // 3: never read
  p.alu64_imm(BPF_ADD, 0, 40).exit();                 // 4-5
  const auto s = sizes(p.finish(), 41);
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[3], 0u);
  EXPECT_NE(s[4], 0u);
}

// By default the search runs only where map calls take keys from registers; never: nowhere.
TEST_F(JitDeadStores, TheDefaultSearchesOnlyProgramsWithMapCalls) {
  Builder p;
  p.st(BPF_DW, 10, -8, 1).mov64_imm(0, 2).exit();
  expect_searched_only_everywhere(p.finish());
}

}  // namespace
}  // namespace userbpf::jit::testing
