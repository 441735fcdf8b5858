// Memory lowering: loads (zero- and sign-extending), stores, atomics with `lock`, load-acquire and
// store-release (plain moves under x86's ordering), and the legacy packet loads.
#include "jit/emitter.hpp"
#include "vm/native_code.hpp"

namespace userbpf::jit::detail {
namespace {

using Xbyak::util::eax;
using Xbyak::util::r10;
using Xbyak::util::r11;
using Xbyak::util::r11d;
using Xbyak::util::r12;
using Xbyak::util::r8;
using Xbyak::util::r9;
using Xbyak::util::rax;
using Xbyak::util::rbx;
using Xbyak::util::rcx;
using Xbyak::util::rdi;
using Xbyak::util::rdx;
using Xbyak::util::rsi;
using Xbyak::util::rsp;

Xbyak::Reg sized(const Xbyak::Reg64& r, unsigned bytes) {
  switch (bytes) {
    case 1: return r.cvt8();
    case 2: return r.cvt16();
    case 4: return r.cvt32();
    default: return r;
  }
}

}  // namespace

bool Emitter::emit_memory(const TranslatedSlot& s, size_t index) {
  const Xbyak::Reg64& r = reg(s.src);
  switch (s.op) {
    case Op::ldx8:
    case Op::load_acq8: encode_mem(0, false, false, 0x0F, 0xB6, s.dst, s.src, s.off); return true;
    case Op::ldx16:
    case Op::load_acq16: encode_mem(0, false, false, 0x0F, 0xB7, s.dst, s.src, s.off); return true;
    case Op::ldx32:
    case Op::load_acq32: encode_mem(0, false, false, 0x8B, 0, s.dst, s.src, s.off); return true;
    case Op::ldx64:
      // A reload of a slot a register still holds (stack_forwarding.cpp).
      if (!reload_from_.empty() && reload_from_[index] != kNoRegister) {
        if (reload_from_[index] != s.dst) mov(reg(s.dst), reg(reload_from_[index]));
        return true;
      }
      encode_mem(0, true, false, 0x8B, 0, s.dst, s.src, s.off);
      return true;
    case Op::load_acq64: encode_mem(0, true, false, 0x8B, 0, s.dst, s.src, s.off); return true;
    // The forms encode_mem does not cover: as the fused accesses emit them, at base + off.
    case Op::ldxsx8:
    case Op::ldxsx16:
    case Op::ldxsx32: emit_access_at(s, reg(s.src) + static_cast<int>(s.off)); return true;
    case Op::st8:
    case Op::st16:
    case Op::st32:
    case Op::st64: emit_access_at(s, reg(s.dst) + static_cast<int>(s.off)); return true;
    case Op::stx8:
    case Op::store_rel8: encode_mem(0, false, true, 0x88, 0, s.src, s.dst, s.off); return true;
    case Op::stx16:
    case Op::store_rel16: encode_mem(0x66, false, false, 0x89, 0, s.src, s.dst, s.off); return true;
    case Op::stx32:
    case Op::store_rel32: encode_mem(0, false, false, 0x89, 0, s.src, s.dst, s.off); return true;
    case Op::stx64:
    case Op::store_rel64:
      encode_mem(0, true, false, 0x89, 0, s.src, s.dst, s.off);
      return true;

      // Atomics: Linux's x86 JIT forms. Plain read-modify-writes are `lock op`; fetch_add is
      // `lock xadd`; xchg is implicitly locked; the fetching logic ops are a cmpxchg loop.
#define USERBPF_JIT_ATOMIC(W, BYTES)                                                     \
  case Op::atomic_add##W:                                                                \
    lock();                                                                              \
    add(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                      \
    return true;                                                                         \
  case Op::atomic_bor##W:                                                                \
    lock();                                                                              \
    or_(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                      \
    return true;                                                                         \
  case Op::atomic_band##W:                                                               \
    lock();                                                                              \
    and_(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                     \
    return true;                                                                         \
  case Op::atomic_bxor##W:                                                               \
    lock();                                                                              \
    xor_(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                     \
    return true;                                                                         \
  case Op::fetch_add##W:                                                                 \
    lock();                                                                              \
    xadd(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                     \
    return true;                                                                         \
  case Op::fetch_bor##W: emit_fetch_logic(s, BYTES == 8, 0); return true;                \
  case Op::fetch_band##W: emit_fetch_logic(s, BYTES == 8, 1); return true;               \
  case Op::fetch_bxor##W: emit_fetch_logic(s, BYTES == 8, 2); return true;               \
  case Op::xchg##W: xchg(mem(BYTES, s.dst, s.off), sized(r, BYTES)); return true;        \
  case Op::cmpxchg##W:                                                                   \
    lock();                                                                              \
    cmpxchg(mem(BYTES, s.dst, s.off), sized(r, BYTES));                                  \
    /* on success a 32-bit cmpxchg leaves rax's upper half alone: r0 is zero-extended */ \
    if (BYTES == 4) mov(eax, eax);                                                       \
    return true;
      USERBPF_JIT_ATOMIC(32, 4)
      USERBPF_JIT_ATOMIC(64, 8)
#undef USERBPF_JIT_ATOMIC

    case Op::ld_abs8: emit_packet_load(s, false, 1); return true;
    case Op::ld_abs16: emit_packet_load(s, false, 2); return true;
    case Op::ld_abs32: emit_packet_load(s, false, 4); return true;
    case Op::ld_ind8: emit_packet_load(s, true, 1); return true;
    case Op::ld_ind16: emit_packet_load(s, true, 2); return true;
    case Op::ld_ind32: emit_packet_load(s, true, 4); return true;
    default: return false;
  }
}

// The plain loads and stores, encoded by x86::memory: xbyak builds an Address object per memory
// operand, the largest single cost of compiling memory-heavy code. A base whose low bits are 100
// (rsp, r12) would need a SIB byte, which no eBPF register's host register does.
void Emitter::encode_mem(uint8_t prefix, bool rex_w, bool byte_reg, uint8_t opcode, uint8_t opcode2,
                         uint8_t reg_index, uint8_t base_index, int16_t off) {
  const int r = reg(reg_index).getIdx();
  const int b = reg(base_index).getIdx();
  if ((b & 7) == 4) throw Xbyak::Error(Xbyak::ERR_INTERNAL);
  put(x86::memory(prefix, rex_w, byte_reg, opcode, opcode2, r, b, off));
}

// A plain load or store (ldx, ldxsx, st, stx) `u` at `address` in place of its base + off (the
// fused forms that know a better address: emit_indexed_access, emit_inline_array_lookup).
void Emitter::emit_access_at(const TranslatedSlot& u, const Xbyak::RegExp& address) {
  const Xbyak::Reg64& d = reg(u.dst);
  const Xbyak::Reg64& v = reg(u.src);
  switch (u.op) {
    case Op::ldx8: movzx(d.cvt32(), byte[address]); break;
    case Op::ldx16: movzx(d.cvt32(), word[address]); break;
    case Op::ldx32: mov(d.cvt32(), dword[address]); break;
    case Op::ldx64: mov(d, qword[address]); break;
    case Op::ldxsx8: movsx(d, byte[address]); break;
    case Op::ldxsx16: movsx(d, word[address]); break;
    case Op::ldxsx32: movsxd(d, dword[address]); break;
    case Op::st8: mov(byte[address], static_cast<uint32_t>(u.imm) & 0xff); break;
    case Op::st16: mov(word[address], static_cast<uint32_t>(u.imm) & 0xffff); break;
    case Op::st32: mov(dword[address], static_cast<uint32_t>(u.imm)); break;
    case Op::st64: mov(qword[address], static_cast<uint64_t>(static_cast<int64_t>(u.imm))); break;
    case Op::stx8: mov(byte[address], v.cvt8()); break;
    case Op::stx16: mov(word[address], v.cvt16()); break;
    case Op::stx32: mov(dword[address], v.cvt32()); break;
    case Op::stx64: mov(qword[address], v); break;
    default: throw Xbyak::Error(Xbyak::ERR_INTERNAL);  // callers pass plain accesses only
  }
}

// src = fetch_<logic>(dst + off, src): a cmpxchg loop with rax (r0) kept in r10 meanwhile and the
// address in r9, so dst, src and r0 may be any registers (Linux's x86 JIT does the same).
void Emitter::emit_fetch_logic(const TranslatedSlot& s, bool is64, int logic) {
  const unsigned bytes = is64 ? 8 : 4;
  const Xbyak::Reg64& r = reg(s.src);
  lea(r9, ptr[reg(s.dst) + static_cast<int>(s.off)]);
  mov(r10, rax);
  const Xbyak::Reg64& operand = s.src == 0 ? r10 : r;
  const Xbyak::Address slot = is64 ? qword[r9] : dword[r9];
  if (is64)
    mov(rax, slot);
  else
    mov(eax, slot);
  const size_t retry = getSize();
  mov(r11, rax);
  const Xbyak::Reg value = sized(r11, bytes);
  if (logic == 0)
    or_(value, sized(operand, bytes));
  else if (logic == 1)
    and_(value, sized(operand, bytes));
  else
    xor_(value, sized(operand, bytes));
  lock();
  cmpxchg(slot, value);
  jump_to_offset(kNe, retry);
  if (s.src != 0) {
    if (is64)
      mov(r, rax);
    else
      mov(r.cvt32(), eax);
    mov(rax, r10);
  }
}

// Linux's bpf_gen_ld_abs(): r1 = ctx (r6), r2 = the offset, r0 = the big-endian value, and when
// the read is out of bounds the current function returns 0. r3..r5 are kept, as in the
// interpreter. The read itself is vm::native_packet_load.
void Emitter::emit_packet_load(const TranslatedSlot& s, bool indirect, unsigned size,
                               bool offset_blinded) {
  const uint64_t imm = static_cast<uint64_t>(static_cast<int64_t>(s.imm));
  if (offset_blinded) {
    // r10 is kAx: it holds the sign-extended immediate.
    if (indirect) add(r10, reg(s.src));
  } else if (indirect) {
    mov(r10, reg(s.src));
    add(r10, static_cast<uint32_t>(s.imm));
  } else {
    mov(r10, imm);
  }
  push(rdx);
  push(rcx);
  push(r8);
  push(r10);  // four pushes: the stack stays 16-byte aligned for the call
  mov(rdi, r12);
  mov(rsi, r10);
  mov(edx, size);
  mov(rax, reinterpret_cast<uint64_t>(&vm::native_packet_load));
  call(rax);
  mov(r11, rdx);  // ok
  pop(rsi);       // r2 = the offset
  pop(r8);
  pop(rcx);
  pop(rdx);
  mov(rdi, rbx);  // r1 = r6
  test(r11, r11);
  jump_to_offset(kE, return_zero_offset_);
}

}  // namespace userbpf::jit::detail
