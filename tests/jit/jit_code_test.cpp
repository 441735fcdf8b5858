// The JIT's code memory and integration: machine code is never writable and executable at once,
// the code survives the Interpreter it was compiled from being moved, the conformance plugin runs
// both engines, and the compile time of a large program (reported, not asserted).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "isa/conformance_data.hpp"
#include "jit_test_util.hpp"
#include "support/conformance_files.hpp"

namespace userbpf::jit::testing {
namespace {

// The permissions of the /proc/self/maps line that contains `address`.
std::string permissions_of(const void* address) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const auto a = reinterpret_cast<uintptr_t>(address);
  while (std::getline(maps, line)) {
    uintptr_t lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= a && a < hi)
      return perms;
  }
  return "";
}

TEST(JitCode, MachineCodeIsReadExecuteNeverWritable) {
  Builder p;
  p.mov64_imm(0, 42).exit();
  auto prog = load(p.finish(), true);
  ASSERT_TRUE(prog.ok()) << prog.error().to_string();
  const vm::NativeCode* code = prog->native();
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(permissions_of(code->code), "r-xp");
  EXPECT_EQ(permissions_of(code->main), "r-xp");
  EXPECT_GT(code->code_size, 0u);
  ASSERT_EQ(code->insn_offsets.size(), 2u);
  EXPECT_LT(code->insn_offsets[0], code->insn_offsets[1]);
  // Moving the Interpreter keeps the code attached.
  vm::Interpreter moved = std::move(*prog);
  auto r = moved.run(0, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->r0, 42u);
}

// A straight-line program of `n` instructions mixing ALU, memory and jumps.
std::vector<isa::RawInsn> large_program(size_t n) {
  Builder p;
  p.mov64_imm(0, 0).mov64_imm(2, 1).st(BPF_DW, 10, -8, 0);
  size_t i = 3;
  int label = 0;
  while (i + 6 < n) {
    const std::string next = "l" + std::to_string(label++);
    p.alu64_imm(BPF_ADD, 0, 3).alu32_reg(BPF_XOR, 2, 0).ldx(BPF_DW, 3, 10, -8);
    p.alu64_reg(BPF_ADD, 3, 2).stx(BPF_DW, 10, 3, -8).jmp_imm(BPF_JGT, 0, 1000000, next);
    p.label(next);
    i += 6;
  }
  p.exit();
  return p.finish();
}

// The minor page faults of this process so far: memory touched for the first time, which in
// some VMs costs more than the compile's own work.
long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

TEST(JitCode, CompileTimePerThousandInstructions) {
  const auto code = large_program(100000);
  auto decoded = isa::decode(code);
  ASSERT_TRUE(decoded.ok());
  auto interp = vm::Interpreter::load(*decoded, {});
  ASSERT_TRUE(interp.ok());
  double best = 1e9;
  long best_faults = 0;
  size_t code_bytes = 0;
  for (int round = 0; round < 5; ++round) {
    const long faults_before = minor_faults();
    const auto start = std::chrono::steady_clock::now();
    auto native = compile(*interp);
    const auto end = std::chrono::steady_clock::now();
    const long faults = minor_faults() - faults_before;
    ASSERT_TRUE(native.ok()) << native.error().to_string();
    const double us = std::chrono::duration<double, std::micro>(end - start).count();
    if (us < best) {
      best = us;
      best_faults = faults;
      code_bytes = (*native)->code_size;
    }
  }
  const double per_thousand = best / (static_cast<double>(code.size()) / 1000.0);
  std::printf("JIT compile time: %.1f us for %zu instructions = %.2f us per 1,000\n", best,
              code.size(), per_thousand);
  // Pages populated ahead of the code (Emitter::populate_ahead) count as minor faults too.
  std::printf("  that compile: %zu bytes of code, %ld minor faults\n", code_bytes, best_faults);
  RecordProperty("compile_us_per_1000_insns", std::to_string(per_thousand));
  // And the compiled program computes what the interpreter does.
  EXPECT_EQ(run_engine(code, true).r0, run_engine(code, false).r0);
}

// userbpf-conformance with --engine interp and jit (and the default) on every suite file that
// has memory, a result and no callx; exit status and printed r0 must match the expectation.
std::string run_plugin(const std::string& args, const std::string& stdin_text, int* status) {
  // Per process: two test binaries (the two engines) may run side by side.
  const std::string input =
      ::testing::TempDir() + "/jit_plugin_input." + std::to_string(getpid()) + ".txt";
  std::ofstream(input) << stdin_text;
  const std::string command =
      std::string(USERBPF_BIN_DIR) + "/userbpf-conformance " + args + " < " + input;
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  char buf[256];
  while (pipe && fgets(buf, sizeof buf, pipe)) out += buf;
  *status = pipe ? pclose(pipe) : -1;
  return out;
}

TEST(JitCode, ConformancePluginRunsBothEngines) {
  size_t ran = 0;
  for (const auto& path : userbpf::testing::data_files(userbpf::testing::conformance_dir())) {
    auto parsed = isa::parse_conformance_data(userbpf::testing::read_text(path));
    ASSERT_TRUE(parsed.ok());
    auto raw = userbpf::testing::case_program(*parsed);
    ASSERT_TRUE(raw.ok());
    if (userbpf::testing::uses_callx(*raw) || !parsed->result) continue;
    if (++ran % 8 != 0) continue;  // every 8th file: the plugin is a process per run
    std::ostringstream program, memory;
    const auto* bytes = reinterpret_cast<const uint8_t*>(raw->data());
    for (size_t i = 0; i < raw->size() * 8; ++i) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%02x", bytes[i]);
      program << (i ? " " : "") << hex;
    }
    for (uint8_t b : parsed->memory) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      memory << hex;
    }
    char expected[32];
    std::snprintf(expected, sizeof expected, "%llx\n",
                  static_cast<unsigned long long>(*parsed->result));
    for (const char* engine : {"--engine jit", "--engine interp", ""}) {
      int status = 0;
      const std::string out =
          run_plugin(memory.str() + " " + engine, program.str() + "\n", &status);
      EXPECT_EQ(status, 0) << path.filename() << " " << engine << ": " << out;
      EXPECT_EQ(out, expected) << path.filename() << " " << engine;
    }
  }
  EXPECT_GT(ran, 300u);
  int status = 0;
  const std::string out = run_plugin("--engine nope", "95 00 00 00 00 00 00 00\n", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("unsupported engine"), std::string::npos) << out;
}

}  // namespace
}  // namespace userbpf::jit::testing
