// ALU lowering: Linux's semantics on x86-64. 32-bit forms write the 32-bit register, which the CPU
// zero-extends; where an x86 form would not write it (a shift by 0), an explicit mov does.
#include "jit/basic_blocks.hpp"
#include "jit/emitter.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::eax;
using Xbyak::util::edx;
using Xbyak::util::r10;
using Xbyak::util::r11;
using Xbyak::util::r11d;
using Xbyak::util::r9;
using Xbyak::util::rax;
using Xbyak::util::rcx;
using Xbyak::util::rdx;

enum class Base { add, sub, mul, div, sdiv, bor, band, lsh, rsh, mod, smod, bxor, mov, arsh };

struct AluForm {
  Base base;
  bool is64;
  bool reg;
};

bool alu_form(Op op, AluForm* out) {
#define USERBPF_JIT_ALU(name)                                           \
  case Op::name##64_reg: *out = {Base::name, true, true}; return true;  \
  case Op::name##64_imm: *out = {Base::name, true, false}; return true; \
  case Op::name##32_reg: *out = {Base::name, false, true}; return true; \
  case Op::name##32_imm: *out = {Base::name, false, false}; return true;
  switch (op) {
    USERBPF_JIT_ALU(add)
    USERBPF_JIT_ALU(sub)
    USERBPF_JIT_ALU(mul)
    USERBPF_JIT_ALU(div)
    USERBPF_JIT_ALU(sdiv)
    USERBPF_JIT_ALU(bor)
    USERBPF_JIT_ALU(band)
    USERBPF_JIT_ALU(lsh)
    USERBPF_JIT_ALU(rsh)
    USERBPF_JIT_ALU(mod)
    USERBPF_JIT_ALU(smod)
    USERBPF_JIT_ALU(bxor)
    USERBPF_JIT_ALU(mov)
    USERBPF_JIT_ALU(arsh)
    default: return false;
  }
#undef USERBPF_JIT_ALU
}

// The immediate as the operation sees it: sign-extended to 64 bits, or its 32 bits.
uint64_t imm_operand(int32_t imm, bool is64) {
  return is64 ? static_cast<uint64_t>(static_cast<int64_t>(imm)) : static_cast<uint32_t>(imm);
}

}  // namespace

void Emitter::emit_alu(const TranslatedSlot& s) {
  AluForm f;
  if (!alu_form(s.op, &f)) {
    emit_other_alu(s);
    return;
  }
  const Xbyak::Reg64& d64 = reg(s.dst);
  const Xbyak::Reg64& s64 = reg(s.src);
  const Xbyak::Reg d = f.is64 ? Xbyak::Reg(d64) : Xbyak::Reg(d64.cvt32());
  const Xbyak::Reg r = f.is64 ? Xbyak::Reg(s64) : Xbyak::Reg(s64.cvt32());
  const uint32_t imm = static_cast<uint32_t>(s.imm);  // x86 sign-extends imm32 in 64-bit forms

  switch (f.base) {
    case Base::add: f.reg ? add(d, r) : add(d, imm); return;
    case Base::sub: f.reg ? sub(d, r) : sub(d, imm); return;
    case Base::bor: f.reg ? or_(d, r) : or_(d, imm); return;
    case Base::band: f.reg ? and_(d, r) : and_(d, imm); return;
    case Base::bxor: f.reg ? xor_(d, r) : xor_(d, imm); return;
    case Base::mul:
      if (f.reg)
        imul(d, r);
      else
        imul(d, d, static_cast<int>(s.imm));
      return;
    case Base::mov:
      if (f.reg) {
        if (f.is64 && s.dst == s.src) return;
        mov(d, r);
      } else if (s.imm == 0) {
        // Flags never live from one eBPF instruction to the next, so the shorter xor serves.
        xor_(d64.cvt32(), d64.cvt32());
      } else if (f.is64) {
        mov(d64, imm_operand(s.imm, true));
      } else {
        mov(d, imm);
      }
      return;
    case Base::div: emit_div(s, f.is64, f.reg, false, false); return;
    case Base::mod: emit_div(s, f.is64, f.reg, false, true); return;
    case Base::sdiv: emit_div(s, f.is64, f.reg, true, false); return;
    case Base::smod: emit_div(s, f.is64, f.reg, true, true); return;
    case Base::lsh: emit_shift(s, f.is64, f.reg, 0); return;
    case Base::rsh: emit_shift(s, f.is64, f.reg, 1); return;
    case Base::arsh: emit_shift(s, f.is64, f.reg, 2); return;
  }
}

