// Helper calls, bpf-to-bpf calls and their frames, lddw pseudo forms, function handles.
#include <string>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

struct Seen {
  uint64_t args[5] = {};
  int calls = 0;
};

uint64_t record_args(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                     CallContext& call) {
  auto* seen = static_cast<Seen*>(call.user);
  seen->args[0] = r1;
  seen->args[1] = r2;
  seen->args[2] = r3;
  seen->args[3] = r4;
  seen->args[4] = r5;
  ++seen->calls;
  return r1 * 3 + r5;
}

TEST(VmCall, HelperGetsR1ToR5AndReturnsInR0) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_get_prandom_u32, Helper{"get_prandom_u32", record_args});
  Builder p;
  p.mov64_imm(1, 11).mov64_imm(2, 22).mov64_imm(3, 33).mov64_imm(4, 44).lddw(5, 0x5500000000ull);
  p.mov64_imm(6, 66).call_helper(BPF_FUNC_get_prandom_u32).alu64_reg(BPF_ADD, 0, 6).exit();
  for (bool checked : {false, true}) {
    Seen seen;
    RunOptions options;
    options.checked = checked;
    options.user = &seen;
    auto r = run_raw(p.finish(), 0, 0, options, helpers);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(seen.calls, 1);
    EXPECT_EQ(seen.args[0], 11u);
    EXPECT_EQ(seen.args[1], 22u);
    EXPECT_EQ(seen.args[2], 33u);
    EXPECT_EQ(seen.args[3], 44u);
    EXPECT_EQ(seen.args[4], 0x5500000000ull);
    EXPECT_EQ(r->r0, 11u * 3 + 0x5500000000ull + 66);  // r6 survives the call
  }
}

TEST(VmCall, UnknownHelperIsALoadErrorNamingIt) {
  Builder p;
  p.call_helper(BPF_FUNC_trace_printk).exit();
  auto r = load_raw(p.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  EXPECT_EQ(r.error().where.insn, 0);
  EXPECT_NE(r.error().message.find("helper 6"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("trace_printk"), std::string::npos) << r.error().message;

  Builder q;
  q.mov64_imm(0, 0).call_helper(100000).exit();
  auto unknown = load_raw(q.finish());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().where.insn, 1);
  EXPECT_NE(unknown.error().message.find("100000"), std::string::npos);
}

TEST(VmCall, KfuncCallsAreRefusedAtLoad) {
  Builder p;
  p.raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, 1234).exit();
  auto r = load_raw(p.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::unsupported);
  EXPECT_NE(r.error().message.find("kfunc"), std::string::npos);
}

TEST(VmCall, LocalCallPreservesR6ToR9AndGivesAFreshFrame) {
  Builder p;
  p.mov64_imm(6, 6).mov64_imm(7, 7).mov64_imm(8, 8).mov64_imm(9, 9);
  p.st(BPF_DW, 10, -8, 1000);  // the caller's stack slot
  p.mov64_imm(1, 5).mov64_imm(2, 100).call_local("f");
  // r0 = f's result + r6 + r7 + r8 + r9 + caller's slot
  p.alu64_reg(BPF_ADD, 0, 6).alu64_reg(BPF_ADD, 0, 7).alu64_reg(BPF_ADD, 0, 8);
  p.alu64_reg(BPF_ADD, 0, 9).ldx(BPF_DW, 1, 10, -8).alu64_reg(BPF_ADD, 0, 1).exit();
  // f(r1, r2): clobbers r6..r9 and its own r10-8, returns r1 * r2.
  p.label("f").mov64_imm(6, 0).mov64_imm(7, 0).mov64_imm(8, 0).mov64_imm(9, 0);
  p.st(BPF_DW, 10, -8, 0).mov64_reg(0, 1).alu64_reg(BPF_MUL, 0, 2).exit();
  EXPECT_EQ(run_both(p.finish()), 5u * 100 + 6 + 7 + 8 + 9 + 1000);
}

TEST(VmCall, CalleeMayWriteItsCallersStackThroughAPointer) {
  Builder p;
  p.st(BPF_DW, 10, -16, 1).mov64_reg(1, 10).alu64_imm(BPF_ADD, 1, -16).call_local("f");
  p.ldx(BPF_DW, 0, 10, -16).exit();
  p.label("f").st(BPF_DW, 1, 0, 4242).mov64_imm(0, 0).exit();
  EXPECT_EQ(run_both(p.finish()), 4242u);
}

// A chain main -> f1 -> ... -> f<calls>, each adding 1 to r0 after its callee returns.
std::vector<RawInsn> call_chain(int calls) {
  Builder p;
  p.mov64_imm(0, 0).call_local("f1").exit();
  for (int i = 1; i <= calls; ++i) {
    p.label("f" + std::to_string(i));
    if (i < calls)
      p.call_local("f" + std::to_string(i + 1));
    else
      p.mov64_imm(0, 0);
    p.alu64_imm(BPF_ADD, 0, 1).exit();
  }
  return p.finish();
}

TEST(VmCall, EightFramesWorkNineFail) {
  // 7 nested calls = 8 frames (Linux's MAX_CALL_FRAMES).
  EXPECT_EQ(run_both(call_chain(7)), 7u);
  for (bool checked : {false, true}) {
    RunOptions options;
    options.checked = checked;
    auto r = run_raw(call_chain(8), 0, 0, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::fault);
    EXPECT_NE(r.error().message.find("8 call frames"), std::string::npos) << r.error().message;
    EXPECT_GE(r.error().where.insn, 0);
  }
}

