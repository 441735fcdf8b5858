// ALU and ALU64 semantics, Linux's corner cases first. Expected values are computed by plain C++
// expressions in the test, independent of the interpreter.
#include <bit>
#include <cstdint>
#include <limits>

#include "vm_test_util.hpp"

namespace userbpf::vm::testing {
namespace {

constexpr uint8_t kAlu32 = BPF_ALU;
constexpr uint8_t kAlu64 = BPF_ALU64;

// r0 = a; r1 = b; r0 <op>= r1; exit.
uint64_t alu_reg(uint8_t cls, uint8_t op, uint64_t a, uint64_t b, int16_t off = 0) {
  Builder p;
  p.lddw(0, a).lddw(1, b).raw(cls | op | BPF_X, 0, 1, off, 0).exit();
  return run_both(p.finish());
}

// r0 = a; r0 <op>= imm; exit.
uint64_t alu_imm(uint8_t cls, uint8_t op, uint64_t a, int32_t imm, int16_t off = 0) {
  Builder p;
  p.lddw(0, a).raw(cls | op | BPF_K, 0, 0, off, imm).exit();
  return run_both(p.finish());
}

constexpr uint64_t kInt64Min = static_cast<uint64_t>(std::numeric_limits<int64_t>::min());
constexpr uint32_t kInt32Min = static_cast<uint32_t>(std::numeric_limits<int32_t>::min());

TEST(VmAlu, DivisionByZeroGivesZero) {
  EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, 12345, 0), 0u);
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, 0xffffffff00000005ull, 0), 0u);
  EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, 12345, 0, 1), 0u);  // sdiv
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, 12345, 0, 1), 0u);
  // A 32-bit division looks only at the low half of the divisor.
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, 77, 0x100000000ull), 0u);
  EXPECT_EQ(alu_imm(kAlu64, BPF_DIV, 99, 0), 0u);
  EXPECT_EQ(alu_imm(kAlu32, BPF_DIV, 99, 0, 1), 0u);
}

TEST(VmAlu, ModuloByZeroKeepsDividend) {
  const uint64_t a = 0xdeadbeef12345678ull;
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOD, a, 0), a);
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOD, a, 0, 1), a);  // smod
  // 32-bit forms keep the zero-extended 32-bit dividend.
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, a, 0), static_cast<uint32_t>(a));
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, a, 0, 1), static_cast<uint32_t>(a));
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, a, 0xabcd00000000ull), static_cast<uint32_t>(a));
  EXPECT_EQ(alu_imm(kAlu64, BPF_MOD, a, 0), a);
  EXPECT_EQ(alu_imm(kAlu32, BPF_MOD, a, 0, 1), static_cast<uint32_t>(a));
}

TEST(VmAlu, SignedMinDividedByMinusOne) {
  EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, kInt64Min, ~0ull, 1), kInt64Min);
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOD, kInt64Min, ~0ull, 1), 0u);
  EXPECT_EQ(alu_imm(kAlu64, BPF_DIV, kInt64Min, -1, 1), kInt64Min);
  EXPECT_EQ(alu_imm(kAlu64, BPF_MOD, kInt64Min, -1, 1), 0u);
  // 32-bit: garbage in the upper half of both operands must not matter.
  const uint64_t a32 = 0x1234567800000000ull | kInt32Min;
  const uint64_t minus1 = 0x00000005ffffffffull;
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, a32, minus1, 1), uint64_t{kInt32Min});
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, a32, minus1, 1), 0u);
  EXPECT_EQ(alu_imm(kAlu32, BPF_DIV, a32, -1, 1), uint64_t{kInt32Min});
  EXPECT_EQ(alu_imm(kAlu32, BPF_MOD, a32, -1, 1), 0u);
  // Any other dividend divided by -1 is its negation.
  EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, 42, ~0ull, 1), static_cast<uint64_t>(int64_t{-42}));
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, 42, ~0ull, 1), static_cast<uint32_t>(int32_t{-42}));
}

