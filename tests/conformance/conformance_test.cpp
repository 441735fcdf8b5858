// The public eBPF conformance suite (../shared/conformance), every file at ISA v4, through the
// interpreter in unchecked and checked mode and through the JIT. Counts are asserted so that a file
// silently dropped or skipped shows as a failure.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cli/conformance_runner.hpp"
#include "isa/conformance_data.hpp"
#include "isa/decode.hpp"
#include "support/conformance_files.hpp"

namespace userbpf {
namespace {

using testing::case_program;
using testing::conformance_dir;
using testing::data_files;
using testing::read_text;
using testing::uses_callx;

constexpr size_t kRunnablePrograms = 312;  // every file but callx, per the suite's README

struct Tally {
  size_t passed = 0;
  size_t callx = 0;
  std::map<std::string, std::string> failures;
};

Tally run_suite(const cli::ConformanceRunOptions& options) {
  Tally tally;
  for (const auto& path : data_files(conformance_dir())) {
    const std::string name = path.filename().string();
    auto parsed = isa::parse_conformance_data(read_text(path));
    if (!parsed) {
      tally.failures[name] = "parse: " + parsed.error().to_string();
      continue;
    }
    auto raw = case_program(*parsed);
    if (!raw) {
      tally.failures[name] = "assemble: " + raw.error().to_string();
      continue;
    }
    if (uses_callx(*raw)) {  // not Linux eBPF: the suite excludes it by default
      ++tally.callx;
      continue;
    }
    if (!parsed->result) {
      tally.failures[name] = "file has no expected result";
      continue;
    }
    auto r0 = cli::run_conformance_program(*raw, parsed->memory, options);
    if (!r0) {
      tally.failures[name] = "run: " + r0.error().to_string();
    } else if (*r0 != *parsed->result) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "r0 = 0x%llx, expected 0x%llx",
                    static_cast<unsigned long long>(*r0),
                    static_cast<unsigned long long>(*parsed->result));
      tally.failures[name] = buf;
    } else {
      ++tally.passed;
    }
  }
  return tally;
}

void expect_all_pass(const Tally& tally) {
  for (const auto& [name, why] : tally.failures) ADD_FAILURE() << name << ": " << why;
  EXPECT_EQ(tally.callx, 1u) << "exactly one file (callx.data) is excluded";
  EXPECT_EQ(tally.passed, kRunnablePrograms);
}

TEST(Conformance, SuiteIsPresent) {
  ASSERT_TRUE(std::filesystem::is_directory(conformance_dir()))
      << "conformance data missing at " << conformance_dir();
  EXPECT_EQ(data_files(conformance_dir()).size(), kRunnablePrograms + 1);
}

TEST(Conformance, AllProgramsPassUnchecked) {
  expect_all_pass(run_suite({}));
}

TEST(Conformance, AllProgramsPassJit) {
  cli::ConformanceRunOptions options;
  options.engine = cli::ConformanceEngine::jit;
  expect_all_pass(run_suite(options));
}

TEST(Conformance, AllProgramsPassChecked) {
  cli::ConformanceRunOptions options;
  options.checked = true;
  options.insn_budget = 1'000'000;
  expect_all_pass(run_suite(options));
}

// Every file in negative/ must be refused: it fails to parse, assemble, decode or run, or its
// result differs from the one it claims.
TEST(Conformance, EveryNegativeFileIsRefused) {
  const auto files = data_files(conformance_dir() / "negative");
  ASSERT_EQ(files.size(), 60u);
  for (const auto& path : files) {
    const std::string name = path.filename().string();
    SCOPED_TRACE(name);
    auto parsed = isa::parse_conformance_data(read_text(path));
    if (!parsed) continue;                      // refused: malformed file
    if (parsed->has_unknown_section) continue;  // the reference runner skips the whole file
    auto raw = case_program(*parsed);
    if (name.starts_with("invalid_")) {
      EXPECT_FALSE(raw.ok()) << "malformed assembly must not assemble";
    }
    if (!raw) continue;
    if (raw->empty()) continue;  // no program at all
    if (name.starts_with("unused-")) {
      auto decoded = isa::decode(*raw);
      EXPECT_FALSE(decoded.ok()) << "a non-zero reserved field must be refused at decode";
      if (!decoded) {
        EXPECT_GE(decoded.error().where.insn, 0) << "the error names the instruction";
      }
      continue;
    }
    auto r0 = cli::run_conformance_program(*raw, parsed->memory);
    if (!r0) continue;  // refused at load or run
    EXPECT_TRUE(!parsed->result || *parsed->result != *r0)
        << "a negative file passed: r0 = " << *r0;
  }
}

}  // namespace
}  // namespace userbpf
