// The helpers the JIT inlines (emit_inline_helpers.cpp) against the interpreter calling the
// helper: bpf_map_lookup_elem and bpf_map_update_elem on a described array map, bpf_loop with a
// known callback. Each program runs in both engines over the same memory; r0, the array's bytes
// and the program's memory must agree, and a counting helper shows whether the JIT called it (the
// inlined path must not; a call whose r1, r2 or flags the inlined code does not handle must).
#include <linux/bpf.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

#include "helpers/linux_helpers.hpp"
#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

// A stand-in array map with the maps layer's semantics (maps/array_map.cpp, non-per-CPU, no spin
// lock): values of kValueSize bytes every kStride bytes, kEntries of them.
constexpr uint32_t kValueSize = 13;  // odd: the inlined copy's 8/4/1-byte tail
constexpr uint32_t kStride = 16;
constexpr uint32_t kEntries = 5;
constexpr uint64_t kHandle = 0x5eed'0000'1234'5678ull;  // what the program's lddw loads as r1
alignas(8) std::array<uint8_t, kStride * kEntries + 16> g_values;
int g_helper_calls = 0;

uint64_t err(int e) {
  return static_cast<uint64_t>(-static_cast<int64_t>(e));
}

uint64_t fake_lookup(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t, vm::CallContext&) {
  ++g_helper_calls;
  if (map != kHandle) return 0;  // another map (empty): the JIT must have called us too
  uint32_t index;
  std::memcpy(&index, reinterpret_cast<const void*>(key), 4);
  if (index >= kEntries) return 0;
  return reinterpret_cast<uint64_t>(g_values.data() + uint64_t{index} * kStride);
}

uint64_t fake_update(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t,
                     vm::CallContext&) {
  ++g_helper_calls;
  if (map != kHandle) return 0x0bad;
  uint32_t index;
  std::memcpy(&index, reinterpret_cast<const void*>(key), 4);
  // array_map_update_elem's order of checks.
  if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return err(EINVAL);
  if (index >= kEntries) return err(E2BIG);
  if (flags & BPF_NOEXIST) return err(EEXIST);
  if (flags & BPF_F_LOCK) return err(EINVAL);  // no spin lock in the value
  std::memcpy(g_values.data() + uint64_t{index} * kStride, reinterpret_cast<const void*>(value),
              kValueSize);
  return 0;
}

uint64_t counted_loop(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                      vm::CallContext& call) {
  ++g_helper_calls;
  return helpers::linux_helpers().find(BPF_FUNC_loop)->fn(r1, r2, r3, r4, r5, call);
}

vm::HelperTable counting_helpers() {
  vm::HelperTable t;
  t.set(BPF_FUNC_map_lookup_elem, vm::Helper{"map_lookup_elem", fake_lookup});
  t.set(BPF_FUNC_map_update_elem, vm::Helper{"map_update_elem", fake_update});
  t.set(BPF_FUNC_loop, vm::Helper{"loop", counted_loop});
  return t;
}

void reset_values() {
  for (size_t i = 0; i < g_values.size(); ++i) g_values[i] = static_cast<uint8_t>(0x40 + i);
}

CompileOptions with_array(std::initializer_list<uint32_t> call_insns) {
  CompileOptions options;
  for (uint32_t insn : call_insns) {
    InlineArrayMap m;
    m.insn = insn;
    m.handle = kHandle;
    m.values = g_values.data();
    m.value_size = kValueSize;
    m.stride = kStride;
    m.max_entries = kEntries;
    m.plain_values = true;
    options.array_maps.push_back(m);
  }
  return options;
}

struct Outcome {
  EngineResult run;
  std::array<uint8_t, g_values.size()> values{};
  int helper_calls = 0;
};

Outcome run_one(const std::vector<RawInsn>& code, bool jit, const CompileOptions& options) {
  reset_values();
  g_helper_calls = 0;
  Outcome out;
  out.run = run_engine(code, jit, {}, counting_helpers(), nullptr, options);
  out.values = g_values;
  out.helper_calls = g_helper_calls;
  return out;
}

// Runs in both engines; they must agree on everything. Returns the JIT's outcome.
Outcome compare(const std::vector<RawInsn>& code, const CompileOptions& options) {
  const Outcome interp = run_one(code, false, {});
  const Outcome jit = run_one(code, true, options);
  EXPECT_EQ(interp.run.ok, jit.run.ok)
      << interp.run.error.to_string() << " / " << jit.run.error.to_string();
  if (interp.run.ok && jit.run.ok) {
    EXPECT_EQ(interp.run.r0, jit.run.r0) << std::hex << interp.run.r0 << " / " << jit.run.r0;
  } else {
    EXPECT_EQ(interp.run.error.code, jit.run.error.code);
    EXPECT_EQ(interp.run.error.where.insn, jit.run.error.where.insn);
    EXPECT_EQ(interp.run.error.message, jit.run.error.message);
  }
  EXPECT_EQ(interp.values, jit.values) << "array contents differ";
  return jit;
}

// r0 = lookup(map, &key) - values + r6, or 0xffff + r6 for NULL (and 0x77 written at the value's
// first byte, so the pointer is used). The helper call is instruction 6.
TEST(JitInlineHelpers, ArrayLookupInRangeOutOfRangeAndOtherMaps) {
  for (uint64_t handle : {kHandle, kHandle + 8}) {
    for (uint32_t key : {0u, 1u, kEntries - 1, kEntries, kEntries + 1, 0x80000000u, 0xffffffffu}) {
      SCOPED_TRACE("key " + std::to_string(key) + (handle == kHandle ? "" : " other map"));
      Builder p;
      p.st(BPF_W, 10, -4, static_cast<int32_t>(key));                        // 0
      p.lddw(1, handle);                                                     // 1-2
      p.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);                          // 3-4
      p.mov64_imm(6, 42).call_helper(BPF_FUNC_map_lookup_elem);              // 5-6
      p.jmp_imm(BPF_JEQ, 0, 0, "null").st(BPF_B, 0, 0, 0x77);                // 7-8
      p.lddw(1, reinterpret_cast<uint64_t>(g_values.data()));                // 9-10
      p.alu64_reg(BPF_SUB, 0, 1).alu64_reg(BPF_ADD, 0, 6).exit();            // 11-13
      p.label("null").mov64_imm(0, 0xffff).alu64_reg(BPF_ADD, 0, 6).exit();  // r6 survives
      const Outcome jit = compare(p.finish(), with_array({6}));
      ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
      if (handle == kHandle) {
        EXPECT_EQ(jit.helper_calls, 0) << "the lookup was not inlined";
        EXPECT_EQ(jit.run.r0, key < kEntries ? uint64_t{key} * kStride + 42 : 0xffff + 42);
      } else {
        EXPECT_EQ(jit.helper_calls, 1) << "another map must reach the helper";
      }
    }
  }
}

