// The engines the suite runs every program in: userbpf's interpreter, userbpf's JIT (when
// src/jit is built), the host kernel (BPF_PROG_TEST_RUN, where bpf() is allowed) and the native
// twin, and the native twin against userbpf's own maps (native-maps). Each prepares one program,
// runs it once on a fresh state for the correctness check, then times batches of runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "suite_cases.hpp"
#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::bench::suite {

enum class EngineKind : uint8_t { interp, jit, kernel, native, native_maps };

const char* engine_name(EngineKind kind);
const std::vector<EngineKind>& all_engines();

// What one run leaves behind; engines agree when these are equal.
struct Outcome {
  uint32_t r0 = 0;                                 // the program's return (Linux reports 32 bits)
  std::vector<uint8_t> frame_out;                  // the frame after the run
  std::vector<std::pair<uint64_t, uint64_t>> map;  // the case's map, (key, value) sorted by key
};

// A map's (key, value) pairs sorted by key, for maps whose keys and values fit 8 bytes (the
// suite's); an error for others.
Result<std::vector<std::pair<uint64_t, uint64_t>>> map_contents(maps::Map& map);

// "" when equal, else what differs first (r0, frame byte, map entry).
std::string difference(const Outcome& want, const Outcome& got);

class PreparedProgram {
 public:
  virtual ~PreparedProgram() = default;
  // The first run after preparing: the maps are still empty.
  virtual Result<Outcome> run_once(const std::vector<uint8_t>& frame) = 0;
  // Runs `repeat` times on one copy of `frame` (changes accumulate, as in Linux's test run) and
  // returns the mean nanoseconds per run as this engine measures it.
  virtual Result<double> mean_ns(const std::vector<uint8_t>& frame, uint32_t repeat) = 0;

  size_t insns = 0;        // eBPF instructions of the program (0 for native)
  double compile_us = -1;  // JIT compile time of the program (-1: not applicable)
  std::string note;        // e.g. why it runs checked
};

// Whether `kind` can run here; `why` says why not.
bool engine_available(EngineKind kind, std::string& why);

Result<std::unique_ptr<PreparedProgram>> prepare(EngineKind kind, const SuiteCase& c);

// Per engine (engine_*.cpp).
Result<std::unique_ptr<PreparedProgram>> prepare_userbpf(const SuiteCase& c, bool jit);
Result<std::unique_ptr<PreparedProgram>> prepare_kernel(const SuiteCase& c);
Result<std::unique_ptr<PreparedProgram>> prepare_native(const SuiteCase& c);
Result<std::unique_ptr<PreparedProgram>> prepare_native_maps(const SuiteCase& c);
bool kernel_available(std::string& why);

}  // namespace userbpf::bench::suite
