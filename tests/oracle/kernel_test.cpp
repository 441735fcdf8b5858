// The host-kernel oracle itself: loading, verifier refusals and test runs of small hand-made
// programs whose answers are known.
#include "oracle/kernel.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <vector>

#include "oracle/skip_without_kernel.hpp"

namespace userbpf::oracle {
namespace {

using isa::make_raw;
using isa::RawInsn;

RawInsn mov64_imm(uint8_t dst, int32_t imm) {
  return make_raw(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
RawInsn exit_insn() {
  return make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

TEST(KernelStatusTest, ProbeGivesAReasonWhenUnavailable) {
  const KernelStatus& status = kernel_bpf_status();
  EXPECT_EQ(status.available, status.reason.empty()) << status.reason;
  EXPECT_EQ(&status, &kernel_bpf_status()) << "the answer is cached";
}

TEST(KernelProgramTest, SocketFilterReturnsItsR0) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn prog[] = {mov64_imm(0, 42), exit_insn()};
  auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_SOCKET_FILTER);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  std::vector<uint8_t> packet(64, 0xab);
  TestRunRequest request;
  request.data_in = packet;
  auto run = loaded->test_run(request);
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->retval, 42u);
}

TEST(KernelProgramTest, XdpWritesThePacketAndRepeats) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  // r2 = ctx->data; r3 = ctx->data_end; if r2 + 2 > r3 return XDP_ABORTED;
  // data[1] = 0x5a; return XDP_TX
  const RawInsn prog[] = {
      make_raw(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0),
      make_raw(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 4, 0),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0),
      make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 2),
      make_raw(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 3, 0),
      make_raw(BPF_ST | BPF_MEM | BPF_B, 2, 0, 1, 0x5a),
      mov64_imm(0, XDP_TX),
      exit_insn(),
      mov64_imm(0, XDP_ABORTED),
      exit_insn(),
  };
  KernelLoadOptions options;
  options.keep_log = true;
  auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_XDP, options);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_NE(loaded->verifier_log().find("processed"), std::string::npos) << loaded->verifier_log();
  std::vector<uint8_t> packet(20, 0x11);
  TestRunRequest request;
  request.data_in = packet;
  request.repeat = 1000;
  auto run = loaded->test_run(request);
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->retval, static_cast<uint32_t>(XDP_TX));
  ASSERT_EQ(run->data_out.size(), packet.size());
  EXPECT_EQ(run->data_out[0], 0x11);
  EXPECT_EQ(run->data_out[1], 0x5a);
  EXPECT_EQ(run->data_out[2], 0x11);
  EXPECT_LT(run->duration_ns, 1'000'000u) << "mean time of a 10-instruction program";
}

TEST(KernelProgramTest, ShortXdpPacketIsExplained) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn prog[] = {mov64_imm(0, XDP_PASS), exit_insn()};
  auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_XDP);
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  std::vector<uint8_t> packet(8, 0);
  TestRunRequest request;
  request.data_in = packet;
  auto run = loaded->test_run(request);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, Errc::kernel);
  EXPECT_NE(run.error().message.find("14 bytes"), std::string::npos) << run.error().message;
}

TEST(KernelProgramTest, RefusalCarriesTheVerifierReason) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn prog[] = {make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3, 0, 0), exit_insn()};
  auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_SOCKET_FILTER);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::kernel);
  EXPECT_NE(loaded.error().message.find("R3 !read_ok"), std::string::npos)
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find("EACCES"), std::string::npos) << loaded.error().message;
  EXPECT_EQ(loaded.error().where.insn, 0);
}

TEST(KernelProgramTest, RefusalWithKeptLogAlsoExplains) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn prog[] = {mov64_imm(0, 1)};  // falls off the end
  KernelLoadOptions options;
  options.keep_log = true;
  auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_SOCKET_FILTER, options);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::kernel);
  EXPECT_NE(loaded.error().message.find("last insn"), std::string::npos) << loaded.error().message;
}

TEST(KernelProgramTest, HandleClosesItsDescriptor) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn prog[] = {mov64_imm(0, 0), exit_insn()};
  int fd = -1;
  {
    auto loaded = KernelProgram::load(prog, BPF_PROG_TYPE_SOCKET_FILTER);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    KernelProgram moved = std::move(loaded.value());
    fd = moved.fd();
    EXPECT_EQ(loaded->fd(), -1);
    EXPECT_NE(fcntl(fd, F_GETFD), -1);
  }
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "fd " << fd << " still open";
}

TEST(KernelProgramTest, EmptyProgramIsInvalidArgument) {
  auto loaded = KernelProgram::load({}, BPF_PROG_TYPE_SOCKET_FILTER);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, Errc::invalid_argument);
}

TEST(VerifierLogTest, VerdictAndInstructionAreFound) {
  const std::string log =
      "0: R1=ctx() R10=fp0\n0: (bf) r0 = r3\nR3 !read_ok\n"
      "processed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0\n";
  EXPECT_EQ(verifier_reason(log), "R3 !read_ok");
  EXPECT_EQ(verifier_failed_insn(log), 0);
  EXPECT_EQ(verifier_failed_insn("12: (71) r0 = *(u8 *)(r1 +4)\n13: R0=scalar()\n"), 12);
  EXPECT_EQ(verifier_reason(""), "");
  EXPECT_EQ(verifier_failed_insn("no instructions\n"), -1);
}

TEST(LastLogLinesTest, KeepsTheLastNonEmptyLines) {
  EXPECT_EQ(last_log_lines("a\n\nb\n  \nc\nd\n\n", 2), "c\nd");
  EXPECT_EQ(last_log_lines("only\n", 5), "only");
  EXPECT_EQ(last_log_lines("", 3), "");
}

}  // namespace
}  // namespace userbpf::oracle
