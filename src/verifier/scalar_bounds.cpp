// Scalar bounds: the tnum and the four ranges (s64, u64, s32, u32) refined against each other, as
// Linux's __update_reg_bounds, __reg_deduce_bounds and __reg_bound_offset do. Every rule here only
// narrows what is provably impossible, so a register never loses a value it can hold.
#include <algorithm>

#include "verifier/reg_state.hpp"

namespace userbpf::verifier {
namespace {

constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();
constexpr int32_t kS32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kS32Max = std::numeric_limits<int32_t>::max();

// Bounds from the tnum: the known bits give a minimum, the known and unknown bits a maximum.
void update_bounds(RegState& r) {
  const Tnum t = r.var_off;
  r.smin = std::max<int64_t>(r.smin, static_cast<int64_t>(t.value | (t.mask & (1ull << 63))));
  r.smax = std::min<int64_t>(r.smax, static_cast<int64_t>(t.value | (t.mask & ~(1ull << 63))));
  r.umin = std::max(r.umin, t.value);
  r.umax = std::min(r.umax, t.value | t.mask);
  const Tnum s = t.subreg();
  const auto v32 = static_cast<uint32_t>(s.value);
  const auto m32 = static_cast<uint32_t>(s.mask);
  r.s32_min = std::max<int32_t>(r.s32_min, static_cast<int32_t>(v32 | (m32 & 0x80000000u)));
  r.s32_max = std::min<int32_t>(r.s32_max, static_cast<int32_t>(v32 | (m32 & 0x7fffffffu)));
  r.u32_min = std::max(r.u32_min, v32);
  r.u32_max = std::min(r.u32_max, v32 | m32);
}

// 32-bit signed and unsigned bounds tell each other when the range does not cross the sign bit.
void deduce_bounds32(RegState& r) {
  if (static_cast<int32_t>(r.u32_min) <= static_cast<int32_t>(r.u32_max)) {
    r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.u32_min));
    r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.u32_max));
  }
  if (r.s32_min >= 0 || r.s32_max < 0) {
    r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.s32_min));
    r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.s32_max));
  }
}

void deduce_bounds64(RegState& r) {
  if (static_cast<int64_t>(r.umin) <= static_cast<int64_t>(r.umax)) {
    r.smin = std::max(r.smin, static_cast<int64_t>(r.umin));
    r.smax = std::min(r.smax, static_cast<int64_t>(r.umax));
  }
  if (r.smin >= 0 || r.smax < 0) {
    r.umin = std::max(r.umin, static_cast<uint64_t>(r.smin));
    r.umax = std::min(r.umax, static_cast<uint64_t>(r.smax));
  } else if (r.umax < static_cast<uint64_t>(r.smin)) {
    // The signed range crosses zero; the unsigned one meets only its non-negative end:
    // [umin, min(umax, smax)] is every value left.
    r.smin = static_cast<int64_t>(r.umin);
    r.umax = std::min(r.umax, static_cast<uint64_t>(r.smax));
  } else if (static_cast<uint64_t>(r.smax) < r.umin) {
    // ... or only its negative end: [max(umin, smin), umax].
    r.smax = static_cast<int64_t>(r.umax);
    r.umin = std::max(r.umin, static_cast<uint64_t>(r.smin));
  }
}

