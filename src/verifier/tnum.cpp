#include "verifier/tnum.hpp"

#include <fmt/format.h>

#include <bit>

namespace userbpf::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
  const uint64_t chi = min ^ max;
  const int bits = chi == 0 ? 0 : 64 - std::countl_zero(chi);
  // Every bit at or below the highest differing bit may vary.
  if (bits > 63) return unknown();
  const uint64_t delta = (1ull << bits) - 1;
  return {min & ~delta, delta};
}

bool Tnum::contains(Tnum b) const {
  if (b.mask & ~mask) return false;
  return (b.value & ~mask) == value;
}

Tnum Tnum::subreg() const {
  return cast(4);
}
Tnum Tnum::clear_subreg() const {
  return tnum_lshift(tnum_rshift(*this, 32), 32);
}
Tnum Tnum::with_subreg(Tnum low) const {
  return tnum_or(clear_subreg(), low.subreg());
}

Tnum Tnum::cast(int bytes) const {
  if (bytes >= 8) return *this;
  const uint64_t keep = (1ull << (bytes * 8)) - 1;
  return {value & keep, mask & keep};
}

bool Tnum::is_aligned(uint64_t size) const {
  if (size == 0) return true;
  return ((value | mask) & (size - 1)) == 0;
}

Tnum tnum_add(Tnum a, Tnum b) {
  const uint64_t sm = a.mask + b.mask;
  const uint64_t sv = a.value + b.value;
  const uint64_t sigma = sm + sv;
  const uint64_t chi = sigma ^ sv;
  const uint64_t mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
  const uint64_t dv = a.value - b.value;
  const uint64_t alpha = dv + a.mask;
  const uint64_t beta = dv - b.mask;
  const uint64_t chi = alpha ^ beta;
  const uint64_t mu = chi | a.mask | b.mask;
  return {dv & ~mu, mu};
}

Tnum tnum_and(Tnum a, Tnum b) {
  const uint64_t alpha = a.value | a.mask;
  const uint64_t beta = b.value | b.mask;
  const uint64_t v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value;
  const uint64_t mu = a.mask | b.mask;
  return {v, mu & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
  const uint64_t v = a.value ^ b.value;
  const uint64_t mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

// Shift-and-add multiplication: each known-one bit of `a` adds a shifted `b`; each unknown bit
// adds the shifted uncertainty of `b`.
Tnum tnum_mul(Tnum a, Tnum b) {
  Tnum acc_v = Tnum::constant(a.value * b.value);
  Tnum acc_m = Tnum::constant(0);
  while (a.value || a.mask) {
    if (a.value & 1)
      acc_m = tnum_add(acc_m, Tnum{0, b.mask});
    else if (a.mask & 1)
      acc_m = tnum_add(acc_m, Tnum{0, b.value | b.mask});
    a = tnum_rshift(a, 1);
    b = tnum_lshift(b, 1);
  }
  return tnum_add(acc_v, acc_m);
}

Tnum tnum_neg(Tnum a) {
  return tnum_sub(Tnum::constant(0), a);
}

Tnum tnum_lshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return {a.value << shift, a.mask << shift};
}

Tnum tnum_rshift(Tnum a, uint8_t shift) {
  if (shift >= 64) return Tnum::constant(0);
  return {a.value >> shift, a.mask >> shift};
}

Tnum tnum_arshift(Tnum a, uint8_t shift, int width) {
  if (width == 32) {
    const auto v = static_cast<uint32_t>(static_cast<int32_t>(a.value) >> shift);
    const auto m = static_cast<uint32_t>(static_cast<int32_t>(a.mask) >> shift);
    return {v, m};
  }
  return {static_cast<uint64_t>(static_cast<int64_t>(a.value) >> shift),
          static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> shift)};
}

Tnum tnum_intersect(Tnum a, Tnum b) {
  const uint64_t v = a.value | b.value;
  const uint64_t mu = a.mask & b.mask;
  return {v & ~mu, mu};
}

std::string to_string(Tnum t) {
  return fmt::format("(0x{:x}; 0x{:x})", t.value, t.mask);
}

}  // namespace userbpf::verifier