// True when `reg` holds a value below `limit` as instruction `index` starts, by what last wrote it
// on every path there: a 32-bit ALU result, a narrow load, x >> k, x & a non-negative
// immediate, a non-negative immediate, or a move from a register that is one. What clang makes
// of u32 arithmetic on eBPF before v3, whose ALU works on 64 bits, and of byte and half-word
// loads. The search walks back through straight-line code, over calls for r6..r9 (which calls
// keep), and at an instruction jumps land on into each of its predecessors; `depth` bounds the
// moves and landings it follows, kScanSteps the instructions it looks at, so a loop ends it
// (unknown) rather than going round.
namespace {
// Does `s` leave `reg` as it was? Calls keep r6..r9.
bool keeps_register(const TranslatedSlot& s, uint8_t reg) {
  switch (register_effect(s.op)) {
    case RegisterEffect::none: return true;
    case RegisterEffect::dst: return s.dst != reg;
    case RegisterEffect::unknown:
      return (s.op == Op::call_helper || s.op == Op::call_local) && reg >= 6 && reg <= 9;
  }
  return false;
}
}  // namespace

bool Emitter::known_below(size_t index, uint8_t reg, uint64_t limit, int depth) {
  int steps = kScanSteps;
  return below_on_arrival(index, reg, limit, depth, steps);
}

bool Emitter::below_on_arrival(size_t point, uint8_t reg, uint64_t limit, int depth, int& steps) {
  for (;;) {
    if (point == 0 || point >= program_.insn_count || is_function_[point] || --steps < 0)
      return false;
    if (lands_inside(point, point)) {
      if (--depth < 0) return false;
      // Every way in: the jumps that land here and the instruction before, if it falls in.
      const TranslatedSlot& before = program_.translated[point - 1];
      const bool falls_in = falls_through(before.op);
      if (falls_in && !below_after(point - 1, reg, limit, depth, steps)) return false;
      for (const uint32_t source : jump_sources(point))
        if (!below_after(source, reg, limit, depth, steps)) return false;
      return true;
    }
    const size_t i = point - 1;
    if (!keeps_register(program_.translated[i], reg))
      return below_after(i, reg, limit, depth, steps);
    point = i;
  }
}

// After instruction i, along the way out of it the search came by.
bool Emitter::below_after(size_t i, uint8_t reg, uint64_t limit, int depth, int& steps) {
  const TranslatedSlot& s = program_.translated[i];
  if (s.op == Op::lddw_tail) return i > 0 && below_after(i - 1, reg, limit, depth, steps);
  if (keeps_register(s, reg)) return below_on_arrival(i, reg, limit, depth, steps);
  if (register_effect(s.op) == RegisterEffect::unknown) return false;
  // The exclusive upper bound of what the instruction leaves in `reg`, 0 when unknown.
  const auto bits = [](unsigned n) { return n >= 64 ? uint64_t{0} : uint64_t{1} << n; };
  uint64_t bound = 0;
  switch (s.op) {
    case Op::ldx8:
    case Op::load_acq8: bound = bits(8); break;
    case Op::ldx16:
    case Op::load_acq16:
    case Op::trunc16:
    case Op::swap16: bound = bits(16); break;
    case Op::mov32_imm: bound = uint64_t{static_cast<uint32_t>(s.imm)} + 1; break;
    case Op::band32_imm:
    case Op::band64_imm:
      bound = s.imm >= 0 ? uint64_t(s.imm) + 1 : s.op == Op::band32_imm ? bits(32) : 0;
      break;
    case Op::mov64_imm: bound = s.imm >= 0 ? uint64_t(s.imm) + 1 : 0; break;
    case Op::rsh64_imm: bound = bits(64 - (s.imm & 63)); break;
    case Op::lddw: {
      const uint64_t value = program_.translated[i + 1].value;
      bound = value == UINT64_MAX ? 0 : value + 1;
      break;
    }
    case Op::mov64_reg:
      return depth > 0 && s.src != reg && below_on_arrival(i, s.src, limit, depth - 1, steps);
    default:
      if ((Op::add32_reg <= s.op && s.op <= Op::arsh32_imm) || s.op == Op::neg32 ||
          s.op == Op::movsx32_8 || s.op == Op::movsx32_16 || s.op == Op::trunc32 ||
          s.op == Op::swap32 || s.op == Op::ldx32 || s.op == Op::load_acq32)
        bound = bits(32);
  }
  return bound != 0 && bound <= limit;
}

