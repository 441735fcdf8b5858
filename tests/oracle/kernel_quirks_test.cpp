// Known divergences of the host kernel from the documented eBPF semantics, reproduced so that the
// cross-checks can work around exactly these and nothing else. A test passes when the kernel is
// correct and is skipped (with the reason) when the bug is present; any third outcome fails.
#include <gtest/gtest.h>

#include <vector>

#include "oracle/memory_run.hpp"
#include "oracle/skip_without_kernel.hpp"

namespace userbpf::oracle {
namespace {

using isa::make_raw;

// Documentation (instruction-set.rst, BPF_CMPXCHG): "In either case, the value that was at dst +
// off before the operation is zero-extended and loaded back to R0." Linux 6.18 on x86-64 keeps
// r0's upper half after a successful 32-bit cmpxchg when the path holding the cmpxchg is pruned at
// a join point: the verifier then never sees the 64-bit read of r0 that makes it insert the
// explicit zero-extension the x86 JIT relies on.
TEST(KernelQuirksTest, Cmpxchg32ZeroExtendsR0AfterAPrunedJoin) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const std::vector<isa::RawInsn> body = {
      make_raw(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 0),  // r0 = unknown 64-bit value
      make_raw(BPF_LDX | BPF_MEM | BPF_DW, 3, 1, 8, 0),  // r3 = unknown (0 here)
      make_raw(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
      make_raw(BPF_JMP | BPF_JEQ | BPF_K, 3, 0, 2, 0),  // taken at run time
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 1),
      make_raw(BPF_JMP | BPF_JA, 0, 0, 2, 0),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0, 7),
      make_raw(BPF_STX | BPF_ATOMIC | BPF_W, 10, 5, -8, BPF_CMPXCHG),  // succeeds
      make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  const std::vector<uint8_t> memory = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                       0,    0,    0,    0,    0,    0,    0,    0};
  auto run = run_memory_program(body, memory);
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  if (run->r0 == 0x1122334455667788ull)
    GTEST_SKIP() << "host kernel bug present: 32-bit cmpxchg left r0's upper half set "
                    "(r0 = 0x1122334455667788, documented: 0x55667788)";
  EXPECT_EQ(run->r0, 0x55667788u) << std::hex << run->r0;
}

// Linux 6.18's precision backtracking does not follow the value an atomic loads from a stack slot
// (r0 of cmpxchg here) back to that slot. Below, the fall-through path reaches `join` with the
// constant 0xffffffe4 in fp-16, so the cmpxchg loads a known r0 and the verifier decides the next
// branch; fp-16 is never marked precise, so the taken path, which changed fp-16, is pruned at
// `join` as equivalent, and the `fetch add` only it needs is removed as dead code.
TEST(KernelQuirksTest, AtomicLoadFromStackKeepsPrecision) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const std::vector<isa::RawInsn> body = {
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1),
      make_raw(BPF_ALU | BPF_MOV | BPF_K, 2, 0, 0, 289),
      make_raw(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 32),
      make_raw(BPF_ALU | BPF_MOV | BPF_K, 5, 0, 0, -28),
      make_raw(BPF_LDX | BPF_MEM | BPF_B, 8, 1, 9, 0),  // 0x36 at run time
      make_raw(BPF_STX | BPF_MEM | BPF_DW, 10, 8, -56, 0),
      make_raw(BPF_STX | BPF_MEM | BPF_DW, 10, 5, -16, 0),
      make_raw(BPF_JMP | BPF_JSLT | BPF_X, 0, 8, 1, 0),  // taken at run time
      make_raw(BPF_JMP | BPF_JA, 0, 0, 2, 0),            // to join
      make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 2, -56, BPF_OR | BPF_FETCH),
      make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 2, -16, BPF_AND),
      make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 3, -16, BPF_CMPXCHG),  // join: r0 = 0x24
      make_raw(BPF_JMP | BPF_JGE | BPF_K, 0, 0, 1, 0xb1),
      make_raw(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 3, -56, BPF_ADD | BPF_FETCH),
      make_raw(BPF_LDX | BPF_MEM | BPF_DW, 2, 10, -56, 0),
      make_raw(BPF_ALU64 | BPF_XOR | BPF_X, 0, 2, 0, 0),
      make_raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
  };
  std::vector<uint8_t> memory(10, 0);
  memory[9] = 0x36;
  // fp-56: 0x36 | 289 = 0x137, + 32 = 0x157; fp-16: 0xffffffe4 & 0x36 = 0x24 = r0; 0x24 ^ 0x157.
  auto run = run_memory_program(body, memory);
  ASSERT_TRUE(run.ok()) << run.error().to_string();
  if (run->r0 == 0x113)
    GTEST_SKIP() << "host kernel bug present: the verifier pruned a path after an atomic load "
                    "from the stack and dropped live code (r0 = 0x113, correct: 0x173)";
  EXPECT_EQ(run->r0, 0x173u) << std::hex << run->r0;
}

}  // namespace
}  // namespace userbpf::oracle
