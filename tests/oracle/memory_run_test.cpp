// run_memory_program: the conformance convention (r1 = memory, r2 = length, 64-bit r0) in the
// host kernel, checked on hand-made programs with known answers.
#include "oracle/memory_run.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "oracle/skip_without_kernel.hpp"

namespace userbpf::oracle {
namespace {

using isa::make_raw;
using isa::RawInsn;

RawInsn exit_insn() {
  return make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}
void lddw(std::vector<RawInsn>& out, uint8_t dst, uint64_t value) {
  out.push_back(make_raw(BPF_LD | BPF_IMM | BPF_DW, dst, 0, 0, static_cast<int32_t>(value)));
  out.push_back(make_raw(0, 0, 0, 0, static_cast<int32_t>(value >> 32)));
}

TEST(MemoryPacketLayoutTest, ResultSlotIsAlignedAndPacketLongEnough) {
  EXPECT_EQ(memory_packet_layout(0).result_offset, 0u);
  EXPECT_EQ(memory_packet_layout(0).packet_size, 14u);
  EXPECT_EQ(memory_packet_layout(5).result_offset, 8u);
  EXPECT_EQ(memory_packet_layout(5).packet_size, 16u);
  EXPECT_EQ(memory_packet_layout(16).result_offset, 16u);
  EXPECT_EQ(memory_packet_layout(16).packet_size, 24u);
}

TEST(WrapMemoryProgramTest, CallReachesTheBody) {
  const RawInsn body[] = {make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7), exit_insn()};
  const auto wrapped = wrap_memory_program(body, 4);
  const size_t body_start = wrapped.size() - 2;
  bool found = false;
  for (size_t i = 0; i < body_start; ++i) {
    if (wrapped[i].code == (BPF_JMP | BPF_CALL) && wrapped[i].src_reg == BPF_PSEUDO_CALL) {
      EXPECT_EQ(i + 1 + wrapped[i].imm, body_start);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(RunMemoryProgramTest, SixtyFourBitR0ComesBackIntact) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  for (uint64_t value : {0x8877665544332211ull, 0xffffffffffffffffull, 0x8000000000000000ull,
                         0x00000001ffffffffull, 0ull}) {
    std::vector<RawInsn> body;
    lddw(body, 0, value);
    body.push_back(exit_insn());
    auto run = run_memory_program(body, {});
    ASSERT_TRUE(run.ok()) << run.error().to_string();
    EXPECT_EQ(run->r0, value) << std::hex << value;
    EXPECT_TRUE(run->memory.empty());
  }
}

TEST(RunMemoryProgramTest, R2IsTheMemoryLength) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const RawInsn body[] = {make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 2, 0, 0), exit_insn()};
  for (size_t size : {0, 1, 5, 8, 13, 64, 333}) {
    std::vector<uint8_t> memory(size, 0x3c);
    auto run = run_memory_program(body, memory);
    ASSERT_TRUE(run.ok()) << run.error().to_string();
    EXPECT_EQ(run->r0, size);
    EXPECT_EQ(run->memory, memory);
  }
}

TEST(RunMemoryProgramTest, LoadsAndStoresReachTheMemory) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  // r0 = *(u64*)(r1 + 0); *(u16*)(r1 + 8) = r0; *(u8*)(r1 + 10) = 0x77; exit
  const RawInsn body[] = {
      make_raw(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 0),
      make_raw(BPF_STX | BPF_MEM | BPF_H, 1, 0, 8, 0),
      make_raw(BPF_ST | BPF_MEM | BPF_B, 1, 0, 10, 0x77),
      exit_insn(),
  };
  const std::vector<uint8_t> memory = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0};
  auto run = run_memory_program(body, memory);
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->r0, 0x8877665544332211ull);
  const std::vector<uint8_t> expected = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                                         0x77, 0x88, 0x11, 0x22, 0x77};
  EXPECT_EQ(run->memory, expected);
}

TEST(RunMemoryProgramTest, LocalCallsInsideTheBodyStillWork) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  // main: r1 = 20; call f; r0 += 1; exit.  f: r0 = r1; r0 *= 2; exit   => 41
  const RawInsn body[] = {
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 20),
      make_raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2),
      make_raw(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1),
      exit_insn(),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1, 0, 0),
      make_raw(BPF_ALU64 | BPF_MUL | BPF_K, 0, 0, 0, 2),
      exit_insn(),
  };
  auto run = run_memory_program(body, {});
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->r0, 41u);
}

TEST(RunMemoryProgramTest, LinuxDivisionByZeroSemantics) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  // r0 = -1 (64-bit); r3 = 0; r0 /= r3 -> 0.  r4 = 7; r4 %= r3 -> 7.  return r0 + r4 = 7
  const RawInsn body[] = {
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -1),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0),
      make_raw(BPF_ALU64 | BPF_DIV | BPF_X, 0, 3, 0, 0),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 7),
      make_raw(BPF_ALU64 | BPF_MOD | BPF_X, 4, 3, 0, 0),
      make_raw(BPF_ALU64 | BPF_ADD | BPF_X, 0, 4, 0, 0),
      exit_insn(),
  };
  auto run = run_memory_program(body, {});
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->r0, 7u);
}

// Linux's instruction-set.rst: after BPF_CMPXCHG "in either case, the value that was at dst + off
// before the operation is zero-extended and loaded back to R0" -- also when the exchange succeeds.
TEST(RunMemoryProgramTest, Cmpxchg32ZeroExtendsR0EvenOnSuccess) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  std::vector<RawInsn> body;
  lddw(body, 0, 0xabcd000000000005ull);  // low half matches the stored 5
  body.push_back(make_raw(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 5));
  body.push_back(make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 7));
  body.push_back(make_raw(BPF_STX | BPF_ATOMIC | BPF_W, 10, 3, -8, BPF_CMPXCHG));
  body.push_back(make_raw(BPF_LDX | BPF_MEM | BPF_DW, 4, 10, -8, 0));
  body.push_back(make_raw(BPF_ALU64 | BPF_LSH | BPF_K, 4, 0, 0, 32));
  body.push_back(make_raw(BPF_ALU64 | BPF_OR | BPF_X, 0, 4, 0, 0));  // r0 |= new value << 32
  body.push_back(exit_insn());
  auto run = run_memory_program(body, {});
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  EXPECT_EQ(run->r0, 0x0000000700000005ull) << std::hex << run->r0;
}

TEST(RunMemoryProgramTest, OutOfBoundsAccessIsRefusedByTheVerifier) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  // Reading the byte just after the memory would read the result slot: must be refused.
  const RawInsn body[] = {make_raw(BPF_LDX | BPF_MEM | BPF_B, 0, 1, 4, 0), exit_insn()};
  const std::vector<uint8_t> memory(4, 1);
  auto run = run_memory_program(body, memory);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, Errc::kernel);
  EXPECT_NE(run.error().message.find("invalid access to packet"), std::string::npos)
      << run.error().message;
  EXPECT_EQ(run.error().where.insn, 0) << "the index is the body's, not the wrapper's";
  EXPECT_NE(run.error().message.find(": R1 offset is outside of the packet\n"), std::string::npos)
      << "the verdict is on the first line: " << run.error().message;
}

TEST(RunMemoryProgramTest, HelperCallsAreNotComparable) {
  const RawInsn body[] = {make_raw(BPF_JMP | BPF_CALL, 0, 0, 0, 5), exit_insn()};
  auto run = run_memory_program(body, {});
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, Errc::unsupported);
  EXPECT_NE(run.error().message.find("helper 5"), std::string::npos);
}

}  // namespace
}  // namespace userbpf::oracle