// rdx:rax = rax / r11 and rax % r11 (64-bit unsigned, r11 not 0). Both operands below 2^32
// (zero-extended 32-bit values, what clang's u32 arithmetic gives) take the 32-bit divide, exact
// then and faster on most x86 cores (LLVM bypasses the 64-bit one so too): without a test when
// `narrow` says they are known to be, else after testing their high halves.
void Emitter::emit_unsigned_divide(bool narrow) {
  if (narrow) {
    xor_(edx, edx);
    div(r11d);
    return;
  }
  mov(rdx, rax);
  or_(rdx, r11);
  shr(rdx, 32);
  const size_t wide = short_jump_placeholder(kNe);
  div(r11d);  // edx is 0; the 32-bit quotient and remainder are zero-extended
  const size_t narrow_done = short_jump_placeholder(kAlways);
  bind_short(wide);
  xor_(edx, edx);
  div(r11);
  bind_short(narrow_done);
}

// Division and modulo after Linux's verifier fixups: x / 0 = 0, x % 0 = x, signed x / -1 = -x and
// signed x % -1 = 0 (x86's idiv would trap on INT_MIN / -1). div/idiv need rax:rdx (r0, r3), so
// those are kept in r10/r9 around it; the divisor goes to r11.
void Emitter::emit_div(const TranslatedSlot& s, bool is64, bool regsrc, bool is_signed,
                       bool modulo) {
  const Xbyak::Reg64& d64 = reg(s.dst);
  const Xbyak::Reg d = is64 ? Xbyak::Reg(d64) : Xbyak::Reg(d64.cvt32());
  const Xbyak::Reg divisor = is64 ? Xbyak::Reg(r11) : Xbyak::Reg(r11d);
  size_t to_zero = 0, to_minus_one = 0;  // short forward jumps, bound below
  if (!regsrc) {
    if (s.imm == 0) {
      if (!modulo)
        xor_(d64.cvt32(), d64.cvt32());
      else if (!is64)
        mov(d64.cvt32(), d64.cvt32());
      return;
    }
    if (is_signed && s.imm == -1) {
      if (!modulo)
        neg(d);
      else
        xor_(d64.cvt32(), d64.cvt32());
      return;
    }
    mov(r11, imm_operand(s.imm, is64));
  } else {
    const Xbyak::Reg64& s64 = reg(s.src);
    if (is64)
      mov(r11, s64);
    else
      mov(r11d, s64.cvt32());
    test(divisor, divisor);
    to_zero = short_jump_placeholder(kE);
    if (is_signed) {
      cmp(divisor, -1);
      to_minus_one = short_jump_placeholder(kE);
    }
  }
  const bool dst_is_rax = s.dst == 0;
  const bool dst_is_rdx = s.dst == 3;
  if (!dst_is_rax) mov(r10, rax);
  if (!dst_is_rdx) mov(r9, rdx);
  if (is64)
    mov(rax, d64);
  else
    mov(eax, d64.cvt32());
  if (is_signed) {
    if (is64)
      cqo();
    else
      cdq();
    idiv(divisor);
  } else if (is64) {
    emit_unsigned_divide((regsrc ? known_below(index_, s.src, kBelow2To32) : s.imm > 0) &&
                         known_below(index_, s.dst, kBelow2To32));
  } else {
    xor_(edx, edx);
    div(divisor);
  }
  const Xbyak::Reg64& result = modulo ? rdx : rax;
  if (is64)
    mov(d64, result);
  else
    mov(d64.cvt32(), result.cvt32());
  if (!dst_is_rax) mov(rax, r10);
  if (!dst_is_rdx) mov(rdx, r9);
  if (!regsrc) return;
  const size_t done_from_division = short_jump_placeholder(kAlways);
  bind_short(to_zero);
  if (!modulo)
    xor_(d64.cvt32(), d64.cvt32());
  else if (!is64)
    mov(d64.cvt32(), d64.cvt32());
  if (is_signed) {
    const size_t done_from_zero = short_jump_placeholder(kAlways);
    bind_short(to_minus_one);
    if (!modulo)
      neg(d);
    else
      xor_(d64.cvt32(), d64.cvt32());
    bind_short(done_from_zero);
  }
  bind_short(done_from_division);
}