// update(map, &key, &value, flags) with a 13-byte value of 0xc0.., r0 the result. The call is
// instruction 14.
std::vector<RawInsn> update_program(uint64_t handle, uint32_t key, int32_t flags) {
  Builder p;
  p.st(BPF_W, 10, -4, static_cast<int32_t>(key));                      // 0
  p.lddw(3, 0xc7c6c5c4c3c2c1c0ull).stx(BPF_DW, 10, 3, -24);            // 1-3
  p.lddw(3, 0xcfcecdcccbcac9c8ull).stx(BPF_DW, 10, 3, -16);            // 4-6
  p.lddw(1, handle);                                                   // 7-8
  p.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);                        // 9-10
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -24);                       // 11-12
  p.mov64_imm(4, flags).call_helper(BPF_FUNC_map_update_elem).exit();  // 13-15
  return p.finish();
}

TEST(JitInlineHelpers, ArrayUpdateFlagsKeysAndValueBytes) {
  for (uint64_t handle : {kHandle, kHandle + 8}) {
    for (uint32_t key : {0u, 3u, kEntries - 1, kEntries, 0xffffffffu}) {
      for (int32_t flags : {int32_t{BPF_ANY}, int32_t{BPF_NOEXIST}, int32_t{BPF_EXIST},
                            int32_t{BPF_F_LOCK}, 3, 8, -1}) {
        SCOPED_TRACE("key " + std::to_string(key) + " flags " + std::to_string(flags) +
                     (handle == kHandle ? "" : " other map"));
        const Outcome jit = compare(update_program(handle, key, flags), with_array({14}));
        ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
        // Flags the inlined code does not decide itself go to the helper, as other maps do.
        const bool inlined = handle == kHandle && flags >= 0 && flags <= BPF_EXIST;
        EXPECT_EQ(jit.helper_calls, inlined ? 0 : 1);
      }
    }
  }
}

TEST(JitInlineHelpers, ArrayUpdateWritesExactlyTheValue) {
  // Key 2 with BPF_ANY: bytes 32..44 become the value; 45..47 (stride padding) and every other
  // value keep their pattern.
  const Outcome jit = compare(update_program(kHandle, 2, BPF_ANY), with_array({14}));
  ASSERT_TRUE(jit.run.ok);
  EXPECT_EQ(jit.run.r0, 0u);
  for (size_t i = 0; i < g_values.size(); ++i) {
    const bool in_value = i >= 2 * kStride && i < 2 * kStride + kValueSize;
    const uint8_t want =
        in_value ? static_cast<uint8_t>(0xc0 + (i - 2 * kStride)) : static_cast<uint8_t>(0x40 + i);
    EXPECT_EQ(jit.values[i], want) << "byte " << i;
  }
}

// The inlined update sets r0 = 0 only where something reads r0 afterwards: an update whose
// result the program overwrites is two bytes (`xor eax, eax`) shorter than one it returns.
TEST(JitInlineHelpers, AnUpdateResultNobodyReadsIsNotSet) {
  std::vector<RawInsn> returned = update_program(kHandle, 3, BPF_ANY);
  std::vector<RawInsn> overwritten = returned;
  RawInsn exit_insn = overwritten.back();
  overwritten.back() = RawInsn{static_cast<uint8_t>(BPF_ALU64 | BPF_MOV | BPF_K), 0, 0, 0, 7};
  overwritten.push_back(exit_insn);
  size_t bytes[2] = {};
  for (const auto* code : {&returned, &overwritten}) {
    CompileOptions proven = with_array({14});
    proven.array_maps[0].r1_proven = true;
    const Outcome out = compare(*code, proven);
    EXPECT_EQ(out.run.r0, code == &returned ? 0u : 7u);
    EXPECT_EQ(out.helper_calls, 0);
    auto jit = load(*code, true, counting_helpers(), proven);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    bytes[code == &overwritten] = code_bytes(*jit->native(), 14);
  }
  EXPECT_EQ(bytes[true] + 2, bytes[false]);
}

TEST(JitInlineHelpers, SpecialValuesOrNoDescriptionKeepTheHelper) {
  CompileOptions locked = with_array({14});
  locked.array_maps[0].plain_values = false;  // e.g. a spin lock inside: never copied inline
  Outcome jit = compare(update_program(kHandle, 1, BPF_ANY), locked);
  EXPECT_EQ(jit.helper_calls, 1);
  jit = compare(update_program(kHandle, 1, BPF_ANY), with_array({}));
  EXPECT_EQ(jit.helper_calls, 1);
  CompileOptions off = with_array({14});
  off.inline_helpers = false;
  jit = compare(update_program(kHandle, 1, BPF_ANY), off);
  EXPECT_EQ(jit.helper_calls, 1);
}

// A map the verifier proved (r1_proven) is trusted as Linux trusts it: no run-time check of r1,
// so even another handle in r1 takes the inlined path (a verified program cannot pass one).
TEST(JitInlineHelpers, ProvenMapsAreNotCheckedAtRunTime) {
  CompileOptions proven = with_array({14});
  proven.array_maps[0].r1_proven = true;
  for (int32_t flags : {int32_t{BPF_ANY}, int32_t{BPF_NOEXIST}, 8}) {
    SCOPED_TRACE("flags " + std::to_string(flags));
    Outcome jit = compare(update_program(kHandle, 3, flags), proven);
    EXPECT_EQ(jit.helper_calls, flags == 8 ? 1 : 0);  // invalid flags: the helper's -EINVAL
    reset_values();
    g_helper_calls = 0;
    const EngineResult other = run_engine(update_program(kHandle + 8, 3, flags), true, {},
                                          counting_helpers(), nullptr, proven);
    ASSERT_TRUE(other.ok);
    if (flags != 8) {
      EXPECT_EQ(g_helper_calls, 0) << "r1 was checked although the map is proven";
      EXPECT_EQ(other.r0, jit.run.r0);
    }
  }
}

