// The JIT's control transfers against the interpreter: helper calls by the C calling convention,
// nested bpf-to-bpf calls with one stack per frame, the call-depth limit, bpf_loop-style callbacks
// through CallContext::call_function, tail calls between compiled and interpreted programs,
// may_goto, legacy packet loads and the run-time faults.
#include <array>
#include <string>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

struct Seen {
  uint64_t args[5] = {};
  int calls = 0;
};

uint64_t record_args(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                     vm::CallContext& call) {
  if (auto* seen = static_cast<Seen*>(call.user)) {
    seen->args[0] = r1;
    seen->args[1] = r2;
    seen->args[2] = r3;
    seen->args[3] = r4;
    seen->args[4] = r5;
    ++seen->calls;
  }
  return r1 * 3 + r5;
}

// A run starts with r1..r5 from its arguments and r0, r6..r9 zero, as in the interpreter; the
// entry sets only what the program may read before writing it. Each register read at entry (r1
// is the memory, whose address differs between runs) and a read after a jump (past the
// straight-line start the entry looks at) give the interpreter's value.
TEST(JitCalls, RegistersReadAtEntryStartAsInTheInterpreter) {
  const std::vector<uint8_t> memory(24, 7);
  for (uint8_t r = 0; r <= 9; ++r) {
    if (r == 1) continue;
    SCOPED_TRACE("r" + std::to_string(r));
    Builder straight, jumping;
    straight.mov64_reg(0, r).alu64_imm(BPF_ADD, 0, 5).exit();
    jumping.mov64_imm(6, 1).jmp_imm(BPF_JEQ, 6, 0, "out").mov64_reg(0, r).label("out");
    jumping.alu64_imm(BPF_ADD, 0, 5).exit();
    for (bool jump : {false, true}) {
      const EngineResult out = expect_same(jump ? jumping.finish() : straight.finish(), memory);
      ASSERT_TRUE(out.ok) << out.error.to_string();
      // r2 is the memory's size; r6 was set to 1 before the jump; the rest start at zero.
      EXPECT_EQ(out.r0, r == 2 ? memory.size() + 5 : jump && r == 6 ? 6u : 5u);
    }
  }
  // The code before the first instruction (the entries) is shorter for a program that writes
  // every register before reading it than for one that reads them all.
  Builder writes_first, reads_all;
  writes_first.mov64_imm(0, 1).exit();
  reads_all.mov64_reg(0, 0);
  for (uint8_t r = 1; r <= 9; ++r) reads_all.alu64_reg(BPF_ADD, 0, r);
  reads_all.exit();
  auto a = load(writes_first.finish(), true);
  auto b = load(reads_all.finish(), true);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(a->native()->insn_offsets[0], b->native()->insn_offsets[0]);
}

TEST(JitCalls, HelperGetsR1ToR5AndCalleeSavedRegistersSurvive) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_get_prandom_u32, vm::Helper{"get_prandom_u32", record_args});
  Builder p;
  p.mov64_imm(1, 11).mov64_imm(2, 22).mov64_imm(3, 33).mov64_imm(4, 44).lddw(5, 0x5500000000ull);
  p.mov64_imm(6, 66).mov64_imm(7, 77).mov64_imm(8, 88).mov64_imm(9, 99);
  p.call_helper(BPF_FUNC_get_prandom_u32);
  p.alu64_reg(BPF_ADD, 0, 6).alu64_reg(BPF_ADD, 0, 7).alu64_reg(BPF_ADD, 0, 8);
  p.alu64_reg(BPF_ADD, 0, 9).exit();
  Seen seen;
  EngineResult r = run_engine(p.finish(), true, {}, helpers, &seen);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(seen.calls, 1);
  EXPECT_EQ(seen.args[0], 11u);
  EXPECT_EQ(seen.args[1], 22u);
  EXPECT_EQ(seen.args[2], 33u);
  EXPECT_EQ(seen.args[3], 44u);
  EXPECT_EQ(seen.args[4], 0x5500000000ull);
  EXPECT_EQ(r.r0, 11u * 3 + 0x5500000000ull + 66 + 77 + 88 + 99);
}

