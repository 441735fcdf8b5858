// Jumps to a jump with the same test go where that one goes, and the second test needs no code
// where the first one's fall-through decides it (jump_threading.cpp): the jumps as the interpreter
// takes them, for every condition, width and operand form, and no such shortcut where the
// compared registers change on the way or another jump lands on the second test.
#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint8_t kConditions[] = {BPF_JEQ,  BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                   BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};

enum class Between { nothing, writes_dst, writes_src, jump_lands, jump_from_before, other_test };

struct Shape {
  std::vector<RawInsn> code;
  size_t second_test;  // the instruction index of the second test
};

// r1 = a; r2 = b; r0 = 0; [a jump to the second test]; if r1 op r2 (or imm) goto T; r0 += 1;
// <between>; T: if r1 op r2 goto +1; r0 += 16; r0 += 256; exit. r0 says which way each test went.
Shape program(uint8_t op, bool wide, bool immediate, int32_t imm, uint64_t a, uint64_t b,
              Between between) {
  const uint8_t cls = wide ? BPF_JMP : BPF_JMP32;
  const auto test = [&](Builder& p, uint8_t test_op, const std::string& to) {
    if (immediate)
      p.jmp_imm(test_op, 1, imm, to, cls);
    else
      p.jmp_reg(test_op, 1, 2, to, cls);
  };
  Builder p;
  p.lddw(1, a).lddw(2, b).mov64_imm(0, 0);  // 0-4
  if (between == Between::jump_from_before) p.jmp_imm(BPF_JEQ, 0, 7, "second");
  test(p, op, "second");       // 5
  p.alu64_imm(BPF_ADD, 0, 1);  // 6
  if (between == Between::jump_lands) p.jmp_imm(BPF_JEQ, 0, 7, "second");
  p.mov64_reg(3, 1);  // 7 (8): a register the tests do not read
  if (between == Between::writes_dst) p.alu64_imm(BPF_ADD, 1, 1);
  if (between == Between::writes_src) p.alu64_imm(BPF_ADD, 2, 1);
  p.label("second");
  const size_t second = between == Between::nothing || between == Between::other_test ? 8 : 9;
  test(p, between == Between::other_test ? (op == BPF_JEQ ? BPF_JNE : BPF_JEQ) : op, "last");
  p.alu64_imm(BPF_ADD, 0, 16);
  p.label("last").alu64_imm(BPF_ADD, 0, 256).exit();
  return {p.finish(), second};
}

TEST(JitJumpThreading, RepeatedTestsEveryConditionWidthAndForm) {
  static constexpr uint64_t kValues[] = {0,
                                         1,
                                         5,
                                         0x7fffffff,
                                         0x80000000,
                                         0xffffffff,
                                         0x100000005,
                                         0xffffffffffffffff,
                                         0x8000000000000000};
  size_t without_code = 0;
  for (uint8_t op : kConditions) {
    for (bool wide : {true, false}) {
      for (bool immediate : {false, true}) {
        for (uint64_t a : kValues) {
          for (uint64_t b : kValues) {
            const int32_t imm = static_cast<int32_t>(b);
            for (Between between :
                 {Between::nothing, Between::writes_dst, Between::writes_src, Between::jump_lands,
                  Between::jump_from_before, Between::other_test}) {
              if (immediate && between == Between::writes_src) continue;
              SCOPED_TRACE(::testing::Message() << "op " << int{op} << (wide ? " 64" : " 32")
                                                << (immediate ? " imm " : " reg ") << a << " vs "
                                                << b << " between " << static_cast<int>(between));
              const Shape shape = program(op, wide, immediate, imm, a, b, between);
              const std::vector<uint32_t> at = jit_offsets_of_same_run(shape.code);
              ASSERT_FALSE(at.empty());
              const bool no_code = at[shape.second_test] == at[shape.second_test + 1];
              EXPECT_EQ(no_code, between == Between::nothing);
              without_code += no_code;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(without_code, 0u);
}

// Three tests in a row, each landing on the next: the first goes to the last one's target.
TEST(JitJumpThreading, ChainsOfTheSameTest) {
  for (uint64_t a : {uint64_t{3}, uint64_t{9}}) {
    SCOPED_TRACE(a);
    Builder p;
    p.lddw(1, a).mov64_imm(0, 0);                       // 0-2
    p.jmp_imm(BPF_JGT, 1, 5, "second");                 // 3
    p.alu64_imm(BPF_ADD, 0, 1);                         // 4
    p.label("second").jmp_imm(BPF_JGT, 1, 5, "third");  // 5
    p.alu64_imm(BPF_ADD, 0, 2);                         // 6
    p.label("third").jmp_imm(BPF_JGT, 1, 5, "last");    // 7
    p.alu64_imm(BPF_ADD, 0, 4);                         // 8
    p.label("last").alu64_imm(BPF_ADD, 0, 8).exit();
    const EngineResult out = expect_same(p.finish());
    ASSERT_TRUE(out.ok) << out.error.to_string();
    EXPECT_EQ(out.r0, a > 5 ? 8u : 15u);
  }
}

}  // namespace
}  // namespace userbpf::jit::testing
