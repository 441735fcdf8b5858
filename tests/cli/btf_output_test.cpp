// bpftool's BTF-driven plain output: `map dump` / `map lookup` of a map with BTF print the
// btf_dumper listing (`[{ "key": ..., "value": ... },...]`), maps without BTF keep the hex lines,
// and `prog dump xlated` prints each function's BTF signature before its first instruction.
// Where the host's bpftool can load the same objects into the kernel, the text is compared with
// its output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli/subprocess.hpp"
#include "oracle/skip_without_kernel.hpp"

namespace userbpf::cli {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kBtfMaps = std::string(USERBPF_RUNTIME_PROG_DIR) + "/btf_maps.bpf.o";
const std::string kSubprogs = std::string(USERBPF_BPF_OBJECT_DIR) + "/subprogs.bpf.o";
const std::string kLegacyMaps = std::string(USERBPF_BPF_OBJECT_DIR) + "/legacy_maps.bpf.o";
const std::string kBpftool = "/usr/sbin/bpftool";

// Entries written to both userbpf's and the kernel's maps: map, key bytes, value bytes.
const std::vector<std::vector<std::string>> kUpdates = {
    {"points", "7 0 0 0",
     "0xff 0xff 0xff 0xff 3 0 104 105 0 0 0 0 6 0 0 0 1 2 3 0 0 0 0 0 9 0 0 0 0 0 0 0"},
    {"counters", "1 0 0 0", "5 0 0 0 0 0 0 1"},
};

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

class BtfOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/userbpf-cli-btf-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    state_ = pattern;
  }
  void TearDown() override {
    fs::remove_all(state_);
    if (!kernel_pin_.empty()) fs::remove_all(kernel_pin_);
  }

  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::run_process(kBinary, args);
  }

  // Loads `object` into the kernel with the host's bpftool (loadall: a directory of pins).
  // Empty when this machine cannot.
  bool kernel_load(const std::string& object) {
    if (!fs::exists(kBpftool) || !::userbpf::oracle::kernel_bpf_status().available) return false;
    kernel_pin_ = "/sys/fs/bpf/userbpf-btf-test-" + std::to_string(getpid());
    auto r = testing::run_process(kBpftool, {"prog", "loadall", object, kernel_pin_});
    if (r.exit_code != 0) {
      kernel_pin_.clear();
      return false;
    }
    return true;
  }

  // The kernel map of the loaded object named `name`, as "id N".
  std::string kernel_map_id(const std::string& prog, const std::string& name) {
    auto show =
        testing::run_process(kBpftool, {"-j", "prog", "show", "pinned", kernel_pin_ + "/" + prog});
    const nlohmann::json prog_info = nlohmann::json::parse(show.out);
    for (const auto& id : prog_info["map_ids"]) {
      auto map = testing::run_process(kBpftool,
                                      {"-j", "map", "show", "id", std::to_string(id.get<int>())});
      if (nlohmann::json::parse(map.out)["name"] == name) return std::to_string(id.get<int>());
    }
    return "";
  }

  std::string state_;
  std::string kernel_pin_;
};

