// Test runs of every program type: the context each type gets (tracepoint record, u64 argument
// arrays, pt_regs, perf_event data, syscall context), what comes back as ctx_out, input checks,
// checked-mode faults, repetition, and the packet types' input rules.
#include <asm/ptrace.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>

#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

using testing::bytes_of;
using testing::from_bytes;
using testing::load_program;

Result<TestRunOutput> run(const std::string& file, const std::string& name, TestRunInput in,
                          bool unverified = false) {
  auto loaded = load_program(file, name, unverified);
  if (!loaded->prog) return make_error(Errc::not_found, loaded->error);
  return test_run(*loaded->prog, in);
}

TEST(TestRunContexts, TracepointGetsTheRawRecord) {
  uint64_t record[8] = {};  // common fields (8 bytes), id, args[6]
  record[1] = 3;
  record[2] = 5;
  record[7] = 7;
  TestRunInput in;
  in.ctx_in = bytes_of(record);
  auto out = run("tracing_ctx.bpf.o", "tp_sum", in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->retval, 3012u);
  EXPECT_EQ(out->ctx_out, in.ctx_in);

  auto zero = run("tracing_ctx.bpf.o", "tp_sum", TestRunInput{});
  ASSERT_TRUE(zero.ok()) << zero.error().to_string();
  EXPECT_EQ(zero->retval, 0u);
  EXPECT_EQ(zero->ctx_out.size(), 512u);  // the default record
}

TEST(TestRunContexts, ArgumentArraysForRawTracepointFexitAndLsm) {
  TestRunInput in;
  const uint64_t args[2] = {4, 2};
  in.ctx_in = bytes_of(args);
  auto raw = run("tracing_ctx.bpf.o", "raw_tp_args", in);
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  EXPECT_EQ(raw->retval, 42u);

  const uint64_t fexit[3] = {1, 2, 3};  // two arguments and the return value
  in.ctx_in = bytes_of(fexit);
  // Linux refuses fexit programs returning anything but 0 (check_return_code); this one returns
  // its arguments to show the context layout, so it loads unverified.
  auto fx = run("tracing_ctx.bpf.o", "fexit_args", in, true);
  ASSERT_TRUE(fx.ok()) << fx.error().to_string();
  EXPECT_EQ(fx->retval, 14u);

  const uint64_t lsm[1] = {1};
  in.ctx_in = bytes_of(lsm);
  auto l = run("tracing_ctx.bpf.o", "lsm_arg", in);
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_EQ(static_cast<int32_t>(l->retval), -1);
  auto l0 = run("tracing_ctx.bpf.o", "lsm_arg", TestRunInput{});
  ASSERT_TRUE(l0.ok()) << l0.error().to_string();
  EXPECT_EQ(l0->retval, 0u);
}

TEST(TestRunContexts, KprobeGetsX86PtRegsZeroExtended) {
  pt_regs regs{};
  regs.rdi = 3;
  regs.rsi = 4;
  regs.rip = 1000;
  TestRunInput in;
  in.ctx_in = bytes_of(regs);
  auto out = run("tracing_ctx.bpf.o", "kprobe_regs", in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->retval, 1304u);
  EXPECT_EQ(out->ctx_out.size(), sizeof(pt_regs));

  // A short ctx_in is zero-extended to the whole struct: only r15 (offset 0) given.
  in.ctx_in = std::vector<uint8_t>(8, 0xff);
  auto part = run("tracing_ctx.bpf.o", "kprobe_regs", in);
  ASSERT_TRUE(part.ok()) << part.error().to_string();
  EXPECT_EQ(part->retval, 0u);

  in.ctx_in = std::vector<uint8_t>(sizeof(pt_regs) + 1, 0);
  auto big = run("tracing_ctx.bpf.o", "kprobe_regs", in);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, Errc::invalid_argument);
  EXPECT_NE(big.error().message.find("struct pt_regs (168 bytes)"), std::string::npos)
      << big.error().message;
}

TEST(TestRunContexts, PerfEventGetsPerfEventData) {
  bpf_perf_event_data data{};
  data.sample_period = 10;
  data.addr = 5;
  data.regs.rax = 1;
  TestRunInput in;
  in.ctx_in = bytes_of(data);
  auto out = run("tracing_ctx.bpf.o", "perf_sample", in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->retval, 21u);
}

TEST(TestRunContexts, SyscallContextComesBackWritten) {
  const uint64_t counter[2] = {21, 0};
  TestRunInput in;
  in.ctx_in = bytes_of(counter);
  auto out = run("tracing_ctx.bpf.o", "syscall_double", in);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->retval, 22u);
  auto back = from_bytes<std::array<uint64_t, 2>>(out->ctx_out);
  EXPECT_EQ(back[0], 21u);
  EXPECT_EQ(back[1], 42u);

  // No ctx_in: a NULL context, as in Linux; a checked run reports the bad access.
  auto null_ctx = run("tracing_ctx.bpf.o", "syscall_double", TestRunInput{});
  ASSERT_FALSE(null_ctx.ok());
  EXPECT_EQ(null_ctx.error().code, Errc::fault);
}

TEST(TestRunContexts, CheckedRunsMayNotReadPastTheContext) {
  TestRunInput in;
  in.ctx_in = std::vector<uint8_t>(8, 1);  // args[0] only; the program reads args[1]
  auto out = run("tracing_ctx.bpf.o", "raw_tp_args", in);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::fault);
  EXPECT_GE(out.error().where.insn, 0);
}

