// Every BPF program the build compiles for the project's own tests, examples and benchmarks
// verifies, prepared exactly as a load prepares it (runtime/verify.hpp: CO-RE against the
// runtime's BTF, kconfig, the object's maps), except the programs made to fail on purpose, each
// listed below with the reason its refusal is right.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "object/object.hpp"
#include "runtime/verify.hpp"

namespace userbpf::runtime {
namespace {

namespace fs = std::filesystem;

// The directories the build writes BPF objects to.
std::vector<fs::path> object_dirs() {
  std::vector<fs::path> dirs = {
      USERBPF_BPF_OBJECT_DIR,  // tests/object/progs and the seed tutorial's hello_kern.o
      USERBPF_RUNTIME_PROG_DIR, USERBPF_HOOK_PROG_DIR, USERBPF_CORE_PROG_DIR, USERBPF_API_PROG_DIR,
  };
#ifdef USERBPF_EMBED_EXAMPLE_DIR
  dirs.push_back(USERBPF_EMBED_EXAMPLE_DIR);  // examples/embed
#endif
  return dirs;
}

std::vector<fs::path> object_files() {
  std::vector<fs::path> files;
  for (const fs::path& dir : object_dirs()) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      // BPF objects only, not the host objects of examples built beside them.
      if (it->path().string().find("/CMakeFiles/") != std::string::npos) continue;
      if (it->is_regular_file() && it->path().extension() == ".o") files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "object stem/program" -> why the verifier must refuse it (Linux refuses it too).
const std::map<std::string, std::string> kMustFail = {
    {"core.bpf/core_reads",
     "CO-RE against the object tests' own kernel types (core_kernel.h), absent from the runtime's "
     "BTF: libbpf-style poisoning leaves `call 0xbad2310` (invalid func unknown#195896080)"},
    {"core_fields.bpf/core_fields", "CO-RE poisoned as core.bpf/core_reads"},
    {"core_fields.bpf/core_direct", "CO-RE poisoned as core.bpf/core_reads"},
    {"non_gpl.bpf/prints", "bpf_trace_printk is GPL-only and the license is 'Proprietary'"},
    // Checked with the host kernel (6.18.44, `bpftool prog load`): the same refusal at insn 29.
    {"stack_trace.bpf/stack_probe",
     "clang clamps a zero-extended copy of the u32 size (`r2 = r1; r2 <<= 32; r2 >>= 32; if r2 > "
     "128`) but passes the unclamped 64-bit r1 to bpf_get_stack: R3 min value is negative"},
    {"tracing_ctx.bpf/fexit_args",
     "an fexit program must return 0 (check_return_code); it returns its arguments for a test run"},
};

// Programs Linux accepts that userbpf's verifier still refuses (issue 5's verifier work). The
// test fails when one of them becomes accepted, so the list only shrinks.
const std::map<std::string, std::string> kVerifierGaps = {};

TEST(ProjectPrograms, EveryProgramVerifies) {
  const std::vector<fs::path> files = object_files();
  ASSERT_GE(files.size(), 20u) << "the build's BPF objects are missing";
  size_t programs = 0, accepted = 0, gaps = 0;
  std::set<std::string> seen_must_fail;
  for (const fs::path& file : files) {
    auto opened = object::open(file.string());
    ASSERT_TRUE(opened) << opened.error().to_string();
    object::Object obj = std::move(*opened);
    ASSERT_TRUE(prepare_for_runtime(obj)) << file;
    for (const object::Program& prog : obj.programs) {
      const std::string name = file.stem().string() + "/" + prog.name;
      ++programs;
      auto verdict = verify_program(obj, prog);
      ASSERT_TRUE(verdict) << name << ": " << verdict.error().to_string();
      if (const auto gap = kVerifierGaps.find(name); gap != kVerifierGaps.end()) {
        ++gaps;
        EXPECT_FALSE(verdict->accepted)
            << name << " is accepted now: remove it from kVerifierGaps (" << gap->second << ")";
        continue;
      }
      const auto must_fail = kMustFail.find(name);
      if (must_fail != kMustFail.end()) {
        seen_must_fail.insert(name);
        EXPECT_FALSE(verdict->accepted) << name << " must be refused: " << must_fail->second;
        continue;
      }
      EXPECT_TRUE(verdict->accepted)
          << name << " (" << file.string() << ") refused: " << format_diagnosis(verdict->diagnosis);
      if (verdict->accepted) ++accepted;
    }
  }
  for (const auto& [name, why] : kMustFail) {
    EXPECT_TRUE(seen_must_fail.count(name)) << "listed program " << name << " was not found";
  }
  std::printf("%zu objects, %zu programs: %zu accepted, %zu refused on purpose, %zu known gaps\n",
              files.size(), programs, accepted, seen_must_fail.size(), gaps);
}

}  // namespace
}  // namespace userbpf::runtime
