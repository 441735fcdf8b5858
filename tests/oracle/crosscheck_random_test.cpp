// Differential test: thousands of random programs run in userbpf's interpreter, in userbpf's JIT
// and in the Linux kernel; r0 and the memory after the run must agree in all three.
//
// Environment: USERBPF_CROSSCHECK_COUNT (programs per run, default 2000), USERBPF_SEED (replay a
// run; by default a fresh seed, printed first), USERBPF_CROSSCHECK_ONLY (run only the program with
// that index, to replay one mismatch).
#include <gtest/gtest.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "isa/decode.hpp"
#include "isa/disasm.hpp"
#include "jit/jit.hpp"
#include "oracle/memory_run.hpp"
#include "oracle/skip_without_kernel.hpp"
#include "support/random_program.hpp"
#include "vm/interpreter.hpp"

namespace userbpf::testing {
namespace {

constexpr uint64_t kInsnBudget = 10'000'000;
constexpr int kReportLimit = 5;  // full reports printed; the rest are only counted

uint64_t env_u64(const char* name, uint64_t fallback, bool* given = nullptr) {
  const char* text = std::getenv(name);
  if (given) *given = text != nullptr && *text != '\0';
  if (text == nullptr || *text == '\0') return fallback;
  return std::strtoull(text, nullptr, 0);
}

// One program seed per index, so a single program can be regenerated from (run seed, index).
uint64_t program_seed(uint64_t run_seed, uint64_t index) {
  uint64_t z = run_seed + (index + 1) * 0x9e3779b97f4a7c15ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Sizes vary with the program: mostly small and medium, sometimes large; memory sometimes tiny.
RandomProgramOptions options_for(uint64_t seed) {
  RandomProgramOptions options;
  options.seed = seed;
  const uint64_t shape = seed >> 48;
  options.insn_count = shape % 10 == 0 ? 200 + shape % 400 : 1 + shape % 120;
  options.memory_size = (seed >> 32) % 7 == 0 ? (seed >> 36) % 8 : 8 + (seed >> 36) % 120;
  return options;
}

struct InterpreterRun {
  uint64_t r0 = 0;
  std::vector<uint8_t> memory;
};

// `engine`: the checked interpreter, or the JIT's machine code (the kernel accepted the program,
// as the runtime lets only verified programs reach the JIT).
enum class Engine { interpreter, jit };

Result<InterpreterRun> run_in_userbpf(const isa::Program& program,
                                      const std::vector<uint8_t>& input, Engine engine) {
  static const vm::HelperTable no_helpers;
  auto interpreter = vm::Interpreter::load(program, no_helpers);
  if (!interpreter.ok()) return interpreter.take_error();
  if (engine == Engine::jit) {
    if (Status attached = jit::attach(*interpreter); !attached) return attached.take_error();
  }
  InterpreterRun out;
  out.memory = input;  // the program works on a copy, like the kernel on its packet
  const vm::Region regions[] = {
      {reinterpret_cast<uint64_t>(out.memory.data()), out.memory.size(), true, "memory"}};
  vm::RunOptions options;
  options.checked = engine == Engine::interpreter;
  options.insn_budget = kInsnBudget;
  options.regions = regions;
  auto run =
      interpreter->run(reinterpret_cast<uint64_t>(out.memory.data()), out.memory.size(), options);
  if (!run.ok()) return run.take_error();
  out.r0 = run->r0;
  return out;
}

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes[i]);
    out += buf;
    out += (i % 32 == 31) ? "\n    " : " ";
  }
  return out;
}

std::string listing(const std::vector<isa::RawInsn>& insns) {
  auto decoded = isa::decode(insns);
  if (!decoded.ok()) return hex_listing(insns);
  return isa::dump_xlated(*decoded);
}