TEST(VmAlu, SignedDivisionTruncatesTowardZero) {
  const int64_t pairs[][2] = {{-7, 2}, {7, -2}, {-7, -2}, {7, 2}, {-1, 1000}, {INT64_MAX, -3}};
  for (const auto& [a, b] : pairs) {
    const auto ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
    EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, ua, ub, 1), static_cast<uint64_t>(a / b)) << a << "/" << b;
    EXPECT_EQ(alu_reg(kAlu64, BPF_MOD, ua, ub, 1), static_cast<uint64_t>(a % b)) << a << "%" << b;
    const auto a32 = static_cast<int32_t>(a), b32 = static_cast<int32_t>(b);
    if (b32 != 0 && b32 != -1) {
      EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, ua, ub, 1), static_cast<uint32_t>(a32 / b32));
      EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, ua, ub, 1), static_cast<uint32_t>(a32 % b32));
    }
  }
  // Immediates are sign-extended for the 64-bit signed forms.
  EXPECT_EQ(alu_imm(kAlu64, BPF_DIV, static_cast<uint64_t>(int64_t{-100}), -7, 1),
            static_cast<uint64_t>(int64_t{-100} / -7));
  EXPECT_EQ(alu_imm(kAlu64, BPF_MOD, static_cast<uint64_t>(int64_t{-100}), 7, 1),
            static_cast<uint64_t>(int64_t{-100} % 7));
}

TEST(VmAlu, UnsignedDivisionUsesOperandWidth) {
  const uint64_t a = 0xaaaa000000000010ull, b = 0x5555000000000004ull;
  EXPECT_EQ(alu_reg(kAlu64, BPF_DIV, a, b), a / b);
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOD, a, b), a % b);
  EXPECT_EQ(alu_reg(kAlu32, BPF_DIV, a, b), uint32_t{0x10} / uint32_t{4});
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOD, a, 0x5555000000000007ull), uint32_t{0x10} % uint32_t{7});
  // A negative immediate is a huge unsigned divisor (sign-extended for ALU64, as Linux's IMM).
  EXPECT_EQ(alu_imm(kAlu64, BPF_DIV, ~0ull, -2), ~0ull / static_cast<uint64_t>(int64_t{-2}));
  EXPECT_EQ(alu_imm(kAlu32, BPF_DIV, ~0ull, -2), uint32_t{0xffffffff} / uint32_t{0xfffffffe});
}

TEST(VmAlu, ShiftCountsAreMasked) {
  const uint64_t a = 0x8000000180000003ull;
  EXPECT_EQ(alu_reg(kAlu64, BPF_LSH, a, 65), a << 1);
  EXPECT_EQ(alu_reg(kAlu64, BPF_RSH, a, 64 + 4), a >> 4);
  EXPECT_EQ(alu_reg(kAlu64, BPF_ARSH, a, 64 + 4),
            static_cast<uint64_t>(static_cast<int64_t>(a) >> 4));
  EXPECT_EQ(alu_reg(kAlu32, BPF_LSH, a, 33), static_cast<uint32_t>(static_cast<uint32_t>(a) << 1));
  EXPECT_EQ(alu_reg(kAlu32, BPF_RSH, a, 32 + 3), static_cast<uint32_t>(a) >> 3);
  EXPECT_EQ(alu_reg(kAlu32, BPF_ARSH, a, 32 + 3),
            static_cast<uint32_t>(static_cast<int32_t>(static_cast<uint32_t>(a)) >> 3));
  EXPECT_EQ(alu_imm(kAlu64, BPF_ARSH, a, 63), ~0ull);
  EXPECT_EQ(alu_imm(kAlu32, BPF_ARSH, 0x80000000ull, 31), 0xffffffffull);
}

TEST(VmAlu, ThirtyTwoBitResultsAreZeroExtended) {
  EXPECT_EQ(alu_reg(kAlu32, BPF_ADD, 0xffffffffull, 1), 0u);
  EXPECT_EQ(alu_reg(kAlu32, BPF_SUB, 0, 1), 0xffffffffull);
  EXPECT_EQ(alu_reg(kAlu32, BPF_MUL, 0x10000ull, 0x10000ull), 0u);
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOV, 0, 0xffffffff12345678ull), 0x12345678ull);
  EXPECT_EQ(alu_imm(kAlu32, BPF_MOV, ~0ull, -1), 0xffffffffull);
  EXPECT_EQ(alu_imm(kAlu64, BPF_MOV, 0, -1), ~0ull);
  EXPECT_EQ(alu_imm(kAlu32, BPF_OR, 0xffff000000000000ull, 1), 1u);
  EXPECT_EQ(alu_imm(kAlu32, BPF_XOR, 0x1234567800000000ull, -1), 0xffffffffull);
  EXPECT_EQ(alu_imm(kAlu32, BPF_AND, ~0ull, -1), 0xffffffffull);
  EXPECT_EQ(alu_imm(kAlu64, BPF_AND, ~0ull, -1), ~0ull);  // sign-extended
  EXPECT_EQ(alu_imm(kAlu64, BPF_ADD, 10, -11), ~0ull);
}