// A call inlined without a slow path (proven map, flags known to copy) reads the key and value
// from the stack itself: the setups of r1 (lddw), r2 and r3 (r10 + offset) and r4 get no code.
// Where a setup is read by anything else, it keeps its code, and the results stay the helper's.
TEST(JitInlineHelpers, SetupsOnlyAnInlinedCallReadsGetNoCode) {
  CompileOptions proven = with_array({14});
  proven.array_maps[0].r1_proven = true;
  const std::vector<RawInsn> code = update_program(kHandle, 3, BPF_ANY);
  auto jit = load(code, true, counting_helpers(), proven);
  ASSERT_TRUE(jit.ok()) << jit.error().to_string();
  ASSERT_NE(jit->native(), nullptr);
  for (size_t i : {7u, 8u, 9u, 10u, 11u, 12u, 13u})
    EXPECT_EQ(code_bytes(*jit->native(), i), 0u) << "instruction " << i;
  EXPECT_NE(code_bytes(*jit->native(), 6), 0u);  // the value's store stays
  Outcome out = compare(code, proven);
  EXPECT_EQ(out.run.r0, 0u);
  EXPECT_EQ(out.helper_calls, 0);

  // r2 also copied into r5 (read after the call would be refused, but this is before it), and
  // r3 = r10 set with a jump landing between its two instructions: both keep their code.
  Builder p;
  p.st(BPF_W, 10, -4, 4).mov64_imm(6, 0);                                   // 0-1
  p.lddw(3, 0xc7c6c5c4c3c2c1c0ull).stx(BPF_DW, 10, 3, -24);                 // 2-4
  p.lddw(3, 0xcfcecdcccbcac9c8ull).stx(BPF_DW, 10, 3, -16);                 // 5-7
  p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);            // 8-11
  p.mov64_reg(5, 2).mov64_reg(3, 10);                                       // 12-13
  p.jmp_imm(BPF_JNE, 6, 0, "add").label("add").alu64_imm(BPF_ADD, 3, -24);  // 14-15
  p.mov64_imm(4, BPF_ANY).call_helper(BPF_FUNC_map_update_elem);            // 16-17
  p.alu64_reg(BPF_ADD, 0, 5).alu64_reg(BPF_SUB, 0, 10).exit();              // r0 = -4
  const std::vector<RawInsn> kept = p.finish();
  CompileOptions at17 = with_array({17});
  at17.array_maps[0].r1_proven = true;
  auto jit2 = load(kept, true, counting_helpers(), at17);
  ASSERT_TRUE(jit2.ok()) << jit2.error().to_string();
  // r1's lddw too: the jump ends the straight line the search walks back through.
  for (size_t i : {8u, 13u, 15u})
    EXPECT_NE(code_bytes(*jit2->native(), i), 0u) << "instruction " << i;
  // r2 = r10; r2 += -4 as one lea (emit_fused.cpp), counted at its second instruction.
  EXPECT_NE(code_bytes(*jit2->native(), 10) + code_bytes(*jit2->native(), 11), 0u);
  EXPECT_EQ(code_bytes(*jit2->native(), 16), 0u);  // r4's move, after the landing
  out = compare(kept, at17);
  ASSERT_TRUE(out.run.ok) << out.run.error.to_string();
  EXPECT_EQ(out.run.r0, static_cast<uint64_t>(-4));
  EXPECT_EQ(out.helper_calls, 0);
}

// An inlined call reads none of the arguments whose setups got no code: r1's value before the
// map's (skipped) lddw is dead once the key is read, so the sum it held is folded into the load
// (`a = b; a += c; x = *(a + off)` as one access, emit_fused.cpp).
TEST(JitInlineHelpers, ArgumentsWhoseSetupsGetNoCodeAreNotReadByTheCall) {
  Builder p;
  p.st(BPF_DW, 10, -16, 0x01020304).mov64_reg(3, 10).mov64_imm(7, -16);  // 0-2
  p.mov64_reg(1, 3).alu64_reg(BPF_ADD, 1, 7).ldx(BPF_B, 6, 1, 1);        // 3-5: key = 3
  p.stx(BPF_W, 10, 6, -4).lddw(1, kHandle);                              // 6-8
  p.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);                          // 9-10
  p.call_helper(BPF_FUNC_map_lookup_elem);                               // 11
  p.lddw(1, reinterpret_cast<uint64_t>(g_values.data())).alu64_reg(BPF_SUB, 0, 1).exit();
  const std::vector<RawInsn> code = p.finish();
  CompileOptions proven = with_array({11});
  proven.array_maps[0].r1_proven = true;
  auto jit = load(code, true, counting_helpers(), proven);
  ASSERT_TRUE(jit.ok()) << jit.error().to_string();
  ASSERT_NE(jit->native(), nullptr);
  EXPECT_EQ(code_bytes(*jit->native(), 3), 0u);
  EXPECT_EQ(code_bytes(*jit->native(), 4), 0u);
  EXPECT_NE(code_bytes(*jit->native(), 5), 0u);
  const Outcome out = compare(code, proven);
  ASSERT_TRUE(out.run.ok) << out.run.error.to_string();
  EXPECT_EQ(out.run.r0, 3u * kStride);
  EXPECT_EQ(out.helper_calls, 0);
}

// A key just stored from a register is read from that register, and a key that register is
// known to keep below max_entries (what last wrote it) needs no bounds check. `setup` writes r6;
// then *(u32 *)(r10 - 4) = r6, `between`, and the lookup (r0 = the element's index or 0xffff).
std::vector<RawInsn> stored_key_program(const std::function<void(Builder&)>& setup,
                                        const std::function<void(Builder&)>& between,
                                        const std::function<void(Builder&)>& functions = {}) {
  Builder p;
  setup(p);
  p.stx(BPF_W, 10, 6, -4);
  between(p);
  p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);
  p.call_helper(BPF_FUNC_map_lookup_elem).label("call");
  p.jmp_imm(BPF_JEQ, 0, 0, "null").lddw(1, reinterpret_cast<uint64_t>(g_values.data()));
  p.alu64_reg(BPF_SUB, 0, 1).alu64_imm(BPF_DIV, 0, kStride).exit();
  p.label("null").mov64_imm(0, 0xffff).exit();
  if (functions) functions(p);
  return p.finish();
}

