// The JIT's ALU against the interpreter on edge values: division and modulo by zero, signed
// division of INT_MIN by -1, shifts by the width and more, 32-bit zero extension, sign-extending
// moves, byte swaps, with the destination and source in every kind of host register (rax and rdx
// that div uses, rcx that shifts use, callee-saved ones). Plus a few absolute expectations, so a
// shared mistake of both engines shows too.
#include <cstdint>
#include <vector>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

const uint64_t kValues[] = {0,
                            1,
                            2,
                            7,
                            31,
                            32,
                            63,
                            64,
                            65,
                            0xffffffffull,
                            0x100000000ull,  // the smallest that takes 64-bit division
                            0x80000000ull,
                            0x7fffffffull,
                            0x8000000000000000ull,
                            0xffffffffffffffffull,
                            0xfffffffffffffff9ull,  // -7
                            0x123456789abcdef0ull,
                            0xffffffff80000000ull};

const int32_t kImms[] = {0, 1, -1, 7, -7, 31, 32, 33, 63, 64, 0x7fffffff, INT32_MIN, 0x1234};

struct AluCase {
  uint8_t op;
  int16_t off;  // 1: signed div/mod; 8/16/32: movsx
};

const AluCase kCases[] = {
    {BPF_ADD, 0}, {BPF_SUB, 0},  {BPF_MUL, 0}, {BPF_DIV, 0}, {BPF_DIV, 1},  {BPF_OR, 0},
    {BPF_AND, 0}, {BPF_LSH, 0},  {BPF_RSH, 0}, {BPF_MOD, 0}, {BPF_MOD, 1},  {BPF_XOR, 0},
    {BPF_MOV, 0}, {BPF_ARSH, 0}, {BPF_NEG, 0}, {BPF_MOV, 8}, {BPF_MOV, 16}, {BPF_MOV, 32},
};

// (dst, src) pairs: r0 = rax, r3 = rdx, r4 = rcx, r6 = rbx, r9 = r15.
const std::pair<uint8_t, uint8_t> kRegPairs[] = {{2, 5}, {0, 3}, {3, 0}, {4, 2}, {2, 4},
                                                 {4, 4}, {0, 0}, {3, 3}, {6, 9}, {3, 4}};

// r0, r3, r4 start as sentinels; dst and src are loaded from memory (r1) at 0 and 8; after the
// operation dst, r0, r3, r4, r5 are stored at 16.. so any clobbered register shows.
std::vector<isa::RawInsn> alu_program(bool is64, bool reg, AluCase c, uint8_t dst, uint8_t src,
                                      int32_t imm) {
  Builder p;
  p.lddw(0, 0xa0a0a0a0a0a0a0a0ull).lddw(3, 0xd3d3d3d3d3d3d3d3ull).lddw(4, 0xc4c4c4c4c4c4c4c4ull);
  p.lddw(5, 0x5555555555555555ull);
  p.ldx(BPF_DW, dst, 1, 0);
  if (reg && src != dst) p.ldx(BPF_DW, src, 1, 8);
  const uint8_t code = static_cast<uint8_t>((is64 ? BPF_ALU64 : BPF_ALU) | c.op |
                                            (reg && c.op != BPF_NEG ? BPF_X : BPF_K));
  p.raw(code, dst, reg && c.op != BPF_NEG ? src : 0, c.off, reg || c.op == BPF_NEG ? 0 : imm);
  p.stx(BPF_DW, 1, dst, 16).stx(BPF_DW, 1, 0, 24).stx(BPF_DW, 1, 3, 32).stx(BPF_DW, 1, 4, 40);
  p.stx(BPF_DW, 1, 5, 48).mov64_imm(0, 0).exit();
  return p.finish();
}

std::vector<uint8_t> memory_of(uint64_t a, uint64_t b) {
  std::vector<uint8_t> m(56, 0);
  std::memcpy(m.data(), &a, 8);
  std::memcpy(m.data() + 8, &b, 8);
  return m;
}