TEST(VmAlu, Negation) {
  Builder p64, p32;
  p64.lddw(0, 5).raw(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0).exit();
  p32.lddw(0, 0x1234567800000005ull).raw(BPF_ALU | BPF_NEG, 0, 0, 0, 0).exit();
  EXPECT_EQ(run_both(p64.finish()), static_cast<uint64_t>(int64_t{-5}));
  EXPECT_EQ(run_both(p32.finish()), static_cast<uint32_t>(int32_t{-5}));
  Builder min64;
  min64.lddw(0, kInt64Min).raw(BPF_ALU64 | BPF_NEG, 0, 0, 0, 0).exit();
  EXPECT_EQ(run_both(min64.finish()), kInt64Min);
}

TEST(VmAlu, MoveWithSignExtension) {
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOV, 0, 0x1280, 8), static_cast<uint64_t>(int64_t{int8_t(0x80)}));
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOV, 0, 0x17fff, 16), 0x7fffu);
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOV, 0, 0x18000, 16),
            static_cast<uint64_t>(int64_t{int16_t(0x8000)}));
  EXPECT_EQ(alu_reg(kAlu64, BPF_MOV, 0, 0x180000000ull, 32),
            static_cast<uint64_t>(int64_t{std::numeric_limits<int32_t>::min()}));
  // ALU32 movsx sign-extends to 32 bits, then zero-extends.
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOV, 0, 0xff, 8), static_cast<uint32_t>(int32_t{int8_t(0xff)}));
  EXPECT_EQ(alu_reg(kAlu32, BPF_MOV, 0, 0xabcd9000, 16),
            static_cast<uint32_t>(int32_t{int16_t(0x9000)}));
}

TEST(VmAlu, ByteOrder) {
  const uint64_t v = 0x1122334455667788ull;
  auto endian = [&](uint8_t cls, uint8_t source, int32_t width) {
    Builder p;
    p.lddw(0, v).raw(cls | BPF_END | source, 0, 0, 0, width).exit();
    return run_both(p.finish());
  };
  const bool little = std::endian::native == std::endian::little;
  const uint64_t s16 = __builtin_bswap16(static_cast<uint16_t>(v));
  const uint64_t s32 = __builtin_bswap32(static_cast<uint32_t>(v));
  const uint64_t s64 = __builtin_bswap64(v);
  const uint64_t t16 = static_cast<uint16_t>(v), t32 = static_cast<uint32_t>(v);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_LE, 16), little ? t16 : s16);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_LE, 32), little ? t32 : s32);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_LE, 64), little ? v : s64);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_BE, 16), little ? s16 : t16);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_BE, 32), little ? s32 : t32);
  EXPECT_EQ(endian(BPF_ALU, BPF_TO_BE, 64), little ? s64 : v);
  // ALU64 END is bswap: always swaps.
  EXPECT_EQ(endian(BPF_ALU64, BPF_TO_LE, 16), s16);
  EXPECT_EQ(endian(BPF_ALU64, BPF_TO_LE, 32), s32);
  EXPECT_EQ(endian(BPF_ALU64, BPF_TO_LE, 64), s64);
}

TEST(VmAlu, ArithmeticWrapsLikeUnsignedIntegers) {
  const uint64_t a = 0xfedcba9876543210ull, b = 0x0123456789abcdefull;
  EXPECT_EQ(alu_reg(kAlu64, BPF_ADD, a, b), a + b);
  EXPECT_EQ(alu_reg(kAlu64, BPF_SUB, b, a), b - a);
  EXPECT_EQ(alu_reg(kAlu64, BPF_MUL, a, b), a * b);
  EXPECT_EQ(alu_reg(kAlu64, BPF_OR, a, b), a | b);
  EXPECT_EQ(alu_reg(kAlu64, BPF_AND, a, b), a & b);
  EXPECT_EQ(alu_reg(kAlu64, BPF_XOR, a, b), a ^ b);
  EXPECT_EQ(alu_reg(kAlu32, BPF_MUL, a, b),
            static_cast<uint32_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)));
  EXPECT_EQ(alu_reg(kAlu32, BPF_SUB, b, a),
            static_cast<uint32_t>(static_cast<uint32_t>(b) - static_cast<uint32_t>(a)));
}

}  // namespace
}  // namespace userbpf::vm::testing