TEST(VmCall, UnboundedRecursionStopsWithAnError) {
  Builder p;
  p.label("f").call_local("f").exit();
  auto r = run_raw(p.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::fault);
}

TEST(VmCall, LddwPseudoFormsGoThroughTheResolver) {
  LoadOptions options;
  std::vector<size_t> asked;
  options.resolve_lddw = [&](const isa::Insn& insn, size_t index) -> Result<uint64_t> {
    asked.push_back(index);
    if (insn.src == BPF_PSEUDO_MAP_FD) return uint64_t{0x10000} + static_cast<uint32_t>(insn.imm);
    if (insn.src == BPF_PSEUDO_MAP_VALUE)
      return uint64_t{0x20000} + static_cast<uint32_t>(insn.imm) + insn.next_imm;
    return make_error(Errc::not_found, "no such BTF object");
  };
  Builder p;
  p.raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, 7).raw(0, 0, 0, 0, 0);
  p.raw(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_VALUE, 0, 3).raw(0, 0, 0, 0, 40);
  p.mov64_reg(0, 1).alu64_reg(BPF_ADD, 0, 2).exit();
  auto interp = load_raw(p.finish(), {}, options);
  ASSERT_TRUE(interp.ok()) << interp.error().to_string();
  EXPECT_EQ(asked, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(interp->run(0, 0)->r0, uint64_t{0x10000 + 7 + 0x20000 + 3 + 40});

  // A resolver error fails the load and names the instruction.
  Builder btf;
  btf.mov64_imm(0, 0).raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_BTF_ID, 0, 1).raw(0, 0, 0, 0, 0);
  btf.exit();
  auto bad = load_raw(btf.finish(), {}, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::not_found);
  EXPECT_EQ(bad.error().where.insn, 1);

  // Without a resolver, pseudo forms cannot load.
  auto none = load_raw(btf.finish());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::unsupported);
  EXPECT_NE(none.error().message.find("BPF_PSEUDO_BTF_ID"), std::string::npos);
}

// A bpf_loop-like helper: calls the callback (r2) with (i, ctx = r3) for i < r1 until it
// returns non-zero; returns the number of calls.
uint64_t test_loop(uint64_t nr, uint64_t fn, uint64_t ctx, uint64_t, uint64_t, CallContext& call) {
  uint64_t i = 0;
  while (i < nr) {
    Result<uint64_t> r = call.call_function(fn, i, ctx, 0, 0, 0);
    ++i;
    if (!r || *r != 0) break;
  }
  return i;
}
constexpr uint32_t kLoopHelperId = BPF_FUNC_loop;

TEST(VmCall, PseudoFuncHandleCalledFromAHelper) {
  HelperTable helpers;
  helpers.set(kLoopHelperId, Helper{"loop", test_loop});
  Builder p;
  // sum = 0 on the stack; loop(10, &cb, &sum); r0 = sum * 1000 + calls
  p.st(BPF_DW, 10, -8, 0).mov64_imm(1, 10).lddw_func(2, "cb");
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -8).call_helper(kLoopHelperId);
  p.ldx(BPF_DW, 1, 10, -8).alu64_imm(BPF_MUL, 1, 1000).alu64_reg(BPF_ADD, 0, 1).exit();
  // cb(i, ctx): *ctx += i; stop (return 1) after i == 6.
  p.label("cb").ldx(BPF_DW, 3, 2, 0).alu64_reg(BPF_ADD, 3, 1).stx(BPF_DW, 2, 3, 0);
  p.mov64_imm(0, 0).jmp_imm(BPF_JNE, 1, 6, "ret").mov64_imm(0, 1).label("ret").exit();
  const uint64_t sum = 0 + 1 + 2 + 3 + 4 + 5 + 6;
  EXPECT_EQ(run_both(p.finish(), 0, 0, {}, helpers), sum * 1000 + 7);
}

TEST(VmCall, FaultInACallbackFailsTheRun) {
  HelperTable helpers;
  helpers.set(kLoopHelperId, Helper{"loop", test_loop});
  Builder p;
  p.mov64_imm(1, 3).lddw_func(2, "cb").mov64_imm(3, 0).call_helper(kLoopHelperId).exit();
  p.label("cb").ldx(BPF_DW, 0, 2, 0).exit();  // reads through ctx = NULL
  RunOptions options;
  options.checked = true;
  auto r = run_raw(p.finish(), 0, 0, options, helpers);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::fault);
  EXPECT_EQ(r.error().where.insn, 6);  // the load in the callback
}

uint64_t call_bad_handle(uint64_t handle, uint64_t, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  Result<uint64_t> r = call.call_function(handle, 0, 0, 0, 0, 0);
  return r ? 0 : (r.error().code == Errc::invalid_argument ? 1 : 2);
}

TEST(VmCall, InvalidFunctionHandleIsRefused) {
  HelperTable helpers;
  helpers.set(kLoopHelperId, Helper{"bad", call_bad_handle});
  Builder p;
  p.mov64_imm(1, 1).call_helper(kLoopHelperId).exit();  // 1 is not a handle
  EXPECT_EQ(run_both(p.finish(), 0, 0, {}, helpers), 1u);
}

TEST(VmCall, PseudoFuncOutsideTheProgramFailsToLoad) {
  Builder p;
  p.raw(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_FUNC, 0, 50).raw(0, 0, 0, 0, 0).exit();
  auto r = load_raw(p.finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.insn, 0);
}

}  // namespace
}  // namespace userbpf::vm::testing
