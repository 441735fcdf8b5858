// Shared helpers of the JIT tests: load a raw program once for the interpreter and once with the
// JIT attached, run both over private copies of the same memory, and compare everything.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../../bench/raw_builder.hpp"
#include "isa/decode.hpp"
#include "jit/jit.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::jit::testing {

using isa::RawInsn;
using rawasm::Builder;

inline Result<vm::Interpreter> load(const std::vector<RawInsn>& code, bool with_jit,
                                    const vm::HelperTable& helpers = {},
                                    const CompileOptions& options = {}) {
  auto program = isa::decode(code);
  if (!program) return program.take_error();
  auto interp = vm::Interpreter::load(*program, helpers);
  if (!interp) return interp.take_error();
  if (with_jit) {
    Status attached = attach(*interp, options);
    if (!attached) return attached.take_error();
  }
  return interp;
}

struct EngineResult {
  bool ok = false;
  uint64_t r0 = 0;
  Error error;
  std::vector<uint8_t> memory;
};

// Runs `code` with r1 = a copy of `memory` (or 0 when empty), r2 = its size.
inline EngineResult run_engine(const std::vector<RawInsn>& code, bool with_jit,
                               const std::vector<uint8_t>& memory = {},
                               const vm::HelperTable& helpers = {}, void* user = nullptr,
                               const CompileOptions& options = {},
                               std::span<const uint8_t> packet = {}) {
  EngineResult out;
  out.memory = memory;
  auto interp = load(code, with_jit, helpers, options);
  if (!interp) {
    ADD_FAILURE() << (with_jit ? "jit" : "interp") << " load: " << interp.error().to_string();
    out.error = interp.take_error();
    return out;
  }
  EXPECT_EQ(interp->native() != nullptr, with_jit);
  vm::RunOptions run;
  run.user = user;
  run.packet = packet;
  const uint64_t r1 = out.memory.empty() ? 0 : reinterpret_cast<uint64_t>(out.memory.data());
  auto r = interp->run(r1, out.memory.size(), run);
  if (r) {
    out.ok = true;
    out.r0 = r->r0;
  } else {
    out.error = r.take_error();
  }
  return out;
}

// A 4- or 8-byte key's hash as a hash map's lookup description defines it (jit::HashLookup).
inline uint32_t described_hash(const HashLookup& l, uint64_t key) {
  const unsigned __int128 product =
      static_cast<unsigned __int128>(key ^ l.hash_xor) * l.hash_multiplier;
  return static_cast<uint32_t>(static_cast<uint64_t>(product) ^
                               static_cast<uint64_t>(product >> 64));
}

// Machine code bytes of instruction `i` of a program loaded with the JIT.
inline size_t code_bytes(const vm::NativeCode& code, size_t i) {
  const size_t end = i + 1 < code.insn_offsets.size() ? code.insn_offsets[i + 1] : code.code_size;
  return end - code.insn_offsets[i];
}

// Both engines agree on success, r0, the error (code and instruction) and the memory. Returns the
// JIT's result.
inline EngineResult expect_same(const std::vector<RawInsn>& code,
                                const std::vector<uint8_t>& memory = {},
                                const vm::HelperTable& helpers = {},
                                const CompileOptions& options = {},
                                std::span<const uint8_t> packet = {}) {
  EngineResult interp = run_engine(code, false, memory, helpers, nullptr, {}, packet);
  EngineResult jit = run_engine(code, true, memory, helpers, nullptr, options, packet);
  EXPECT_EQ(interp.ok, jit.ok) << "interp: " << interp.error.to_string()
                               << " jit: " << jit.error.to_string();
  if (interp.ok && jit.ok) {
    EXPECT_EQ(interp.r0, jit.r0) << std::hex << "interp r0 0x" << interp.r0 << ", jit r0 0x"
                                 << jit.r0;
  } else if (!interp.ok && !jit.ok) {
    EXPECT_EQ(interp.error.code, jit.error.code);
    EXPECT_EQ(interp.error.where.insn, jit.error.where.insn);
  }
  EXPECT_EQ(interp.memory, jit.memory) << "memory differs";
  return jit;
}

// Runs `code` in both engines (expect_same), expects both to succeed, and returns the JIT's offset
// of each instruction: equal offsets of two neighbours mean the first got no code of its own
// (fused with the second, or left out). Empty after a failure.
inline std::vector<uint32_t> jit_offsets_of_same_run(const std::vector<RawInsn>& code) {
  const EngineResult out = expect_same(code);
  if (!out.ok) {
    ADD_FAILURE() << out.error.to_string();
    return {};
  }
  auto jit = load(code, true);
  if (!jit.ok()) {
    ADD_FAILURE() << "the JIT did not load the program";
    return {};
  }
  return jit->native()->insn_offsets;
}

// Runs `code` over `memory` in both engines with the dead-code searches on everywhere
// (CompileOptions::dead_stores), expects both to succeed with r0 = want_r0, and returns the JIT's
// code size of each instruction (empty when it did not load).
inline std::vector<size_t> sizes_with_dead_code_left_out(const std::vector<RawInsn>& code,
                                                         uint64_t want_r0,
                                                         const vm::HelperTable& helpers,
                                                         const std::vector<uint8_t>& memory = {}) {
  CompileOptions everywhere;
  everywhere.dead_stores = CompileOptions::DeadStores::everywhere;
  const EngineResult jit = expect_same(code, memory, helpers, everywhere);
  EXPECT_TRUE(jit.ok) << jit.error.to_string();
  EXPECT_EQ(jit.r0, want_r0);
  std::vector<size_t> out;
  auto loaded = load(code, true, helpers, everywhere);
  EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
  if (!loaded || loaded->native() == nullptr) return out;
  for (size_t i = 0; i < code.size(); ++i) out.push_back(code_bytes(*loaded->native(), i));
  return out;
}

// Whether instruction 0 of `code` (a result or store nothing reads) gets no code under each
// setting of CompileOptions::dead_stores: only when searching everywhere, `code` having no map
// calls.
inline void expect_searched_only_everywhere(const std::vector<RawInsn>& code) {
  for (auto mode : {CompileOptions::DeadStores::in_map_programs, CompileOptions::DeadStores::never,
                    CompileOptions::DeadStores::everywhere}) {
    CompileOptions options;
    options.dead_stores = mode;
    auto loaded = load(code, true, {}, options);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    ASSERT_NE(loaded->native(), nullptr);
    EXPECT_EQ(code_bytes(*loaded->native(), 0) == 0,
              mode == CompileOptions::DeadStores::everywhere);
  }
}

}  // namespace userbpf::jit::testing