// The first helper call (not a bpf-to-bpf call).
size_t call_index(const std::vector<RawInsn>& code) {
  for (size_t i = 0; i < code.size(); ++i)
    if (code[i].code == (BPF_JMP | BPF_CALL) && code[i].src_reg != BPF_PSEUDO_CALL) return i;
  return 0;
}

CompileOptions proven_at(const std::vector<RawInsn>& code) {
  CompileOptions options = with_array({static_cast<uint32_t>(call_index(code))});
  options.array_maps[0].r1_proven = true;
  return options;
}

// A lookup that cannot fail followed by a load of the value, `if r0 == 0 goto null; r7 = 0;
// r6 = *(r0 + off)`: the load takes the element's address and gets no code of its own, r0 is
// never set, unless something reads r0 after the load (`r0_read`) or a jump lands between.
TEST(JitInlineHelpers, ALoadOfTheValueTakesTheElementsAddress) {
  for (uint8_t size : {uint8_t{BPF_B}, uint8_t{BPF_H}, uint8_t{BPF_W}, uint8_t{BPF_DW}}) {
    for (int variant = 0; variant < 3; ++variant) {  // 0 fold, 1 r0 read after, 2 a jump lands
      SCOPED_TRACE(::testing::Message() << "size " << int{size} << " variant " << variant);
      Builder p;
      p.mov64_imm(8, 0);  // indices below: without variant 2's jump
      if (variant == 2) p.jmp_imm(BPF_JNE, 8, 0, "load");  // never taken, but lands there
      p.mov64_imm(6, 3).stx(BPF_W, 10, 6, -4);
      p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);  // 3-6
      p.call_helper(BPF_FUNC_map_lookup_elem);                        // 7
      p.jmp_imm(BPF_JEQ, 0, 0, "null").mov64_imm(7, 0);               // 8-9
      p.label("load").ldx(size, 6, 0, 5);                             // 10 or 11
      if (variant == 1)
        p.mov64_reg(7, 0);  // r0 read after the load
      else
        p.mov64_imm(7, 0);
      p.mov64_imm(0, 0);
      p.alu64_reg(BPF_ADD, 0, 6).alu64_reg(BPF_ADD, 0, 7);
      p.lddw(1, reinterpret_cast<uint64_t>(g_values.data()));
      if (variant == 1) p.alu64_reg(BPF_SUB, 0, 1);  // r0 = the value + its offset in the map
      p.exit().label("null").mov64_imm(0, 0xffff).exit();
      const std::vector<RawInsn> code = p.finish();
      const CompileOptions options = proven_at(code);
      auto jit = load(code, true, counting_helpers(), options);
      ASSERT_TRUE(jit.ok()) << jit.error().to_string();
      const size_t at = variant == 2 ? 11 : 10;  // the load
      EXPECT_EQ(code_bytes(*jit->native(), at) == 0, variant == 0);
      const Outcome out = compare(code, options);
      ASSERT_TRUE(out.run.ok) << out.run.error.to_string();
      uint64_t value = 0;
      std::memcpy(&value, g_values.data() + 3 * kStride + 5,
                  size == BPF_DW  ? 8
                  : size == BPF_W ? 4
                  : size == BPF_H ? 2
                                  : 1);
      EXPECT_EQ(out.run.r0, value + (variant == 1 ? 3 * kStride : 0));
      EXPECT_EQ(out.helper_calls, 0);
    }
  }
}

// A value spilled before an inlined lookup that calls nothing (proven map, key in range) and
// reloaded after it stays in its register (stack_forwarding.cpp): the reload gets no code. Where
// the lookup may call the helper (the map not proven), the reload keeps its load.
TEST(JitInlineHelpers, ReloadsAfterACallThatKeepsTheArgumentsStayInTheirRegister) {
  for (bool proven : {true, false}) {
    SCOPED_TRACE(proven ? "proven" : "not proven");
    Builder p;
    p.mov64_imm(3, 41).stx(BPF_DW, 10, 3, -24);                     // 0-1
    p.mov64_imm(6, 2).stx(BPF_W, 10, 6, -4);                        // 2-3
    p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);  // 4-7
    p.call_helper(BPF_FUNC_map_lookup_elem);                        // 8
    p.ldx(BPF_DW, 3, 10, -24);                                      // 9: the reload
    p.lddw(1, reinterpret_cast<uint64_t>(g_values.data())).alu64_reg(BPF_SUB, 0, 1);
    p.alu64_reg(BPF_ADD, 0, 3).exit();  // r0 = 2 * kStride + 41
    const std::vector<RawInsn> code = p.finish();
    CompileOptions options = with_array({8});
    options.array_maps[0].r1_proven = proven;
    auto jit = load(code, true, counting_helpers(), options);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    EXPECT_EQ(code_bytes(*jit->native(), 9) == 0, proven);
    const Outcome out = compare(code, options);
    ASSERT_TRUE(out.run.ok) << out.run.error.to_string();
    EXPECT_EQ(out.run.r0, 2u * kStride + 41);
  }
}

TEST(JitInlineHelpers, StoredKeysComeFromTheirRegister) {
  const auto nothing = [](Builder&) {};
  for (int32_t key : {0, 3, 4, 5, 7}) {
    SCOPED_TRACE(key);
    // Known (an immediate move) and unknown (a multiply) keys, in range and out of it.
    for (bool known : {true, false}) {
      const auto setup = [&](Builder& p) {
        p.mov64_imm(6, key);
        if (!known) p.alu64_imm(BPF_MUL, 6, 1);
      };
      const std::vector<RawInsn> code = stored_key_program(setup, nothing);
      const Outcome jit = compare(code, proven_at(code));
      ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
      EXPECT_EQ(jit.run.r0, key < static_cast<int32_t>(kEntries) ? uint64_t(key) : 0xffffu);
      EXPECT_EQ(jit.helper_calls, 0);
    }
    // The register changed after the store, or the slot rewritten through another pointer: the
    // key is what the slot holds.
    const auto setup = [&](Builder& p) { p.mov64_imm(6, key); };
    const auto changed = [](Builder& p) { p.alu64_imm(BPF_ADD, 6, 1); };
    const auto rewritten = [](Builder& p) {
      p.mov64_reg(7, 10).alu64_imm(BPF_ADD, 7, -4).st(BPF_W, 7, 0, 2);
    };
    for (const auto& between :
         {std::function<void(Builder&)>(changed), std::function<void(Builder&)>(rewritten)}) {
      const std::vector<RawInsn> code = stored_key_program(setup, between);
      const Outcome jit = compare(code, proven_at(code));
      ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
    }
  }
  // The bounds check is left out only where the key is known in range: r6 & 3 is, r6 | 3 is not
  // (same instruction sizes otherwise).
  const auto size = [&](uint8_t op) {
    const std::vector<RawInsn> code =
        stored_key_program([&](Builder& p) { p.mov64_imm(6, 3).alu64_imm(op, 6, 3); }, nothing);
    auto jit = load(code, true, counting_helpers(), proven_at(code));
    EXPECT_TRUE(jit.ok());
    return jit.ok() ? jit->native()->code_size : 0;
  };
  EXPECT_GT(size(BPF_OR), size(BPF_AND));
}

