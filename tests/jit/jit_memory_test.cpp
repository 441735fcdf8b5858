// The JIT's loads, stores and atomics against the interpreter: every size, zero- and
// sign-extending loads, immediate stores, and every atomic (plain, fetch, xchg, cmpxchg) with the
// address, operand and r0 in different host registers, including r0 itself.
#include <cstring>
#include <string>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

std::vector<uint8_t> pattern_memory() {
  std::vector<uint8_t> m(64);
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<uint8_t>(0x81 + i * 37);
  return m;
}

const uint8_t kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};

TEST(JitMemory, LoadsAndStoresOfEverySize) {
  for (uint8_t size : kSizes) {
    for (uint8_t dst : {0, 3, 4, 7}) {
      Builder p;  // r2 = the memory (r1 kept), load at 3, store at 40, st imm at 48
      p.lddw(dst == 0 ? 5 : 0, 0xa5a5a5a5a5a5a5a5ull).mov64_reg(2, 1);
      p.ldx(size, dst, 2, 3).stx(BPF_DW, 2, dst, 16);
      if (size != BPF_DW) {
        p.ldxsx(size, dst, 2, 5).stx(BPF_DW, 2, dst, 24);
      }
      p.lddw(dst, 0xfedcba9876543210ull).stx(size, 2, dst, 41).st(size, 2, 48, -3);
      p.st(size, 2, 56, 0x7f).mov64_imm(0, 0).exit();
      SCOPED_TRACE("size " + std::to_string(size) + " reg r" + std::to_string(dst));
      EngineResult r = expect_same(p.finish(), pattern_memory());
      EXPECT_TRUE(r.ok) << r.error.to_string();
    }
  }
  // A byte store from the registers whose low byte needs a REX prefix (sil, dil, bpl).
  Builder p;
  p.mov64_reg(3, 1).mov64_imm(1, 0x1ab).mov64_imm(2, 0x2cd).stx(BPF_B, 3, 1, 0);
  p.stx(BPF_B, 3, 2, 1).ldx(BPF_H, 0, 3, 0).exit();
  EngineResult r = expect_same(p.finish(), pattern_memory());
  EXPECT_EQ(r.memory[0], 0xab);
  EXPECT_EQ(r.memory[1], 0xcd);
  EXPECT_EQ(r.r0, 0xcdabu);
}

const int32_t kAtomicOps[] = {BPF_ADD,
                              BPF_OR,
                              BPF_AND,
                              BPF_XOR,
                              BPF_ADD | BPF_FETCH,
                              BPF_OR | BPF_FETCH,
                              BPF_AND | BPF_FETCH,
                              BPF_XOR | BPF_FETCH,
                              BPF_XCHG,
                              BPF_CMPXCHG};

TEST(JitMemory, EveryAtomicWithEveryRegisterRole) {
  // (address register, operand register): r0 is rax, which cmpxchg and the fetch loops use.
  const std::pair<uint8_t, uint8_t> roles[] = {{2, 3}, {2, 0}, {0, 3}, {3, 4}, {6, 9}};
  for (uint8_t size : {BPF_W, BPF_DW}) {
    for (int32_t op : kAtomicOps) {
      for (auto [addr, operand] : roles) {
        for (uint64_t expected : {0x9b7daf8d6b1907e5ull, 0x1234ull}) {
          Builder p;
          p.mov64_reg(addr, 1).lddw(operand, 0x00f0f0f0ff00ff0full);
          if (addr != 0 && operand != 0) p.lddw(0, expected);
          if (op == BPF_CMPXCHG && addr != 0 && operand != 0 && expected == 0x1234ull)
            p.ldx(size, 0, addr, 8);
          p.atomic(size, addr, operand, 8, op);
          // (the address register holds a pointer, different in each run: not stored)
          if (addr != 0 || op == BPF_CMPXCHG) p.stx(BPF_DW, 1, 0, 32);
          if (operand != addr) p.stx(BPF_DW, 1, operand, 40);
          p.mov64_imm(0, 0).exit();
          SCOPED_TRACE("size " + std::to_string(size) + " op " + std::to_string(op) + " r" +
                       std::to_string(addr) + ", r" + std::to_string(operand) + " expected " +
                       std::to_string(expected));
          std::vector<uint8_t> memory = pattern_memory();
          EngineResult r = expect_same(p.finish(), memory);
          EXPECT_TRUE(r.ok) << r.error.to_string();
        }
      }
    }
  }
}

TEST(JitMemory, CmpxchgResultsAreZeroExtendedAndExact) {
  std::vector<uint8_t> memory(16, 0);
  const uint32_t word = 0x11223344;
  std::memcpy(memory.data(), &word, 4);
  Builder p;  // r0 = 0xffffffff_11223344 matches in 32 bits: swap happens, r0 = 0x11223344
  p.lddw(0, 0xffffffff11223344ull).mov64_imm(2, 0x55).atomic(BPF_W, 1, 2, 0, BPF_CMPXCHG).exit();
  EngineResult r = expect_same(p.finish(), memory);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.r0, 0x11223344u);
  EXPECT_EQ(r.memory[0], 0x55);
}

}  // namespace
}  // namespace userbpf::jit::testing
