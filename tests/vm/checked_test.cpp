// Checked mode: every kind of memory fault with its message, regions from helpers, the budget,
// and falling off the end of a program.
#include <cstdio>
#include <string>
#include <thread>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#llx", static_cast<unsigned long long>(v));
  return buf;
}

Result<RunResult> run_checked(const std::vector<RawInsn>& code, uint64_t r1,
                              std::span<const Region> regions, const HelperTable& helpers = {},
                              uint64_t budget = 0) {
  RunOptions options;
  options.checked = true;
  options.regions = regions;
  options.insn_budget = budget;
  return run_raw(code, r1, 0, options, helpers);
}

// r0 = *(u<size> *)(r1 + off); exit, as instruction 1 after a no-op.
std::vector<RawInsn> read_program(uint8_t size, int16_t off) {
  Builder p;
  p.mov64_imm(0, 0).ldx(size, 0, 1, off).exit();
  return p.finish();
}

struct FaultExpectation {
  int64_t insn;
  std::string message;
};

void expect_fault(const Result<RunResult>& r, const FaultExpectation& e) {
  ASSERT_FALSE(r.ok()) << "expected a fault";
  EXPECT_EQ(r.error().code, Errc::fault);
  EXPECT_EQ(r.error().where.insn, e.insn);
  EXPECT_EQ(r.error().message, e.message);
}

TEST(VmChecked, ReadPastTheEndOfARegion) {
  uint8_t ctx[16] = {};
  const uint64_t base = reinterpret_cast<uint64_t>(ctx);
  const Region region = region_of(ctx, sizeof ctx, false, "ctx");
  expect_fault(
      run_checked(read_program(BPF_W, 24), base, {&region, 1}),
      {1, "invalid read of 4 bytes at " + hex(base + 24) + " (8 bytes past the end of ctx)"});
  // Straddling the end.
  expect_fault(run_checked(read_program(BPF_DW, 12), base, {&region, 1}),
               {1, "invalid read of 8 bytes at " + hex(base + 12) +
                       " (the last 4 bytes are past the end of ctx)"});
  // The last bytes inside are fine.
  EXPECT_TRUE(run_checked(read_program(BPF_DW, 8), base, {&region, 1}).ok());
}

TEST(VmChecked, ReadBeforeTheStartOfARegion) {
  uint8_t ctx[16] = {};
  const uint64_t base = reinterpret_cast<uint64_t>(ctx);
  const Region region = region_of(ctx, sizeof ctx, false, "ctx");
  expect_fault(
      run_checked(read_program(BPF_H, -6), base, {&region, 1}),
      {1, "invalid read of 2 bytes at " + hex(base - 6) + " (6 bytes before the start of ctx)"});
  expect_fault(run_checked(read_program(BPF_W, -2), base, {&region, 1}),
               {1, "invalid read of 4 bytes at " + hex(base - 2) +
                       " (the first 2 bytes are before the start of ctx)"});
}

TEST(VmChecked, WriteToAReadOnlyRegion) {
  uint8_t ctx[16] = {};
  const uint64_t base = reinterpret_cast<uint64_t>(ctx);
  const Region region = region_of(ctx, sizeof ctx, false, "ctx");
  Builder p;
  p.st(BPF_B, 1, 3, 9).mov64_imm(0, 0).exit();
  expect_fault(run_checked(p.finish(), base, {&region, 1}),
               {0, "invalid write of 1 bytes at " + hex(base + 3) + " (ctx is read-only)"});
  EXPECT_EQ(ctx[3], 0) << "the faulting store must not happen";
}

TEST(VmChecked, NullPointer) {
  expect_fault(run_checked(read_program(BPF_DW, 16), 0, {}),
               {1, "invalid read of 8 bytes at 0x10 (null pointer)"});
}

TEST(VmChecked, StackBoundsAndDeadFrames) {
  // r10 itself is one past the stack.
  Builder above;
  above.ldx(BPF_W, 0, 10, 0).exit();
  auto r = run_checked(above.finish(), 0, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("(0 bytes past the end of stack)"), std::string::npos)
      << r.error().message;

  // Below the 512 bytes of the only live frame.
  Builder below;
  below.ldx(BPF_DW, 0, 10, -520).exit();
  r = run_checked(below.finish(), 0, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("8 bytes before the start of stack"), std::string::npos)
      << r.error().message;

  // A callee's frame is dead once it returned: a pointer into it faults.
  Builder dead;
  dead.call_local("f").ldx(BPF_DW, 0, 0, 0).exit();
  dead.label("f").st(BPF_DW, 10, -8, 1).mov64_reg(0, 10).alu64_imm(BPF_ADD, 0, -8).exit();
  r = run_checked(dead.finish(), 0, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::fault);
  EXPECT_EQ(r.error().where.insn, 1);
}

TEST(VmChecked, MisalignedAtomic) {
  alignas(8) uint8_t buf[16] = {};
  const uint64_t base = reinterpret_cast<uint64_t>(buf);
  const Region region = region_of(buf, sizeof buf, true, "buf");
  Builder p;
  p.mov64_imm(2, 1).atomic(BPF_W, 1, 2, 2, BPF_ADD).mov64_imm(0, 0).exit();
  expect_fault(run_checked(p.finish(), base, {&region, 1}),
               {1, "misaligned atomic access of 4 bytes at " + hex(base + 2)});
}

