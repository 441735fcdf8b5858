// Conditional and unconditional jumps, gotol and may_goto.
#include <cstdint>
#include <functional>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

// r0 = 0; r1 = a; r2 = b; if r1 <op> r2 (or imm) goto taken; exit; taken: r0 = 1; exit.
uint64_t jump_taken(uint8_t cls, uint8_t op, uint64_t a, uint64_t b, bool use_imm) {
  Builder p;
  p.mov64_imm(0, 0).lddw(1, a).lddw(2, b);
  if (use_imm)
    p.jmp_imm(op, 1, static_cast<int32_t>(b), "taken", cls);
  else
    p.jmp_reg(op, 1, 2, "taken", cls);
  p.exit().label("taken").mov64_imm(0, 1).exit();
  return run_both(p.finish());
}

struct Condition {
  uint8_t op;
  const char* name;
  std::function<bool(uint64_t, uint64_t)> holds64;
  std::function<bool(uint32_t, uint32_t)> holds32;
};

const Condition kConditions[] = {
    {BPF_JEQ, "jeq", [](uint64_t a, uint64_t b) { return a == b; },
     [](uint32_t a, uint32_t b) { return a == b; }},
    {BPF_JNE, "jne", [](uint64_t a, uint64_t b) { return a != b; },
     [](uint32_t a, uint32_t b) { return a != b; }},
    {BPF_JGT, "jgt", [](uint64_t a, uint64_t b) { return a > b; },
     [](uint32_t a, uint32_t b) { return a > b; }},
    {BPF_JGE, "jge", [](uint64_t a, uint64_t b) { return a >= b; },
     [](uint32_t a, uint32_t b) { return a >= b; }},
    {BPF_JLT, "jlt", [](uint64_t a, uint64_t b) { return a < b; },
     [](uint32_t a, uint32_t b) { return a < b; }},
    {BPF_JLE, "jle", [](uint64_t a, uint64_t b) { return a <= b; },
     [](uint32_t a, uint32_t b) { return a <= b; }},
    {BPF_JSET, "jset", [](uint64_t a, uint64_t b) { return (a & b) != 0; },
     [](uint32_t a, uint32_t b) { return (a & b) != 0; }},
    {BPF_JSGT, "jsgt", [](uint64_t a, uint64_t b) { return int64_t(a) > int64_t(b); },
     [](uint32_t a, uint32_t b) { return int32_t(a) > int32_t(b); }},
    {BPF_JSGE, "jsge", [](uint64_t a, uint64_t b) { return int64_t(a) >= int64_t(b); },
     [](uint32_t a, uint32_t b) { return int32_t(a) >= int32_t(b); }},
    {BPF_JSLT, "jslt", [](uint64_t a, uint64_t b) { return int64_t(a) < int64_t(b); },
     [](uint32_t a, uint32_t b) { return int32_t(a) < int32_t(b); }},
    {BPF_JSLE, "jsle", [](uint64_t a, uint64_t b) { return int64_t(a) <= int64_t(b); },
     [](uint32_t a, uint32_t b) { return int32_t(a) <= int32_t(b); }},
};

// Pairs chosen so that signed and unsigned, and 32- and 64-bit, orders disagree.
const uint64_t kValues[] = {0,
                            1,
                            2,
                            0x7fffffff,
                            0x80000000,
                            0xffffffff,
                            0x100000001ull,
                            0xffffffff00000002ull,
                            0x8000000000000000ull,
                            ~0ull};

TEST(VmJump, EveryConditionRegisterForms) {
  for (const Condition& c : kConditions)
    for (uint64_t a : kValues)
      for (uint64_t b : kValues) {
        EXPECT_EQ(jump_taken(BPF_JMP, c.op, a, b, false), c.holds64(a, b) ? 1u : 0u)
            << c.name << " " << a << ", " << b;
        EXPECT_EQ(jump_taken(BPF_JMP32, c.op, a, b, false),
                  c.holds32(uint32_t(a), uint32_t(b)) ? 1u : 0u)
            << c.name << "32 " << a << ", " << b;
      }
}