// A key known below max_entries on every path to the call needs no check: after a join of two
// paths that each bound it, also across a bpf-to-bpf call (which keeps r6..r9). One path that
// leaves it unbounded (r6 | 3 instead of r6 & 3, the same instruction size) keeps the check.
TEST(JitInlineHelpers, KeysInRangeOnEveryPathNeedNoCheck) {
  const auto program = [](uint8_t op, bool call) {
    return stored_key_program(
        [&](Builder& p) {
          p.mov64_imm(6, 1).mov64_imm(0, 0);
          p.jmp_imm(BPF_JNE, 0, 0, "other").alu64_imm(op, 6, 3).ja("join");
          p.label("other").mov64_imm(6, 2).label("join");
          if (call) p.call_local("leaf");
        },
        [](Builder&) {}, [&](Builder& p) { p.label("leaf").mov64_imm(0, 9).exit(); });
  };
  for (bool call : {false, true}) {
    SCOPED_TRACE(call ? "across a call" : "after a join");
    size_t size[2] = {};
    for (uint8_t op : {uint8_t{BPF_AND}, uint8_t{BPF_OR}}) {
      const std::vector<RawInsn> code = program(op, call);
      const Outcome out = compare(code, proven_at(code));
      ASSERT_TRUE(out.run.ok) << out.run.error.to_string();
      EXPECT_EQ(out.run.r0, op == BPF_AND ? 1u : 3u);
      auto jit = load(code, true, counting_helpers(), proven_at(code));
      ASSERT_TRUE(jit.ok()) << jit.error().to_string();
      size[op == BPF_OR] = jit->native()->code_size;
    }
    EXPECT_LT(size[0], size[1]);
  }
}

// The key's store is dead when the inlined call takes the key from its register and has no
// helper to fall back to (a proven map): no code. With r1 unproven, the fallback reads the slot.
TEST(JitInlineHelpers, AKeyStoreOnlyTheInlinedCallWouldReadGetsNoCode) {
  const std::vector<RawInsn> code =
      stored_key_program([](Builder& p) { p.mov64_imm(6, 3); }, [](Builder&) {});
  ASSERT_EQ(code[1].code, BPF_STX | BPF_MEM | BPF_W);
  CompileOptions unproven = with_array({static_cast<uint32_t>(call_index(code))});
  for (const CompileOptions& options : {proven_at(code), unproven}) {
    const bool proven = options.array_maps[0].r1_proven;
    SCOPED_TRACE(proven ? "proven" : "unproven");
    auto jit = load(code, true, counting_helpers(), options);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    EXPECT_EQ(code_bytes(*jit->native(), 1) == 0, proven);
    const Outcome out = compare(code, options);
    EXPECT_EQ(out.run.r0, 3u);
    EXPECT_EQ(out.helper_calls, 0);
  }
}

// A null test of the element a proven, in-range inlined lookup returned is decided when
// compiling (no code for `if r0 == 0`, a plain jump for `if r0 != 0`), unless r0 was written in
// between; either way both engines agree.
TEST(JitInlineHelpers, NullTestsOfAKnownElementAreDecidedWhenCompiling) {
  enum class Between { nothing, other_register, r0_zeroed, r0_moved };
  const auto program = [](bool test_eq, Between between) {
    Builder p;
    p.mov64_imm(6, 3).stx(BPF_W, 10, 6, -4).lddw(1, kHandle).mov64_reg(2, 10);
    p.alu64_imm(BPF_ADD, 2, -4).call_helper(BPF_FUNC_map_lookup_elem);
    if (between == Between::other_register) p.mov64_imm(7, 5);
    if (between == Between::r0_zeroed) p.mov64_imm(0, 0);
    if (between == Between::r0_moved) p.alu64_imm(BPF_ADD, 0, 0);
    if (test_eq) {
      p.jmp_imm(BPF_JEQ, 0, 0, "null").mov64_imm(0, 1).exit();
      p.label("null").mov64_imm(0, 2).exit();
    } else {
      p.jmp_imm(BPF_JNE, 0, 0, "found").mov64_imm(0, 2).exit();
      p.label("found").mov64_imm(0, 1).exit();
    }
    return p.finish();
  };
  for (bool test_eq : {true, false}) {
    for (Between between :
         {Between::nothing, Between::other_register, Between::r0_zeroed, Between::r0_moved}) {
      SCOPED_TRACE(std::string(test_eq ? "==" : "!=") + " case " +
                   std::to_string(static_cast<int>(between)));
      const std::vector<RawInsn> code = program(test_eq, between);
      const Outcome jit = compare(code, proven_at(code));
      ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
      EXPECT_EQ(jit.run.r0, between == Between::r0_zeroed ? 2u : 1u);
    }
    // The test itself: no code after `r0 += 0` is folded in, but it is for another register.
    const auto test_bytes = [&](Between between) {
      const std::vector<RawInsn> code = program(test_eq, between);
      auto jit = load(code, true, counting_helpers(), proven_at(code));
      EXPECT_TRUE(jit.ok());
      const size_t at = call_index(code) + (between == Between::nothing ? 1 : 2);
      return jit.ok() ? code_bytes(*jit->native(), at) : 0;
    };
    EXPECT_LT(test_bytes(Between::other_register), test_bytes(Between::r0_moved));
    if (test_eq) {
      EXPECT_EQ(test_bytes(Between::nothing), 0u);
    }
  }
}

