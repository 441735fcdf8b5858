// `userbpf run` as a user runs it, with uprobe sections and with --pid: SEC("uprobe/PATH:FUNC")
// programs are auto-attached in a command started by run, and `run OBJ --pid PID` attaches to a
// process started without userbpf, prints what its programs print until SIGINT, exits 0 and
// leaves the process running untraced.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "cli/background_process.hpp"
#include "cli/subprocess.hpp"
#include "support/supervised_run.hpp"

namespace userbpf::testing {
namespace {

using namespace std::chrono_literals;

const std::string kUserbpf = std::string(USERBPF_BIN_DIR) + "/userbpf";
const std::string kHello = std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o";
const std::string kPrint = std::string(USERBPF_UPROBE_PROG_DIR) + "/uprobe_print.bpf.o";
const std::string kTarget = std::string(USERBPF_UPROBE_TARGET_DIR) + "/uprobe_target";

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

size_t lines_in(const std::string& file) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(RunUprobe, AutoAttachesUprobeSectionsInTheCommand) {
  TempRuntime temp("userbpf-run-uprobe");
  auto r =
      run_process(kUserbpf, {"--state-dir", temp.path("state"), "run", kPrint, "--", kTarget, "4"});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // Every call and every return, in order, from the target's process.
  const std::regex call(R"(target_add\((\d+), (\d+)\) pid (\d+))");
  std::set<std::string> pids;
  int next = 0;
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), call);
       it != std::sregex_iterator(); ++it) {
    EXPECT_EQ(std::stoi((*it)[1]), next);
    EXPECT_EQ(std::stoi((*it)[2]), 1000 + next);
    pids.insert((*it)[3]);
    ++next;
  }
  EXPECT_EQ(next, 4) << r.out;
  EXPECT_EQ(pids.size(), 1u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(count(r.out, "target_add returned " + std::to_string(2 * i + 1000) + "\n"), 1u)
        << r.out;
  }
  EXPECT_NE(r.out.find("uprobe_target-"), std::string::npos) << "the comm in the trace line";
}

TEST(RunAttach, PidAttachesToARunningShellUntilSigint) {
  TempRuntime temp("userbpf-run-pid");
  const std::string log = temp.path("log");
  UntracedProcess shell(
      {"sh", "-c", "while :; do /bin/true && echo ok >>" + log + "; sleep 0.05; done"});
  ASSERT_TRUE(eventually([&] { return lines_in(log) >= 2; }));
  BackgroundProcess run(kUserbpf, {"--state-dir", temp.path("state"), "run", kHello, "--pid",
                                   std::to_string(shell.pid())});
  // hello_kern prints at each execve: /bin/true and sleep, every round.
  std::string out = run.read_until("Hello, eBPF World!", 10000);
  for (int i = 0; i < 100 && count(out, "Hello, eBPF World!") < 6; ++i) {
    out = run.read_until(std::string(10000, 'x'), 50);  // keep reading for up to 5 s
  }
  EXPECT_GE(count(out, "Hello, eBPF World!"), 6u) << out;
  EXPECT_EQ(run.stop(SIGINT), 0);
  // The shell runs on untraced, with no filter, its commands succeeding.
  EXPECT_TRUE(shell.running());
  EXPECT_EQ(shell.status_field("TracerPid"), 0);
  EXPECT_EQ(shell.status_field("Seccomp"), 0);
  const size_t before = lines_in(log);
  EXPECT_TRUE(eventually([&] { return lines_in(log) >= before + 5; }));
}

TEST(RunAttach, PidAttachesUprobesToARunningProcess) {
  TempRuntime temp("userbpf-run-pid-uprobe");
  UntracedProcess target({kTarget, "2", "loop"}, temp.path("out"));
  std::this_thread::sleep_for(100ms);
  BackgroundProcess run(kUserbpf, {"--state-dir", temp.path("state"), "run", kPrint, "--pid",
                                   std::to_string(target.pid())});
  const std::string pid_text = "pid " + std::to_string(target.pid()) + "\n";
  std::string out = run.read_until(pid_text, 10000);
  for (int i = 0; i < 100 && count(out, pid_text) < 10; ++i) {
    out = run.read_until(std::string(10000, 'x'), 50);
  }
  EXPECT_GE(count(out, pid_text), 10u) << out;
  EXPECT_GE(count(out, "target_add returned "), 9u) << out;
  EXPECT_EQ(run.stop(SIGTERM), 0);
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(target.running()) << "a breakpoint left behind kills the target with SIGTRAP";
  EXPECT_EQ(target.status_field("TracerPid"), 0);
}

TEST(RunAttach, PidErrors) {
  TempRuntime temp("userbpf-run-pid-errors");
  const std::string state = temp.path("state");
  auto missing = run_process(kUserbpf, {"--state-dir", state, "run", kHello, "--pid", "8388608"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("Error: no process 8388608"), std::string::npos) << missing.err;
  auto bad = run_process(kUserbpf, {"--state-dir", state, "run", kHello, "--pid", "12x"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("invalid process id '12x'"), std::string::npos) << bad.err;
  auto both =
      run_process(kUserbpf, {"--state-dir", state, "run", kHello, "--pid", "1", "--", "true"});
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.err.find("'--pid' and '-- COMMAND' exclude each other"), std::string::npos)
      << both.err;
  auto neither = run_process(kUserbpf, {"--state-dir", state, "run", kHello});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_NE(neither.err.find("expected '-- COMMAND'"), std::string::npos) << neither.err;
}

}  // namespace
}  // namespace userbpf::testing
