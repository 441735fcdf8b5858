// How the emitter lays code out: jumps it resolves itself (backward ones short when in range, near
// otherwise; forward ones patched after emission), across function entries, and programs whose
// code outgrows the first buffer the JIT reserves.
#include <string>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

// A countdown loop whose body is `body_insns` ALU instructions: r0 = the number of iterations.
std::vector<isa::RawInsn> loop_program(int body_insns, int iterations) {
  Builder p;
  p.mov64_imm(0, 0).mov64_imm(2, iterations).mov64_imm(3, 1);
  p.label("top").alu64_imm(BPF_ADD, 0, 1);
  for (int k = 0; k < body_insns; ++k) p.alu64_reg(BPF_XOR, 3, 2);
  p.alu64_imm(BPF_SUB, 2, 1).jmp_imm(BPF_JNE, 2, 0, "top");
  p.exit();
  return p.finish();
}

TEST(JitEmission, BackwardJumpsShortAndNear) {
  for (int body : {0, 10, 40, 100, 1000}) {  // loop bodies of ~3 to ~3000 bytes
    SCOPED_TRACE("body " + std::to_string(body));
    EngineResult r = expect_same(loop_program(body, 7));
    ASSERT_TRUE(r.ok) << r.error.to_string();
    EXPECT_EQ(r.r0, 7u);
  }
}

TEST(JitEmission, BackwardShortJumpIsTwoBytes) {
  auto with_short = load(loop_program(0, 3), true);
  ASSERT_TRUE(with_short.ok());
  // The jne at index 5 jumps back over 13 bytes: `test rsi, rsi` (3 bytes), then jne rel8.
  const vm::NativeCode& s = *with_short->native();
  EXPECT_EQ(s.code[s.insn_offsets[5] + 3], 0x75);
  EXPECT_EQ(s.insn_offsets[6] - s.insn_offsets[5], 5u);
}

// Targets of backward jumps start a 16-byte block (padded with nops the code before runs through).
TEST(JitEmission, LoopHeadsAreAligned) {
  for (int body : {0, 1, 2, 5}) {
    SCOPED_TRACE("body " + std::to_string(body));
    Builder p;  // a loop whose head moves by the preceding instructions' sizes
    p.mov64_imm(0, 0).mov64_imm(2, 9);
    for (int k = 0; k < body; ++k) p.alu64_imm(BPF_ADD, 3, k);
    p.label("top").alu64_imm(BPF_ADD, 0, 2).alu64_imm(BPF_SUB, 2, 1);
    p.jmp_imm(BPF_JNE, 2, 0, "top").exit();
    const std::vector<isa::RawInsn> program = p.finish();
    auto loaded = load(program, true);
    ASSERT_TRUE(loaded.ok());
    const vm::NativeCode& code = *loaded->native();
    const size_t head = 2 + static_cast<size_t>(body);
    EXPECT_EQ((reinterpret_cast<uintptr_t>(code.code) + code.insn_offsets[head]) % 16, 0u);
    EngineResult r = expect_same(program);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.r0, 18u);
  }
}

// A function that calls nothing and leaves r6..r10 alone gets no frame (its code starts with its
// first instruction); one that uses r6 or its stack keeps the frame, and the
// caller's r6 and stack survive either way.
TEST(JitEmission, LeafFunctionsWithoutFrame) {
  enum Leaf { plain, uses_r6, uses_stack };
  for (Leaf leaf : {plain, uses_r6, uses_stack}) {
    SCOPED_TRACE(static_cast<int>(leaf));
    Builder p;
    p.mov64_imm(6, 5).st(BPF_DW, 10, -8, 100).mov64_imm(1, 7).call_local("leaf");
    p.alu64_reg(BPF_ADD, 0, 6).ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2).exit();
    p.label("leaf").mov64_reg(0, 1).alu64_imm(BPF_MUL, 0, 3);
    if (leaf == uses_r6) p.mov64_imm(6, 1000).alu64_reg(BPF_ADD, 0, 6);
    if (leaf == uses_stack)
      p.st(BPF_DW, 10, -8, 1000).ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2);
    p.exit();
    const std::vector<isa::RawInsn> program = p.finish();
    auto loaded = load(program, true);
    ASSERT_TRUE(loaded.ok());
    const vm::NativeCode& code = *loaded->native();
    // Main's exit (index 7) ends with `ret` (0xc3); the leaf (index 8) follows it at once when
    // frameless, after its prologue (ending in `lea rbp, [rsp+512]`) otherwise.
    const uint8_t before_leaf = code.code[code.insn_offsets[8] - 1];
    EXPECT_EQ(before_leaf == 0xc3, leaf == plain);
    EngineResult r = expect_same(program);
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.r0, 21u + (leaf == plain ? 0 : 1000) + 5 + 100);
  }
}

// Code that falls into a function (only unverified programs do) keeps every function's frame:
// main, which calls and uses r6 and its stack, and the leaf in front of g alike.
TEST(JitEmission, CodeFallingIntoAFunctionKeepsEveryFrame) {
  Builder p;
  p.mov64_imm(6, 5).st(BPF_DW, 10, -8, 100).mov64_imm(1, 7).call_local("leaf");
  p.mov64_reg(7, 0).mov64_imm(1, 1).call_local("g").alu64_reg(BPF_ADD, 0, 7);
  p.alu64_reg(BPF_ADD, 0, 6).ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2).exit();
  p.label("leaf").mov64_reg(0, 1).alu64_imm(BPF_MUL, 0, 3);  // falls into g
  p.label("g").mov64_reg(0, 1).alu64_imm(BPF_ADD, 0, 1).exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 2u + 8u + 5u + 100u);
}

