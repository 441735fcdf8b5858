// `userbpf prog run` of an XDP program using bpf_redirect_map: -j output carries "redirect" with
// the map and entry chosen, plain output adds a "Redirect:" line only with -d, and a key without
// an entry gives the flags' fallback action and no redirect. Devmaps show Linux's forced
// BPF_F_RDONLY_PROG (flags 0x80) in `map show`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/subprocess.hpp"

namespace userbpf::cli {
namespace {

namespace fs = std::filesystem;
const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kObject = std::string(USERBPF_RUNTIME_PROG_DIR) + "/xdp_redirect_map.bpf.o";

std::string fmt_byte(uint8_t b) {
  const char* digits = "0123456789abcdef";
  return {digits[b >> 4], digits[b & 15]};
}

// The program's command packet: Ethernet header, map selector, 64-bit key and flags.
std::string command_hex(uint8_t which, uint64_t key, uint64_t flags) {
  std::vector<uint8_t> p(64, 0);
  p[12] = 0x08;
  p[14] = which;
  std::memcpy(&p[16], &key, 8);
  std::memcpy(&p[24], &flags, 8);
  std::string hex;
  for (uint8_t b : p) hex += fmt_byte(b);
  return hex;
}

class ProgRunRedirect : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary;
    char pattern[] = "/tmp/userbpf-cli-redirect-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    state_ = pattern;
    auto load = run({"prog", "load", kObject, "/sys/fs/bpf/redir"});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    auto update = run(
        {"map", "update", "name", "devs", "key", "5", "0", "0", "0", "value", "1", "0", "0", "0"});
    ASSERT_EQ(update.exit_code, 0) << update.err;
  }
  void TearDown() override { fs::remove_all(state_); }

  testing::ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::run_process(kBinary, args);
  }

  std::string state_;
};

TEST_F(ProgRunRedirect, JsonNamesTheMapEntryAndDevice) {
  auto r =
      run({"-j", "prog", "run", "pinned", "/sys/fs/bpf/redir", "--data-hex", command_hex(0, 5, 0)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["retval"], 4);  // XDP_REDIRECT
  ASSERT_TRUE(j.contains("redirect")) << r.out;
  EXPECT_EQ(j["redirect"]["map_type"], "devmap");
  EXPECT_EQ(j["redirect"]["key"], 5);
  EXPECT_EQ(j["redirect"]["ifindex"], 1);
  auto show = run({"-j", "map", "show", "id", std::to_string(j["redirect"]["map_id"].get<int>())});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto map = nlohmann::json::parse(show.out);
  EXPECT_EQ(map["name"], "devs");
  EXPECT_EQ(map["flags"], 0x80);  // BPF_F_RDONLY_PROG, as Linux forces it

  r = run({"-j", "prog", "run", "pinned", "/sys/fs/bpf/redir", "--data-hex",
           command_hex(0, 6, 8 | 16)});  // BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["redirect"]["broadcast"], true);
  EXPECT_EQ(j["redirect"]["exclude_ingress"], true);
  EXPECT_EQ(j["redirect"]["ifindexes"], nlohmann::json::array({1}));
}

TEST_F(ProgRunRedirect, FallbackActionWithoutEntry) {
  auto r = run({"-j", "prog", "run", "pinned", "/sys/fs/bpf/redir", "--data-hex",
                command_hex(0, 6, 2)});  // absent key, XDP_PASS
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["retval"], 2);
  EXPECT_FALSE(j.contains("redirect")) << r.out;
}

TEST_F(ProgRunRedirect, PlainLineOnlyWithDebug) {
  const std::string hex = command_hex(0, 5, 0);
  auto plain = run({"prog", "run", "pinned", "/sys/fs/bpf/redir", "--data-hex", hex});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("Redirect"), std::string::npos) << plain.out;
  auto debug = run({"-d", "prog", "run", "pinned", "/sys/fs/bpf/redir", "--data-hex", hex});
  ASSERT_EQ(debug.exit_code, 0) << debug.err;
  EXPECT_NE(debug.out.find("\nRedirect: devmap id "), std::string::npos) << debug.out;
  EXPECT_NE(debug.out.find(" key 5 -> ifindex 1 (lo)\n"), std::string::npos) << debug.out;
}

}  // namespace
}  // namespace userbpf::cli
