// Tracked numbers ("tnums"): what is known of a 64-bit value bit by bit. A bit set in `mask` is
// unknown; the other bits equal the bits of `value` (which has no bit set where mask has one).
// The arithmetic follows Linux's kernel/bpf/tnum.c, so the verifier learns what Linux learns.
#pragma once

#include <cstdint>
#include <string>

namespace userbpf::verifier {

struct Tnum {
  uint64_t value = 0;
  uint64_t mask = 0;

  static constexpr Tnum constant(uint64_t v) { return {v, 0}; }
  static constexpr Tnum unknown() { return {0, ~0ull}; }
  // The smallest tnum holding every value of [min, max] (unsigned).
  static Tnum range(uint64_t min, uint64_t max);

  bool is_const() const { return mask == 0; }
  bool is_unknown() const { return mask == ~0ull; }
  bool equals_const(uint64_t v) const { return mask == 0 && value == v; }
  // Whether every value `b` can hold, this one can hold too.
  bool contains(Tnum b) const;
  // Low 32 bits only, and the same with the high 32 bits made unknown-free (zero).
  Tnum subreg() const;
  Tnum clear_subreg() const;
  Tnum with_subreg(Tnum low) const;
  Tnum cast(int bytes) const;  // truncate to `bytes` bytes, zero-extended
  bool is_aligned(uint64_t size) const;

  friend bool operator==(const Tnum&, const Tnum&) = default;
};

Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_neg(Tnum a);
Tnum tnum_lshift(Tnum a, uint8_t shift);
Tnum tnum_rshift(Tnum a, uint8_t shift);
// Arithmetic shift of a value `width` bits wide (32 or 64).
Tnum tnum_arshift(Tnum a, uint8_t shift, int width);
// Both descriptions hold: the bits either knows.
Tnum tnum_intersect(Tnum a, Tnum b);

// Linux's tnum_strn form: "(0x0; 0xffffffffffffffff)".
std::string to_string(Tnum t);

}  // namespace userbpf::verifier
