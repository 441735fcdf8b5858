// Opcode facts of the eBPF instruction set, kept in one constexpr table. All numbering comes from
// <linux/bpf.h>; the few encodings newer than the installed header are defined here with the values
// Linux gives them (include/uapi/linux/bpf.h of Linux 6.6+).
#pragma once

#include <linux/bpf.h>

#include <array>
#include <cstdint>

#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80  // sign-extending load (Linux 6.6)
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0  // may_goto (Linux 6.9)
#endif
#ifndef BPF_MAY_GOTO
#define BPF_MAY_GOTO 0
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ 0x100  // atomic load-acquire (Linux 6.15)
#endif
#ifndef BPF_STORE_REL
#define BPF_STORE_REL 0x110  // atomic store-release (Linux 6.15)
#endif

namespace userbpf::isa {

inline constexpr int kMaxRegister = 10;  // r0..r10; r10 is the read-only frame pointer
inline constexpr int kFramePointer = 10;
inline constexpr int kStackSize = 512;  // bytes per frame, as Linux's MAX_BPF_STACK
inline constexpr int kMaxCallDepth = 8;  // Linux's MAX_CALL_FRAMES

// What an opcode byte means, before the other fields are looked at.
enum class Kind : uint8_t {
  invalid,
  alu,          // ALU/ALU64 arithmetic, logic, shifts, mov, neg (incl. sdiv/smod/movsx via off)
  endian,       // le/be (ALU) and bswap (ALU64)
  jump,         // ja (JMP: 16-bit off; JMP32: 32-bit imm "gotol")
  jump_cond,    // conditional jumps, JMP and JMP32
  call,         // helper, bpf-to-bpf or kfunc call, told apart by src
  exit,
  may_goto,     // JMP|JCOND: bounded-loop escape (Linux 6.9)
  load,         // LDX MEM / MEMSX
  store_reg,    // STX MEM
  store_imm,    // ST MEM
  atomic,       // STX ATOMIC
  lddw,         // LD IMM DW, the first of its two slots
  packet_load,  // legacy LD ABS / LD IND
};

struct OpcodeInfo {
  Kind kind = Kind::invalid;
  uint8_t width = 0;  // operand width in bits for alu/jumps (32 or 64); access size in bytes for
                      // memory operations
};

constexpr uint8_t size_bytes(uint8_t size_bits) {
  switch (size_bits) {
    case BPF_B: return 1;
    case BPF_H: return 2;
    case BPF_W: return 4;
    default: return 8;
  }
}

constexpr OpcodeInfo classify(uint8_t code) {
  const uint8_t cls = BPF_CLASS(code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      const uint8_t op = BPF_OP(code);
      const uint8_t width = cls == BPF_ALU64 ? 64 : 32;
      if (op == BPF_END) {
        // ALU64|END|X is reserved; ALU64|END|K is bswap.
        if (cls == BPF_ALU64 && BPF_SRC(code) == BPF_X) return {};
        return {Kind::endian, width};
      }
      if (op > BPF_END) return {};
      return {Kind::alu, width};
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const uint8_t op = BPF_OP(code);
      const uint8_t width = cls == BPF_JMP ? 64 : 32;
      if (op == BPF_JA) return BPF_SRC(code) == BPF_K ? OpcodeInfo{Kind::jump, width} : OpcodeInfo{};
      if (op == BPF_CALL)
        return cls == BPF_JMP && BPF_SRC(code) == BPF_K ? OpcodeInfo{Kind::call, 64} : OpcodeInfo{};
      if (op == BPF_EXIT)
        return cls == BPF_JMP && BPF_SRC(code) == BPF_K ? OpcodeInfo{Kind::exit, 64} : OpcodeInfo{};
      if (op == BPF_JCOND)
        return cls == BPF_JMP && BPF_SRC(code) == BPF_K ? OpcodeInfo{Kind::may_goto, 64}
                                                        : OpcodeInfo{};
      if (op == 0xf0) return {};
      return {Kind::jump_cond, width};
    }
    case BPF_LDX: {
      const uint8_t mode = BPF_MODE(code);
      if (mode == BPF_MEM) return {Kind::load, size_bytes(BPF_SIZE(code))};
      if (mode == BPF_MEMSX && BPF_SIZE(code) != BPF_DW)
        return {Kind::load, size_bytes(BPF_SIZE(code))};
      return {};
    }
    case BPF_ST:
      return BPF_MODE(code) == BPF_MEM ? OpcodeInfo{Kind::store_imm, size_bytes(BPF_SIZE(code))}
                                       : OpcodeInfo{};
    case BPF_STX:
      if (BPF_MODE(code) == BPF_MEM) return {Kind::store_reg, size_bytes(BPF_SIZE(code))};
      if (BPF_MODE(code) == BPF_ATOMIC) return {Kind::atomic, size_bytes(BPF_SIZE(code))};
      return {};
    case BPF_LD:
      if (code == (BPF_LD | BPF_IMM | BPF_DW)) return {Kind::lddw, 8};
      if ((BPF_MODE(code) == BPF_ABS || BPF_MODE(code) == BPF_IND) && BPF_SIZE(code) != BPF_DW)
        return {Kind::packet_load, size_bytes(BPF_SIZE(code))};
      return {};
  }
  return {};
}

constexpr std::array<OpcodeInfo, 256> build_opcode_table() {
  std::array<OpcodeInfo, 256> table{};
  for (int code = 0; code < 256; ++code) table[code] = classify(static_cast<uint8_t>(code));
  return table;
}

inline constexpr std::array<OpcodeInfo, 256> kOpcodeTable = build_opcode_table();

constexpr bool is_alu64(uint8_t code) { return BPF_CLASS(code) == BPF_ALU64; }
constexpr bool is_jmp32(uint8_t code) { return BPF_CLASS(code) == BPF_JMP32; }
constexpr bool uses_reg_source(uint8_t code) { return BPF_SRC(code) == BPF_X; }

}  // namespace userbpf::isa