TEST_F(BtfOutput, MapDumpAndLookupOfBtfMapsMatchBpftool) {
  auto load = run({"prog", "load", kBtfMaps, "/sys/fs/bpf/btf_maps"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  for (const auto& u : kUpdates) {
    std::vector<std::string> args = {"map", "update", "name", u[0], "key"};
    for (const auto& w : words(u[1])) args.push_back(w);
    args.push_back("value");
    for (const auto& w : words(u[2])) args.push_back(w);
    auto r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::vector<std::vector<std::string>> reads = {{"dump", "points"},
                                                       {"dump", "counters"},
                                                       {"dump", "per_cpu"},
                                                       {"lookup", "points", "7 0 0 0"},
                                                       {"lookup", "counters", "0 0 0 0"}};
  std::vector<std::string> ours;
  for (const auto& r : reads) {
    std::vector<std::string> args = {"map", r[0], "name", r[1]};
    if (r.size() > 2) {
      args.push_back("key");
      for (const auto& w : words(r[2])) args.push_back(w);
    }
    auto out = run(args);
    ASSERT_EQ(out.exit_code, 0) << out.err;
    ours.push_back(out.out);
  }
  // What bpftool prints for these entries (checked against the host's bpftool below).
  EXPECT_NE(ours[0].find("[{\n        \"key\": 7,\n        \"value\": {\n            \"x\": -1,\n"),
            std::string::npos)
      << ours[0];
  EXPECT_NE(ours[0].find("\"tag\": \"hi\",\n            \"color\": \"BLUE\",\n"
                         "            \"bytes\": [1,2,3\n            ],\n"),
            std::string::npos)
      << ours[0];
  EXPECT_EQ(ours[1],
            "[{\n        \"key\": 0,\n        \"value\": 0\n    },{\n        \"key\": 1,\n"
            "        \"value\": 72057594037927941\n    }\n]\n");
  EXPECT_EQ(ours[4], "{\n    \"key\": 0,\n    \"value\": 0\n}\n");
  EXPECT_EQ(ours[0].find("Found"), std::string::npos);

  if (!kernel_load(kBtfMaps)) GTEST_SKIP() << "the host bpftool cannot load into the kernel here";
  for (const auto& u : kUpdates) {
    std::vector<std::string> args = {"map", "update", "id", kernel_map_id("touch_maps", u[0]),
                                     "key"};
    for (const auto& w : words(u[1])) args.push_back(w);
    args.push_back("value");
    for (const auto& w : words(u[2])) args.push_back(w);
    auto r = testing::run_process(kBpftool, args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  for (size_t i = 0; i < reads.size(); ++i) {
    const auto& r = reads[i];
    std::vector<std::string> args = {"map", r[0], "id", kernel_map_id("touch_maps", r[1])};
    if (r.size() > 2) {
      args.push_back("key");
      for (const auto& w : words(r[2])) args.push_back(w);
    }
    auto theirs = testing::run_process(kBpftool, args);
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    EXPECT_EQ(ours[i], theirs.out) << r[0] << " " << r[1];
  }
}

TEST_F(BtfOutput, MapsWithoutBtfKeepHexLines) {
  auto load = run({"prog", "load", kLegacyMaps, "/sys/fs/bpf/legacy"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto list = run({"-j", "map", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto maps = nlohmann::json::parse(list.out);
  ASSERT_FALSE(maps.empty());
  for (const auto& m : maps) {
    if (m.contains("btf_id")) continue;
    if (m["type"] != "hash" && m["type"] != "array") continue;
    auto dump = run({"map", "dump", "id", std::to_string(m["id"].get<int>())});
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    EXPECT_TRUE(std::regex_search(dump.out, std::regex("Found \\d+ elements?\n$"))) << dump.out;
    EXPECT_EQ(dump.out.find('{'), std::string::npos) << dump.out;
    return;
  }
  GTEST_SKIP() << "no hash or array map without BTF in " << kLegacyMaps;
}

// The signature lines of a `prog dump xlated` listing, in order.
std::vector<std::string> signatures(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == ':' && line[0] != ' ' && line[0] != ';') {
      out.push_back(line);
    }
  }
  return out;
}

TEST_F(BtfOutput, XlatedDumpHasFunctionSignatures) {
  auto load = run({"prog", "loadall", kSubprogs, "/sys/fs/bpf/sub"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto dump = run({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/sub/entry_two"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  // From subprogs.bpf.c: the entry, its callback and the global function it calls.
  const std::vector<std::string> want = {
      "int entry_two(void * ctx):", "int loop_step(__u32 index, void * data):",
      "int global_twice(int x):", "int square(int x):"};
  EXPECT_EQ(signatures(dump.out), want) << dump.out;
  EXPECT_EQ(dump.out.rfind("int entry_two(void * ctx):\n", 0), 0u) << dump.out;
  auto json = run({"-j", "prog", "dump", "xlated", "pinned", "/sys/fs/bpf/sub/entry_two"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto insns = nlohmann::ordered_json::parse(json.out);
  ASSERT_FALSE(insns.empty());
  EXPECT_EQ(insns[0].begin().key(), "proto");
  EXPECT_EQ(insns[0]["proto"], "int entry_two(void * ctx)");

  if (!kernel_load(kSubprogs)) GTEST_SKIP() << "the host bpftool cannot load into the kernel here";
  for (const std::string prog : {"entry_one", "entry_two", "no_calls"}) {
    auto ours = run({"prog", "dump", "xlated", "pinned", "/sys/fs/bpf/sub/" + prog});
    auto theirs = testing::run_process(
        kBpftool, {"prog", "dump", "xlated", "pinned", kernel_pin_ + "/" + prog});
    ASSERT_EQ(theirs.exit_code, 0) << theirs.err;
    EXPECT_EQ(signatures(ours.out), signatures(theirs.out)) << prog;
  }
}

}  // namespace
}  // namespace userbpf::cli
