// Constant blinding (CompileOptions::blind_constants), Linux's bpf_jit_blind_constants done while
// emitting: an instruction with an immediate is emitted as its register-source form reading kAx
// (Linux's BPF_REG_AX), after kAx = (imm ^ rnd) ^ rnd with a fresh random rnd per instruction. The
// bytes in executable memory are imm ^ rnd and rnd, never a value the program chose, so a program
// cannot plant instruction sequences of its own in the code (JIT spraying).
//
// As in Linux: ALU immediates except shift counts (at most 63 after masking), conditional jumps
// against an immediate, ST stores, lddw (both halves), LD_ABS/LD_IND offsets; `mov dst, 0` becomes
// `xor dst, dst`. 32-bit forms load kAx with 32-bit operations (the value the 32-bit operation
// reads), 64-bit forms with sign-extending 64-bit ones (the value sign-extended, as the immediate).
#include "jit/emitter.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::r10;
using Xbyak::util::r10d;

// The register-source form of an immediate-source operation is at a fixed distance before it.
constexpr int kAluRegToImm = static_cast<int>(Op::add64_imm) - static_cast<int>(Op::add64_reg);
constexpr int kJccRegToImm = static_cast<int>(Op::jeq64_imm) - static_cast<int>(Op::jeq64_reg);
static_assert(static_cast<int>(Op::arsh64_imm) - static_cast<int>(Op::arsh64_reg) == kAluRegToImm);
static_assert(static_cast<int>(Op::add32_imm) - static_cast<int>(Op::add32_reg) == kAluRegToImm);
static_assert(static_cast<int>(Op::arsh32_imm) - static_cast<int>(Op::arsh32_reg) == kAluRegToImm);
static_assert(static_cast<int>(Op::jsle64_imm) - static_cast<int>(Op::jsle64_reg) == kJccRegToImm);
static_assert(static_cast<int>(Op::jeq32_imm) - static_cast<int>(Op::jeq32_reg) == kJccRegToImm);
static_assert(static_cast<int>(Op::jsle32_imm) - static_cast<int>(Op::jsle32_reg) == kJccRegToImm);

bool in(Op op, Op first, Op last) {
  return first <= op && op <= last;
}

Op minus(Op op, int distance) {
  return static_cast<Op>(static_cast<int>(op) - distance);
}

bool is_shift(Op reg_form) {
  return reg_form == Op::lsh64_reg || reg_form == Op::rsh64_reg || reg_form == Op::arsh64_reg ||
         reg_form == Op::lsh32_reg || reg_form == Op::rsh32_reg || reg_form == Op::arsh32_reg;
}

int64_t sign_extended(uint32_t value) {
  return static_cast<int32_t>(value);
}

}  // namespace

uint32_t Emitter::blinding_value() {
  uint32_t value = 0;
  while (value == 0) value = static_cast<uint32_t>(blinding_rng_());  // 0 would blind nothing
  return value;
}

bool Emitter::emit_blinded(const TranslatedSlot& s, size_t index) {
  const Op op = s.op;
  const uint32_t imm = static_cast<uint32_t>(s.imm);
  // kAx = the immediate, 64-bit (sign-extended) or 32-bit, without the immediate in the code.
  auto load_ax = [&](bool is64) {
    const uint32_t rnd = blinding_value();
    if (is64) {
      mov(r10, static_cast<uint64_t>(sign_extended(imm ^ rnd)));
      xor_(r10, rnd);  // imm32, sign-extended by the CPU
    } else {
      mov(r10d, imm ^ rnd);
      xor_(r10d, rnd);
    }
  };
  TranslatedSlot with_ax = s;
  with_ax.src = kAx;
  with_ax.imm = 0;

  const bool alu64 = in(op, Op::add64_imm, Op::arsh64_imm);
  if (alu64 || in(op, Op::add32_imm, Op::arsh32_imm)) {
    with_ax.op = minus(op, kAluRegToImm);
    if (is_shift(with_ax.op)) return false;
    if ((with_ax.op == Op::mov64_reg || with_ax.op == Op::mov32_reg) && s.imm == 0) {
      xor_(reg(s.dst).cvt32(), reg(s.dst).cvt32());
      return true;
    }
    load_ax(alu64);
    emit_alu(with_ax);
    return true;
  }
  const bool jmp64 = in(op, Op::jeq64_imm, Op::jsle64_imm);
  if (jmp64 || in(op, Op::jeq32_imm, Op::jsle32_imm)) {
    with_ax.op = minus(op, kJccRegToImm);
    load_ax(jmp64);
    emit_jump(with_ax, index);
    return true;
  }
  switch (op) {
    case Op::st8: with_ax.op = Op::stx8; break;
    case Op::st16: with_ax.op = Op::stx16; break;
    case Op::st32: with_ax.op = Op::stx32; break;
    case Op::st64: with_ax.op = Op::stx64; break;
    case Op::lddw: {
      // dst = rnd64; kAx = value ^ rnd64; dst ^= kAx.
      const uint64_t value = program_.translated[index + 1].value;
      const uint64_t rnd = (static_cast<uint64_t>(blinding_value()) << 32) | blinding_value();
      const Xbyak::Reg64& d = reg(s.dst);
      mov(r10, value ^ rnd);
      mov(d, rnd);
      xor_(d, r10);
      return true;
    }
    case Op::ld_abs8:
    case Op::ld_abs16:
    case Op::ld_abs32:
    case Op::ld_ind8:
    case Op::ld_ind16:
    case Op::ld_ind32: {
      const bool indirect = in(op, Op::ld_ind8, Op::ld_ind32);
      const unsigned size = op == Op::ld_abs8 || op == Op::ld_ind8     ? 1
                            : op == Op::ld_abs16 || op == Op::ld_ind16 ? 2
                                                                       : 4;
      load_ax(true);
      emit_packet_load(s, indirect, size, /*offset_blinded=*/true);
      return true;
    }
    default: return false;
  }
  load_ax(true);  // a store writes the low bytes of the sign-extended immediate
  emit_memory(with_ax, index);
  return true;
}

}  // namespace userbpf::jit::detail
