// Every load verifies first (runtime/verify.hpp): a refused program fails the load with its
// diagnosis and leaves nothing behind; an unverified load is recorded and always runs checked;
// `userbpf verify` exits 0 only when every program passes.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/subprocess.hpp"
#include "runtime/test_run_util.hpp"

namespace userbpf::runtime {
namespace {

class VerifyAtLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("userbpf-verify-at-load-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(VerifyAtLoad, ARefusedProgramFailsTheLoadWithItsDiagnosisAndLeavesNothing) {
  auto obj = object::open(testing::runtime_prog("non_gpl.bpf.o"));
  ASSERT_TRUE(obj) << obj.error().to_string();
  auto rt = Runtime::open(dir_);
  ASSERT_TRUE(rt);
  LoadOptions options;
  options.only_program = "prints";
  std::string log;
  options.verifier.log_level = 1;
  options.on_verdict = [&](const object::Program&, const verifier::Verdict& v) { log = v.log; };
  auto loaded = rt->load(*obj, options);
  ASSERT_FALSE(loaded);
  const Error& e = loaded.error();
  EXPECT_EQ(e.code, Errc::verify);
  EXPECT_EQ(e.where.section, "xdp");
  EXPECT_GE(e.where.insn, 0);
  EXPECT_NE(e.message.find("prog 'prints': the verifier refused the program: cannot call "
                           "GPL-restricted function"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("source: "), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("non_gpl.bpf.c:"), std::string::npos) << e.message;
  EXPECT_NE(log.find("processed "), std::string::npos) << log;
  EXPECT_TRUE(rt->programs().empty());
  EXPECT_TRUE(rt->maps().empty()) << "maps were created for a refused program";
}

TEST_F(VerifyAtLoad, VerifiedAndUnverifiedLoadsAreRecorded) {
  auto obj = object::open(testing::runtime_prog("non_gpl.bpf.o"));
  ASSERT_TRUE(obj);
  auto rt = Runtime::open(dir_);
  ASSERT_TRUE(rt);
  LoadOptions options;
  options.only_program = "plain";
  auto verified = rt->load(*obj, options);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(verified->front().verified);
  EXPECT_GT(verified->front().verified_insns, 0u);

  options.unverified = true;  // the same program again, without the verifier
  auto unverified = rt->load(*obj, options);
  ASSERT_TRUE(unverified) << unverified.error().to_string();
  auto record = rt->program(unverified->front().id);  // as other processes read it
  ASSERT_TRUE(record);
  EXPECT_FALSE(record->verified);

  // An unchecked run of an unverified program is checked anyway.
  auto prog = rt->instantiate(*record);
  ASSERT_TRUE(prog) << prog.error().to_string();
  std::vector<uint8_t> packet(64, 0);
  TestRunInput in;
  in.data_in = packet;
  in.checked = false;
  auto out = test_run(**prog, in);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_TRUE((*prog)->env().checked);
}

TEST(VerifyCommand, ExitsZeroOnlyWhenEveryProgramPasses) {
  const std::string bin = std::string(USERBPF_BIN_DIR) + "/userbpf";
  const auto good =
      testing::run_process(bin, {"verify", testing::runtime_prog("xdp_packet.bpf.o")});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("): accepted, "), std::string::npos) << good.out;

  const auto bad = testing::run_process(
      bin, {"-j", "verify", testing::runtime_prog("non_gpl.bpf.o"), "--log-level", "1"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  const auto j = nlohmann::json::parse(bad.out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << bad.out;
  bool refused = false;
  for (const auto& p : j) {
    EXPECT_TRUE(p.contains("processed_insns") && p.contains("peak_states") &&
                p.contains("time_ns") && p.contains("log"))
        << p.dump();
    if (p.at("verdict") == "refused") {
      refused = true;
      EXPECT_EQ(p.at("name"), "prints");
      EXPECT_NE(p.at("diagnosis").at("message").get<std::string>().find("GPL-restricted"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(refused) << bad.out;

  const auto only_plain = testing::run_process(
      bin, {"verify", testing::runtime_prog("non_gpl.bpf.o"), "--prog", "plain", "--type", "xdp"});
  EXPECT_EQ(only_plain.exit_code, 0) << only_plain.out << only_plain.err;
}

}  // namespace
}  // namespace userbpf::runtime