// main -> f1 -> f2 -> f3, each frame writing its own stack and keeping r6..r9 of its caller.
TEST(JitCalls, NestedBpfToBpfCallsHaveOwnStacksAndKeepR6ToR9) {
  Builder p;
  p.mov64_imm(6, 1).mov64_imm(7, 2).mov64_imm(8, 3).mov64_imm(9, 4);
  p.st(BPF_DW, 10, -8, 1000).mov64_imm(1, 5).call_local("f1");
  p.ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2);  // main's stack slot untouched: +1000
  p.alu64_imm(BPF_MUL, 6, 10).alu64_reg(BPF_ADD, 0, 6).alu64_imm(BPF_MUL, 7, 100);
  p.alu64_reg(BPF_ADD, 0, 7).alu64_imm(BPF_MUL, 9, 1000000).alu64_reg(BPF_ADD, 0, 9).exit();
  // f1(r1): stack -8 = r1, r6 = 50; r0 = f2(r1 + 1) + stack -8 + r6
  p.label("f1").stx(BPF_DW, 10, 1, -8).mov64_imm(6, 50).alu64_imm(BPF_ADD, 1, 1);
  p.call_local("f2").ldx(BPF_DW, 2, 10, -8).alu64_reg(BPF_ADD, 0, 2).alu64_reg(BPF_ADD, 0, 6);
  p.exit();
  // f2(r1): r0 = f3(r1 * 2) + r1, with r7 changed and its stack written
  p.label("f2").mov64_imm(7, 70).st(BPF_DW, 10, -16, 7).mov64_reg(6, 1);
  p.alu64_imm(BPF_MUL, 1, 2).call_local("f3").alu64_reg(BPF_ADD, 0, 6).ldx(BPF_DW, 2, 10, -16);
  p.alu64_reg(BPF_ADD, 0, 2).exit();
  // f3(r1): r0 = r1 + r10's distance to the caller's stack (a frame is 512 bytes in both engines
  // only in effect: compare with the stack written through r10)
  p.label("f3").mov64_imm(9, 90).st(BPF_DW, 10, -8, 3).ldx(BPF_DW, 0, 10, -8);
  p.alu64_reg(BPF_ADD, 0, 1).exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok) << r.error.to_string();
  // f3 = 12 + 3 = 15; f2 = 15 + 6 + 7 = 28; f1 = 28 + 5 + 50 = 83; main = 83 + 1000 + 10 + 200
  // + 4000000
  EXPECT_EQ(r.r0, 83u + 1000 + 10 + 200 + 4000000);
}

// A callee's frame keeps only the callee-saved registers it uses (r6..r9, and r10 when it has a
// stack): for every such subset, with a deeper call that uses all of them below it, the caller
// gets back all of r6..r9 and its own stack.
TEST(JitCalls, FramesKeepEverySubsetOfCalleeSavedRegisters) {
  for (int used = 0; used < 32; ++used) {
    SCOPED_TRACE(used);
    Builder p;
    p.mov64_imm(6, 6).mov64_imm(7, 7).mov64_imm(8, 8).mov64_imm(9, 9).st(BPF_DW, 10, -8, 10);
    p.call_local("f").ldx(BPF_DW, 1, 10, -8);
    for (uint8_t r = 6; r <= 9; ++r) p.alu64_imm(BPF_MUL, 0, 100).alu64_reg(BPF_ADD, 0, r);
    p.alu64_imm(BPF_MUL, 0, 100).alu64_reg(BPF_ADD, 0, 1).exit();
    // f: writes the registers of `used` (and its own stack with bit 4), then calls g.
    p.label("f").mov64_imm(0, 0);
    for (uint8_t r = 6; r <= 9; ++r)
      if (used & (1 << (r - 6))) p.mov64_imm(r, 60 + r);
    if (used & 16) p.st(BPF_DW, 10, -8, 77);
    p.call_local("g");
    for (uint8_t r = 6; r <= 9; ++r)
      if (used & (1 << (r - 6))) p.alu64_reg(BPF_ADD, 0, r);  // f's own values came back too
    if (used & 16) p.ldx(BPF_DW, 1, 10, -8).alu64_reg(BPF_ADD, 0, 1);
    p.exit();
    // g: writes everything a frame keeps.
    p.label("g").mov64_imm(6, 1).mov64_imm(7, 1).mov64_imm(8, 1).mov64_imm(9, 1);
    p.st(BPF_DW, 10, -8, 1).mov64_imm(0, 0).exit();
    EngineResult r = expect_same(p.finish());
    ASSERT_TRUE(r.ok) << r.error.to_string();
    uint64_t from_f = 0;
    for (int r6 = 6; r6 <= 9; ++r6)
      if (used & (1 << (r6 - 6))) from_f += 60 + r6;
    if (used & 16) from_f += 77;
    EXPECT_EQ(r.r0, ((((from_f * 100 + 6) * 100 + 7) * 100 + 8) * 100 + 9) * 100 + 10);
  }
}