// A jump from main into the middle of a leaf (only unverified programs do) keeps the leaf's
// frame: its exit then leaves main's frame, which is the one the jump came in with.
TEST(JitEmission, AJumpIntoALeafKeepsItsFrame) {
  Builder p;
  p.mov64_imm(1, 7).call_local("leaf").mov64_reg(6, 0).mov64_reg(0, 6);
  p.alu64_imm(BPF_ADD, 0, 4).ja("leaf_body");
  p.label("leaf").mov64_reg(0, 1).label("leaf_body").alu64_imm(BPF_MUL, 0, 3).exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, (21u + 4u) * 3u);
}

TEST(JitEmission, ForwardJumpsOverLongAndShortDistances) {
  for (int skipped : {0, 1, 30, 500}) {
    SCOPED_TRACE("skipped " + std::to_string(skipped));
    Builder p;
    p.mov64_imm(0, 1).mov64_imm(2, 5).jmp_imm(BPF_JGT, 2, 3, "far");
    for (int k = 0; k < skipped; ++k) p.alu64_imm(BPF_MUL, 0, 3);
    p.label("far").alu64_imm(BPF_ADD, 0, 100).ja("end");
    for (int k = 0; k < skipped; ++k) p.alu64_imm(BPF_ADD, 0, 7);
    p.label("end").exit();
    EngineResult r = expect_same(p.finish());
    ASSERT_TRUE(r.ok) << r.error.to_string();
    EXPECT_EQ(r.r0, 101u);
  }
}

TEST(JitEmission, JumpsToAndAcrossFunctionEntries) {
  Builder p;  // main falls into f's first instruction by a jump; f is also called
  p.mov64_imm(0, 0).call_local("f").mov64_reg(6, 0).mov64_imm(0, 0).ja("f_body");
  p.label("f").mov64_imm(0, 0).label("f_body").alu64_imm(BPF_ADD, 0, 21);
  p.jmp_imm(BPF_JEQ, 6, 0, "done").alu64_reg(BPF_ADD, 0, 6).label("done").exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 42u);
}

// Loads and stores are encoded by the emitter itself: every base and value register, every size,
// displacements of one byte and four, positive and negative, and the stack (r10 is rbp).
TEST(JitEmission, LoadsAndStoresWithEveryRegisterPair) {
  const uint8_t sizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
  for (uint8_t size : sizes) {
    for (uint8_t base = 0; base <= 10; ++base) {
      for (uint8_t value = 0; value <= 9; ++value) {
        if (value == base) continue;
        SCOPED_TRACE("size " + std::to_string(size) + " base r" + std::to_string(base) +
                     " value r" + std::to_string(value));
        uint8_t out = 9;  // a copy of r1 the results are stored through
        while (out == base || out == value) --out;
        Builder p;  // memory: 1024 bytes at r1; the base is r1 + 512 (or r10, the stack)
        p.mov64_reg(out, 1);
        if (base != 10) p.mov64_reg(base, 1).alu64_imm(BPF_ADD, base, 512);
        int k = 0;
        for (int16_t off : {8, 120, 300, -8, -200}) {
          const int16_t at = base == 10 ? static_cast<int16_t>(-8 - 64 * k) : off;
          p.lddw(value, 0x8899aabbccddeeffull + 0x0101010101010101ull * k);
          p.stx(size, base, value, at).mov64_imm(value, 0).ldx(size, value, base, at);
          p.stx(BPF_DW, out, value, static_cast<int16_t>(8 * k));
          ++k;
        }
        p.mov64_imm(0, 0).exit();
        EngineResult r = expect_same(p.finish(), std::vector<uint8_t>(1024, 0x5a));
        ASSERT_TRUE(r.ok) << r.error.to_string();
      }
    }
  }
}

// LD_ABS is ~50 bytes of code per instruction, far above the JIT's first guess per instruction.
TEST(JitEmission, CodeLargerThanTheFirstBufferIsEmittedAgain) {
  const std::vector<uint8_t> packet = {1, 2, 3, 4, 5, 6, 7, 8};
  Builder p;
  p.mov64_reg(6, 1).mov64_imm(7, 0);
  uint64_t sum = 0;
  for (int k = 0; k < 6000; ++k) {
    p.raw(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, k % 8);
    if (k % 4 == 3) {
      p.alu64_reg(BPF_ADD, 7, 0);
      sum += packet[k % 8];
    }
  }
  p.mov64_reg(0, 7).exit();
  const auto code = p.finish();
  EngineResult r = expect_same(code, {}, {}, {}, packet);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, sum);
  auto jit = load(code, true);
  ASSERT_TRUE(jit.ok());
  EXPECT_GT(jit->native()->code_size, 4096 + code.size() * 32) << "the test needs a regrowth";
}

}  // namespace
}  // namespace userbpf::jit::testing
