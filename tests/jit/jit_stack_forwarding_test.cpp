// A 64-bit reload of a stack slot whose value a register still holds takes it from that register
// (src/jit/stack_forwarding.cpp): no code when it is the same register, a move otherwise. Every
// way the slot or the register may have changed since the store keeps the load: a store over
// the slot, a store through another pointer, a new value in the register (on some path, around a
// loop), a helper call that is not inlined. Each program runs in both engines with the same
// results.
#include <linux/bpf.h>

#include "jit_test_util.hpp"

namespace userbpf::jit::testing {
namespace {

constexpr uint32_t kClobberHelper = BPF_FUNC_csum_diff;  // any id: the table below defines it

uint64_t clobber(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::CallContext&) {
  // Different values in the caller-saved registers on the way out, whatever the compiler does.
  volatile uint64_t sink = 0x5a5a5a5a5a5a5a5aull;
  return sink;
}

vm::HelperTable clobbering_helper() {
  vm::HelperTable t;
  t.set(kClobberHelper, vm::Helper{"clobber", clobber});
  return t;
}

// The code bytes of instruction `at` of `code`, after checking both engines agree on r0 = want.
size_t reload_bytes(const std::vector<RawInsn>& code, size_t at, uint64_t want) {
  const EngineResult out = expect_same(code, {}, clobbering_helper());
  EXPECT_TRUE(out.ok) << out.error.to_string();
  EXPECT_EQ(out.r0, want);
  auto jit = load(code, true, clobbering_helper());
  EXPECT_TRUE(jit.ok());
  if (!jit.ok()) return 0;
  return code_bytes(*jit->native(), at);
}

TEST(JitStackForwarding, AReloadOfTheStoredRegisterGetsNoCode) {
  Builder p;
  p.mov64_imm(3, 41).stx(BPF_DW, 10, 3, -24);  // 0-1
  p.mov64_imm(0, 1).ldx(BPF_DW, 3, 10, -24);   // 2-3: r3 still holds it
  p.alu64_reg(BPF_ADD, 0, 3).exit();           // r0 = 42
  EXPECT_EQ(reload_bytes(p.finish(), 3, 42), 0u);
}

TEST(JitStackForwarding, AReloadIntoAnotherRegisterIsAMove) {
  Builder p;
  p.mov64_imm(6, 41).stx(BPF_DW, 10, 6, -8).ldx(BPF_DW, 0, 10, -8).exit();
  const size_t bytes = reload_bytes(p.finish(), 2, 41);
  EXPECT_GT(bytes, 0u);
  EXPECT_LE(bytes, 3u);  // mov rax, rbx (a load from [rbp-8] is 4 bytes)
}

// Each case stores r3 = 41 at r10 - 24, does `between`, reloads r3 and returns it; the reload
// must keep its load, and the result is what the interpreter says.
void expect_loaded(const char* what, const std::function<void(Builder&)>& between, uint64_t want) {
  SCOPED_TRACE(what);
  Builder p;
  p.mov64_imm(3, 41).stx(BPF_DW, 10, 3, -24);  // 0-1
  p.mov64_imm(8, 0);                           // 2
  between(p);
  p.label("reload").ldx(BPF_DW, 0, 10, -24).exit();
  const std::vector<RawInsn> code = p.finish();
  size_t reload = code.size() - 2;
  EXPECT_GT(reload_bytes(code, reload, want), 3u) << "the reload became a move";
}

TEST(JitStackForwarding, WhateverMayChangeTheSlotOrTheRegisterKeepsTheLoad) {
  expect_loaded(
      "a store over the slot", [](Builder& p) { p.st(BPF_DW, 10, -24, 7); }, 7);
  expect_loaded(
      "a narrower store into it", [](Builder& p) { p.st(BPF_W, 10, -20, 1); }, 41 + (1ull << 32));
  expect_loaded(
      "a store through another pointer to the stack",
      [](Builder& p) { p.mov64_reg(2, 10).alu64_imm(BPF_ADD, 2, -24).st(BPF_DW, 2, 0, 9); }, 9);
  expect_loaded(
      "a new value in the register",
      [](Builder& p) {
        p.mov64_imm(3, 5).stx(BPF_DW, 10, 3, -32);  // r3 changed (and stored elsewhere)
      },
      41);
  expect_loaded(
      "a new value on one path",
      [](Builder& p) { p.jmp_imm(BPF_JNE, 8, 0, "reload").mov64_imm(3, 6); }, 41);
  expect_loaded(
      "a helper call that is not inlined", [](Builder& p) { p.call_helper(kClobberHelper); }, 41);
  expect_loaded(
      "a new value around a loop",
      [](Builder& p) {
        p.label("loop").alu64_imm(BPF_ADD, 8, 1).ldx(BPF_DW, 3, 10, -24);
        p.alu64_imm(BPF_ADD, 3, 1).jmp_imm(BPF_JLT, 8, 3, "loop");
      },
      41);
}

// The register still holds the slot after a loop that leaves both alone.
TEST(JitStackForwarding, AroundALoopThatKeepsBoth) {
  Builder p;
  p.mov64_imm(3, 41).stx(BPF_DW, 10, 3, -24).mov64_imm(0, 0);        // 0-2
  p.label("loop").ldx(BPF_DW, 3, 10, -24).alu64_imm(BPF_ADD, 0, 1);  // 3-4
  p.jmp_imm(BPF_JLT, 0, 10, "loop");                                 // 5
  p.alu64_reg(BPF_ADD, 0, 3).exit();                                 // r0 = 51
  EXPECT_EQ(reload_bytes(p.finish(), 3, 51), 0u);
}

}  // namespace
}  // namespace userbpf::jit::testing