TEST(JitCalls, RecursionStopsAtTheCallDepthLimitLikeTheInterpreter) {
  Builder p;
  p.mov64_imm(1, 0).call_local("f").exit();
  p.label("f").alu64_imm(BPF_ADD, 1, 1).call_local("f").exit();
  EngineResult r = expect_same(p.finish());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, Errc::fault);
  EXPECT_EQ(r.error.where.insn, 4);
  EXPECT_NE(r.error.message.find("call frames"), std::string::npos) << r.error.message;

  // Depth 8 (main + 7 calls) is allowed.
  Builder q;
  q.mov64_imm(1, 0).call_local("f").exit();
  q.label("f").alu64_imm(BPF_ADD, 1, 1).mov64_reg(0, 1).jmp_imm(BPF_JGE, 1, 7, "out");
  q.call_local("f").label("out").exit();
  EngineResult ok = expect_same(q.finish());
  ASSERT_TRUE(ok.ok) << ok.error.to_string();
  EXPECT_EQ(ok.r0, 7u);
}

// bpf_loop's shape: calls the callback (r2) with (i, ctx = r3) for i < r1 until it returns
// non-zero; returns the number of calls.
uint64_t test_loop(uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t, uint64_t,
                   vm::CallContext& call) {
  uint64_t i = 0;
  while (i < nr) {
    Result<uint64_t> r = call.call_function(fn, i, ctx, 0, 0, 0);
    ++i;
    if (!r) return 1000000 + static_cast<uint64_t>(r.error().code);
    if (*r != 0) break;
  }
  return i;
}

// Runs `code` with small calls copied in place and without (CompileOptions::inline_calls), each
// agreeing with the interpreter on r0 == `want`; returns each form's machine code bytes by
// instruction, [false] called, [true] inlined.
std::array<std::vector<size_t>, 2> bytes_called_and_inlined(const std::vector<RawInsn>& code,
                                                            uint64_t want) {
  std::array<std::vector<size_t>, 2> bytes;
  for (bool inline_calls : {false, true}) {
    SCOPED_TRACE(inline_calls ? "inlined" : "called");
    CompileOptions options;
    options.inline_calls = inline_calls;
    const EngineResult r = expect_same(code, {}, {}, options);
    EXPECT_TRUE(r.ok) << r.error.to_string();
    EXPECT_EQ(r.r0, want);
    auto jit = load(code, true, {}, options);
    EXPECT_TRUE(jit.ok() && jit->native() != nullptr);
    if (!jit.ok() || jit->native() == nullptr) continue;
    for (size_t i = 0; i < code.size(); ++i)
      bytes[inline_calls].push_back(code_bytes(*jit->native(), i));
  }
  return bytes;
}