// A value set only for the null path of a lookup that cannot fail (the `x = v ? *v : 0` clang
// makes) gets no code: the register liveness follows a decided null test one way. With the key
// out of range the lookup can fail, and the value keeps its code.
TEST(JitInlineHelpers, ValuesOnlyTheNullPathOfAnElementReadsGetNoCode) {
  const auto program = [](int32_t key) {
    Builder p;
    p.mov64_imm(6, key).stx(BPF_W, 10, 6, -4).lddw(1, kHandle).mov64_reg(2, 10);
    p.alu64_imm(BPF_ADD, 2, -4).call_helper(BPF_FUNC_map_lookup_elem);  // 6
    p.mov64_imm(9, 0x55).jmp_imm(BPF_JEQ, 0, 0, "null");                // 7-8
    p.ldx(BPF_B, 9, 0, 0);                                              // 9
    p.label("null").mov64_reg(0, 9).exit();
    return p.finish();
  };
  size_t bytes[2] = {};  // [key in range]
  for (int32_t key : {2, static_cast<int32_t>(kEntries) + 1}) {
    SCOPED_TRACE(key);
    const std::vector<RawInsn> code = program(key);
    ASSERT_EQ(call_index(code), 6u);
    CompileOptions options = proven_at(code);
    options.dead_stores = CompileOptions::DeadStores::everywhere;
    const Outcome jit = compare(code, options);
    ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
    EXPECT_EQ(jit.run.r0, key < static_cast<int32_t>(kEntries) ? 0x40u + 2 * kStride : 0x55u);
    auto loaded = load(code, true, counting_helpers(), options);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    bytes[key < static_cast<int32_t>(kEntries)] = code_bytes(*loaded->native(), 7);
  }
  EXPECT_EQ(bytes[true], 0u) << "r9 = 0x55 is read only where the element is null";
  EXPECT_NE(bytes[false], 0u) << "the lookup can fail: r9 = 0x55 is read";
}

// An 8-byte value just stored from a register is copied from it; one changed since is not.
TEST(JitInlineHelpers, StoredValuesComeFromTheirRegister) {
  for (bool change : {false, true}) {
    SCOPED_TRACE(change);
    Builder p;
    p.st(BPF_W, 10, -4, 2).lddw(7, 0x1122334455667788ull).stx(BPF_DW, 10, 7, -16);
    if (change) p.alu64_imm(BPF_ADD, 7, 1);
    p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);
    p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -16).mov64_imm(4, BPF_ANY);
    p.call_helper(BPF_FUNC_map_update_elem).exit();
    const std::vector<RawInsn> code = p.finish();
    CompileOptions options = proven_at(code);
    options.array_maps[0].value_size = 8;
    const Outcome jit = run_one(code, true, options);
    ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
    EXPECT_EQ(jit.run.r0, 0u);
    EXPECT_EQ(jit.helper_calls, 0);
    uint64_t stored = 0;
    std::memcpy(&stored, jit.values.data() + 2 * kStride, 8);
    EXPECT_EQ(stored, 0x1122334455667788ull);
  }
}

// Flags the JIT cannot be sure of at the call take the inlined code's run-time test: flags from a
// register, and `r4 = 0` right before the call when a jump lands on the call with r4 = NOEXIST.
TEST(JitInlineHelpers, ArrayUpdateFlagsNotKnownAtTheCallAreTested) {
  for (int32_t flags : {int32_t{BPF_ANY}, int32_t{BPF_NOEXIST}, int32_t{BPF_EXIST}}) {
    for (bool join : {false, true}) {
      SCOPED_TRACE("flags " + std::to_string(flags) + (join ? " join" : " register"));
      Builder p;
      p.mov64_imm(6, flags).st(BPF_W, 10, -4, 2);                     // 0-1
      p.lddw(3, 0xc7c6c5c4c3c2c1c0ull).stx(BPF_DW, 10, 3, -24);       // 2-4
      p.lddw(3, 0xcfcecdcccbcac9c8ull).stx(BPF_DW, 10, 3, -16);       // 5-7
      p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);  // 8-11
      p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -24);                  // 12-13
      if (join) {
        p.mov64_reg(4, 6).jmp_imm(BPF_JNE, 6, 0, "call").mov64_imm(4, 0);  // 14-16
      } else {
        p.mov64_reg(4, 6).mov64_imm(0, 0).mov64_imm(0, 0);  // 14-16
      }
      p.label("call").call_helper(BPF_FUNC_map_update_elem).exit();  // 17-18
      CompileOptions options = with_array({17});
      options.array_maps[0].r1_proven = true;
      const Outcome jit = compare(p.finish(), options);
      ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
      EXPECT_EQ(jit.run.r0, flags == BPF_NOEXIST ? err(EEXIST) : 0u);
      EXPECT_EQ(jit.helper_calls, 0);
    }
  }
}

// bpf_loop(nr, cb, &ctx, flags); cb(i, ctx) adds i + 1 to *ctx and stops (returns 1) when
// i == stop_at. r0 = (bpf_loop's r0 << 32) + *ctx, with r6..r9 added to check they survive.
std::vector<RawInsn> loop_program(uint64_t nr, int32_t flags, int32_t stop_at) {
  Builder p;
  p.mov64_imm(6, 1).mov64_imm(7, 2).mov64_imm(8, 3).mov64_imm(9, 4);
  p.st(BPF_DW, 10, -8, 0).lddw(1, nr).lddw_func(2, "cb");
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -8).mov64_imm(4, flags);
  p.call_helper(BPF_FUNC_loop);
  p.alu64_imm(BPF_LSH, 0, 32).ldx(BPF_DW, 1, 10, -8).alu64_reg(BPF_ADD, 0, 1);
  p.alu64_reg(BPF_ADD, 0, 6).alu64_reg(BPF_ADD, 0, 7).alu64_reg(BPF_ADD, 0, 8);
  p.alu64_reg(BPF_ADD, 0, 9).exit();
  p.label("cb").mov64_imm(6, 100).mov64_imm(7, 200).mov64_imm(8, 300);  // clobbers r6..r8
  p.ldx(BPF_DW, 3, 2, 0).alu64_reg(BPF_ADD, 3, 1).alu64_imm(BPF_ADD, 3, 1);
  p.stx(BPF_DW, 2, 3, 0).mov64_imm(0, 0);
  p.jmp_imm(BPF_JNE, 1, stop_at, "ret").mov64_imm(0, 1).label("ret").exit();
  return p.finish();
}