TEST(VmJump, EveryConditionImmediateForms) {
  // A 64-bit comparison sees the immediate sign-extended, a 32-bit one sees its 32 bits.
  const int32_t imms[] = {0, 1, -1, 0x7fffffff, std::numeric_limits<int32_t>::min(), 2};
  for (const Condition& c : kConditions)
    for (uint64_t a : kValues)
      for (int32_t imm : imms) {
        const uint64_t b64 = static_cast<uint64_t>(int64_t{imm});
        EXPECT_EQ(jump_taken(BPF_JMP, c.op, a, b64, true), c.holds64(a, b64) ? 1u : 0u)
            << c.name << " " << a << ", " << imm;
        EXPECT_EQ(jump_taken(BPF_JMP32, c.op, a, b64, true),
                  c.holds32(uint32_t(a), uint32_t(imm)) ? 1u : 0u)
            << c.name << "32 " << a << ", " << imm;
      }
}

TEST(VmJump, JaForwardAndBackward) {
  Builder p;
  p.mov64_imm(0, 0).ja("forward");
  p.label("back").alu64_imm(BPF_ADD, 0, 10).exit();
  p.label("forward").alu64_imm(BPF_ADD, 0, 1).ja("back");
  EXPECT_EQ(run_both(p.finish()), 11u);
}

TEST(VmJump, GotolReachesBeyondSixteenBitOffsets) {
  Builder p;
  p.mov64_imm(0, 7).gotol("end");
  for (int i = 0; i < 40000; ++i) p.mov64_imm(0, 0);
  p.label("end").exit();
  auto code = p.finish();
  ASSERT_GT(code[1].imm, 32767);
  EXPECT_EQ(run_both(code), 7u);

  Builder back;  // and backward
  back.mov64_imm(0, 0).ja("start").label("target").alu64_imm(BPF_ADD, 0, 5).exit();
  back.label("start");
  for (int i = 0; i < 40000; ++i) back.alu64_imm(BPF_ADD, 0, 1);
  back.gotol("target");
  EXPECT_EQ(run_both(back.finish()), 40005u);
}

// Linux's BPF_MAX_LOOPS: may_goto falls through this many times per frame, then jumps.
constexpr uint64_t kLinuxMaxLoops = 8ull * 1024 * 1024;

TEST(VmJump, MayGotoFallsThroughMaxLoopsTimesThenJumps) {
  Builder p;
  p.mov64_imm(0, 0);
  p.label("loop").alu64_imm(BPF_ADD, 0, 1).may_goto("out").ja("loop");
  p.label("out").exit();
  EXPECT_EQ(run_both(p.finish()), kLinuxMaxLoops + 1);
}

TEST(VmJump, MayGotoCounterIsSharedWithinAFrameAndFreshPerCall) {
  // Two may_goto loops in one function share its counter: the second loop jumps immediately.
  Builder shared;
  shared.mov64_imm(0, 0);
  shared.label("a").alu64_imm(BPF_ADD, 0, 1).may_goto("a_out").ja("a");
  shared.label("a_out").mov64_imm(6, 0);
  shared.label("b").alu64_imm(BPF_ADD, 6, 1).may_goto("b_out").ja("b");
  shared.label("b_out").alu64_reg(BPF_ADD, 0, 6).exit();
  EXPECT_EQ(run_both(shared.finish()), kLinuxMaxLoops + 2);

  // Each call of a subprogram starts with a full counter.
  Builder calls;
  calls.call_local("f").mov64_reg(6, 0).call_local("f").alu64_reg(BPF_ADD, 0, 6).exit();
  calls.label("f").mov64_imm(0, 0);
  calls.label("loop").alu64_imm(BPF_ADD, 0, 1).may_goto("out").ja("loop");
  calls.label("out").exit();
  EXPECT_EQ(run_both(calls.finish()), 2 * (kLinuxMaxLoops + 1));
}

}  // namespace
}  // namespace userbpf::vm::testing
