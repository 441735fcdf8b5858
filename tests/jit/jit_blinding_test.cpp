// Constant blinding (CompileOptions::blind_constants): the conformance suite and random programs
// behave exactly as in the interpreter with it on, and a program made of large immediates has
// none of them in its machine code (while without blinding every one of them is there).
#include <algorithm>
#include <cstring>
#include <string>

#include "isa/conformance_data.hpp"
#include "jit_random_differential.hpp"
#include "jit_test_util.hpp"
#include "support/conformance_files.hpp"
#include "support/random_program.hpp"

namespace userbpf::jit::testing {
namespace {

CompileOptions blinded() {
  CompileOptions options;
  options.blind_constants = true;
  return options;
}

// The suite's helper 5 (`unwind`) hands back its first argument.
uint64_t suite_unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, vm::CallContext&) {
  return r1;
}

TEST(JitBlinding, ConformanceSuitePasses) {
  vm::HelperTable helpers;
  helpers.set(5, vm::Helper{"unwind", suite_unwind});
  size_t passed = 0;
  for (const auto& path : userbpf::testing::data_files(userbpf::testing::conformance_dir())) {
    SCOPED_TRACE(path.filename().string());
    auto parsed = isa::parse_conformance_data(userbpf::testing::read_text(path));
    ASSERT_TRUE(parsed.ok());
    auto raw = userbpf::testing::case_program(*parsed);
    ASSERT_TRUE(raw.ok());
    if (userbpf::testing::uses_callx(*raw) || !parsed->result) continue;
    EngineResult r = run_engine(*raw, true, parsed->memory, helpers, nullptr, blinded());
    ASSERT_TRUE(r.ok) << r.error.to_string();
    EXPECT_EQ(r.r0, *parsed->result);
    if (r.ok && r.r0 == *parsed->result) ++passed;
  }
  EXPECT_EQ(passed, 312u);  // every runnable file of the suite (see tests/conformance)
}

void differential(uint32_t classes, uint64_t first_seed, int programs, size_t insns,
                  CompileOptions options) {
  options.blind_constants = true;
  expect_random_programs_agree(classes, first_seed, programs, insns, options,
                               /*require_interp_ok=*/false);
}

TEST(JitBlinding, RandomProgramsMatchTheInterpreter) {
  differential(userbpf::testing::kAllClasses, 300000, 1500, 64, {});
}

TEST(JitBlinding, RandomProgramsWithoutBmi2MatchTheInterpreter) {
  CompileOptions no_bmi2;
  no_bmi2.use_bmi2 = false;
  differential(userbpf::testing::kAllClasses, 400000, 500, 160, no_bmi2);
}

// Immediates that are unlikely to occur in machine code by chance.
constexpr int32_t kImm[] = {
    0x13579bdf,  0x2468ace1,  0x7a5b3c1d,
    0x51f0e2d3,  0x3c6ef372,  0x6a09e667,
    -0x4f1bbcdd, 0x1f83d9ab,  0x5be0cd19,
    -0x6c44198d, 0x27b70a85,  0x2e1b2138,
    0x4d2c6dfc,  0x53380d13,  0x650a7354,
    0x766a0abb,  -0x7e3d36d2, 0x12835b01,
    0x243185be,  0x550c7dc3,  static_cast<int32_t>(0x72be5d74),
    0x1c9fbd63,  0x4e2d0b91,  0x36a8c4e5,
    0x0badcafe,  0x3eadbeef,
};
constexpr uint64_t kWide = 0x0f1e2d3c4b5a6978ull;  // lddw

// Every blinded form with its own immediate: ALU64 and ALU32 (add, sub, and, or, xor, mul, mov,
// div, mod, signed div), jumps of both widths, ST of every size, lddw. r1 = 64 bytes of memory.
std::vector<isa::RawInsn> immediates_program() {
  Builder p;
  size_t k = 0;
  p.ldx(BPF_DW, 0, 1, 0).ldx(BPF_DW, 2, 1, 8);
  for (uint8_t op : {BPF_ADD, BPF_SUB, BPF_AND, BPF_OR, BPF_XOR, BPF_MUL, BPF_DIV, BPF_MOD}) {
    p.alu64_imm(op, 0, kImm[k++]).alu64_reg(BPF_ADD, 2, 0);
    p.alu32_imm(op, 0, kImm[k++]).alu64_reg(BPF_ADD, 2, 0);
  }
  p.alu64_imm(BPF_DIV, 2, kImm[k++], 1);  // sdiv
  p.alu64_imm(BPF_MOV, 3, kImm[k++]);
  p.alu32_imm(BPF_MOV, 4, kImm[k++]);
  p.alu64_reg(BPF_ADD, 2, 3).alu64_reg(BPF_ADD, 2, 4);
  p.jmp_imm(BPF_JGT, 2, kImm[k++], "a").alu64_imm(BPF_ADD, 2, 1).label("a");
  p.jmp_imm(BPF_JSLT, 2, kImm[k++], "b", BPF_JMP32).alu64_imm(BPF_ADD, 2, 2).label("b");
  p.jmp_imm(BPF_JSET, 2, kImm[k++], "c").alu64_imm(BPF_ADD, 2, 4).label("c");
  p.st(BPF_DW, 1, 16, kImm[k++]);
  p.st(BPF_W, 1, 24, kImm[k++]);
  p.st(BPF_H, 1, 28, kImm[k++]);
  p.st(BPF_B, 1, 30, kImm[k++]);
  p.lddw(5, kWide).stx(BPF_DW, 1, 5, 32);
  p.stx(BPF_DW, 1, 2, 40).mov64_reg(0, 2).exit();
  EXPECT_EQ(k, std::size(kImm));  // one immediate each, the ST16 and ST8 ones last
  return p.finish();
}

bool contains(const vm::NativeCode& code, const void* bytes, size_t size) {
  const uint8_t* begin = code.code;
  const uint8_t* end = code.code + code.code_size;
  const auto* needle = static_cast<const uint8_t*>(bytes);
  return std::search(begin, end, needle, needle + size) != end;
}

std::vector<uint8_t> immediates_memory() {
  std::vector<uint8_t> memory(64);
  const uint64_t a = 0x8899aabbccddeeffull, b = 0x0123456789abcdefull;
  std::memcpy(memory.data(), &a, 8);
  std::memcpy(memory.data() + 8, &b, 8);
  return memory;
}

TEST(JitBlinding, NoImmediateAppearsInTheMachineCode) {
  const auto code = immediates_program();
  auto plain = load(code, true);
  auto hidden = load(code, true, {}, blinded());
  ASSERT_TRUE(plain.ok() && hidden.ok());
  const vm::NativeCode& with = *plain->native();
  const vm::NativeCode& without = *hidden->native();
  // The ST8 and ST16 immediates are encoded as 1 and 2 bytes; every other one as 4 (or 8).
  const size_t wide_immediates = std::size(kImm) - 2;
  for (size_t k = 0; k < wide_immediates; ++k) {
    SCOPED_TRACE("immediate " + std::to_string(k));
    EXPECT_TRUE(contains(with, &kImm[k], 4)) << "the unblinded code has it: the check works";
    EXPECT_FALSE(contains(without, &kImm[k], 4));
  }
  const uint32_t low = static_cast<uint32_t>(kWide), high = static_cast<uint32_t>(kWide >> 32);
  EXPECT_TRUE(contains(with, &kWide, 8));
  EXPECT_FALSE(contains(without, &kWide, 8));
  EXPECT_FALSE(contains(without, &low, 4));
  EXPECT_FALSE(contains(without, &high, 4));
  // Same behaviour, memory included.
  EngineResult r = expect_same(code, immediates_memory(), {}, blinded());
  EXPECT_TRUE(r.ok) << r.error.to_string();
  // A fresh random value per compilation: two compilations differ.
  auto again = load(code, true, {}, blinded());
  ASSERT_TRUE(again.ok());
  const vm::NativeCode& other = *again->native();
  EXPECT_FALSE(other.code_size == without.code_size &&
               std::memcmp(other.code, without.code, other.code_size) == 0);
}

TEST(JitBlinding, PacketLoadOffsetsAreBlinded) {
  const std::vector<uint8_t> packet = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
  Builder p;  // r0 = ld_abs32(2) + ld_ind16(r7 + imm), r7 + imm = 4 with a large immediate
  p.mov64_reg(6, 1).lddw(7, 0x5a5a5a57ull);
  p.raw(BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 2).mov64_reg(8, 0);
  p.raw(BPF_LD | BPF_IND | BPF_H, 0, 7, 0, -0x5a5a5a53).alu64_reg(BPF_ADD, 0, 8).exit();
  const auto code = p.finish();
  EngineResult r = expect_same(code, {}, {}, blinded(), packet);
  ASSERT_TRUE(r.ok) << r.error.to_string();
  EXPECT_EQ(r.r0, 0x33445566u + 0x5566u);
  auto plain = load(code, true);
  auto hidden = load(code, true, {}, blinded());
  ASSERT_TRUE(plain.ok() && hidden.ok());
  const int32_t ind = -0x5a5a5a53;
  EXPECT_TRUE(contains(*plain->native(), &ind, 4));
  EXPECT_FALSE(contains(*hidden->native(), &ind, 4));
}

}  // namespace
}  // namespace userbpf::jit::testing
