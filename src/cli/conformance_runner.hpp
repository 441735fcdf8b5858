// Runs a program the way the eBPF conformance suite's plugins do: the program as raw instruction
// slots, r1 = the input memory (a private copy), r2 = its length, helper 5 ("unwind" in the suite)
// returning its first argument. Shared by userbpf-conformance and the conformance tests.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "isa/instruction.hpp"
#include "userbpf/error.hpp"

namespace userbpf::cli {

enum class ConformanceEngine { interp, jit };

struct ConformanceRunOptions {
  bool checked = false;      // run in the interpreter's checked mode (never the JIT)
  uint64_t insn_budget = 0;  // checked mode only; 0 = unlimited
  ConformanceEngine engine = ConformanceEngine::interp;  // jit: unchecked runs are compiled
};

// Decodes, loads and runs `raw` over a copy of `memory`; returns r0.
Result<uint64_t> run_conformance_program(std::span<const isa::RawInsn> raw,
                                         std::span<const uint8_t> memory,
                                         const ConformanceRunOptions& options = {});

}  // namespace userbpf::cli
