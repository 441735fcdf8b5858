// Shared helpers of the interpreter tests: load raw instructions, run them in one or both modes.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "../../bench/raw_builder.hpp"
#include "isa/decode.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::vm::testing {

using isa::RawInsn;
using rawasm::Builder;

inline Result<Interpreter> load_raw(const std::vector<RawInsn>& code,
                                    const HelperTable& helpers = {},
                                    const LoadOptions& options = {}) {
  auto program = isa::decode(code);
  if (!program) return program.take_error();
  return Interpreter::load(*program, helpers, options);
}

inline Result<RunResult> run_raw(const std::vector<RawInsn>& code, uint64_t r1 = 0, uint64_t r2 = 0,
                                 const RunOptions& options = {}, const HelperTable& helpers = {},
                                 const LoadOptions& load_options = {}) {
  auto interp = load_raw(code, helpers, load_options);
  if (!interp) return interp.take_error();
  return interp->run(r1, r2, options);
}

// Runs in unchecked and in checked mode (with `regions`); both must succeed and agree. Returns r0.
inline uint64_t run_both(const std::vector<RawInsn>& code, uint64_t r1 = 0, uint64_t r2 = 0,
                         std::span<const Region> regions = {}, const HelperTable& helpers = {}) {
  auto interp = load_raw(code, helpers);
  EXPECT_TRUE(interp.ok()) << (interp ? "" : interp.error().to_string());
  if (!interp) return ~0ull;
  RunOptions unchecked;
  unchecked.regions = regions;
  RunOptions checked = unchecked;
  checked.checked = true;
  auto a = interp->run(r1, r2, unchecked);
  auto b = interp->run(r1, r2, checked);
  EXPECT_TRUE(a.ok()) << (a ? "" : a.error().to_string());
  EXPECT_TRUE(b.ok()) << (b ? "" : b.error().to_string());
  if (!a || !b) return ~0ull;
  EXPECT_EQ(a->r0, b->r0) << "unchecked and checked mode disagree";
  return a->r0;
}

inline Region region_of(const void* p, size_t size, bool writable, const char* name) {
  return Region{reinterpret_cast<uint64_t>(p), size, writable, name};
}

}  // namespace userbpf::vm::testing
