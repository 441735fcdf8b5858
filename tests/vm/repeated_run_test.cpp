// vm::RepeatedRun: one run state reused over many runs must give every run exactly what a fresh
// Interpreter::run with the same options gives it, in the unchecked and checked interpreter and
// in the JIT's machine code: the whole tail-call count and instruction budget, no helper regions
// or stack contents of the run before, no failure left over, and the options' packet and regions
// as they are when the run starts.
#include "vm/repeated_run.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "../../bench/raw_builder.hpp"
#include "isa/decode.hpp"
#include "jit/jit.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::vm {
namespace {

using isa::RawInsn;
using rawasm::Builder;

enum class Mode { unchecked, checked, jit };
constexpr Mode kModes[] = {Mode::unchecked, Mode::checked, Mode::jit};

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::unchecked: return "interp unchecked";
    case Mode::checked: return "interp checked";
    case Mode::jit: return "jit";
  }
  return "?";
}

Interpreter load(const std::vector<RawInsn>& code, Mode mode, const HelperTable& helpers = {}) {
  auto program = isa::decode(code);
  EXPECT_TRUE(program.ok()) << program.error().to_string();
  auto interp = Interpreter::load(*program, helpers);
  EXPECT_TRUE(interp.ok()) << interp.error().to_string();
  if (mode == Mode::jit) {
    Status attached = jit::attach(*interp);
    EXPECT_TRUE(attached.ok()) << attached.error().to_string();
    EXPECT_NE(interp->native(), nullptr);
  }
  return std::move(*interp);
}

Region region_of(const void* p, size_t size, bool writable, const char* name) {
  return Region{reinterpret_cast<uint64_t>(p), size, writable, name};
}

// A helper that asks for a tail call into the program in `user` (as bpf_tail_call does) and
// answers -2 once the run's 33 tail calls are spent.
uint64_t tail_call(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const auto* target = static_cast<const Interpreter*>(call.user);
  return call.request_tail_call(*target, call.user, ctx) ? 0 : static_cast<uint64_t>(-2);
}

TEST(RepeatedRun, EveryRunMayMakeAllItsTailCalls) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_tail_call, Helper{"tail_call", tail_call});
  // Each hop adds 1 to *ctx and tail-calls the program again: 1 + 33 hops, then r0 = *ctx.
  Builder p;
  p.mov64_reg(6, 1).ldx(BPF_DW, 2, 1, 0).alu64_imm(BPF_ADD, 2, 1).stx(BPF_DW, 1, 2, 0);
  p.call_helper(BPF_FUNC_tail_call).ldx(BPF_DW, 0, 6, 0).exit();
  for (Mode mode : kModes) {
    SCOPED_TRACE(mode_name(mode));
    const Interpreter prog = load(p.finish(), mode, helpers);
    uint64_t counter = 0;
    const Region ctx = region_of(&counter, sizeof counter, true, "ctx");
    RunOptions options;
    options.checked = mode == Mode::checked;
    options.regions = std::span<const Region>(&ctx, 1);
    options.user = const_cast<Interpreter*>(&prog);
    RepeatedRun runner(prog, options);
    for (int i = 0; i < 3; ++i) {
      counter = 0;
      auto r = runner.run(reinterpret_cast<uint64_t>(&counter), 0);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      EXPECT_EQ(r->r0, 34u) << "run " << i;
    }
  }
}

// A helper that hands out `user` (a u64) as a region, as bpf_map_lookup_elem hands out a value.
uint64_t hand_out(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  call.add_region(Region{reinterpret_cast<uint64_t>(call.user), 8, true, "handed out"});
  return reinterpret_cast<uint64_t>(call.user);
}