// A call of a small function without a frame (no calls, no stack, no r6..r9) is emitted in
// place, with every exit of the function going to what follows the call: two call sites and one
// in a loop, a function with two exits, r6..r9 of the caller kept. A function with a frame (it
// writes r6) is still called. Same results with and without inlining, and as the interpreter.
TEST(JitCalls, SmallFunctionsWithoutAFrameAreEmittedInPlace) {
  Builder p;
  p.mov64_imm(6, 1000).mov64_imm(7, 0).mov64_imm(8, 0);             // 0-2
  p.mov64_imm(1, 5).call_local("clamp").alu64_reg(BPF_ADD, 7, 0);   // 3-5: 5
  p.mov64_imm(1, 50).call_local("clamp").alu64_reg(BPF_ADD, 7, 0);  // 6-8: 9
  p.label("loop").mov64_reg(1, 8).call_local("clamp");              // 9-10: 0..9, 9 x 2
  p.alu64_reg(BPF_ADD, 7, 0).alu64_imm(BPF_ADD, 8, 1);
  p.jmp_imm(BPF_JLT, 8, 12, "loop");
  p.mov64_imm(1, 3).call_local("framed").alu64_reg(BPF_ADD, 7, 0);  // 3 * 2 + 1
  p.mov64_reg(0, 7).alu64_reg(BPF_ADD, 0, 6).exit();
  // clamp(r1) = min(r1, 9): two exits.
  p.label("clamp").jmp_imm(BPF_JGT, 1, 9, "high").mov64_reg(0, 1).exit();
  p.label("high").mov64_imm(0, 9).exit();
  // framed(r1) = r1 * 2 + 1 through r6.
  p.label("framed").mov64_reg(6, 1).alu64_imm(BPF_MUL, 6, 2).mov64_reg(0, 6);
  p.alu64_imm(BPF_ADD, 0, 1).exit();
  const std::vector<RawInsn> code = p.finish();
  const uint64_t want = 5 + 9 + (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 9 + 9) + 7 + 1000;
  const auto bytes = bytes_called_and_inlined(code, want);
  ASSERT_FALSE(bytes[false].empty() || bytes[true].empty());
  ASSERT_EQ(code[15].code, BPF_JMP | BPF_CALL);
  EXPECT_NE(bytes[true][4], bytes[false][4]) << "clamp was called, not inlined";
  EXPECT_EQ(bytes[true][15], bytes[false][15]) << "framed has a frame: still called";
}

// An inlined function with a loop of its own (backward jumps inside the copy, to the copy's
// instructions) called from two places, one of them inside the caller's loop.
TEST(JitCalls, InlinedFunctionsKeepTheirOwnLoops) {
  Builder p;
  p.mov64_imm(6, 0).mov64_imm(7, 0);                              // 0-1
  p.mov64_imm(1, 10).call_local("sum").alu64_reg(BPF_ADD, 7, 0);  // 2-4: 45
  p.label("outer").mov64_reg(1, 6).call_local("sum");             // 5-6: sum(0..4)
  p.alu64_reg(BPF_ADD, 7, 0).alu64_imm(BPF_ADD, 6, 1).jmp_imm(BPF_JLT, 6, 5, "outer");
  p.mov64_reg(0, 7).exit();
  // sum(r1) = 0 + 1 + ... + (r1 - 1), with r2 counting up.
  p.label("sum").mov64_imm(0, 0).mov64_imm(2, 0).jmp_imm(BPF_JGE, 2, 1, "done");
  p.label("top").alu64_reg(BPF_ADD, 0, 2).alu64_imm(BPF_ADD, 2, 1).jmp_reg(BPF_JLT, 2, 1, "top");
  p.label("done").exit();
  const std::vector<RawInsn> code = p.finish();
  const auto bytes = bytes_called_and_inlined(code, 45u + 0 + 0 + 1 + 3 + 6);
  ASSERT_FALSE(bytes[false].empty() || bytes[true].empty());
  ASSERT_EQ(code[6].code, BPF_JMP | BPF_CALL);
  EXPECT_GT(bytes[true][6], bytes[false][6]) << "sum was called, not copied in";
}

TEST(JitCalls, BpfLoopCallbacksRunInTheirOwnFrames) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_loop, vm::Helper{"loop", test_loop});
  Builder p;
  p.mov64_imm(6, 600).st(BPF_DW, 10, -8, 0).mov64_imm(1, 10).lddw_func(2, "cb");
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -8).call_helper(BPF_FUNC_loop);
  p.ldx(BPF_DW, 1, 10, -8).alu64_imm(BPF_MUL, 1, 1000).alu64_reg(BPF_ADD, 0, 1);
  p.alu64_reg(BPF_ADD, 0, 6).exit();
  // cb(i, ctx): a nested bpf-to-bpf call adds i to *ctx; stop after i == 6.
  p.label("cb").mov64_imm(6, 1).st(BPF_DW, 10, -8, 0).call_local("add").mov64_imm(0, 0);
  p.jmp_imm(BPF_JNE, 1, 6, "ret").mov64_imm(0, 1).label("ret").exit();
  p.label("add").ldx(BPF_DW, 3, 2, 0).alu64_reg(BPF_ADD, 3, 1).stx(BPF_DW, 2, 3, 0).exit();
  EngineResult r = expect_same(p.finish(), {}, helpers);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 21u * 1000 + 7 + 600);
}