uint64_t hand_out_region(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  static uint64_t value[2] = {0x1234, 0x5678};
  call.add_region(Region{reinterpret_cast<uint64_t>(value), sizeof value, false, "map value"});
  return reinterpret_cast<uint64_t>(value);
}

TEST(VmChecked, RegionsAddedByHelpers) {
  HelperTable helpers;
  helpers.set(BPF_FUNC_map_lookup_elem, Helper{"map_lookup_elem", hand_out_region});
  Builder ok;
  ok.call_helper(BPF_FUNC_map_lookup_elem).ldx(BPF_DW, 0, 0, 8).exit();
  auto r = run_checked(ok.finish(), 0, {}, helpers);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->r0, 0x5678u);

  Builder past;
  past.call_helper(BPF_FUNC_map_lookup_elem).ldx(BPF_DW, 0, 0, 16).exit();
  r = run_checked(past.finish(), 0, {}, helpers);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("(0 bytes past the end of map value)"), std::string::npos)
      << r.error().message;
}

uint64_t probe_access(uint64_t addr, uint64_t size, uint64_t write, uint64_t, uint64_t,
                      CallContext& call) {
  return call.can_access(addr, size, write != 0) ? 1 : 0;
}

TEST(VmChecked, HelpersCanCheckPointers) {
  uint8_t ro[8] = {};
  const Region region = region_of(ro, sizeof ro, false, "ro");
  HelperTable helpers;
  helpers.set(BPF_FUNC_probe_read, Helper{"probe_read", probe_access});
  auto probe = [&](uint64_t addr, uint64_t size, bool write) {
    Builder p;
    p.lddw(1, addr).mov64_imm(2, static_cast<int32_t>(size)).mov64_imm(3, write);
    p.call_helper(BPF_FUNC_probe_read).exit();
    auto r = run_checked(p.finish(), 0, {&region, 1}, helpers);
    return r.ok() ? r->r0 : 99;
  };
  const uint64_t base = reinterpret_cast<uint64_t>(ro);
  EXPECT_EQ(probe(base, 8, false), 1u);
  EXPECT_EQ(probe(base, 8, true), 0u);
  EXPECT_EQ(probe(base + 1, 8, false), 0u);
  EXPECT_EQ(probe(0, 1, false), 0u);
}

// An endless loop: `ja -1`.
std::vector<RawInsn> spin() {
  Builder p;
  p.mov64_imm(0, 0).label("l").alu64_imm(BPF_ADD, 0, 1).ja("l");
  return p.finish();
}

TEST(VmChecked, BudgetStopsEndlessLoops) {
  auto r = run_checked(spin(), 0, {}, {}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::budget);
  EXPECT_NE(r.error().message.find("1000"), std::string::npos) << r.error().message;
}

TEST(VmChecked, BudgetIsExact) {
  // 1 + 3 * 5 + 1 instructions: r0 = 0; 5 times { r0 += 2; r1 -= 1; if r1 != 0 loop }; exit.
  Builder p;
  p.mov64_imm(0, 0).label("l").alu64_imm(BPF_ADD, 0, 2).alu64_imm(BPF_SUB, 1, 1);
  p.jmp_imm(BPF_JNE, 1, 0, "l").exit();
  const uint64_t executed = 1 + 3 * 5 + 1;
  RunOptions options;
  options.checked = true;
  options.insn_budget = executed;
  auto r = run_raw(p.finish(), 5, 0, options);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->r0, 10u);
  EXPECT_EQ(r->insns_executed, executed);
  options.insn_budget = executed - 1;
  r = run_raw(p.finish(), 5, 0, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::budget);
  EXPECT_EQ(r.error().where.insn, 4) << "the exit is the instruction over budget";
}

TEST(VmChecked, BudgetCountsCallbackInstructions) {
  // Without a budget: the count includes instructions run inside helpers' callbacks.
  Builder p;
  p.call_local("f").exit().label("f").mov64_imm(0, 3).exit();
  RunOptions options;
  options.checked = true;
  auto r = run_raw(p.finish(), 0, 0, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->insns_executed, 4u);
}

TEST(VmChecked, FallingOffTheEndIsAnError) {
  Builder straight;  // no exit at all
  straight.mov64_imm(0, 1).mov64_imm(0, 2);
  Builder branch;  // ends in a conditional jump that is not taken
  branch.mov64_imm(0, 0).label("top").jmp_imm(BPF_JNE, 0, 0, "top");
  for (const auto& code : {straight.finish(), branch.finish()})
    for (bool checked : {false, true}) {
      RunOptions options;
      options.checked = checked;
      auto r = run_raw(code, 0, 0, options);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, Errc::fault);
      EXPECT_EQ(r.error().where.insn, 1);
      EXPECT_NE(r.error().message.find("fell off the end"), std::string::npos);
    }
}

TEST(VmChecked, RunIsThreadSafe) {
  auto interp = load_raw(spin());
  ASSERT_TRUE(interp.ok());
  std::vector<std::thread> threads;
  std::vector<uint64_t> executed(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      RunOptions options;
      options.checked = true;
      options.insn_budget = 1000 * (t + 1);
      for (int i = 0; i < 50; ++i) {
        auto r = interp->run(0, 0, options);
        if (!r && r.error().code == Errc::budget &&
            r.error().message.find(std::to_string(1000 * (t + 1))) != std::string::npos)
          ++executed[t];
      }
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(executed[t], 50u) << "thread " << t;
}

}  // namespace
}  // namespace userbpf::vm::testing
