// A libbpf-tools-style program (tests/hooks/core_progs/execsnoop.bpf.c: compiled against the
// vmlinux.h that `userbpf btf dump runtime format c` writes, CO-RE task reads, a ring buffer of
// events) run unchanged by `userbpf run --event-type`, its events checked against the commands
// the test started.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/subprocess.hpp"

namespace userbpf::hooks {
namespace {

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kExecsnoop = std::string(USERBPF_CORE_PROG_DIR) + "/execsnoop.bpf.o";
const std::string kOpensnoop = std::string(USERBPF_CORE_PROG_DIR) + "/opensnoop.bpf.o";

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class LibbpfTools : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/userbpf-tools-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    state_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(state_); }
  std::string state_;
};

TEST_F(LibbpfTools, RuntimeVmlinuxHeaderDescribesWhatProgramsSee) {
  const auto r = testing::run_process(kBinary, {"btf", "dump", "runtime", "format", "c"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("#ifndef __VMLINUX_H__\n")) << r.out.substr(0, 200);
  for (const char* needle :
       {"struct task_struct {", "struct task_struct *real_parent;", "struct pt_regs {",
        "struct trace_event_raw_sys_enter {", "struct xdp_md {", "struct __sk_buff {",
        "BPF_MAP_TYPE_RINGBUF = 27", "false = 0", "true = 1", "BPF_ANY = 0",
        "BPF_F_CURRENT_CPU = 4294967295ULL", "XDP_PASS = 2"}) {
    EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
  }
  const auto raw = testing::run_process(kBinary, {"-j", "btf", "dump", "runtime"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  EXPECT_FALSE(nlohmann::json::parse(raw.out).at("types").empty());
}

TEST_F(LibbpfTools, ExecsnoopEventsDecodedByTheirBtfType) {
  const auto r =
      testing::run_process(kBinary, {"--state-dir", state_, "-j", "run", kExecsnoop, "--event-type",
                                     "event", "--", "sh", "-c", "/bin/true; /bin/true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto events = json_lines(r.out);
  ASSERT_EQ(events.size(), 3u) << r.out;  // sh, then two /bin/true
  for (const auto& e : events) {
    EXPECT_EQ(e.at("map"), "events");
    EXPECT_EQ(e.at("size"), 104);
  }
  const auto& sh = events[0].at("event");
  EXPECT_EQ(sh.at("filename"), "/usr/bin/sh");
  EXPECT_EQ(sh.at("comm"), "userbpf");  // exec's child, before it becomes sh
  for (size_t i = 1; i < 3; ++i) {
    const auto& e = events[i].at("event");
    EXPECT_EQ(e.at("filename"), "/bin/true");
    EXPECT_EQ(e.at("comm"), "sh");
    // BPF_CORE_READ(task, real_parent, tgid): the shell that forked it.
    EXPECT_EQ(e.at("ppid"), sh.at("pid"));
    EXPECT_NE(e.at("pid"), sh.at("pid"));
    EXPECT_EQ(e.at("uid").get<uint32_t>(), getuid());
    // The user stack starts at the syscall's caller.
    EXPECT_GE(e.at("stack_bytes").get<int>(), 8);
    EXPECT_NE(e.at("ip").get<uint64_t>(), 0u);
  }
}

// opensnoop: entry and exit tracepoints of open/openat joined through a hash map, events in a
// perf event array, sched_process_exit cleaning up. Every open the script makes of the test's
// own files is reported exactly once with its process, parent, flags and return value.
TEST_F(LibbpfTools, OpensnoopReportsEveryOpenOnceWithItsResult) {
  const std::string dir = state_ + "/files";
  std::filesystem::create_directory(dir);
  for (const char* name : {"a", "b"}) std::ofstream(dir + "/" + name) << "x\n";
  // Descriptor 3 may be inherited from whoever runs the tests (ctest under CI does): the script
  // closes it so that cat's first open gets 3.
  const std::string script = "exec 3>&-; : < " + dir + "/a; cat " + dir + "/b > /dev/null; cat " + dir +
                             "/missing 2>/dev/null; echo hi > " + dir + "/out; true";
  const auto r =
      testing::run_process(kBinary, {"--state-dir", state_, "-j", "run", kOpensnoop, "--event-type",
                                     "event", "--", "/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::vector<nlohmann::json>> by_file;
  std::set<std::pair<int, uint64_t>> unique;  // (tid, ts): no event delivered twice
  const auto lines = json_lines(r.out);
  for (const auto& line : lines) {
    ASSERT_EQ(line.at("map"), "events") << line;
    const auto& e = line.at("event");
    EXPECT_TRUE(unique.emplace(e.at("tid").get<int>(), e.at("ts").get<uint64_t>()).second) << e;
    by_file[e.at("fname").get<std::string>()].push_back(e);
  }
  // The dynamic loader's opens of every process are there too.
  EXPECT_GE(by_file["/etc/ld.so.cache"].size(), 2u) << r.out;
  for (const char* name : {"a", "b", "missing", "out"}) {
    ASSERT_EQ(by_file[dir + "/" + name].size(), 1u) << name << "\n" << r.out;
  }
  const auto& a = by_file[dir + "/a"][0];
  const auto& b = by_file[dir + "/b"][0];
  const auto& missing = by_file[dir + "/missing"][0];
  const auto& out = by_file[dir + "/out"][0];
  // The shell opens a and out itself; cat, its child, opens b and missing.
  EXPECT_EQ(a.at("comm"), "sh");
  EXPECT_EQ(out.at("comm"), "sh");
  EXPECT_EQ(out.at("pid"), a.at("pid"));
  EXPECT_EQ(a.at("pid"), a.at("tid"));
  EXPECT_GT(a.at("ppid").get<int>(), 0);  // userbpf, which started the shell
  EXPECT_NE(a.at("ppid"), a.at("pid"));
  for (const auto* e : {&b, &missing}) {
    EXPECT_EQ(e->at("comm"), "cat");
    EXPECT_EQ(e->at("ppid"), a.at("pid"));
    EXPECT_NE(e->at("pid"), a.at("pid"));
    EXPECT_EQ(e->at("uid").get<uint32_t>(), getuid());
  }
  EXPECT_NE(b.at("pid"), missing.at("pid"));
  EXPECT_GE(a.at("ret").get<int>(), 0);
  EXPECT_EQ(b.at("ret"), 3);  // cat's first free descriptor
  EXPECT_EQ(missing.at("ret"), -ENOENT);
  EXPECT_GE(out.at("ret").get<int>(), 0);
  EXPECT_EQ(a.at("flags"), O_RDONLY);
  EXPECT_EQ(out.at("flags"), O_WRONLY | O_CREAT | O_TRUNC);
}

TEST_F(LibbpfTools, EventsWithoutATypeAreHexAndUnknownTypesAreRefused) {
  const auto hex = testing::run_process(
      kBinary, {"--state-dir", state_, "run", kExecsnoop, "--events", "--", "/bin/true"});
  ASSERT_EQ(hex.exit_code, 0) << hex.err;
  EXPECT_TRUE(hex.out.starts_with("events: ")) << hex.out;
  EXPECT_EQ(std::count(hex.out.begin(), hex.out.end(), ' '), 1 + 103) << hex.out;  // 104 bytes
  const auto bad = testing::run_process(kBinary, {"--state-dir", state_, "run", kExecsnoop,
                                                  "--event-type", "no_such", "--", "/bin/true"});
  EXPECT_EQ(bad.exit_code, 255);
  EXPECT_NE(bad.err.find("--event-type: no type 'no_such'"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace userbpf::hooks