void report_mismatch(uint64_t run_seed, uint64_t index, uint64_t seed,
                     const RandomProgramOptions& options, const RandomProgram& program,
                     const oracle::MemoryRun& kernel, const Result<InterpreterRun>& ours,
                     const char* engine_name) {
  std::string report = "MISMATCH: USERBPF_SEED=0x";
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "%" PRIx64 " program #%" PRIu64 " (program seed %" PRIu64
                ", insn_count %zu, memory %zu bytes)\n",
                run_seed, index, seed, options.insn_count, options.memory_size);
  report += buf;
  report += listing(program.insns);
  report += "input memory:\n    " + hex_bytes(program.memory) + "\n";
  std::snprintf(buf, sizeof(buf), "kernel:      r0 = 0x%016" PRIx64 "\n", kernel.r0);
  report += buf;
  report += "  memory:\n    " + hex_bytes(kernel.memory) + "\n";
  if (ours.ok()) {
    std::snprintf(buf, sizeof(buf), "%-12s r0 = 0x%016" PRIx64 "\n", engine_name, ours->r0);
    report += buf;
    report += "  memory:\n    " + hex_bytes(ours->memory) + "\n";
  } else {
    report += std::string(engine_name) + ": error: " + ours.error().to_string() + "\n";
  }
  ADD_FAILURE() << report;
}

TEST(CrossCheckRandomTest, InterpreterAndJitAgreeWithTheKernel) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  bool replay = false;
  const uint64_t run_seed = env_u64(
      "USERBPF_SEED", std::random_device{}() * 0x100000001ull ^ std::random_device{}(), &replay);
  bool only_one = false;
  const uint64_t only = env_u64("USERBPF_CROSSCHECK_ONLY", 0, &only_one);
  const uint64_t count = only_one ? 1 : env_u64("USERBPF_CROSSCHECK_COUNT", 2000);
  std::printf("cross-check: USERBPF_SEED=0x%" PRIx64 "%s, %" PRIu64 " programs\n", run_seed,
              replay ? " (given)" : " (fresh)", count);
  std::fflush(stdout);

  const auto start = std::chrono::steady_clock::now();
  uint64_t compared = 0, refused = 0, mismatches = 0, interpreter_errors = 0, slots = 0;
  std::string refusal_reports;
  for (uint64_t index = only_one ? only : 0; index < (only_one ? only + 1 : count); ++index) {
    const uint64_t seed = program_seed(run_seed, index);
    const RandomProgramOptions options = options_for(seed);
    const RandomProgram program = generate_random_program(options);
    slots += program.insns.size();
    auto kernel = oracle::run_memory_program(program.insns, program.memory);
    if (!kernel.ok()) {
      // The generator promises verifier-friendly programs, so a refusal is a generator bug.
      if (++refused <= 3)
        refusal_reports += "program #" + std::to_string(index) + " (seed " + std::to_string(seed) +
                           "): " + kernel.error().to_string() + "\n" + listing(program.insns) +
                           "\n";
      continue;
    }
    ++compared;
    auto decoded = isa::decode(program.insns);
    ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
    for (Engine engine : {Engine::interpreter, Engine::jit}) {
      const char* engine_name = engine == Engine::jit ? "jit" : "interpreter";
      auto ours = run_in_userbpf(*decoded, program.memory, engine);
      const bool same = ours.ok() && ours->r0 == kernel->r0 && ours->memory == kernel->memory;
      if (same) continue;
      (ours.ok() ? mismatches : interpreter_errors)++;
      if (mismatches + interpreter_errors > kReportLimit) continue;
      report_mismatch(run_seed, index, seed, options, program, *kernel, ours, engine_name);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("cross-check: %" PRIu64 " programs (%" PRIu64 " slots), %" PRIu64
              " compared, %" PRIu64 " refused by the kernel, %" PRIu64 " mismatches, %" PRIu64
              " userbpf errors (interpreter and JIT runs), %.2f s\n",
              count, slots, compared, refused, mismatches, interpreter_errors, seconds);
  EXPECT_EQ(mismatches, 0u) << "USERBPF_SEED=0x" << std::hex << run_seed;
  EXPECT_EQ(interpreter_errors, 0u) << "USERBPF_SEED=0x" << std::hex << run_seed;
  // A generator bug, not an interpreter bug; tolerate a very small fraction.
  EXPECT_LE(refused * 200, count) << "more than 0.5% of the generated programs were refused:\n"
                                  << refusal_reports;
  EXPECT_GE(compared * 2, count) << "too few programs compared";
}

}  // namespace
}  // namespace userbpf::testing
