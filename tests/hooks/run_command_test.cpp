// `userbpf run OBJ -- COMMAND` as a user runs it: the built binary in a subprocess with its own
// state directory, under `timeout` so a bug cannot hang the test run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Ran {
  int status = -1;  // exit status of userbpf
  std::string out;  // stdout (stderr goes to its own file)
  std::string err;
};

class RunCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/userbpf-run-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(fs::exists(binary())) << "userbpf is not built at " << binary();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string binary() { return std::string(USERBPF_BIN_DIR) + "/userbpf"; }

  std::string prefix() const {
    return binary() + " --state-dir " + (dir_ / "state").string() + " ";
  }

  // Runs a shell line; its stdout is collected, its stderr goes to a file read afterwards.
  Ran run_shell(const std::string& line) {
    const std::string err_file = (dir_ / "stderr").string();
    const std::string full = "{ " + line + "; } 2>" + err_file;
    Ran ran;
    FILE* pipe = popen(full.c_str(), "r");
    if (!pipe) return ran;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) ran.out.append(buf.data(), n);
    const int status = pclose(pipe);
    ran.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (FILE* err = fopen(err_file.c_str(), "r")) {
      while ((n = fread(buf.data(), 1, buf.size(), err)) > 0) ran.err.append(buf.data(), n);
      fclose(err);
    }
    return ran;
  }

  // userbpf with `args` (shell words, quoted as needed), killed after 60 s.
  Ran run(const std::string& args) { return run_shell("timeout -k 5 60 " + prefix() + args); }

  static size_t count(const std::string& text, const std::string& what) {
    size_t found = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++found;
    }
    return found;
  }

  fs::path dir_;
};

const std::string kHello = std::string(USERBPF_BPF_OBJECT_DIR) + "/seed/hello_kern.o";

TEST_F(RunCommand, HelloOncePerExecve) {
  // The script's own count of execve calls: sh itself and each ls (the last may be exec'd
  // without a fork; it is an execve either way). It prints its marker after the programs ran.
  Ran ran = run("run " + kHello + " -- sh -c 'ls / >/dev/null; ls / >/dev/null; ls / >/dev/null'");
  EXPECT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(count(ran.out, "bpf_trace_printk: Hello, eBPF World!\n"), 4u) << ran.out;
  // trace_pipe's line format, with the traced command's comm ("sh" at its own execve).
  EXPECT_NE(ran.out.find("sh-"), std::string::npos) << ran.out;
}

TEST_F(RunCommand, BccHelloOncePerExecveThroughTheSyscallWrapperKprobe) {
  // The tutorial's BCC program (seed/hello_bcc.py) as SEC("kprobe/__x64_sys_execve").
  const std::string obj = std::string(USERBPF_HOOK_PROG_DIR) + "/hello_bcc.bpf.o";
  Ran ran = run("run --unverified " + obj + " -- sh -c 'ls / >/dev/null; ls / >/dev/null; ls / >/dev/null'");
  EXPECT_EQ(ran.status, 0) << ran.err;
  EXPECT_EQ(count(ran.out, "bpf_trace_printk: Hello from BCC!\n"), 4u) << ran.out << ran.err;
  EXPECT_EQ(ran.err.find("Warning"), std::string::npos) << ran.err;
}

TEST_F(RunCommand, ReturnsTheCommandsExitStatus) {
  Ran ran = run("run " + kHello + " -- sh -c 'exit 3'");
  EXPECT_EQ(ran.status, 3) << ran.err;
  EXPECT_EQ(count(ran.out, "Hello, eBPF World!"), 1u) << ran.out;
}

TEST_F(RunCommand, WarnsAboutProgramsWithoutASupportedHook) {
  const std::string obj = std::string(USERBPF_HOOK_PROG_DIR) + "/syscall_hooks.bpf.o";
  Ran ran = run("run " + obj + " -- true");
  EXPECT_EQ(ran.status, 0) << ran.err;
  EXPECT_NE(ran.err.find("prog 'not_a_syscall_hook'"), std::string::npos) << ran.err;
  EXPECT_NE(ran.err.find("not attached"), std::string::npos) << ran.err;
}

TEST_F(RunCommand, RefusesALineWithoutACommand) {
  Ran ran = run("run " + kHello);
  EXPECT_EQ(ran.status, 255);
  EXPECT_NE(ran.err.find("expected '-- COMMAND'"), std::string::npos) << ran.err;
  Ran missing = run("run /nonexistent.o -- true");
  EXPECT_EQ(missing.status, 255);
}

TEST_F(RunCommand, AProgramFaultIsReportedAndTheTracedProcessRunsOn) {
  const std::string obj = std::string(USERBPF_HOOK_PROG_DIR) + "/checked_fault.bpf.o";
  const Ran ran = run("run --unverified " + obj + " -- sh -c 'echo $$; ls / >/dev/null; echo alive'");
  EXPECT_EQ(ran.status, 0) << ran.err;
  const size_t newline = ran.out.find('\n');
  ASSERT_NE(newline, std::string::npos) << ran.out;
  const std::string sh_pid = ran.out.substr(0, newline);
  EXPECT_EQ(ran.out.substr(newline + 1), "alive\n");
  // Once for sh's execve and once for ls's: program, instruction, source line, traced pid.
  EXPECT_EQ(count(ran.err, "Warning: prog 'read_past_ctx'"), 2u) << ran.err;
  EXPECT_EQ(count(ran.err, "insn 0: "), 2u) << ran.err;
  EXPECT_EQ(count(ran.err, "bytes past the end of ctx"), 2u) << ran.err;
  EXPECT_EQ(count(ran.err, "checked_fault.bpf.c:11:"), 2u) << ran.err;
  EXPECT_EQ(count(ran.err, "(traced pid " + sh_pid + ", tid " + sh_pid + ")"), 1u) << ran.err;
}

TEST_F(RunCommand, SigtermDetachesAndTheCommandRunsOn) {
  // userbpf is stopped while the command sleeps; the command finishes on its own, detached, and
  // leaves its mark.
  const std::string mark = (dir_ / "mark").string();
  const std::string state = (dir_ / "state").string();
  const std::string script = "sleep 1; echo done >" + mark;
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execl(binary().c_str(), "userbpf", "--state-dir", state.c_str(), "run", kHello.c_str(), "--",
          "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  usleep(500000);
  kill(pid, SIGTERM);
  int status = 0;
  pid_t waited = 0;
  for (int i = 0; i < 200 && (waited = waitpid(pid, &status, WNOHANG)) == 0; ++i) usleep(100000);
  if (waited == 0) {  // a hang: end it and fail
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "userbpf did not stop on SIGTERM";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  for (int i = 0; i < 40 && !fs::exists(mark); ++i) usleep(100000);
  EXPECT_TRUE(fs::exists(mark));
}

}  // namespace
