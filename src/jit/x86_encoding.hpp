// The x86-64 instruction forms the JIT emits most, encoded directly: register-register and
// register-immediate ALU operations, compares and tests, moves of registers and immediates, and
// loads and stores at base + displacement. xbyak checks every operand's kind and appends its
// output a byte at a time, reloading its buffer's fields after each byte (a byte store may alias
// them): that was most of the compile time of large programs (bench/RESULTS.md, 2026-11-29).
// These encoders build an instruction in a small value that the Emitter appends with one copy.
//
// Each gives exactly the bytes xbyak gives for the same instruction
// (tests/jit/jit_encoding_test.cpp compares them over every register pair and a spread of
// immediates and displacements), so choosing one or the other never changes the code. Register
// arguments are host register numbers (rax 0 ... r15 15); `wide` selects the 64-bit form.
#pragma once

#include <cstdint>

namespace userbpf::jit::detail::x86 {

struct Code {
  uint8_t bytes[16] = {};  // an instruction is at most 15; the 16th lets appends copy a fixed size
  uint8_t size = 0;

  void byte(uint8_t b) { bytes[size++] = b; }
  void dword(uint32_t v) {
    for (int k = 0; k < 4; ++k) byte(static_cast<uint8_t>(v >> (8 * k)));
  }
  void qword(uint64_t v) {
    dword(static_cast<uint32_t>(v));
    dword(static_cast<uint32_t>(v >> 32));
  }
};

// A REX prefix for W (64-bit operand), R (extends ModRM.reg), B (extends ModRM.rm or the opcode's
// register): nothing when all are clear and no byte register needs one.
inline void rex(Code& c, bool w, int reg, int rm, bool force = false) {
  const uint8_t bits = static_cast<uint8_t>((w ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3));
  if (bits != 0 || force) c.byte(0x40 | bits);
}

inline uint8_t mod_rm(int mod, int reg, int rm) {
  return static_cast<uint8_t>((mod << 6) | ((reg & 7) << 3) | (rm & 7));
}

// Does xbyak take the one-byte immediate form (its sign-extended value is the same)?
inline bool fits_int8(uint32_t imm) {
  return imm >= 0xFFFFFF80u || imm <= 0x7F;
}

// `op rm, reg` with both in registers: add 01, or 09, and 21, sub 29, xor 31, cmp 39, test 85,
// mov 89.
inline Code reg_reg(uint8_t opcode, bool wide, int rm, int reg) {
  Code c;
  rex(c, wide, reg, rm);
  c.byte(opcode);
  c.byte(mod_rm(3, reg, rm));
  return c;
}

// The group-1 operation `ext` (add 0, or 1, and 4, sub 5, xor 6, cmp 7) of a register and an
// immediate, sign-extended from 8 bits where it fits, else 32 (the accumulator's short form then).
inline Code alu_imm(int ext, bool wide, int rm, uint32_t imm) {
  Code c;
  if (fits_int8(imm)) {
    rex(c, wide, 0, rm);
    c.byte(0x83);
    c.byte(mod_rm(3, ext, rm));
    c.byte(static_cast<uint8_t>(imm));
    return c;
  }
  rex(c, wide, 0, rm);
  if (rm == 0) {
    c.byte(static_cast<uint8_t>((ext << 3) | 5));
  } else {
    c.byte(0x81);
    c.byte(mod_rm(3, ext, rm));
  }
  c.dword(imm);
  return c;
}

// `test rm, imm32` (sign-extended in the 64-bit form).
inline Code test_imm(bool wide, int rm, uint32_t imm) {
  Code c;
  rex(c, wide, 0, rm);
  if (rm == 0) {
    c.byte(0xA9);
  } else {
    c.byte(0xF7);
    c.byte(mod_rm(3, 0, rm));
  }
  c.dword(imm);
  return c;
}

// `mov r, imm`: the 32-bit move (which zero-extends) for a 64-bit value that fits 32 bits
// unsigned, the sign-extended imm32 form for one that fits signed, else the 10-byte movabs.
inline Code mov_imm(bool wide, int r, uint64_t imm) {
  Code c;
  if (!wide || (imm >> 32) == 0) {
    rex(c, false, 0, r);
    c.byte(static_cast<uint8_t>(0xB8 | (r & 7)));
    c.dword(static_cast<uint32_t>(imm));
  } else if (static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(imm))) == imm) {
    rex(c, true, 0, r);
    c.byte(0xC7);
    c.byte(mod_rm(3, 0, r));
    c.dword(static_cast<uint32_t>(imm));
  } else {
    rex(c, true, 0, r);
    c.byte(static_cast<uint8_t>(0xB8 | (r & 7)));
    c.qword(imm);
  }
  return c;
}

// `[prefix] [REX] opcode [opcode2] ModRM [disp]` with `reg` in ModRM.reg and the address
// `base` + `off`: no displacement when it is 0 (except for rbp and r13, whose mod-0 form means
// something else), else one byte or four. A base whose low bits are 100 (rsp, r12) would need a
// SIB byte: callers keep those for xbyak (no eBPF register lives there). `byte_reg`: the value
// is a byte register, which takes a REX prefix for spl..dil (without one, 4..7 are ah..bh).
inline Code memory(uint8_t prefix, bool wide, bool byte_reg, uint8_t opcode, uint8_t opcode2,
                   int reg, int base, int32_t off) {
  Code c;
  if (prefix) c.byte(prefix);
  rex(c, wide, reg, base, byte_reg && reg >= 4);
  c.byte(opcode);
  if (opcode2) c.byte(opcode2);
  if (off == 0 && (base & 7) != 5) {
    c.byte(mod_rm(0, reg, base));
  } else if (off >= -128 && off <= 127) {
    c.byte(mod_rm(1, reg, base));
    c.byte(static_cast<uint8_t>(off));
  } else {
    c.byte(mod_rm(2, reg, base));
    c.dword(static_cast<uint32_t>(off));
  }
  return c;
}

// Jumps: `jmp` (cc kAlways) or `jcc` to a displacement from the end of the jump, rel8 or rel32.
constexpr uint8_t kAlways = 0xff;
inline Code jump_rel8(uint8_t cc, int8_t disp) {
  Code c;
  c.byte(cc == kAlways ? 0xEB : static_cast<uint8_t>(0x70 | cc));
  c.byte(static_cast<uint8_t>(disp));
  return c;
}
inline Code jump_rel32(uint8_t cc, int32_t disp) {
  Code c;
  if (cc == kAlways) {
    c.byte(0xE9);
  } else {
    c.byte(0x0F);
    c.byte(static_cast<uint8_t>(0x80 | cc));
  }
  c.dword(static_cast<uint32_t>(disp));
  return c;
}

}  // namespace userbpf::jit::detail::x86