TEST(RepeatedRun, HelperRegionsDoNotOutliveTheirRun) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_map_lookup_elem, Helper{"map_lookup_elem", hand_out});
  // r1 != 0: get the memory from the helper and write it; r1 == 0: write r2 without asking.
  Builder p;
  p.jmp_imm(BPF_JEQ, 1, 0, "direct").call_helper(BPF_FUNC_map_lookup_elem);
  p.st(BPF_DW, 0, 0, 1).mov64_imm(0, 1).exit();
  p.label("direct").st(BPF_DW, 2, 0, 2).mov64_imm(0, 2).exit();
  const Interpreter prog = load(p.finish(), Mode::checked, helpers);
  uint64_t value = 0;
  RunOptions options;
  options.checked = true;
  options.user = &value;
  const uint64_t addr = reinterpret_cast<uint64_t>(&value);
  // A fresh run without the helper may not touch it.
  auto fresh = prog.run(0, addr, options);
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.error().code, Errc::fault);
  RepeatedRun runner(prog, options);
  auto first = runner.run(1, addr);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(value, 1u);
  auto second = runner.run(0, addr);
  ASSERT_FALSE(second.ok()) << "the last run's region leaked into this one";
  EXPECT_EQ(second.error().code, Errc::fault);
  EXPECT_EQ(second.error().where.insn, fresh.error().where.insn);
  // (The rest of the message names the nearest region, whose distance depends on where each
  // run's stack lives.)
  EXPECT_EQ(second.error().message.substr(0, 24), "invalid write of 8 bytes");
  EXPECT_EQ(value, 1u);
}

TEST(RepeatedRun, CheckedRunsStartWithAZeroedStack) {
  // r0 = what the stack held; then leave r1 there for the next run to find.
  Builder p;
  p.ldx(BPF_DW, 0, 10, -8).stx(BPF_DW, 10, 1, -8).exit();
  const Interpreter prog = load(p.finish(), Mode::checked);
  RunOptions options;
  options.checked = true;
  RepeatedRun runner(prog, options);
  for (uint64_t arg : {5u, 7u, 9u}) {
    auto r = runner.run(arg, 0);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->r0, 0u) << "a run read what the one before left on the stack";
  }
}

TEST(RepeatedRun, EveryRunGetsTheWholeBudget) {
  // A loop of r1 iterations (3 instructions each) after 1 instruction, then exit.
  Builder p;
  p.mov64_imm(0, 0).label("loop").alu64_imm(BPF_ADD, 0, 1).jmp_reg(BPF_JLT, 0, 1, "loop").exit();
  const Interpreter prog = load(p.finish(), Mode::checked);
  RunOptions options;
  options.checked = true;
  options.insn_budget = 1000;
  auto fresh = prog.run(400, 0, options);
  ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
  RepeatedRun runner(prog, options);
  for (int i = 0; i < 3; ++i) {  // 802 instructions each: two of them would exceed 1000
    auto r = runner.run(400, 0);
    ASSERT_TRUE(r.ok()) << "run " << i << ": " << r.error().to_string();
    EXPECT_EQ(r->r0, 400u);
    EXPECT_EQ(r->insns_executed, fresh->insns_executed);
  }
  auto over = runner.run(600, 0);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, Errc::budget);
  auto after = runner.run(400, 0);  // the failure is not carried either
  ASSERT_TRUE(after.ok()) << after.error().to_string();
  EXPECT_EQ(after->insns_executed, fresh->insns_executed);
}

TEST(RepeatedRun, AFailedRunLeavesNothingBehind) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_tail_call, Helper{"tail_call", tail_call});
  // r1 != 0: a tail call from a subprogram, which stops the run (unsupported); else r0 = 3.
  Builder p;
  p.jmp_imm(BPF_JEQ, 1, 0, "fine").call_local("f").exit();
  p.label("fine").mov64_imm(0, 3).exit();
  p.label("f").call_helper(BPF_FUNC_tail_call).exit();
  for (Mode mode : kModes) {
    SCOPED_TRACE(mode_name(mode));
    const Interpreter prog = load(p.finish(), mode, helpers);
    RunOptions options;
    options.checked = mode == Mode::checked;
    options.user = const_cast<Interpreter*>(&prog);
    RepeatedRun runner(prog, options);
    for (int i = 0; i < 2; ++i) {
      auto bad = runner.run(1, 0);
      ASSERT_FALSE(bad.ok());
      EXPECT_EQ(bad.error().code, Errc::unsupported);
      EXPECT_EQ(bad.error().where.insn, 5);
      auto good = runner.run(0, 0);
      ASSERT_TRUE(good.ok()) << good.error().to_string();
      EXPECT_EQ(good->r0, 3u);
    }
  }
}

