// Unit tests of tnums and scalar bounds: the arithmetic must be sound (every concrete result is
// described) and as precise as Linux's on the cases the verifier relies on.
#include <gtest/gtest.h>

#include <random>

#include "verifier/reg_state.hpp"
#include "verifier/tnum.hpp"

namespace userbpf::verifier {
namespace {

bool holds(Tnum t, uint64_t v) {
  return (v & ~t.mask) == t.value;
}

TEST(VerifierCoreTnum, ConstantsAndRanges) {
  EXPECT_TRUE(Tnum::constant(5).is_const());
  EXPECT_TRUE(Tnum::unknown().is_unknown());
  const Tnum r = Tnum::range(0, 7);
  EXPECT_EQ(r.value, 0u);
  EXPECT_EQ(r.mask, 7u);
  const Tnum r2 = Tnum::range(16, 17);
  EXPECT_EQ(r2.value, 16u);
  EXPECT_EQ(r2.mask, 1u);
  EXPECT_TRUE(Tnum::range(0, ~0ull).is_unknown());
  EXPECT_EQ(to_string(Tnum::unknown()), "(0x0; 0xffffffffffffffff)");
}

TEST(VerifierCoreTnum, KnownArithmeticIsExact) {
  const Tnum a = Tnum::constant(12), b = Tnum::constant(5);
  EXPECT_EQ(tnum_add(a, b), Tnum::constant(17));
  EXPECT_EQ(tnum_sub(a, b), Tnum::constant(7));
  EXPECT_EQ(tnum_mul(a, b), Tnum::constant(60));
  EXPECT_EQ(tnum_and(a, b), Tnum::constant(4));
  EXPECT_EQ(tnum_or(a, b), Tnum::constant(13));
  EXPECT_EQ(tnum_xor(a, b), Tnum::constant(9));
  EXPECT_EQ(tnum_lshift(a, 2), Tnum::constant(48));
  EXPECT_EQ(tnum_rshift(a, 2), Tnum::constant(3));
  EXPECT_EQ(tnum_arshift(Tnum::constant(~0ull - 7), 1, 64), Tnum::constant(~0ull - 3));
  EXPECT_EQ(tnum_arshift(Tnum::constant(0x80000000u), 4, 32), Tnum::constant(0xf8000000u));
}

TEST(VerifierCoreTnum, AndWithMaskBoundsTheValue) {
  const Tnum masked = tnum_and(Tnum::unknown(), Tnum::constant(0xff));
  EXPECT_EQ(masked.value, 0u);
  EXPECT_EQ(masked.mask, 0xffu);
  EXPECT_TRUE(Tnum::range(0, 255).contains(masked));
  EXPECT_FALSE(masked.contains(Tnum::range(0, 511)));
}

// Soundness by random sampling: pick tnums, pick members, check the result tnum holds the
// concrete result.
TEST(VerifierCoreTnum, OperationsAreSound) {
  std::mt19937_64 rng(42);
  auto member = [&](Tnum t) { return t.value | (rng() & t.mask); };
  for (int i = 0; i < 20000; ++i) {
    const uint64_t m1 = rng() & rng(), m2 = rng() & rng() & rng();
    const Tnum a{rng() & ~m1, m1}, b{rng() & ~m2, m2};
    const uint64_t x = member(a), y = member(b);
    ASSERT_TRUE(holds(tnum_add(a, b), x + y));
    ASSERT_TRUE(holds(tnum_sub(a, b), x - y));
    ASSERT_TRUE(holds(tnum_mul(a, b), x * y));
    ASSERT_TRUE(holds(tnum_and(a, b), x & y));
    ASSERT_TRUE(holds(tnum_or(a, b), x | y));
    ASSERT_TRUE(holds(tnum_xor(a, b), x ^ y));
    const uint8_t s = rng() % 64;
    ASSERT_TRUE(holds(tnum_lshift(a, s), x << s));
    ASSERT_TRUE(holds(tnum_rshift(a, s), x >> s));
    ASSERT_TRUE(holds(tnum_arshift(a, s, 64), static_cast<uint64_t>(static_cast<int64_t>(x) >> s)));
    const uint64_t lo = std::min(x, y), hi = std::max(x, y);
    ASSERT_TRUE(holds(Tnum::range(lo, hi), lo));
    ASSERT_TRUE(holds(Tnum::range(lo, hi), hi));
    ASSERT_TRUE(holds(Tnum::range(lo, hi), lo + (hi - lo) / 2));
  }
}

TEST(VerifierCoreBounds, SyncRefinesSignedUnsignedAndTnum) {
  RegState r = scalar_unknown();
  r.umax = 100;  // e.g. learned from "if r > 100 goto"
  sync_bounds(r);
  EXPECT_EQ(r.smin, 0);
  EXPECT_EQ(r.smax, 100);
  EXPECT_EQ(r.u32_max, 100u);
  EXPECT_EQ(r.s32_min, 0);
  EXPECT_EQ(r.var_off.mask, 127u);  // the tnum of [0, 100]
  EXPECT_TRUE(bounds_consistent(r));

  RegState s = scalar_unknown();
  s.smin = -4;
  s.smax = -1;
  sync_bounds(s);
  EXPECT_EQ(s.umin, static_cast<uint64_t>(-4));
  EXPECT_EQ(s.umax, ~0ull);
  EXPECT_EQ(s.s32_min, -4);
  EXPECT_EQ(s.s32_max, -1);
}

// Linux 6.17's __reg64_deduce_bounds: a signed range crossing zero tells nothing alone, but an
// unsigned range that meets only one of its ends narrows both to that end.
TEST(VerifierCoreBounds, SignedRangeCrossingZeroMeetsOneUnsignedEnd) {
  RegState low = scalar_unknown();  // e.g. a u32 product, then s<= 510 and s>= -16
  low.smin = -16;
  low.smax = 510;
  low.umax = 0xfffffffe00000001ull;
  sync_bounds(low);
  EXPECT_EQ(low.smin, 0);
  EXPECT_EQ(low.smax, 510);
  EXPECT_EQ(low.umin, 0u);
  EXPECT_EQ(low.umax, 510u);

  RegState high = scalar_unknown();
  high.smin = -16;
  high.smax = 510;
  high.umin = 0x8000000000000000ull;
  sync_bounds(high);
  EXPECT_EQ(high.smin, -16);
  EXPECT_EQ(high.smax, -1);
  EXPECT_EQ(high.umin, static_cast<uint64_t>(-16));
  EXPECT_EQ(high.umax, ~0ull);

  RegState both = scalar_unknown();  // the unsigned range meets both ends: nothing to learn
  both.smin = -16;
  both.smax = 510;
  sync_bounds(both);
  EXPECT_EQ(both.smin, -16);
  EXPECT_EQ(both.smax, 510);
  EXPECT_EQ(both.umin, 0u);
  EXPECT_EQ(both.umax, ~0ull);
}

// [-1, 1] spans two 2^32 blocks, yet its low halves are the s32 range [-1, 1]; a sign-extended
// value with a non-negative low half has a zero high half (Linux's __reg_deduce_mixed_bounds).
TEST(VerifierCoreBounds, LowHalvesOfNeighbouringBlocks) {
  RegState r = scalar_unknown();
  r.smin = -1;
  r.smax = 1;
  sync_bounds(r);
  EXPECT_EQ(r.s32_min, -1);
  EXPECT_EQ(r.s32_max, 1);

  RegState sext = scalar_unknown();
  sext.smin = INT32_MIN;
  sext.smax = INT32_MAX;
  sext.s32_min = 0;
  sext.s32_max = 100;
  sync_bounds(sext);
  EXPECT_EQ(sext.smin, 0);
  EXPECT_EQ(sext.smax, 100);
  EXPECT_EQ(sext.umax, 100u);
}

bool contains(const RegState& r, uint64_t x) {
  const auto lo = static_cast<uint32_t>(x);
  return r.umin <= x && x <= r.umax && r.smin <= static_cast<int64_t>(x) &&
         static_cast<int64_t>(x) <= r.smax && r.u32_min <= lo && lo <= r.u32_max &&
         r.s32_min <= static_cast<int32_t>(lo) && static_cast<int32_t>(lo) <= r.s32_max &&
         holds(r.var_off, x);
}

// Every rule may only drop values a register cannot hold: random bounds around a random value,
// each side narrowed or not, by distances from 0 to 2^64, must still hold the value after sync.
TEST(VerifierCoreBounds, SyncNeverDropsAValue) {
  std::mt19937_64 rng(20261128);
  auto distance = [&]() -> uint64_t {
    switch (rng() % 5) {
      case 0: return 0;
      case 1: return rng() % 64;
      case 2: return rng() & 0xffffffffull;
      case 3: return rng() >> (rng() % 64);
      default: return rng();
    }
  };
  auto value = [&]() -> uint64_t {
    const uint64_t edges[] = {
        0,          0x7fffffffull,         0x80000000ull,         0xffffffffull,
        1ull << 32, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
    const uint64_t base = rng() % 2 ? edges[rng() % 8] : rng();
    return base + (rng() % 2 ? distance() % 32 : -(distance() % 32));
  };
  for (int i = 0; i < 300000; ++i) {
    const uint64_t x = value();
    const auto lo = static_cast<uint32_t>(x);
    RegState r = scalar_unknown();
    if (rng() % 2) r.umin = x - std::min(x, distance());
    if (rng() % 2) r.umax = x + std::min(~x, distance());
    // Signed ends are computed in unsigned arithmetic: the distance to the
    // type's edge can exceed INT64_MAX, and the wrapped sum is the exact one.
    const uint64_t to_smin = x ^ (1ull << 63), to_smax = (~x) ^ (1ull << 63);
    const uint32_t to_s32_min = lo ^ (1u << 31), to_s32_max = (~lo) ^ (1u << 31);
    if (rng() % 2) r.smin = static_cast<int64_t>(x - std::min(to_smin, distance()));
    if (rng() % 2) r.smax = static_cast<int64_t>(x + std::min(to_smax, distance()));
    if (rng() % 3 == 0) r.u32_min = lo - static_cast<uint32_t>(std::min<uint64_t>(lo, distance()));
    if (rng() % 3 == 0) r.u32_max = lo + static_cast<uint32_t>(std::min<uint64_t>(~lo, distance()));
    if (rng() % 3 == 0)
      r.s32_min = static_cast<int32_t>(
          lo - static_cast<uint32_t>(std::min<uint64_t>(to_s32_min, distance())));
    if (rng() % 3 == 0)
      r.s32_max = static_cast<int32_t>(
          lo + static_cast<uint32_t>(std::min<uint64_t>(to_s32_max, distance())));
    if (rng() % 3 == 0) {
      const uint64_t mask = rng() | rng();
      r.var_off = Tnum{x & ~mask, mask};
    }
    ASSERT_TRUE(contains(r, x));
    sync_bounds(r);
    ASSERT_TRUE(contains(r, x)) << "value 0x" << std::hex << x << " lost: " << describe(r);
  }
}

TEST(VerifierCoreBounds, TnumGivesBounds) {
  RegState r = scalar_unknown();
  r.var_off = Tnum{0x10, 0x0f};
  sync_bounds(r);
  EXPECT_EQ(r.umin, 0x10u);
  EXPECT_EQ(r.umax, 0x1fu);
  EXPECT_EQ(r.smin, 0x10);
  EXPECT_EQ(r.smax, 0x1f);
}

TEST(VerifierCoreBounds, ZeroExtensionAfter32BitOps) {
  RegState r = scalar_unknown();
  r.s32_min = -1;
  r.s32_max = -1;
  sync_bounds(r);
  zext_32_to_64(r);
  EXPECT_TRUE(r.is_const());
  EXPECT_EQ(r.const_value(), 0xffffffffull);
  EXPECT_EQ(r.smin, 0xffffffffll);
}

TEST(VerifierCoreBounds, Describe) {
  EXPECT_EQ(describe(scalar_const(7)), "7");
  RegState r = scalar_unknown();
  EXPECT_EQ(describe(r), "scalar()");
  RegState p = pointer_to(RegType::ptr_to_map_value);
  p.maybe_null = true;
  p.id = 1;
  EXPECT_EQ(describe(p), "map_value_or_null(id=1)");
  EXPECT_EQ(reg_type_name(pointer_to(RegType::ptr_to_stack)), "fp");
}

}  // namespace
}  // namespace userbpf::verifier
