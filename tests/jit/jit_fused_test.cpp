// Instruction pairs the JIT emits as one (src/jit/emit_fused.cpp): `x <<= 32; x >>= 32` as a
// 32-bit move and `x <<= 32; x s>>= 32` as a sign-extending one, and the cases that must stay
// two instructions (a jump landing between them, another register, another count).
#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint64_t kValue = 0xfedcba9887654321ull;

size_t code_size(const std::vector<RawInsn>& code) {
  auto loaded = load(code, true);
  EXPECT_TRUE(loaded.ok());
  if (!loaded.ok()) return 0;
  const vm::NativeCode& native = *loaded->native();
  return native.insn_offsets.back();
}

TEST(JitFused, ZeroAndSignExtensionPairs) {
  for (uint8_t right : {uint8_t{BPF_RSH}, uint8_t{BPF_ARSH}}) {
    for (uint8_t r = 0; r <= 9; ++r) {
      SCOPED_TRACE("r" + std::to_string(r) + (right == BPF_RSH ? " >>" : " s>>"));
      Builder p;
      p.lddw(r, kValue).alu64_imm(BPF_LSH, r, 32).alu64_imm(right, r, 32);
      if (r != 0) p.mov64_reg(0, r);
      p.exit();
      EngineResult out = expect_same(p.finish());
      ASSERT_TRUE(out.ok);
      EXPECT_EQ(out.r0, right == BPF_RSH ? 0x87654321ull : 0xffffffff87654321ull);
    }
  }
}

TEST(JitFused, PairIsOneMove) {
  Builder fused, unfused;
  fused.lddw(3, kValue).alu64_imm(BPF_LSH, 3, 32).alu64_imm(BPF_RSH, 3, 32);
  unfused.lddw(3, kValue).alu64_imm(BPF_LSH, 3, 32).alu64_imm(BPF_RSH, 3, 31);
  fused.mov64_reg(0, 3).exit();
  unfused.mov64_reg(0, 3).exit();
  // `mov edx, edx` is 2 bytes where the two shifts take 8.
  EXPECT_EQ(code_size(unfused.finish()) - code_size(fused.finish()), 6u);
}

// A jump to the second shift must see the first one's result only on the path through it.
TEST(JitFused, JumpBetweenTheShiftsKeepsBoth) {
  for (int32_t take : {0, 1}) {
    SCOPED_TRACE(take);
    Builder p;
    p.lddw(0, kValue).mov64_imm(2, take).jmp_imm(BPF_JEQ, 2, 1, "second");
    p.alu64_imm(BPF_LSH, 0, 32).label("second").alu64_imm(BPF_RSH, 0, 32).exit();
    EngineResult out = expect_same(p.finish());
    ASSERT_TRUE(out.ok);
    EXPECT_EQ(out.r0, take ? kValue >> 32 : 0x87654321ull);
  }
}

TEST(JitFused, NonPairsStayApart) {
  Builder p;  // different registers, counts and orders: each must compute its own shifts
  p.lddw(1, kValue).mov64_reg(2, 1).mov64_reg(3, 1).mov64_reg(4, 1);
  p.alu64_imm(BPF_LSH, 1, 32).alu64_imm(BPF_RSH, 2, 32);  // two registers
  p.alu64_imm(BPF_LSH, 3, 31).alu64_imm(BPF_RSH, 3, 32);  // other count
  p.alu64_imm(BPF_RSH, 4, 32).alu64_imm(BPF_LSH, 4, 32);  // other order
  p.mov64_reg(0, 1).alu64_reg(BPF_XOR, 0, 2).alu64_reg(BPF_XOR, 0, 3).alu64_reg(BPF_XOR, 0, 4);
  p.exit();
  EngineResult out = expect_same(p.finish());
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.r0,
            (kValue << 32) ^ (kValue >> 32) ^ ((kValue << 31) >> 32) ^ ((kValue >> 32) << 32));
}

}  // namespace
}  // namespace userbpf::jit::testing