TEST(TestRunContexts, InputChecks) {
  TestRunInput data_for_tracepoint;
  data_for_tracepoint.data_in = {1, 2, 3};
  auto a = run("tracing_ctx.bpf.o", "tp_sum", data_for_tracepoint);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Errc::invalid_argument);
  EXPECT_NE(a.error().message.find("takes no data_in"), std::string::npos);

  TestRunInput too_many_args;
  too_many_args.ctx_in.assign(14 * 8, 0);
  auto b = run("tracing_ctx.bpf.o", "raw_tp_args", too_many_args);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, Errc::invalid_argument);

  TestRunInput short_frame;
  short_frame.data_in.assign(13, 0);
  auto c = run("xdp_packet.bpf.o", "xdp_classify", short_frame);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("Ethernet header"), std::string::npos) << c.error().message;
  auto c2 = run("skb_packet.bpf.o", "tc_rewrite", short_frame);
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.error().message.find("shorter than an Ethernet header"), std::string::npos);

  TestRunInput jumbo;
  jumbo.data_in.assign(3521, 0);  // one more byte than the linear part of a 4 KiB frame
  auto d = run("xdp_packet.bpf.o", "xdp_classify", jumbo);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, Errc::unsupported);
  jumbo.data_in.resize(3520);
  auto d2 = run("xdp_packet.bpf.o", "xdp_classify", jumbo);
  ASSERT_TRUE(d2.ok()) << d2.error().to_string();
  EXPECT_EQ(d2->data_out.size(), 3520u);

  TestRunInput bad_md;
  bad_md.data_in.assign(64, 0);
  xdp_md md{};
  md.data_meta = 4;
  md.data_end = 64;
  bad_md.ctx_in = bytes_of(md);
  auto e = run("xdp_packet.bpf.o", "xdp_classify", bad_md);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, Errc::invalid_argument);
  md = {};
  md.data = 6;  // metadata must be a multiple of 4
  md.data_end = 64;
  bad_md.ctx_in = bytes_of(md);
  EXPECT_FALSE(run("xdp_packet.bpf.o", "xdp_classify", bad_md).ok());

  TestRunInput bad_skb;
  bad_skb.data_in.assign(64, 0);
  __sk_buff skb{};
  skb.len = 5;  // not a field test runs accept
  bad_skb.ctx_in = bytes_of(skb);
  auto f = run("skb_packet.bpf.o", "tc_rewrite", bad_skb);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("may set only"), std::string::npos);
  bad_skb.ctx_in.assign(sizeof(__sk_buff) + 8, 0);
  bad_skb.ctx_in.back() = 1;  // non-zero past the struct: E2BIG in Linux
  auto g = run("skb_packet.bpf.o", "tc_rewrite", bad_skb);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("E2BIG"), std::string::npos);
}

TEST(TestRunContexts, TypesWithoutATestRunSaySo) {
  EXPECT_EQ(test_run_context(BPF_PROG_TYPE_XDP), TestRunContext::xdp);
  EXPECT_EQ(test_run_context(BPF_PROG_TYPE_SCHED_ACT), TestRunContext::skb_l2);
  EXPECT_EQ(test_run_context(BPF_PROG_TYPE_CGROUP_SKB), TestRunContext::skb_l3);
  EXPECT_EQ(test_run_context(BPF_PROG_TYPE_SK_LOOKUP), TestRunContext::unsupported);

  auto obj = object::open(testing::runtime_prog("tracing_ctx.bpf.o"));
  ASSERT_TRUE(obj.ok());
  const auto dir = std::filesystem::temp_directory_path() /
                   ("userbpf-test-run-sk-lookup-" + std::to_string(getpid()));
  auto rt = Runtime::open(dir);
  ASSERT_TRUE(rt.ok());
  LoadOptions options;
  options.only_program = "tp_sum";
  options.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
  options.unverified = true;  // a tracepoint program is no sk_lookup program for the verifier
  auto records = rt->load(*obj, options);
  ASSERT_TRUE(records.ok()) << records.error().to_string();
  auto prog = rt->instantiate(records->front());
  ASSERT_TRUE(prog.ok());
  auto out = test_run(**prog, TestRunInput{});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::unsupported);
  EXPECT_NE(out.error().message.find("sk_lookup"), std::string::npos) << out.error().message;
  std::filesystem::remove_all(dir);
}

TEST(TestRunContexts, RepeatRunsAndMeasuresTheMeanDuration) {
  auto loaded = load_program("tracing_ctx.bpf.o", "kprobe_regs");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  pt_regs regs{};
  regs.rdi = 1;
  TestRunInput in;
  in.ctx_in = bytes_of(regs);
  in.repeat = 100000;
  for (bool checked : {true, false}) {
    in.checked = checked;
    auto out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    EXPECT_EQ(out->retval, 100u);
    EXPECT_GT(out->duration_ns, 0u);
    EXPECT_LT(out->duration_ns, 100000u);  // a few instructions take far less than 100 us
    std::cout << "[          ] kprobe_regs " << (checked ? "checked" : "unchecked") << ": "
              << out->duration_ns << " ns per run\n";
  }
}

TEST(TestRunContexts, PacketBuffersLiveBelow4GiB) {
  // xdp_classify reads ctx->data as u32 and dereferences it: this only works because the frame
  // is mapped below 4 GiB. Run many times so different mappings are exercised.
  auto loaded = load_program("xdp_packet.bpf.o", "xdp_classify");
  ASSERT_TRUE(loaded->prog) << loaded->error;
  testing::PacketSpec spec;
  TestRunInput in;
  in.data_in = testing::make_packet(spec);
  in.checked = true;
  for (int i = 0; i < 200; ++i) {
    auto out = test_run(*loaded->prog, in);
    ASSERT_TRUE(out.ok()) << out.error().to_string();
    ASSERT_EQ(out->retval, static_cast<uint64_t>(XDP_DROP));
  }
}

}  // namespace
}  // namespace userbpf::runtime
