// The JIT's own encoders of its hot forms (src/jit/x86_encoding.hpp) against xbyak, which they
// stand in for: the same bytes for every pair of the 16 general registers, both widths, and
// immediates and displacements on each side of every size boundary.
#define XBYAK_NO_OP_NAMES
#include <gtest/gtest.h>
#include <xbyak/xbyak.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jit/x86_encoding.hpp"

namespace userbpf::jit::testing {
namespace {

namespace x86 = detail::x86;

std::vector<uint8_t> bytes_of(const x86::Code& c) {
  return {c.bytes, c.bytes + c.size};
}

// What xbyak emits for `emit`.
std::vector<uint8_t> xbyak_bytes(const std::function<void(Xbyak::CodeGenerator&)>& emit) {
  Xbyak::CodeGenerator g(4096, Xbyak::DontSetProtectRWE);
  emit(g);
  return {g.getCode(), g.getCode() + g.getSize()};
}

Xbyak::Reg general(int index, bool wide) {
  return wide ? Xbyak::Reg(Xbyak::Reg64(index)) : Xbyak::Reg(Xbyak::Reg32(index));
}

std::string where(const char* what, bool wide, int a, int b) {
  return std::string(what) + (wide ? " 64" : " 32") + " r" + std::to_string(a) + " r" +
         std::to_string(b);
}

TEST(JitEncoding, RegisterPairsMatchXbyak) {
  using Form = void (Xbyak::CodeGenerator::*)(const Xbyak::Operand&, const Xbyak::Operand&);
  struct Case {
    const char* name;
    uint8_t opcode;
    Form xbyak;
  };
  const Case cases[] = {
      {"add", 0x01, &Xbyak::CodeGenerator::add},  {"or", 0x09, &Xbyak::CodeGenerator::or_},
      {"and", 0x21, &Xbyak::CodeGenerator::and_}, {"sub", 0x29, &Xbyak::CodeGenerator::sub},
      {"xor", 0x31, &Xbyak::CodeGenerator::xor_}, {"cmp", 0x39, &Xbyak::CodeGenerator::cmp},
  };
  size_t compared = 0;
  for (bool wide : {false, true})
    for (int d = 0; d < 16; ++d)
      for (int s = 0; s < 16; ++s) {
        const Xbyak::Reg rd = general(d, wide), rs = general(s, wide);
        for (const Case& c : cases) {
          const auto expected = xbyak_bytes([&](Xbyak::CodeGenerator& g) { (g.*c.xbyak)(rd, rs); });
          ASSERT_EQ(bytes_of(x86::reg_reg(c.opcode, wide, d, s)), expected)
              << where(c.name, wide, d, s);
          ++compared;
        }
        EXPECT_EQ(bytes_of(x86::reg_reg(0x89, wide, d, s)),
                  xbyak_bytes([&](Xbyak::CodeGenerator& g) { g.mov(rd, rs); }))
            << where("mov", wide, d, s);
        EXPECT_EQ(bytes_of(x86::reg_reg(0x85, wide, d, s)),
                  xbyak_bytes([&](Xbyak::CodeGenerator& g) { g.test(rd, rs.getReg()); }))
            << where("test", wide, d, s);
      }
  EXPECT_EQ(compared, 2u * 16 * 16 * 6);
}

// Each side of the one-byte immediate's range, and the 32-bit extremes.
const uint32_t kImmediates[] = {0,          1,          0x7f,       0x80,
                                0xff,       0x100,      0x12345678, 0x7fffffff,
                                0x80000000, 0xffffff7f, 0xffffff80, 0xffffffff};

TEST(JitEncoding, RegisterImmediatesMatchXbyak) {
  using Form = void (Xbyak::CodeGenerator::*)(const Xbyak::Operand&, uint32_t);
  struct Case {
    const char* name;
    int ext;
    Form xbyak;
  };
  const Case cases[] = {
      {"add", 0, &Xbyak::CodeGenerator::add},  {"or", 1, &Xbyak::CodeGenerator::or_},
      {"and", 4, &Xbyak::CodeGenerator::and_}, {"sub", 5, &Xbyak::CodeGenerator::sub},
      {"xor", 6, &Xbyak::CodeGenerator::xor_}, {"cmp", 7, &Xbyak::CodeGenerator::cmp},
  };
  for (bool wide : {false, true})
    for (int d = 0; d < 16; ++d) {
      const Xbyak::Reg rd = general(d, wide);
      for (uint32_t imm : kImmediates) {
        const std::string at = where("imm", wide, d, 0) + " " + std::to_string(imm);
        for (const Case& c : cases)
          ASSERT_EQ(bytes_of(x86::alu_imm(c.ext, wide, d, imm)),
                    xbyak_bytes([&](Xbyak::CodeGenerator& g) { (g.*c.xbyak)(rd, imm); }))
              << c.name << at;
        ASSERT_EQ(bytes_of(x86::test_imm(wide, d, imm)),
                  xbyak_bytes([&](Xbyak::CodeGenerator& g) { g.test(rd, imm); }))
            << "test" << at;
      }
    }
}

TEST(JitEncoding, ImmediateMovesMatchXbyak) {
  const uint64_t values[] = {0,
                             1,
                             0x7fffffff,
                             0x80000000,
                             0xffffffff,
                             0x100000000ull,
                             0xffffffff80000000ull,
                             0xffffffff7fffffffull,
                             0xffffffffffffffffull,
                             0x123456789abcdef0ull};
  for (bool wide : {false, true})
    for (int d = 0; d < 16; ++d)
      for (uint64_t v : values) {
        const uint64_t imm = wide ? v : static_cast<uint32_t>(v);
        ASSERT_EQ(bytes_of(x86::mov_imm(wide, d, imm)),
                  xbyak_bytes([&](Xbyak::CodeGenerator& g) { g.mov(general(d, wide), imm); }))
            << where("mov imm", wide, d, 0) << " " << v;
      }
}

// The loads and stores the emitter encodes (emit_memory.cpp), every value and base register but
// rsp and r12 (which need a SIB byte, and hold no eBPF register).
TEST(JitEncoding, LoadsAndStoresMatchXbyak) {
  const int32_t offsets[] = {0, 1, -1, 127, -128, 128, -129, 512, 32767, -32768};
  size_t compared = 0;
  for (int base = 0; base < 16; ++base) {
    if ((base & 7) == 4) continue;
    for (int r = 0; r < 16; ++r)
      for (int32_t off : offsets) {
        const Xbyak::Reg64 b(base);
        const auto address = b + off;
        const std::string at = where("memory", true, r, base) + " " + std::to_string(off);
        const auto check = [&](const x86::Code& ours,
                               const std::function<void(Xbyak::CodeGenerator&)>& emit) {
          ASSERT_EQ(bytes_of(ours), xbyak_bytes(emit)) << at;
          ++compared;
        };
        check(x86::memory(0, true, false, 0x8B, 0, r, base, off),
              [&](auto& g) { g.mov(Xbyak::Reg64(r), g.qword[address]); });
        check(x86::memory(0, false, false, 0x8B, 0, r, base, off),
              [&](auto& g) { g.mov(Xbyak::Reg32(r), g.dword[address]); });
        check(x86::memory(0, false, false, 0x0F, 0xB6, r, base, off),
              [&](auto& g) { g.movzx(Xbyak::Reg32(r), g.byte[address]); });
        check(x86::memory(0, false, false, 0x0F, 0xB7, r, base, off),
              [&](auto& g) { g.movzx(Xbyak::Reg32(r), g.word[address]); });
        check(x86::memory(0, true, false, 0x89, 0, r, base, off),
              [&](auto& g) { g.mov(g.qword[address], Xbyak::Reg64(r)); });
        check(x86::memory(0, false, false, 0x89, 0, r, base, off),
              [&](auto& g) { g.mov(g.dword[address], Xbyak::Reg32(r)); });
        check(x86::memory(0x66, false, false, 0x89, 0, r, base, off),
              [&](auto& g) { g.mov(g.word[address], Xbyak::Reg16(r)); });
        check(x86::memory(0, false, true, 0x88, 0, r, base, off), [&](auto& g) {
          g.mov(g.byte[address], Xbyak::Reg8(r, r >= 4 && r < 8));  // spl..dil, not ah..bh
        });
        if (HasFatalFailure()) return;
      }
  }
  EXPECT_EQ(compared, 14u * 16 * 10 * 8);
}

TEST(JitEncoding, Jumps) {
  EXPECT_EQ(bytes_of(x86::jump_rel8(x86::kAlways, -2)), (std::vector<uint8_t>{0xEB, 0xFE}));
  EXPECT_EQ(bytes_of(x86::jump_rel8(0x4, 127)), (std::vector<uint8_t>{0x74, 0x7F}));
  EXPECT_EQ(bytes_of(x86::jump_rel32(x86::kAlways, -5)),
            (std::vector<uint8_t>{0xE9, 0xFB, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(bytes_of(x86::jump_rel32(0xF, 0x12345678)),
            (std::vector<uint8_t>{0x0F, 0x8F, 0x78, 0x56, 0x34, 0x12}));
}

}  // namespace
}  // namespace userbpf::jit::testing
