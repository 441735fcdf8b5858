// Compares format_insn with the host kernel's own disassembler (kernel/bpf/disasm.c): the verifier
// log at level 2 prints every instruction it walks as "N: (code) text". Skipped when this process
// cannot load eBPF programs.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "isa/conformance_asm.hpp"
#include "isa/decode.hpp"
#include "isa/disasm.hpp"
#include "oracle/kernel.hpp"

namespace userbpf::isa {
namespace {

// Loads `raw` as a socket filter with a level-2 verifier log and returns the log ("" on refusal,
// with the log in *refusal).
std::string kernel_log(const std::vector<RawInsn>& raw, std::string* refusal) {
  std::vector<char> log(16u << 20);
  static const char license[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<uint64_t>(raw.data());
  attr.insn_cnt = static_cast<uint32_t>(raw.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_level = 2;
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  const long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd < 0) {
    *refusal = std::string(strerror(errno)) + "\n" + log.data();
    return "";
  }
  close(static_cast<int>(fd));
  return log.data();
}

// index -> "(code) text" as the kernel printed it, without the register state after " ; ".
std::map<int, std::string> kernel_lines(const std::string& log) {
  std::map<int, std::string> lines;
  static const std::regex insn_line(R"(^(\d+): (\([0-9a-f]{2}\) .*?)\s*(;.*)?$)");
  std::istringstream in(log);
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_match(line, m, insn_line)) lines.emplace(std::stoi(m[1]), m[2]);
  return lines;
}

const char* kProgram = R"(
  mov %r6, %r1
  mov %r0, 0
  mov %r1, 7
  mov32 %r2, 3
  mov %r3, -2
  mov %r4, 0x7fffffff
  mov %r5, 1
  mov %r7, 5
  mov %r8, 6
  mov %r9, 9
  add %r1, 1
  add32 %r1, %r2
  sub %r1, %r2
  sub32 %r1, 4
  mul %r1, -3
  mul32 %r1, %r2
  div %r1, 5
  div32 %r1, %r7
  sdiv %r1, -3
  sdiv32 %r1, %r8
  mod %r1, %r7
  mod32 %r1, 7
  smod %r1, %r8
  smod32 %r1, -7
  or %r1, 0x100
  or32 %r1, %r2
  and %r1, %r9
  and32 %r1, 0xff
  lsh %r1, 3
  lsh32 %r1, %r5
  rsh %r1, %r5
  rsh32 %r1, 1
  arsh %r1, 2
  arsh32 %r1, %r5
  xor %r1, %r2
  xor32 %r1, -1
  mov %r1, %r3
  mov32 %r1, %r3
  movsx864 %r1, %r3
  movsx1664 %r1, %r3
  movsx3264 %r1, %r3
  movsx832 %r1, %r3
  movsx1632 %r1, %r3
  neg %r1
  neg32 %r1
  le16 %r1
  le32 %r1
  le64 %r1
  be16 %r1
  be32 %r1
  be64 %r1
  bswap16 %r1
  bswap32 %r1
  bswap64 %r1
  stxdw [%r10-8], %r1
  stxw [%r10-16], %r1
  stxh [%r10-18], %r1
  stxb [%r10-19], %r1
  stdw [%r10-32], 1
  stw [%r10-24], -5
  sth [%r10-20], 0x7fff
  stb [%r10-20], 255
  ldxdw %r1, [%r10-8]
  ldxw %r1, [%r10-16]
  ldxh %r1, [%r10-18]
  ldxb %r1, [%r10-19]
  ldxsw %r1, [%r10-16]
  ldxsh %r1, [%r10-18]
  ldxsb %r1, [%r10-19]
  lock add [%r10-8], %r1
  lock and32 [%r10-16], %r1
  lock or [%r10-8], %r1
  lock xor32 [%r10-16], %r1
  lock fetch add [%r10-8], %r1
  lock fetch and32 [%r10-16], %r1
  lock fetch or [%r10-8], %r1
  lock fetch xor [%r10-8], %r1
  lock xchg [%r10-8], %r1
  lock xchg32 [%r10-16], %r1
  lock cmpxchg [%r10-8], %r1
  lock cmpxchg32 [%r10-16], %r1
  .raw 0x00000100fff8a2db  # r2 = load_acquire((u64 *)(r10 -8))
  .raw 0x00000110fff81ac3  # store_release((u32 *)(r10 -8), r1)
  jeq %r1, 5, +0
  jgt %r1, %r2, +0
  jge %r1, -1, +0
  jset %r1, 0x80000000, +0
  jne %r1, %r2, +0
  jsgt %r1, %r2, +0
  jsge %r1, 0, +0
  jlt %r1, 3, +0
  jle %r1, %r2, +0
  jslt %r1, -3, +0
  jsle %r1, %r2, +0
  jeq32 %r1, %r2, +0
  jgt32 %r1, 5, +0
  jge32 %r1, %r2, +0
  jset32 %r1, 1, +0
  jne32 %r1, %r2, +0
  jsgt32 %r1, -1, +0
  jsge32 %r1, %r2, +0
  jlt32 %r1, %r2, +0
  jle32 %r1, 9, +0
  jslt32 %r1, %r2, +0
  jsle32 %r1, 0, +0
  ja +0
  ja32 +0
  .raw 0x00000000000100e5  # may_goto pc+1
  mov %r1, 1
  lddw %r3, 0x1122334455667788
  lddw %r3, -1
  .raw 0x0000000c00000030  # r0 = *(u8 *)skb[12]
  .raw 0x0000000200007040  # r0 = *(u32 *)skb[r7 + 2]
  call 7
  call local sub
  exit
sub:
  mov %r0, 0
  exit
)";

TEST(DisasmKernel, FormatsLikeTheKernelVerifierLog) {
  if (!oracle::kernel_bpf_status().available)
    GTEST_SKIP() << "no bpf(): " << oracle::kernel_bpf_status().reason;
  auto raw = assemble(kProgram);
  ASSERT_TRUE(raw.ok()) << raw.error().to_string();
  auto prog = decode(*raw);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  std::string refusal;
  const std::string log = kernel_log(*raw, &refusal);
  ASSERT_FALSE(log.empty()) << "the kernel refused the program: " << refusal.substr(0, 4000);
  const std::map<int, std::string> lines = kernel_lines(log);
  size_t compared = 0;
  for (size_t i = 0; i < prog->size(); ++i) {
    if (prog->insns[i].is_lddw_tail()) continue;
    auto it = lines.find(static_cast<int>(i));
    ASSERT_NE(it, lines.end()) << "the log shows no instruction " << i;
    char code[8];
    std::snprintf(code, sizeof code, "(%02x) ", prog->insns[i].opcode);
    EXPECT_EQ(code + format_insn(*prog, i), it->second) << "instruction " << i;
    ++compared;
  }
  EXPECT_EQ(compared, prog->size() - 2);  // every slot but the two lddw tails
}

}  // namespace
}  // namespace userbpf::isa
