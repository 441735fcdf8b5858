// The example programs under examples/ give the answers their comments promise, and the demo
// script runs to the end against the built binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/subprocess.hpp"

namespace userbpf::cli {
namespace {

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kExamples =
    (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "examples").lexically_normal();

TEST(CliExamples, BinaryIsBuilt) {
  ASSERT_TRUE(std::filesystem::exists(kBinary))
      << kBinary << " is missing: build the userbpf target";
}

nlohmann::json run_json(const std::string& program, const std::string& data_hex) {
  const auto r = testing::run_process(
      kBinary, {"-j", "prog", "run", kExamples + "/" + program, "--data-hex", data_hex});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(CliExamples, PrimesBelowALimit) {
  EXPECT_EQ(run_json("primes.asm", "64000000").at("retval"), 25);   // below 100
  EXPECT_EQ(run_json("primes.asm", "e8030000").at("retval"), 168);  // below 1000
  EXPECT_EQ(run_json("primes.asm", "02000000").at("retval"), 0);    // below 2
}

TEST(CliExamples, SumBytes) {
  EXPECT_EQ(run_json("sum_bytes.asm", "0102030405060708090a").at("retval"), 55);
  EXPECT_EQ(run_json("sum_bytes.asm", "").at("retval"), 0);
}

TEST(CliExamples, UppercaseChangesThePacket) {
  const auto out = run_json("uppercase.asm", "48656c6c6f2c207a7a21");  // "Hello, zz!"
  EXPECT_EQ(out.at("retval"), 6);
  EXPECT_EQ(out.at("data_out"), "48454c4c4f2c205a5a21");  // "HELLO, ZZ!"
}

TEST(CliExamples, DemoScriptRuns) {
  const auto r =
      testing::run_process("/usr/bin/env", {"USERBPF=" + kBinary, "bash", kExamples + "/demo.sh"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Return value: 25, duration: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"retval\":168"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HELLO, E BPF WORL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("instruction budget of 100000 exceeded"), std::string::npos) << r.out;
}

// The seed tutorial, as a user follows it: 1 test run, then 3 execve (sh and two ls) under
// `userbpf exec` with the program attached, then 3 more under `userbpf run`, print the line.
TEST(CliExamples, TutorialScriptPrintsHelloForTheTestRunAndEveryExecve) {
  const auto r = testing::run_process(
      "/usr/bin/env", {"USERBPF=" + kBinary, "USERBPF_SEED_DIR=" + std::string(USERBPF_SHARED_DIR) +
                                                 "/seed",
                       "bash", kExamples + "/tutorial.sh"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("tracepoint  name hello  tag "), std::string::npos) << r.out;
  size_t hellos = 0;
  for (size_t at = r.out.find(": bpf_trace_printk: Hello, eBPF World!\n"); at != std::string::npos;
       at = r.out.find(": bpf_trace_printk: Hello, eBPF World!\n", at + 1))
    ++hellos;
  EXPECT_EQ(hellos, 7u) << r.out;
  EXPECT_NE(r.out.find("perf_event  prog "), std::string::npos) << r.out;
}

}  // namespace
}  // namespace userbpf::cli