// Runs one compiled program per engine over every value pair.
void compare_over_values(const std::vector<isa::RawInsn>& code, const CompileOptions& options,
                         const std::string& what) {
  auto interp = load(code, false);
  auto jit = load(code, true, {}, options);
  ASSERT_TRUE(interp.ok()) << what << ": " << interp.error().to_string();
  ASSERT_TRUE(jit.ok()) << what << ": " << jit.error().to_string();
  for (uint64_t a : kValues) {
    for (uint64_t b : kValues) {
      std::vector<uint8_t> m1 = memory_of(a, b), m2 = m1;
      auto r1 = interp->run(reinterpret_cast<uint64_t>(m1.data()), m1.size());
      auto r2 = jit->run(reinterpret_cast<uint64_t>(m2.data()), m2.size());
      ASSERT_TRUE(r1.ok() && r2.ok()) << what;
      if (m1 != m2) {
        uint64_t v1[7], v2[7];
        std::memcpy(v1, m1.data(), 56);
        std::memcpy(v2, m2.data(), 56);
        ADD_FAILURE() << what << std::hex << " a=0x" << a << " b=0x" << b << ": dst 0x" << v1[2]
                      << " vs 0x" << v2[2] << ", r0 0x" << v1[3] << " vs 0x" << v2[3] << ", r3 0x"
                      << v1[4] << " vs 0x" << v2[4] << ", r4 0x" << v1[5] << " vs 0x" << v2[5]
                      << ", r5 0x" << v1[6] << " vs 0x" << v2[6];
        return;
      }
    }
  }
}

void compare_all(const CompileOptions& options) {
  for (bool is64 : {true, false}) {
    for (const AluCase& c : kCases) {
      if (!is64 && c.op == BPF_MOV && c.off == 32) continue;  // no such encoding
      for (auto [dst, src] : kRegPairs) {
        std::string what = std::string(is64 ? "alu64" : "alu32") + " op 0x" + std::to_string(c.op) +
                           " off " + std::to_string(c.off) + " r" + std::to_string(dst) + ", r" +
                           std::to_string(src);
        compare_over_values(alu_program(is64, true, c, dst, src, 0), options, what);
        if (c.off > 1 || c.op == BPF_NEG) continue;  // movsx and neg have no immediate form
        for (int32_t imm : kImms)
          compare_over_values(alu_program(is64, false, c, dst, src, imm), options,
                              what + " imm " + std::to_string(imm));
      }
    }
  }
}

TEST(JitAlu, EveryOperationMatchesTheInterpreterOnEdgeValues) {
  compare_all({});
}

TEST(JitAlu, ShiftsWithoutBmi2MatchTheInterpreter) {
  CompileOptions no_bmi2;
  no_bmi2.use_bmi2 = false;
  compare_all(no_bmi2);
}

uint64_t jit_r0(Builder& p) {
  EngineResult r = expect_same(p.finish());
  EXPECT_TRUE(r.ok) << r.error.to_string();
  return r.r0;
}

TEST(JitAlu, DivisionByZeroAndMinusOneFollowLinux) {
  Builder a;
  a.lddw(0, 1234).mov64_imm(2, 0).alu64_reg(BPF_DIV, 0, 2).exit();
  EXPECT_EQ(jit_r0(a), 0u);
  Builder b;
  b.lddw(0, 0xffffffff00001234ull).mov64_imm(2, 0).alu32_reg(BPF_MOD, 0, 2).exit();
  EXPECT_EQ(jit_r0(b), 0x1234u);  // x % 0 = x, zero-extended in 32-bit form
  Builder c;
  c.lddw(0, 0x8000000000000000ull).mov64_imm(2, -1).alu64_reg(BPF_DIV, 0, 2, 1).exit();
  EXPECT_EQ(jit_r0(c), 0x8000000000000000ull);  // INT64_MIN / -1 = INT64_MIN, no trap
  Builder d;
  d.lddw(0, 0x8000000000000000ull).mov64_imm(2, -1).alu64_reg(BPF_MOD, 0, 2, 1).exit();
  EXPECT_EQ(jit_r0(d), 0u);
  Builder e;
  e.mov64_imm(0, INT32_MIN).mov64_imm(2, -1).alu32_reg(BPF_DIV, 0, 2, 1).exit();
  EXPECT_EQ(jit_r0(e), 0x80000000u);  // INT32_MIN / -1 in 32 bits, zero-extended
}

TEST(JitAlu, ShiftsMaskTheCountAndZeroExtend) {
  Builder a;
  a.lddw(0, 0xffffffff00000001ull).mov64_imm(4, 32).alu32_reg(BPF_LSH, 0, 4).exit();
  EXPECT_EQ(jit_r0(a), 1u);  // 32 & 31 = 0: no shift, but the upper half is cleared
  Builder b;
  b.mov64_imm(0, 1).mov64_imm(2, 65).alu64_reg(BPF_LSH, 0, 2).exit();
  EXPECT_EQ(jit_r0(b), 2u);  // 65 & 63 = 1
  Builder c;
  c.lddw(0, 0x8000000000000000ull).alu64_imm(BPF_ARSH, 0, 63).exit();
  EXPECT_EQ(jit_r0(c), ~0ull);
}

}  // namespace
}  // namespace userbpf::jit::testing
