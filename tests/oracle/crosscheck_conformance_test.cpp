// The conformance suite's programs in the Linux kernel: where the kernel accepts a program, its r0
// must equal the file's `-- result` and userbpf's interpreter. Programs the kernel refuses (many
// do, by design: constant division by zero, out-of-range shifts, helper 5 "unwind", ...) are
// listed with the verifier's reason.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/conformance_runner.hpp"
#include "isa/conformance_data.hpp"
#include "oracle/memory_run.hpp"
#include "oracle/skip_without_kernel.hpp"
#include "support/conformance_files.hpp"

namespace userbpf::testing {
namespace {

// The first line of an error message (the verdict), for one-line listings.
std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

TEST(CrossCheckConformanceTest, KernelAgreesWithTheSuiteAndTheInterpreter) {
  USERBPF_SKIP_WITHOUT_KERNEL();
  const std::vector<std::filesystem::path> files = data_files(conformance_dir());
  ASSERT_FALSE(files.empty()) << "no .data files in " << conformance_dir();
  int accepted = 0, refused = 0, not_applicable = 0;
  std::string refused_list, not_applicable_list;
  for (const std::filesystem::path& file : files) {
    const std::string name = file.filename().string();
    auto parsed = isa::parse_conformance_data(read_text(file));
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.error().to_string();
    const isa::ConformanceCase& c = *parsed;
    auto program = case_program(c);
    std::string why_not;
    if (c.has_unknown_section)
      why_not = "unknown section";
    else if (!c.result)
      why_not = "expects an error, no result";
    else if (!program.ok())
      why_not = "does not assemble: " + program.error().to_string();
    else if (uses_callx(*program))
      why_not = "uses callx, not Linux eBPF";
    if (!why_not.empty()) {
      ++not_applicable;
      not_applicable_list += "  " + name + ": " + why_not + "\n";
      continue;
    }
    auto kernel = oracle::run_memory_program(*program, c.memory);
    if (!kernel.ok()) {
      ++refused;
      refused_list += "  " + name + ": " + first_line(kernel.error().to_string()) + "\n";
      continue;
    }
    ++accepted;
    EXPECT_EQ(kernel->r0, *c.result)
        << name << ": kernel r0 0x" << std::hex << kernel->r0 << ", file says 0x" << *c.result;
    auto ours = cli::run_conformance_program(*program, c.memory,
                                             {.checked = true, .insn_budget = 10'000'000});
    if (!ours.ok()) {
      ADD_FAILURE() << name << ": the kernel ran it (r0 0x" << std::hex << kernel->r0
                    << ") but the interpreter failed: " << ours.error().to_string();
      continue;
    }
    EXPECT_EQ(*ours, kernel->r0) << name << ": interpreter r0 0x" << std::hex << *ours
                                 << ", kernel r0 0x" << kernel->r0;
  }
  std::printf(
      "conformance in the kernel: %zu files, %d accepted and compared, %d refused by the "
      "kernel, %d not applicable\n",
      files.size(), accepted, refused, not_applicable);
  std::printf("refused by the kernel:\n%s", refused_list.c_str());
  std::printf("not applicable:\n%s", not_applicable_list.c_str());
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace userbpf::testing