TEST(JitInlineHelpers, LoopCountsStopsAndRefusesLikeTheHelper) {
  struct Case {
    uint64_t nr;
    int32_t flags;
    int32_t stop_at;
    bool inlined;
  };
  const uint64_t max = uint64_t{1} << 23;
  const Case cases[] = {
      {0, 0, -1, true},  // no iteration: r0 = 0
      {1, 0, -1, true},
      {7, 0, -1, true},               // runs to the end: r0 = nr
      {7, 0, 3, true},                // the callback stops early: r0 = 4
      {7, 0, 0, true},                // stops at the first iteration
      {max, 0, 2, true},              // the largest count is allowed
      {max + 1, 0, 2, true},          // -E2BIG
      {0xffffffffull, 0, 2, true},    // -E2BIG
      {0x100000005ull, 0, -1, true},  // the helper takes nr_loops as u32: 5
      {7, 1, -1, false},              // flags: -EINVAL from the helper
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("nr " + std::to_string(c.nr) + " flags " + std::to_string(c.flags) + " stop " +
                 std::to_string(c.stop_at));
    const Outcome jit = compare(loop_program(c.nr, c.flags, c.stop_at), {});
    ASSERT_TRUE(jit.run.ok) << jit.run.error.to_string();
    EXPECT_EQ(jit.helper_calls, c.inlined ? 0 : 1);
  }
  // The values themselves, once: 7 iterations stopping at i == 3 leave 1+2+3+4 and answer 4.
  const Outcome jit = compare(loop_program(7, 0, 3), {});
  EXPECT_EQ(jit.run.r0, (uint64_t{4} << 32) + 10 + 1 + 2 + 3 + 4);
  const Outcome big = compare(loop_program(max + 1, 0, 2), {});
  EXPECT_EQ(big.run.r0, (static_cast<uint64_t>(-E2BIG) << 32) + 10);
}

TEST(JitInlineHelpers, LoopWithAnotherCallbackOnSomePathsTakesTheHelperThere) {
  // r2 is cb_a or cb_b depending on r1 at entry: the JIT guesses cb_b (the load closest to the
  // call) and must still run cb_a through the helper when r2 holds it.
  for (uint64_t pick : {0u, 1u}) {
    Builder p;
    p.mov64_reg(6, 1).st(BPF_DW, 10, -8, 0).lddw_func(2, "cb_a");
    p.jmp_imm(BPF_JEQ, 6, 0, "call").lddw_func(2, "cb_b");
    p.label("call").mov64_imm(1, 3).mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -8).mov64_imm(4, 0);
    p.call_helper(BPF_FUNC_loop).ldx(BPF_DW, 1, 10, -8).alu64_imm(BPF_LSH, 0, 16);
    p.alu64_reg(BPF_ADD, 0, 1).exit();
    p.label("cb_a").ldx(BPF_DW, 3, 2, 0).alu64_imm(BPF_ADD, 3, 1).stx(BPF_DW, 2, 3, 0);
    p.mov64_imm(0, 0).exit();
    p.label("cb_b").ldx(BPF_DW, 3, 2, 0).alu64_imm(BPF_ADD, 3, 100).stx(BPF_DW, 2, 3, 0);
    p.mov64_imm(0, 0).exit();
    // Run with r1 = pick: the memory argument's address is non-zero, so pass none for 0.
    const std::vector<uint8_t> memory = pick ? std::vector<uint8_t>(8, 0) : std::vector<uint8_t>{};
    reset_values();
    g_helper_calls = 0;
    EngineResult interp = run_engine(p.finish(), false, memory, counting_helpers());
    g_helper_calls = 0;
    EngineResult jit = run_engine(p.finish(), true, memory, counting_helpers());
    ASSERT_TRUE(interp.ok && jit.ok);
    EXPECT_EQ(interp.r0, jit.r0);
    EXPECT_EQ(jit.r0, (uint64_t{3} << 16) + (pick ? 300 : 3));
    EXPECT_EQ(g_helper_calls, pick ? 0 : 1) << "pick " << pick;
  }
}

TEST(JitInlineHelpers, LoopCallbacksWithoutAFrameRunInPlace) {
  // A leaf callback with a forward jump to a second exit (stop at index `stop`) and an inner
  // backward loop (acc += i + (i-1) + ... + 1), run by two bpf_loop calls: each call site gets
  // its own copy of the body, and the callback's own code still serves the helper (flags != 0).
  struct Case {
    int32_t nr;
    int32_t stop;
    int32_t flags;
  };
  for (const Case c :
       {Case{4, 99, 0}, Case{10, 5, 0}, Case{10, 0, 0}, Case{0, 99, 0}, Case{6, 3, 1}}) {
    SCOPED_TRACE("nr " + std::to_string(c.nr) + " stop " + std::to_string(c.stop) + " flags " +
                 std::to_string(c.flags));
    Builder p;
    p.st(BPF_DW, 10, -8, 0);
    for (int call = 0; call < 2; ++call) {
      p.mov64_imm(1, c.nr).lddw_func(2, "cb").mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -8);
      p.mov64_imm(4, c.flags).call_helper(BPF_FUNC_loop).stx(BPF_DW, 10, 0, -16 - 8 * call);
    }
    p.ldx(BPF_DW, 0, 10, -16).alu64_imm(BPF_LSH, 0, 8).ldx(BPF_DW, 1, 10, -24);
    p.alu64_reg(BPF_ADD, 0, 1).alu64_imm(BPF_LSH, 0, 16).ldx(BPF_DW, 1, 10, -8);
    p.alu64_reg(BPF_ADD, 0, 1).exit();
    p.label("cb").ldx(BPF_DW, 3, 2, 0).jmp_imm(BPF_JEQ, 1, c.stop, "stop").mov64_reg(4, 1);
    p.label("inner").jmp_imm(BPF_JEQ, 4, 0, "done").alu64_reg(BPF_ADD, 3, 4);
    p.alu64_imm(BPF_ADD, 4, -1).ja("inner");
    p.label("done").stx(BPF_DW, 2, 3, 0).mov64_imm(0, 0).exit();
    p.label("stop").mov64_imm(0, 1).exit();
    reset_values();
    g_helper_calls = 0;
    EngineResult interp = run_engine(p.finish(), false, {}, counting_helpers());
    g_helper_calls = 0;
    EngineResult jit = run_engine(p.finish(), true, {}, counting_helpers());
    ASSERT_TRUE(interp.ok && jit.ok) << jit.error.to_string();
    EXPECT_EQ(jit.r0, interp.r0);
    EXPECT_EQ(g_helper_calls, c.flags ? 2 : 0);
    if (c.flags) continue;
    // Per call: iterations run = stop + 1 when stopped, else nr; acc gains i(i+1)/2 per index.
    const int64_t runs = c.stop < c.nr ? c.stop + 1 : c.nr;
    const int64_t summed = c.stop < c.nr ? c.stop : c.nr;
    int64_t acc = 0;
    for (int64_t i = 0; i < summed; ++i) acc += i * (i + 1) / 2;
    const uint64_t want = ((static_cast<uint64_t>(runs) << 8) + static_cast<uint64_t>(runs)) << 16;
    EXPECT_EQ(jit.r0, want + static_cast<uint64_t>(2 * acc));
  }
}

