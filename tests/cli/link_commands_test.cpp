// The tutorial's attach flow with separate `userbpf` processes on one state directory:
// `prog load`, `prog attach PROG_ID tracepoint syscalls:sys_enter_execve`, `trace_pipe` in a
// second process, commands started with `userbpf exec -- ...` firing the program, and the link
// commands (list, pin, detach) that manage the attachment; plus the attach errors.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/background_process.hpp"
#include "cli/subprocess.hpp"

namespace userbpf::cli {
namespace {

using testing::BackgroundProcess;
using testing::ProcessResult;
namespace fs = std::filesystem;

const std::string kBinary = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kHello = std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o";
const std::string kXdp = std::string(USERBPF_RUNTIME_PROG_DIR) + "/xdp_packet.bpf.o";
constexpr int kFailure = 255;

class LinkCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kBinary)) << kBinary << " is missing: build the userbpf target";
    char pattern[] = "/tmp/userbpf-cli-link-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    state_ = dir_ + "/state";
  }
  void TearDown() override { fs::remove_all(dir_); }

  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--state-dir", state_});
    return testing::run_process(kBinary, args);
  }

  // Loads and pins the tutorial's program; returns its id.
  std::string load_hello() {
    const ProcessResult load = run({"prog", "load", kHello, "/sys/fs/bpf/hello"});
    EXPECT_EQ(load.exit_code, 0) << load.err;
    const ProcessResult list = run({"-j", "prog", "list"});
    const auto j = nlohmann::json::parse(list.out);
    return j.empty() ? "" : std::to_string(j[0]["id"].get<uint32_t>());
  }

  void expect_error(const ProcessResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, kFailure);
    EXPECT_EQ(r.err, "Error: " + message + "\n");
  }

  std::string dir_;
  std::string state_;
};

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(LinkCommands, TutorialAttachFlow) {
  const std::string id = load_hello();
  ASSERT_FALSE(id.empty());
  const ProcessResult attach =
      run({"prog", "attach", id, "tracepoint", "syscalls:sys_enter_execve"});
  // bpftool's PROG_ID form is `id N`; the tutorial writes the bare number.
  ASSERT_NE(attach.exit_code, 0) << "a bare id is not a bpftool handle";
  const ProcessResult attached =
      run({"prog", "attach", "id", id, "tracepoint", "syscalls:sys_enter_execve"});
  ASSERT_EQ(attached.exit_code, 0) << attached.err;
  EXPECT_EQ(attached.out, "");

  const ProcessResult list = run({"link", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(
      list.out, m,
      std::regex("^(\\d+): perf_event  prog " + id + "  \n\ttracepoint sys_enter_execve  \n$")))
      << list.out;
  const std::string link_id = m[1];

  // The program now lives through its link, even without its pin (bpffs `rm`).
  ASSERT_TRUE(fs::remove(state_ + "/bpffs/hello"));
  EXPECT_NE(run({"prog", "list"}).out.find("name hello"), std::string::npos);

  BackgroundProcess pipe(kBinary, {"--state-dir", state_, "trace_pipe"});
  // sh, then two execs of true: three execve calls, none printed by exec itself.
  const ProcessResult exec = run({"exec", "--", "sh", "-c", "/bin/true; /bin/true"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.out, "");
  std::string traced;
  for (int i = 0; i < 50 && count(traced, "Hello, eBPF World!") < 3; ++i) {
    traced = pipe.read_until("never printed", 100);
  }
  EXPECT_EQ(count(traced, "bpf_trace_printk: Hello, eBPF World!\n"), 3u) << traced;
  // The first execve is made by exec's own child (still named userbpf, as a shell's child is
  // named after the shell), the next two by sh.
  const std::string rest =
      R"(-\d+ +\[\d{3}\] d\.\.1\. +\d+\.\d{6}: bpf_trace_printk: Hello, eBPF World!\n)";
  const std::regex lines(" *userbpf" + rest + " *sh" + rest + " *sh" + rest);
  EXPECT_TRUE(std::regex_match(traced, lines)) << traced;

  // The exit status of the command is exec's.
  EXPECT_EQ(run({"exec", "--", "sh", "-c", "exit 7"}).exit_code, 7);

  const ProcessResult detach = run({"link", "detach", "id", link_id});
  ASSERT_EQ(detach.exit_code, 0) << detach.err;
  EXPECT_EQ(run({"link", "list"}).out, "");
  // Detached and unpinned, the program is gone too.
  EXPECT_EQ(run({"prog", "list"}).out, "");
  const ProcessResult none = run({"exec", "--", "/bin/true"});
  EXPECT_EQ(none.exit_code, kFailure);
  EXPECT_NE(none.err.find("no program is attached"), std::string::npos) << none.err;
}

TEST_F(LinkCommands, JsonPinAndProgDetach) {
  const std::string id = load_hello();
  ASSERT_FALSE(id.empty());
  const ProcessResult attach = run(
      {"-j", "prog", "attach", "id", id, "tracepoint", "syscalls/sys_enter_execve", "cookie", "7"});
  ASSERT_EQ(attach.exit_code, 0) << attach.err;
  const uint32_t link_id = nlohmann::json::parse(attach.out).at("link_id").get<uint32_t>();
  ASSERT_EQ(run({"link", "pin", "id", std::to_string(link_id), "/sys/fs/bpf/hello_link"}).exit_code,
            0);
  const ProcessResult show = run({"-j", "link", "show", "pinned", "/sys/fs/bpf/hello_link"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  const auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j.at("id").get<uint32_t>(), link_id);
  EXPECT_EQ(j.at("type"), "perf_event");
  EXPECT_EQ(j.at("prog_id").get<uint32_t>(), std::stoul(id));
  EXPECT_EQ(j.at("tracepoint"), "sys_enter_execve");
  EXPECT_EQ(j.at("cookie"), 7);
  EXPECT_EQ(j.at("pinned"), nlohmann::json::array({"/sys/fs/bpf/hello_link"}));
  const ProcessResult plain = run({"link", "show", "id", std::to_string(link_id)});
  EXPECT_NE(plain.out.find("tracepoint sys_enter_execve  cookie 7  \n\tpinned /sys/fs/bpf/"
                           "hello_link\n"),
            std::string::npos)
      << plain.out;

  // A second attachment on another hook, then prog detach of the first only.
  ASSERT_EQ(run({"prog", "attach", "id", id, "tracepoint", "syscalls:sys_enter_openat"}).exit_code,
            0);
  EXPECT_EQ(nlohmann::json::parse(run({"-j", "link", "list"}).out).size(), 2u);
  ASSERT_EQ(run({"prog", "detach", "id", id, "tracepoint", "syscalls:sys_enter_execve"}).exit_code,
            0);
  const auto left = nlohmann::json::parse(run({"-j", "link", "list"}).out);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].at("tracepoint"), "sys_enter_openat");
  // Its pin went with the detached link.
  EXPECT_FALSE(fs::exists(state_ + "/bpffs/hello_link"));
  expect_error(run({"prog", "detach", "id", id, "tracepoint", "syscalls:sys_enter_execve"}),
               "prog " + id + " is not attached to tracepoint/syscalls/sys_enter_execve");
}

TEST_F(LinkCommands, AttachErrors) {
  const std::string id = load_hello();
  ASSERT_FALSE(id.empty());
  expect_error(run({"prog", "attach", "id", id, "tracepoint", "sys_enter_execve"}),
               "tracepoint 'sys_enter_execve' is not CATEGORY:NAME (e.g. "
               "syscalls:sys_enter_execve)");
  const ProcessResult unknown =
      run({"prog", "attach", "id", id, "tracepoint", "syscalls:sys_enter_nosuchcall"});
  EXPECT_EQ(unknown.exit_code, kFailure);
  EXPECT_NE(unknown.err.find("nosuchcall"), std::string::npos) << unknown.err;
  expect_error(run({"prog", "attach", "id", id, "raw_tracepoint", "sys_enter"}),
               "prog " + id +
                   " ('hello') is a tracepoint program; raw_tracepoint/sys_enter takes a "
                   "raw_tracepoint program");
  const ProcessResult cgroup = run({"prog", "attach", "id", id, "cgroup_inet_ingress", "x"});
  EXPECT_EQ(cgroup.exit_code, kFailure);
  EXPECT_NE(cgroup.err.find("needs a kernel object"), std::string::npos) << cgroup.err;
  expect_error(run({"prog", "attach", "id", id, "bogus", "x"}),
               "unknown attach type 'bogus' (usage: prog attach PROG [ATTACH_TYPE TARGET] "
               "[cookie N])");
  expect_error(run({"link", "show", "id", "4242"}),
               "can't get link by id (4242): No such file or directory");
  expect_error(run({"link", "detach", "pinned", "/sys/fs/bpf/hello"}),
               "incorrect object type: prog");
  EXPECT_EQ(run({"link", "list"}).out, "");  // nothing was attached by the failures

  // An XDP program is not a tracepoint program.
  const ProcessResult xdp = run({"prog", "load", kXdp, "/sys/fs/bpf/xdp"});
  ASSERT_EQ(xdp.exit_code, 0) << xdp.err;
  const auto progs =
      nlohmann::json::parse(run({"-j", "prog", "show", "pinned", "/sys/fs/bpf/xdp"}).out);
  const std::string xdp_id = std::to_string(progs.at("id").get<uint32_t>());
  const ProcessResult wrong =
      run({"prog", "attach", "id", xdp_id, "tracepoint", "syscalls:sys_enter_execve"});
  EXPECT_EQ(wrong.exit_code, kFailure);
  EXPECT_NE(wrong.err.find("is a xdp program; tracepoint/syscalls/sys_enter_execve takes a "
                           "tracepoint program"),
            std::string::npos)
      << wrong.err;
}

}  // namespace
}  // namespace userbpf::cli
