// Instruction sequences the JIT emits as one. Each rewrite keeps every register's value at every
// instruction boundary a jump can reach, so it only applies where no jump or call lands after its
// first instruction.
//
// - eBPF before v3 has no zero-extending 32-bit move, so clang writes `(u64)(u32)x` as
//   `x <<= 32; x >>= 32` (and a sign extension with `s>>=`): two dependent shifts where x86 needs
//   one 32-bit move, which also costs nothing on CPUs that eliminate moves.
// - A conditional jump over an unconditional one, `if c goto +1; goto T` (clang's usual loop
//   latch: leave when done, else back to the head), as one inverted jump `if !c goto T`: one
//   branch instead of two on every pass through the loop.
// - Unsigned remainder as clang writes it for eBPF, `a = b; a /= c; a *= c; b -= a`: one x86
//   divide leaves the remainder in rdx, so b = remainder and a = b - remainder (= quotient * c)
//   without the multiply, and with Linux's b % 0 = b (a = 0) kept.
// - A copy and an add, `a = b; a += c` or `a = b; a += imm` (clang's pointer arithmetic), as one
//   `lea`: three-operand, so neither the copy nor its dependency is left.
// - A copy and an add followed by a load or store through the sum, `a = b; a += c; x = *(a +
//   off)` (clang's `p[i]`: eBPF has no indexed addressing), as one access at [b + c + off] when
//   nothing reads a afterwards (or the load replaces it): no lea, and the load's address is
//   ready a cycle sooner.
// - A constant moved into a register only to be compared, `k = imm; if k > x goto L` (eBPF
//   compares a register with an immediate only on the right, so clang writes `CONST < x` so), as
//   `cmp x, imm` with the condition turned around, when nothing reads k afterwards on either path:
//   no move, and x's compare does not wait for it.
// - A load only compared with a constant, `x = *(u8 *)(p + off); if x != imm goto L` (a packet
//   parser's field checks), as `cmp byte [p + off], imm` (`test` for jset) when nothing reads x
//   afterwards on either path. Narrower than the compare, the loaded value is zero-extended:
//   the compare of the loaded width is exact for an immediate in its unsigned range, where the
//   signed orders are the unsigned ones.
// - A copy and the extension pair, `a = b; a <<= 32; a >>= 32` (or `s>>=`): clang's
//   `(u64)(u32)b` into another register, one 32-bit (or sign-extending) move from b.
//
// Measured and left out: if-conversion (a conditional jump over one to three ALU instructions as
// cmov) made state_machine ~5% faster but log2_array ~35% slower, whose branches are mostly
// predictable and whose cmov chains then became the critical path (bench/RESULTS.md).
#include "jit/emitter.hpp"
#include "jit/register_use.hpp"