// The 64-bit and 32-bit ranges inform each other (Linux's __reg_deduce_mixed_bounds).
void deduce_mixed(RegState& r) {
  // Within one 2^32 block the low halves move monotonically.
  if ((r.umin >> 32) == (r.umax >> 32)) {
    r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.umin));
    r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.umax));
    if (static_cast<int32_t>(r.umin) <= static_cast<int32_t>(r.umax)) {
      r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.umin));
      r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.umax));
    }
  }
  if ((r.smin >> 32) == (r.smax >> 32)) {
    if (static_cast<uint32_t>(r.smin) <= static_cast<uint32_t>(r.smax)) {
      r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.smin));
      r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.smax));
    }
    if (static_cast<int32_t>(r.smin) <= static_cast<int32_t>(r.smax)) {
      r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.smin));
      r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.smax));
    }
  }
  // Two consecutive high halves with low halves going from negative to non-negative, e.g.
  // [-1, 1]: the low halves form the s32 range [(s32)min, (s32)max].
  auto two_blocks = [&](uint64_t lo, uint64_t hi) {
    if (static_cast<uint32_t>(lo >> 32) + 1 == static_cast<uint32_t>(hi >> 32) &&
        static_cast<int32_t>(lo) < 0 && static_cast<int32_t>(hi) >= 0) {
      r.s32_min = std::max(r.s32_min, static_cast<int32_t>(lo));
      r.s32_max = std::min(r.s32_max, static_cast<int32_t>(hi));
    }
  };
  two_blocks(r.umin, r.umax);
  two_blocks(static_cast<uint64_t>(r.smin), static_cast<uint64_t>(r.smax));
  // The low half of each end moved up (or down) to the 32-bit range within its block.
  constexpr uint64_t kHigh = ~0xffffffffull;
  r.umin = std::max(r.umin, (r.umin & kHigh) | r.u32_min);
  r.umax = std::min(r.umax, (r.umax & kHigh) | r.u32_max);
  r.smin =
      std::max(r.smin, static_cast<int64_t>((static_cast<uint64_t>(r.smin) & kHigh) | r.u32_min));
  r.smax =
      std::min(r.smax, static_cast<int64_t>((static_cast<uint64_t>(r.smax) & kHigh) | r.u32_max));
  // A sign-extended 32-bit value whose low half is non-negative has a zero high half: the
  // 64-bit range is the s32 one (Linux replaces the ranges with it).
  if (r.s32_min >= 0 && r.smin >= kS32Min && r.smax <= kS32Max) {
    r.smin = r.s32_min;
    r.smax = r.s32_max;
    r.umin = static_cast<uint64_t>(r.s32_min);
    r.umax = static_cast<uint64_t>(r.s32_max);
    r.var_off = tnum_intersect(r.var_off, Tnum::range(r.umin, r.umax));
  }
}

void bound_offset(RegState& r) {
  const Tnum t64 = tnum_intersect(r.var_off, Tnum::range(r.umin, r.umax));
  const Tnum t32 = tnum_intersect(t64.subreg(), Tnum::range(r.u32_min, r.u32_max));
  r.var_off = t64.with_subreg(t32);
}

}  // namespace

RegState scalar_unknown() {
  RegState r;
  mark_unknown(r);
  return r;
}

RegState scalar_const(uint64_t value) {
  RegState r;
  mark_known(r, value);
  return r;
}

RegState pointer_to(RegType type) {
  RegState r;
  r.type = type;
  mark_known(r, 0);
  r.type = type;
  return r;
}

void mark_unknown(RegState& reg) {
  reg = RegState{};
  reg.type = RegType::scalar;
  reg.var_off = Tnum::unknown();
  mark_bounds_unbounded(reg);
}

void mark_known(RegState& reg, uint64_t v) {
  const RegType type = reg.type == RegType::not_init ? RegType::scalar : reg.type;
  reg = RegState{};
  reg.type = type;
  reg.var_off = Tnum::constant(v);
  reg.smin = reg.smax = static_cast<int64_t>(v);
  reg.umin = reg.umax = v;
  reg.s32_min = reg.s32_max = static_cast<int32_t>(v);
  reg.u32_min = reg.u32_max = static_cast<uint32_t>(v);
}

void mark_bounds_unbounded(RegState& reg) {
  reg.smin = kS64Min;
  reg.smax = kS64Max;
  reg.umin = 0;
  reg.umax = ~0ull;
  mark_bounds32_unbounded(reg);
}

void mark_bounds32_unbounded(RegState& reg) {
  reg.s32_min = kS32Min;
  reg.s32_max = kS32Max;
  reg.u32_min = 0;
  reg.u32_max = ~0u;
}

void sync_bounds(RegState& reg) {
  update_bounds(reg);
  for (int round = 0; round < 2; ++round) {
    deduce_bounds32(reg);
    deduce_bounds64(reg);
    deduce_mixed(reg);
    deduce_bounds32(reg);
    deduce_bounds64(reg);
  }
  bound_offset(reg);
  update_bounds(reg);
}

void zext_32_to_64(RegState& reg) {
  reg.var_off = reg.var_off.subreg();
  reg.umin = reg.u32_min;
  reg.umax = reg.u32_max;
  reg.smin = reg.u32_min;
  reg.smax = reg.u32_max;
  sync_bounds(reg);
}

void derive_bounds32_from_64(RegState& reg) {
  mark_bounds32_unbounded(reg);
  sync_bounds(reg);
}

bool bounds_consistent(const RegState& r) {
  if (r.smin > r.smax || r.umin > r.umax || r.s32_min > r.s32_max || r.u32_min > r.u32_max)
    return false;
  if (r.var_off.value & r.var_off.mask) return false;
  // The tnum's smallest value must not exceed the unsigned maximum, and so on.
  if (r.var_off.value > r.umax || (r.var_off.value | r.var_off.mask) < r.umin) return false;
  return true;
}

}  // namespace userbpf::verifier