TEST(JitInlineHelpers, LoopCallbacksNestToTheFrameLimit) {
  // main -> f1 -> ... -> f6 (7 frames), f6 runs an inlined bpf_loop whose callback is the 8th
  // frame and itself runs an inlined bpf_loop: that one's callback would be the 9th frame, which
  // both engines refuse with the helper's fault at the inner call.
  Builder p;
  p.st(BPF_DW, 10, -8, 0).mov64_reg(1, 10).alu64_imm(BPF_ADD, 1, -8).call_local("f1");
  p.ldx(BPF_DW, 0, 10, -8).exit();
  for (int f = 1; f <= 5; ++f)
    p.label("f" + std::to_string(f)).call_local("f" + std::to_string(f + 1)).exit();
  p.label("f6").mov64_reg(3, 1).mov64_imm(1, 2).lddw_func(2, "outer").mov64_imm(4, 0);
  p.call_helper(BPF_FUNC_loop).exit();
  p.label("outer").mov64_reg(6, 2).ldx(BPF_DW, 3, 2, 0).alu64_imm(BPF_ADD, 3, 1);
  p.stx(BPF_DW, 2, 3, 0).mov64_reg(3, 6).mov64_reg(1, 1).lddw_func(2, "inner");
  p.mov64_imm(4, 0).call_helper(BPF_FUNC_loop).mov64_imm(0, 0).exit();
  p.label("inner").mov64_imm(0, 0).exit();
  // With nr_loops 0 for the inner loop nothing is called, so no fault: r1 is the outer index,
  // 0 on the first iteration, 1 on the second (which faults).
  reset_values();
  g_helper_calls = 0;
  EngineResult interp = run_engine(p.finish(), false, {}, counting_helpers());
  EngineResult jit = run_engine(p.finish(), true, {}, counting_helpers());
  ASSERT_FALSE(interp.ok);
  ASSERT_FALSE(jit.ok);
  EXPECT_EQ(interp.error.code, jit.error.code);
  EXPECT_EQ(interp.error.where.insn, jit.error.where.insn);
  EXPECT_EQ(interp.error.message, jit.error.message);
}

// Values below 2 GiB (where maps/map_file.cpp puts small maps) with a stride x86 can scale are
// addressed as [key * stride + disp32]: no 64-bit constant loaded first, so the lookup and the
// update are shorter than with the same values higher up, and both placements read and write
// the same elements.
TEST(JitInlineHelpers, ValuesBelowTwoGigabytesNeedNoAddressConstant) {
#if !defined(MAP_32BIT)
  GTEST_SKIP() << "no MAP_32BIT on this platform: every map is addressed through a register";
#else
  constexpr size_t kBytes = 4096;
  void* low =
      mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) GTEST_SKIP() << "mmap(MAP_32BIT) failed: " << std::strerror(errno);
  std::vector<uint64_t> high(kBytes / 8);
  ASSERT_GT(reinterpret_cast<uintptr_t>(high.data()), uintptr_t{INT32_MAX});
  // r0 = values[2] + 5 read through the lookup; the update stores it as values[3]; the result is
  // values[3] read back through a second lookup.
  Builder p;
  p.st(BPF_W, 10, -4, 2).lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);  // 0-4
  p.call_helper(BPF_FUNC_map_lookup_elem);                                             // 5
  p.ldx(BPF_DW, 6, 0, 0).alu64_imm(BPF_ADD, 6, 5).stx(BPF_DW, 10, 6, -16);             // 6-8
  p.st(BPF_W, 10, -4, 3).lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);  // 9-13
  p.mov64_reg(3, 10).alu64_imm(BPF_ADD, 3, -16).mov64_imm(4, BPF_ANY);                 // 14-16
  p.call_helper(BPF_FUNC_map_update_elem);                                             // 17
  p.lddw(1, kHandle).mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -4);                       // 18-21
  p.call_helper(BPF_FUNC_map_lookup_elem).ldx(BPF_DW, 0, 0, 0).exit();                 // 22-24
  const std::vector<RawInsn> code = p.finish();
  size_t bytes[2] = {};
  for (uint64_t* values : {static_cast<uint64_t*>(low), high.data()}) {
    const bool below = values == low;
    SCOPED_TRACE(below ? "below 2 GiB" : "above 2 GiB");
    CompileOptions options;
    for (uint32_t call : {5u, 17u, 22u}) {
      InlineArrayMap m;
      m.insn = call;
      m.handle = kHandle;
      m.values = reinterpret_cast<uint8_t*>(values);
      m.value_size = m.stride = 8;
      m.max_entries = 4;
      m.plain_values = m.r1_proven = true;
      options.array_maps.push_back(m);
    }
    for (uint64_t i = 0; i < 4; ++i) values[i] = 100 + i;
    g_helper_calls = 0;
    auto jit = load(code, true, counting_helpers(), options);
    ASSERT_TRUE(jit.ok()) << jit.error().to_string();
    for (size_t call : {5u, 17u, 22u}) bytes[below] += code_bytes(*jit->native(), call);
    const EngineResult run = run_engine(code, true, {}, counting_helpers(), nullptr, options);
    ASSERT_TRUE(run.ok) << run.error.to_string();
    EXPECT_EQ(run.r0, 107u);
    EXPECT_EQ(values[3], 107u);
    EXPECT_EQ(values[2], 102u);
    EXPECT_EQ(g_helper_calls, 0);
  }
  munmap(low, kBytes);
  // Each call loses a 10-byte constant and gains a 4-byte displacement at least.
  EXPECT_LE(bytes[true] + 3 * 6, bytes[false]);
#endif
}

}  // namespace
}  // namespace userbpf::jit::testing