namespace userbpf::jit::detail {

bool Emitter::lands_inside(size_t first, size_t last) {
  if (jump_target_.empty()) {
    // Built on first use: most programs never ask.
    const size_t n = program_.insn_count;
    jump_target_.assign(n, false);
    for (size_t i = 0; i < n; ++i) {
      int64_t delta;
      if (!jump_delta(program_.translated[i], delta)) continue;
      const int64_t target = static_cast<int64_t>(i) + 1 + delta;
      if (target >= 0 && static_cast<size_t>(target) < n)
        jump_target_[static_cast<size_t>(target)] = true;
    }
  }
  for (size_t i = first; i <= last; ++i)
    if (jump_target_[i] || is_function_[i]) return true;
  return false;
}

std::span<const uint32_t> Emitter::jump_sources(size_t target) {
  const size_t n = program_.insn_count;
  if (source_start_.empty()) {
    // Counting sort of (target, source) by target: two passes over the jumps.
    source_start_.assign(n + 1, 0);
    const auto target_of = [&](size_t i, size_t& out) {
      int64_t delta;
      if (!jump_delta(program_.translated[i], delta)) return false;
      const int64_t t = static_cast<int64_t>(i) + 1 + delta;
      if (t < 0 || static_cast<size_t>(t) >= n) return false;
      out = static_cast<size_t>(t);
      return true;
    };
    size_t t;
    for (size_t i = 0; i < n; ++i)
      if (target_of(i, t)) ++source_start_[t + 1];
    for (size_t i = 0; i < n; ++i) source_start_[i + 1] += source_start_[i];
    sources_.resize(source_start_[n]);
    std::vector<uint32_t> fill(source_start_.begin(), source_start_.end() - 1);
    for (size_t i = 0; i < n; ++i)
      if (target_of(i, t)) sources_[fill[t]++] = static_cast<uint32_t>(i);
  }
  if (target >= n) return {};
  return {sources_.data() + source_start_[target],
          source_start_[target + 1] - source_start_[target]};
}

size_t Emitter::emit_fused(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  // Blinded programs keep their immediates in kAx, one instruction at a time.
  if (options_.blind_constants || index + 1 >= program_.insn_count) return 0;
  if (s.op >= Op::jeq64_reg && s.op <= Op::jsle32_imm) return emit_inverted_jump(index);
  if (s.op == Op::mov64_imm || s.op == Op::mov32_imm) return emit_constant_compare(index);
  if (Op::ldx8 <= s.op && s.op <= Op::ldx64) return emit_load_compare(index);
  if (s.op == Op::mov64_reg) {
    if (const size_t n = emit_remainder(index)) return n;
    if (const size_t n = emit_copy_extend(index)) return n;
    return emit_copy_add(index);
  }
  if (s.op != Op::lsh64_imm || s.imm != 32) return 0;
  const TranslatedSlot& t = program_.translated[index + 1];
  if ((t.op != Op::rsh64_imm && t.op != Op::arsh64_imm) || t.imm != 32 || t.dst != s.dst ||
      lands_inside(index + 1, index + 1))
    return 0;
  const Xbyak::Reg64& r = reg(s.dst);
  if (t.op == Op::rsh64_imm)
    mov(r.cvt32(), r.cvt32());
  else
    movsxd(r, r.cvt32());
  insn_offsets[index + 1] = insn_offsets[index];
  return 2;
}

size_t Emitter::emit_inverted_jump(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  const TranslatedSlot& t = program_.translated[index + 1];
  // `goto -1` would land on itself (only unverified programs loop so, and they never get here).
  // `goto +0` as the second would make both targets the same instruction, which the threading
  // in jump_to_insn (jump_threading.cpp) would take for this jump's own target: left apart.
  if (s.off != 1 || t.op != Op::ja || t.imm == -1 || t.imm == 0 ||
      lands_inside(index + 1, index + 1))
    return 0;
  const uint8_t cc = emit_compare(s);
  // x86 condition codes come in pairs that differ in the lowest bit: cc ^ 1 is "not cc".
  jump_to_insn(static_cast<uint8_t>(cc ^ 1), index + 2 + static_cast<size_t>(int64_t{t.imm}),
               index);
  insn_offsets[index + 1] = static_cast<uint32_t>(getSize());
  return 2;
}

size_t Emitter::emit_copy_add(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  const TranslatedSlot& t = program_.translated[index + 1];
  const uint8_t a = s.dst, b = s.src;
  if (a == b || t.dst != a || (t.op != Op::add64_imm && t.op != Op::add64_reg) ||
      lands_inside(index + 1, index + 1))
    return 0;
  if (t.op == Op::add64_imm) {
    lea(reg(a), ptr[reg(b) + t.imm]);
    insn_offsets[index + 1] = insn_offsets[index];
    return 2;
  }
  if (const size_t n = emit_indexed_access(index)) return n;
  const uint8_t c = t.src == a ? b : t.src;  // after the copy, a holds b
  // `a = b; a += c; a += k` (clang's b + c + k): lea a, [b + k]; add a, c. Two instructions
  // either way, but c then reaches a in one cycle rather than two, for a sum carried around a
  // loop through c (array_map_loop's: no measurable change there, bench/RESULTS.md).
  if (index + 2 < program_.insn_count) {
    const TranslatedSlot& u = program_.translated[index + 2];
    if (u.op == Op::add64_imm && u.dst == a && !skip_[index + 2] &&
        !lands_inside(index + 2, index + 2)) {
      lea(reg(a), ptr[reg(b) + u.imm]);
      add(reg(a), reg(c));
      insn_offsets[index + 1] = insn_offsets[index + 2] = insn_offsets[index];
      return 3;
    }
  }
  lea(reg(a), ptr[reg(b) + reg(c)]);
  insn_offsets[index + 1] = insn_offsets[index];
  return 2;
}

// `a = b; a += c`, then accesses through a in straight-line code, with instructions between them
// that leave a, b and c alone (byte_reverse's `r5 = r1; r5 += r3; r0 = *(u8 *)(r5 + 0); r6 =
// *(u8 *)(r4 + 0); *(u8 *)(r5 + 0) = r6`), and a dead after the last (or replaced by it): every
// access at [b + c + off], no sum computed. Returns the instructions covered, 0 when it does not
// apply.
size_t Emitter::emit_indexed_access(size_t index) {
  constexpr size_t kScan = 8;
  const size_t n = program_.insn_count;
  const TranslatedSlot* t = &program_.translated[index];
  const uint8_t a = t[0].dst, b = t[0].src;
  const uint8_t c = t[1].src == a ? b : t[1].src;  // after the copy, a holds b
  const uint16_t kept = static_cast<uint16_t>(bit(a) | bit(b) | bit(c));
  const auto through_a = [&](const TranslatedSlot& u) {
    const bool load = u.op >= Op::ldx8 && u.op <= Op::ldxsx32;
    const bool store = u.op >= Op::st8 && u.op <= Op::stx64;
    // The stored register must not be a: its value is the sum, which this never computes.
    return load ? u.src == a : store && u.dst == a && !(u.op >= Op::stx8 && u.src == a);
  };
  size_t last = SIZE_MAX;
  for (size_t k = index + 2; k < n && k < index + 2 + kScan; ++k) {
    const TranslatedSlot& u = program_.translated[k];
    if (skip_[k] || is_function_[k] || lands_inside(index + 1, k) ||
        (!emitted_with_lookup_.empty() && emitted_with_lookup_[k]))
      break;
    const RegisterUse use = register_use(u);
    if (through_a(u)) {
      last = k;
      if (use.writes & kept) break;  // a load into a, b or c: the last one
      continue;
    }
    // Between accesses: a plain ALU operation, load or store that neither reads a nor writes
    // a, b or c (emitted as it is).
    const RegisterEffect effect = register_effect(u.op);
    const bool plain = effect == RegisterEffect::dst
                           ? u.op != Op::lddw
                           : effect == RegisterEffect::none && u.op >= Op::st8 && u.op <= Op::stx64;
    if (!plain || (use.reads & bit(a)) || (use.writes & kept)) break;
  }
  if (last == SIZE_MAX) return 0;
  const TranslatedSlot& final_access = program_.translated[last];
  const bool replaces_a =
      final_access.op >= Op::ldx8 && final_access.op <= Op::ldxsx32 && final_access.dst == a;
  if (!replaces_a && !dead_after(last, a)) return 0;
  insn_offsets[index + 1] = insn_offsets[index];
  for (size_t k = index + 2; k <= last; ++k) {
    const TranslatedSlot& u = program_.translated[k];
    if (k != index + 2) insn_offsets[k] = static_cast<uint32_t>(getSize());
    if (through_a(u))
      emit_access_at(u, reg(b) + reg(c) + static_cast<int>(u.off));
    else
      emit_insn(k);
  }
  insn_offsets[index + 2] = insn_offsets[index];
  return last - index + 1;
}

size_t Emitter::emit_constant_compare(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  const TranslatedSlot& t = program_.translated[index + 1];
  const uint8_t k = s.dst;
  const bool reg64 = t.op >= Op::jeq64_reg && t.op <= Op::jsle64_reg;
  const bool reg32 = t.op >= Op::jeq32_reg && t.op <= Op::jsle32_reg;
  if ((!reg64 && !reg32) || (t.dst == k) == (t.src == k) || k >= 10 ||
      lands_inside(index + 1, index + 1))
    return 0;
  // A 64-bit compare sign-extends its 32-bit immediate, as mov64 does; mov32 zero-extends, which
  // only a negative immediate tells apart.
  if (reg64 && s.op == Op::mov32_imm && s.imm < 0) return 0;
  if (!dead_after_jump(index + 1, k)) return 0;
  // The register-form jump as the immediate form on the other operand: `k op x` is `x op' k`.
  static constexpr uint8_t kSwapped[11] = {0, 7, 8, 3, 4, 9, 10, 1, 2, 5, 6};
  const Op first = reg64 ? Op::jeq64_reg : Op::jeq32_reg;
  const Op first_imm = reg64 ? Op::jeq64_imm : Op::jeq32_imm;
  uint16_t cond = static_cast<uint16_t>(static_cast<uint16_t>(t.op) - static_cast<uint16_t>(first));
  TranslatedSlot compare = t;
  if (t.dst == k) {
    cond = kSwapped[cond];
    compare.dst = t.src;
  }
  compare.op = static_cast<Op>(static_cast<uint16_t>(first_imm) + cond);
  compare.src = 0;
  compare.imm = s.imm;
  const uint8_t cc = emit_compare(compare);
  jump_to_insn(cc, index + 2 + static_cast<size_t>(static_cast<int64_t>(t.off)), index + 1);
  insn_offsets[index + 1] = insn_offsets[index];
  return 2;
}

size_t Emitter::emit_load_compare(size_t index) {
  const TranslatedSlot& s = program_.translated[index];
  const TranslatedSlot& t = program_.translated[index + 1];
  const unsigned bytes = s.op == Op::ldx8 ? 1 : s.op == Op::ldx16 ? 2 : s.op == Op::ldx32 ? 4 : 8;
  const bool jump64 = Op::jeq64_imm <= t.op && t.op <= Op::jsle64_imm;
  const bool jump32 = Op::jeq32_imm <= t.op && t.op <= Op::jsle32_imm;
  if ((!jump64 && !jump32) || t.dst != s.dst || skip_[index + 1] ||
      lands_inside(index + 1, index + 1))
    return 0;
  // A reload that stack_forwarding.cpp takes from a register is no load.
  if (s.op == Op::ldx64 && !reload_from_.empty() && reload_from_[index] != kNoRegister) return 0;
  enum Cond { c_jeq, c_jgt, c_jge, c_jset, c_jne, c_jsgt, c_jsge, c_jlt, c_jle, c_jslt, c_jsle };
  const auto cond = static_cast<Cond>(
      static_cast<uint16_t>(t.op) - static_cast<uint16_t>(jump64 ? Op::jeq64_imm : Op::jeq32_imm));
  const unsigned compared = jump64 ? 8 : 4;
  // The x86 condition of each eBPF one; a narrow load's compares are all unsigned (see above).
  static constexpr uint8_t kSame[] = {kE, kA, kAe, kNe, kNe, kG, kGe, kB, kBe, kL, kLe};
  static constexpr uint8_t kUnsigned[] = {kE, kA, kAe, kNe, kNe, kA, kAe, kB, kBe, kB, kBe};
  const bool narrow = bytes < compared;
  const uint64_t largest = bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
  if (narrow && cond != c_jset && (t.imm < 0 || static_cast<uint64_t>(t.imm) > largest)) return 0;
  if (!dead_after_jump(index + 1, s.dst)) return 0;
  const unsigned width = narrow ? bytes : compared;  // a 32-bit compare of a u64 reads its low half
  const Xbyak::Address field = mem(width, s.src, s.off);
  // The immediate as the CPU takes it at this width (sign-extended to 64 bits by a qword
  // compare, as eBPF's 64-bit compare does); jset's bits above the load are zero in x anyway.
  uint32_t imm = static_cast<uint32_t>(t.imm) & static_cast<uint32_t>(width == 8 ? ~0u : largest);
  // xbyak takes a word's immediate as a signed 16-bit one: the same bits.
  if (width == 2) imm = static_cast<uint32_t>(int32_t{static_cast<int16_t>(imm)});
  if (cond == c_jset)
    test(field, imm);
  else
    cmp(field, imm);
  const uint8_t cc = narrow ? kUnsigned[cond] : kSame[cond];
  jump_to_insn(cc, index + 2 + static_cast<size_t>(static_cast<int64_t>(t.off)), index + 1);
  insn_offsets[index + 1] = insn_offsets[index];
  return 2;
}

size_t Emitter::emit_copy_extend(size_t index) {
  if (index + 2 >= program_.insn_count) return 0;
  const TranslatedSlot& s = program_.translated[index];
  const TranslatedSlot& t = program_.translated[index + 1];
  const TranslatedSlot& u = program_.translated[index + 2];
  const uint8_t a = s.dst;
  if (t.op != Op::lsh64_imm || t.imm != 32 || t.dst != a ||
      (u.op != Op::rsh64_imm && u.op != Op::arsh64_imm) || u.imm != 32 || u.dst != a ||
      skip_[index + 1] || skip_[index + 2] || lands_inside(index + 1, index + 2))
    return 0;
  if (u.op == Op::rsh64_imm)
    mov(reg(a).cvt32(), reg(s.src).cvt32());
  else
    movsxd(reg(a), reg(s.src).cvt32());
  insn_offsets[index + 1] = insn_offsets[index + 2] = insn_offsets[index];
  return 3;
}

size_t Emitter::emit_remainder(size_t index) {
  if (index + 3 >= program_.insn_count) return 0;
  const TranslatedSlot* t = &program_.translated[index];
  const uint8_t a = t[0].dst, b = t[0].src, c = t[1].src;
  if (t[1].op != Op::div64_reg || t[2].op != Op::mul64_reg || t[3].op != Op::sub64_reg ||
      t[1].dst != a || t[2].dst != a || t[2].src != c || t[3].dst != b || t[3].src != a || a == b ||
      a == c || a >= 10 || b >= 10 || c >= 10 || lands_inside(index + 1, index + 3))
    return 0;
  const bool narrow = known_below(index, b, kBelow2To32) && known_below(index, c, kBelow2To32);
  mov(r11, reg(c));
  test(r11, r11);
  const size_t to_zero = short_jump_placeholder(kE);
  mov(r10, rax);
  mov(r9, rdx);
  if (b != 0) mov(rax, reg(b));
  emit_unsigned_divide(narrow);
  // rdx = b % c; b's old value is in r10 (b is r0), r9 (b is r3) or b itself.
  const Xbyak::Reg64& old_b = b == 0 ? r10 : b == 3 ? r9 : reg(b);
  mov(r11, old_b);
  sub(r11, rdx);  // a's new value
  if (b != 0 && b != 3) mov(reg(b), rdx);
  if (a != 0 && a != 3) mov(reg(a), r11);
  mov(rax, a == 0 ? r11 : b == 0 ? rdx : r10);
  if (a == 3)
    mov(rdx, r11);
  else if (b != 3)
    mov(rdx, r9);
  const size_t done = short_jump_placeholder(kAlways);
  bind_short(to_zero);
  xor_(reg(a).cvt32(), reg(a).cvt32());  // b % 0 = b, and a = b / 0 * 0 = 0
  bind_short(done);
  for (size_t i = index + 1; i <= index + 3; ++i)
    insn_offsets[i] = static_cast<uint32_t>(getSize());
  return 4;
}

}  // namespace userbpf::jit::detail