// kind: 0 lsh, 1 rsh, 2 arsh. The count is masked to the width (& 63 or & 31), as x86 does.
void Emitter::emit_shift(const TranslatedSlot& s, bool is64, bool regsrc, int kind) {
  const Xbyak::Reg64& d64 = reg(s.dst);
  const Xbyak::Reg d = is64 ? Xbyak::Reg(d64) : Xbyak::Reg(d64.cvt32());
  auto shift_cl = [&](const Xbyak::Reg& target) {
    if (kind == 0)
      shl(target, Xbyak::util::cl);
    else if (kind == 1)
      shr(target, Xbyak::util::cl);
    else
      sar(target, Xbyak::util::cl);
  };
  if (!regsrc) {
    const int count = s.imm & (is64 ? 63 : 31);
    if (count == 0) {
      if (!is64) mov(d, d);  // the 32-bit result is still zero-extended
      return;
    }
    if (kind == 0)
      shl(d, count);
    else if (kind == 1)
      shr(d, count);
    else
      sar(d, count);
    return;
  }
  const Xbyak::Reg64& s64 = reg(s.src);
  if (bmi2_) {
    const Xbyak::Reg32e dx = is64 ? Xbyak::Reg32e(d64) : Xbyak::Reg32e(d64.cvt32());
    const Xbyak::Reg32e rx = is64 ? Xbyak::Reg32e(s64) : Xbyak::Reg32e(s64.cvt32());
    if (kind == 0)
      shlx(dx, dx, rx);
    else if (kind == 1)
      shrx(dx, dx, rx);
    else
      sarx(dx, dx, rx);
    return;
  }
  // x86 shifts by cl, and cl is r4's: keep r4 in r11 meanwhile. A 32-bit shift by 0 leaves the
  // upper half alone, so 32-bit forms end with an explicit zero-extension.
  if (s.src == 4) {
    shift_cl(d);
  } else {
    mov(r11, rcx);
    mov(rcx, s64);
    if (s.dst == 4) {
      const Xbyak::Reg saved = is64 ? Xbyak::Reg(r11) : Xbyak::Reg(r11d);
      shift_cl(saved);
      mov(rcx, r11);
    } else {
      shift_cl(d);
      mov(rcx, r11);
    }
  }
  if (!is64) mov(d, d);
}

void Emitter::emit_other_alu(const TranslatedSlot& s) {
  const Xbyak::Reg64& d = reg(s.dst);
  const Xbyak::Reg64& r = reg(s.src);
  switch (s.op) {
    case Op::neg64: neg(d); return;
    case Op::neg32: neg(d.cvt32()); return;
    case Op::movsx64_8: movsx(d, r.cvt8()); return;
    case Op::movsx64_16: movsx(d, r.cvt16()); return;
    case Op::movsx64_32: movsxd(d, r.cvt32()); return;
    case Op::movsx32_8: movsx(d.cvt32(), r.cvt8()); return;
    case Op::movsx32_16: movsx(d.cvt32(), r.cvt16()); return;
    case Op::nop: return;
    case Op::trunc16: movzx(d.cvt32(), d.cvt16()); return;
    case Op::trunc32: mov(d.cvt32(), d.cvt32()); return;
    case Op::swap16:
      rol(d.cvt16(), 8);
      movzx(d.cvt32(), d.cvt16());
      return;
    case Op::swap32: bswap(d.cvt32()); return;
    case Op::swap64: bswap(d); return;
    default: throw Xbyak::Error(Xbyak::ERR_INTERNAL);
  }
}

}  // namespace userbpf::jit::detail