TEST(JitCalls, NestedCallbacksAndInvalidHandles) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_loop, vm::Helper{"loop", test_loop});
  Builder p;
  // outer loop 3 times; each callback runs an inner loop 4 times adding to *ctx.
  p.st(BPF_DW, 10, -8, 0).mov64_imm(1, 3).lddw_func(2, "outer").mov64_reg(3, 10);
  p.alu64_imm(BPF_ADD, 3, -8).call_helper(BPF_FUNC_loop).ldx(BPF_DW, 0, 10, -8).exit();
  p.label("outer").mov64_reg(3, 2).mov64_imm(1, 4).lddw_func(2, "inner");
  p.call_helper(BPF_FUNC_loop).mov64_imm(0, 0).exit();
  p.label("inner").ldx(BPF_DW, 3, 2, 0).alu64_imm(BPF_ADD, 3, 1).stx(BPF_DW, 2, 3, 0);
  p.mov64_imm(0, 0).exit();
  EngineResult r = expect_same(p.finish(), {}, helpers);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 12u);

  Builder bad;  // 5 is not a function handle: the helper sees invalid_argument
  bad.mov64_imm(1, 1).mov64_imm(2, 5).call_helper(BPF_FUNC_loop).exit();
  EngineResult b = expect_same(bad.finish(), {}, helpers);
  EXPECT_EQ(b.r0, 1000000u + static_cast<uint64_t>(Errc::invalid_argument));
}

TEST(JitCalls, CallbacksDeeperThanTheFrameLimitFail) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_loop, vm::Helper{"loop", test_loop});
  Builder p;  // every callback calls loop on itself again: the 9th frame is refused
  p.mov64_imm(1, 1).lddw_func(2, "cb").mov64_imm(3, 0).call_helper(BPF_FUNC_loop).exit();
  p.label("cb").mov64_imm(1, 1).lddw_func(2, "cb").call_helper(BPF_FUNC_loop).exit();
  EngineResult r = expect_same(p.finish(), {}, helpers);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, Errc::fault);
}

// Tail calls: a helper that asks for a tail call into the program in `user`.
struct TailTarget {
  const vm::Interpreter* program = nullptr;
  int requests = 0;
};
uint64_t tail_call(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, vm::CallContext& call) {
  auto* target = static_cast<TailTarget*>(call.user);
  ++target->requests;
  if (!call.request_tail_call(*target->program, target, ctx)) return static_cast<uint64_t>(-2);
  return 0;
}

TEST(JitCalls, TailCallsKeepCountingAcrossEngines) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_tail_call, vm::Helper{"tail_call", tail_call});
  // The program tail-calls itself through the helper; each hop adds 1 to *ctx. After 33 tail
  // calls the helper falls through and the program returns *ctx * 100 + 7.
  Builder p;
  p.mov64_reg(6, 1).ldx(BPF_DW, 2, 1, 0).alu64_imm(BPF_ADD, 2, 1).stx(BPF_DW, 1, 2, 0);
  p.call_helper(BPF_FUNC_tail_call).ldx(BPF_DW, 0, 6, 0).alu64_imm(BPF_MUL, 0, 100);
  p.alu64_imm(BPF_ADD, 0, 7).exit();
  const auto code = p.finish();
  for (int mode = 0; mode < 3; ++mode) {  // interp -> interp, jit -> jit, jit -> interp
    auto first = load(code, mode != 0, helpers);
    auto second = load(code, mode == 1, helpers);
    ASSERT_TRUE(first.ok() && second.ok());
    TailTarget target{&*second, 0};
    uint64_t counter = 0;
    vm::RunOptions options;
    options.user = &target;
    auto r = first->run(reinterpret_cast<uint64_t>(&counter), 0, options);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(counter, 34u) << "mode " << mode;
    EXPECT_EQ(r->r0, 34u * 100 + 7) << "mode " << mode;
    EXPECT_EQ(target.requests, 34) << "mode " << mode;
  }
}