TEST(RepeatedRun, EachRunSeesTheOptionsPacketAndRegionsAsTheyAreThen) {
  // r0 = LD_ABS byte 1 of the packet + 256 * the byte at r2 (a region of the options).
  Builder p;
  p.mov64_reg(6, 1).mov64_reg(7, 2).raw(BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 1);
  p.ldx(BPF_B, 1, 7, 0).alu64_imm(BPF_LSH, 1, 8).alu64_reg(BPF_ADD, 0, 1).exit();
  const std::vector<uint8_t> packet_a = {0x10, 0x11}, packet_b = {0x20, 0x21, 0x22};
  uint8_t byte_a = 0x3a, byte_b = 0x4b;
  for (Mode mode : kModes) {
    SCOPED_TRACE(mode_name(mode));
    const Interpreter prog = load(p.finish(), mode);
    Region region = region_of(&byte_a, 1, false, "a");
    RunOptions options;
    options.checked = mode == Mode::checked;
    options.regions = std::span<const Region>(&region, 1);
    options.packet = packet_a;
    RepeatedRun runner(prog, options);
    auto a = runner.run(0, reinterpret_cast<uint64_t>(&byte_a));
    ASSERT_TRUE(a.ok()) << a.error().to_string();
    EXPECT_EQ(a->r0, 0x3a11u);
    options.packet = packet_b;
    region = region_of(&byte_b, 1, false, "b");
    auto b = runner.run(0, reinterpret_cast<uint64_t>(&byte_b));
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    EXPECT_EQ(b->r0, 0x4b21u);
    auto fresh = prog.run(0, reinterpret_cast<uint64_t>(&byte_b), options);
    ASSERT_TRUE(fresh.ok()) << fresh.error().to_string();
    EXPECT_EQ(fresh->r0, b->r0);
    if (mode == Mode::checked) {  // the old region is gone with the options' change
      auto old = runner.run(0, reinterpret_cast<uint64_t>(&byte_a));
      ASSERT_FALSE(old.ok());
      EXPECT_EQ(old.error().code, Errc::fault);
    }
  }
}

// A helper that sets the bool in `user`: what a packet helper's PacketState::changed is to a
// repeated test run.
uint64_t raise_flag(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  *static_cast<bool*>(call.user) = true;
  return 0;
}

// run_batch runs back to back until the count, a run that sets the watched flag (that run
// counts) or a run that stops (it does not count; finish() answers for it), and then goes on
// where it stopped.
TEST(RepeatedRun, BatchesStopAtTheWatchedFlagAndAtAFailedRun) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_trace_printk, Helper{"raise_flag", raise_flag});
  helpers.set(BPF_FUNC_tail_call, Helper{"tail_call", tail_call});
  // *ctx += 1; the run that makes it 5 raises the flag, the one that makes it 3 fails (a tail
  // call from a subprogram); r0 = *ctx.
  Builder p;
  p.mov64_reg(6, 1).ldx(BPF_DW, 7, 1, 0).alu64_imm(BPF_ADD, 7, 1).stx(BPF_DW, 6, 7, 0);
  p.jmp_imm(BPF_JNE, 7, 5, "not5").call_helper(BPF_FUNC_trace_printk);
  p.label("not5").jmp_imm(BPF_JNE, 7, 3, "done").call_local("f");
  p.label("done").mov64_reg(0, 7).exit();
  p.label("f").call_helper(BPF_FUNC_tail_call).exit();
  for (Mode mode : kModes) {
    SCOPED_TRACE(mode_name(mode));
    const Interpreter prog = load(p.finish(), mode, helpers);
    uint64_t counter = 0;
    bool flag = false;
    const Region ctx = region_of(&counter, sizeof counter, true, "ctx");
    RunOptions options;
    options.checked = mode == Mode::checked;
    options.regions = std::span<const Region>(&ctx, 1);
    options.user = &flag;
    RepeatedRun runner(prog, options);
    const uint64_t arg = reinterpret_cast<uint64_t>(&counter);
    uint32_t ran = 99;
    uint64_t r0 = 0;
    ASSERT_FALSE(runner.run_batch(arg, 10, &flag, ran, r0));  // runs 1 and 2, then 3 fails
    EXPECT_EQ(ran, 2u);
    EXPECT_EQ(r0, 2u);
    auto failed = runner.finish();
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, Errc::unsupported);
    ASSERT_TRUE(runner.run_batch(arg, 10, &flag, ran, r0));  // runs 4 and 5: the flag
    EXPECT_EQ(ran, 2u);
    EXPECT_EQ(r0, 5u);
    EXPECT_TRUE(flag);
    flag = false;
    ASSERT_TRUE(runner.run_batch(arg, 10, &flag, ran, r0));  // the whole count
    EXPECT_EQ(ran, 10u);
    EXPECT_EQ(r0, 15u);
    EXPECT_FALSE(flag);
  }
}

}  // namespace
}  // namespace userbpf::vm