TEST(JitCalls, TailCallFromASubprogramIsRefusedAsInTheInterpreter) {
  vm::HelperTable helpers;
  helpers.set(BPF_FUNC_tail_call, vm::Helper{"tail_call", tail_call});
  Builder p;
  p.call_local("f").exit();
  p.label("f").call_helper(BPF_FUNC_tail_call).exit();
  const auto code = p.finish();
  for (bool with_jit : {false, true}) {
    auto prog = load(code, with_jit, helpers);
    ASSERT_TRUE(prog.ok());
    TailTarget target{&*prog, 0};
    vm::RunOptions options;
    options.user = &target;
    auto r = prog->run(0, 0, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::unsupported);
    EXPECT_EQ(r.error().where.insn, 2);
  }
}

TEST(JitCalls, MayGotoFallsThroughUntilTheFrameBudgetIsSpent) {
  Builder p;  // counts iterations of an endless loop escaped by may_goto: BPF_MAX_LOOPS
  p.mov64_imm(0, 0).label("loop").may_goto("out").alu64_imm(BPF_ADD, 0, 1).ja("loop");
  p.label("out").exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.r0, 8u * 1024 * 1024);
}

// A call inside the loop to a function with no stack of its own (its frame keeps no r10) must not
// touch the caller's may_goto budget.
TEST(JitCalls, MayGotoBudgetSurvivesCallsToFunctionsWithoutAStack) {
  Builder p;
  p.mov64_imm(6, 0).label("loop").may_goto("out").mov64_reg(1, 6).call_local("inc");
  p.mov64_reg(6, 0).ja("loop");
  p.label("out").mov64_reg(0, 6).exit();
  // inc(x) = x + 1, framed (it calls) but with no stack: its frame keeps r6 only.
  p.label("inc").mov64_reg(6, 1).alu64_imm(BPF_ADD, 6, 1).call_local("leaf");
  p.mov64_reg(0, 6).exit();
  p.label("leaf").mov64_imm(0, 0).exit();
  EngineResult r = expect_same(p.finish());
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.r0, 8u * 1024 * 1024);
}

TEST(JitCalls, LegacyPacketLoads) {
  const std::vector<uint8_t> packet = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  Builder p;  // r6 = ctx; r0 = ldabs32(2) + ldind16(r7 = 1, imm 4); r3..r5 survive
  p.mov64_reg(6, 1).mov64_imm(3, 3).mov64_imm(4, 4).mov64_imm(5, 5).mov64_imm(7, 1);
  p.raw(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 2).mov64_reg(8, 0);
  p.raw(BPF_LD | BPF_IND | BPF_H, 0, 7, 0, 4).alu64_reg(BPF_ADD, 0, 8);
  p.alu64_reg(BPF_ADD, 0, 3).alu64_reg(BPF_ADD, 0, 4).alu64_reg(BPF_ADD, 0, 5);
  p.alu64_reg(BPF_ADD, 0, 2).exit();  // r2 = the last offset, 5
  EngineResult r = expect_same(p.finish(), {}, {}, {}, packet);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 0x33445566u + 0x6677u + 3 + 4 + 5 + 5);

  Builder q;  // out of bounds in a subprogram: that function returns 0, the caller goes on
  q.mov64_reg(6, 1).call_local("f").alu64_imm(BPF_ADD, 0, 9).exit();
  q.label("f").raw(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 6).mov64_imm(0, 1234).exit();
  EngineResult oob = expect_same(q.finish(), {}, {}, {}, packet);
  ASSERT_TRUE(oob.ok);
  EXPECT_EQ(oob.r0, 9u);
}

TEST(JitCalls, FallingOffTheEndIsAFaultNamingTheLastInstruction) {
  Builder p;
  p.mov64_imm(0, 1).jmp_imm(BPF_JEQ, 0, 1, "end").exit().label("end").mov64_imm(0, 2);
  EngineResult r = expect_same(p.finish());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.code, Errc::fault);
  EXPECT_EQ(r.error.where.insn, 3);
}

TEST(JitCalls, CheckedRunsNeverReachTheJit) {
  Builder p;  // reads through r1 = 0: a checked run faults, it does not crash in machine code
  p.ldx(BPF_DW, 0, 1, 0).exit();
  auto prog = load(p.finish(), true);
  ASSERT_TRUE(prog.ok());
  ASSERT_NE(prog->native(), nullptr);
  vm::RunOptions checked;
  checked.checked = true;
  auto r = prog->run(0, 0, checked);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::fault);
}

}  // namespace
}  // namespace userbpf::jit::testing
