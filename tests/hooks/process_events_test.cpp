// sched_process_exec/fork/exit, kprobe/kretprobe on syscall wrappers, BPF_KSYSCALL and the task
// model, fed by real commands under the ptrace supervisor: what the programs saw (records, current
// task, task_struct through BPF_CORE_READ) is checked against what the scripts did.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "hooks/event_dispatcher.hpp"
#include "hooks/supervisor.hpp"
#include "object/object.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::hooks {
namespace {

namespace fs = std::filesystem;

enum Kind : uint32_t { kExec = 1, kFork, kExit, kKsyscallExecve, kKprobeOpenat, kKretprobeOpenat };

// struct event of process_events.bpf.c.
struct Event {
  uint32_t kind;
  int32_t pid, other, cur_pid, cur_tgid, task_pid, task_tgid, task_ppid, exit_code, group_dead;
  int64_t value;
  char comm[16], comm2[16], comm3[16], text[96];

  std::string str(const char* s, size_t n) const { return std::string(s, strnlen(s, n)); }
  std::string comm_s() const { return str(comm, sizeof(comm)); }
  std::string comm2_s() const { return str(comm2, sizeof(comm2)); }
  std::string comm3_s() const { return str(comm3, sizeof(comm3)); }
  std::string text_s() const { return str(text, sizeof(text)); }
};
static_assert(sizeof(Event) == 192);

class ProcessEvents : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/userbpf-procev-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto rt = runtime::Runtime::open(dir_ / "state");
    ASSERT_TRUE(rt) << rt.error().message;
    rt_.emplace(std::move(*rt));
    auto obj = object::open(std::string(USERBPF_HOOK_PROG_DIR) + "/process_events.bpf.o");
    ASSERT_TRUE(obj) << obj.error().to_string();
    auto loaded = rt_->load(*obj);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    for (const runtime::ProgramRecord& record : *loaded) {
      auto hook = parse_hook_point(record.section);
      ASSERT_TRUE(hook) << record.section << ": " << hook.error().message;
      auto instance = rt_->instantiate(record);
      ASSERT_TRUE(instance) << instance.error().to_string();
      for (const auto& map : (*instance)->maps()) maps_[map->spec().name] = map;
      dispatcher_.attach(*hook, std::move(*instance));
    }
    ASSERT_EQ(dispatcher_.attached(), 6u);
    dispatcher_.set_on_error([this](const runtime::ProgramRecord& r, const Error& e) {
      run_errors_.push_back(r.name + ": " + e.to_string());
    });
    std::ofstream(dir_ / "a") << "a\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs argv under supervision with a 30 s watchdog.
  Result<CommandOutcome> run(std::vector<std::string> argv) {
    std::mutex m;
    std::condition_variable done_cv;
    bool done = false;
    std::thread watchdog([&] {
      sigset_t all;
      sigfillset(&all);
      pthread_sigmask(SIG_BLOCK, &all, nullptr);
      std::unique_lock lock(m);
      if (!done_cv.wait_for(lock, std::chrono::seconds(30), [&] { return done; })) {
        supervisor_.request_stop();
      }
    });
    CommandSpec command;
    command.argv = std::move(argv);
    auto outcome = supervisor_.run(command, dispatcher_.interest(), dispatcher_);
    {
      std::lock_guard lock(m);
      done = true;
    }
    done_cv.notify_one();
    watchdog.join();
    if (outcome) {
      EXPECT_FALSE(outcome->detached) << "the watchdog had to stop";
    }
    EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
    return outcome;
  }

  std::vector<Event> events() {
    uint32_t zero = 0, n = 0;
    maps_.at("count")->lookup_copy(&zero, &n);
    std::vector<Event> out;
    for (uint32_t i = 0; i < n && i < 512; ++i) {
      Event e{};
      maps_.at("events")->lookup_copy(&i, &e);
      out.push_back(e);
    }
    return out;
  }
  static std::vector<Event> of(const std::vector<Event>& all, uint32_t kind) {
    std::vector<Event> out;
    for (const Event& e : all)
      if (e.kind == kind) out.push_back(e);
    return out;
  }

  fs::path dir_;
  std::optional<runtime::Runtime> rt_;
  EventDispatcher dispatcher_;
  PtraceSupervisor supervisor_;
  std::map<std::string, std::shared_ptr<maps::Map>> maps_;
  std::vector<std::string> run_errors_;
};

TEST_F(ProcessEvents, ExecForkAndExitOfAShellScript) {
  const int prio = 120 + getpriority(PRIO_PROCESS, 0);
  auto outcome = run({"/bin/sh", "-c", "/bin/true; /bin/sh -c 'exit 7'; exit 3"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->exit_status, 3);
  const std::vector<Event> all = events();
  const std::vector<Event> execs = of(all, kExec), forks = of(all, kFork), exits = of(all, kExit);

  // Three execs: the command itself, /bin/true and the inner sh, with execve's file names.
  ASSERT_EQ(execs.size(), 3u);
  EXPECT_EQ(execs[0].text_s(), "/bin/sh");
  EXPECT_EQ(execs[1].text_s(), "/bin/true");
  EXPECT_EQ(execs[2].text_s(), "/bin/sh");
  const int32_t shell = execs[0].pid;
  EXPECT_EQ(execs[0].comm2_s(), "sh");  // task->comm after exec
  EXPECT_EQ(execs[1].comm2_s(), "true");
  EXPECT_EQ(execs[1].comm_s(), "true");
  for (const Event& e : execs) {
    EXPECT_EQ(e.pid, e.other);  // single-threaded: old_pid == pid
    EXPECT_EQ(e.pid, e.cur_pid);
    EXPECT_EQ(e.task_pid, e.pid);
    EXPECT_EQ(e.task_tgid, e.pid);
  }
  // The command's parent is this process (the supervisor forked it); the others' is the shell.
  EXPECT_EQ(execs[0].task_ppid, getpid());
  EXPECT_EQ(execs[1].task_ppid, shell);
  EXPECT_EQ(execs[2].task_ppid, shell);

  // Two forks by the shell, each announced before the child ran, in the parent's context.
  ASSERT_EQ(forks.size(), 2u);
  for (size_t i = 0; i < forks.size(); ++i) {
    const Event& f = forks[i];
    EXPECT_EQ(f.pid, shell);
    EXPECT_EQ(f.cur_pid, shell);
    EXPECT_EQ(f.task_tgid, shell);
    EXPECT_EQ(f.comm2_s(), "sh");
    EXPECT_EQ(f.comm3_s(), "sh");  // the child is a copy until it execs
    EXPECT_EQ(f.other, execs[i + 1].pid);
  }

  // Three exits: true (0), the inner sh (7), the shell (3): task->exit_code is the wait status.
  ASSERT_EQ(exits.size(), 3u);
  EXPECT_EQ(exits[0].pid, execs[1].pid);
  EXPECT_EQ(exits[0].comm2_s(), "true");
  EXPECT_EQ(exits[0].exit_code, 0);
  EXPECT_EQ(exits[1].pid, execs[2].pid);
  EXPECT_EQ(exits[1].exit_code, 7 << 8);
  EXPECT_EQ(exits[2].pid, shell);
  EXPECT_EQ(exits[2].exit_code, 3 << 8);
  EXPECT_EQ(exits[2].task_ppid, getpid());
  for (const Event& e : exits) {
    EXPECT_EQ(e.group_dead, 1);
    EXPECT_EQ(e.other, prio);
    EXPECT_EQ(e.cur_pid, e.pid);
    EXPECT_EQ(e.comm_s(), e.comm2_s());
  }
}

TEST_F(ProcessEvents, KprobesOnSyscallWrappersAndKsyscall) {
  const std::string a = (dir_ / "a").string();
  const std::string missing = (dir_ / "missing").string();
  auto outcome =
      run({"/bin/sh", "-c", "cat " + a + " >/dev/null; cat " + missing + " 2>/dev/null"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  const std::vector<Event> all = events();

  // BPF_KSYSCALL(execve, filename) read the name through the wrapper's user pt_regs.
  std::vector<std::string> execs;
  for (const Event& e : of(all, kKsyscallExecve)) execs.push_back(e.text_s());
  ASSERT_EQ(execs.size(), 3u);
  EXPECT_EQ(execs[0], "/bin/sh");
  EXPECT_TRUE(execs[1].ends_with("/cat")) << execs[1];

  // kprobe/__x64_sys_openat entries followed by their kretprobe returns, thread by thread.
  int found_a = 0, found_missing = 0;
  for (size_t i = 0; i + 1 < all.size(); ++i) {
    if (all[i].kind != kKprobeOpenat) continue;
    const Event& entry = all[i];
    const Event* ret = nullptr;
    for (size_t j = i + 1; j < all.size() && !ret; ++j)
      if (all[j].kind == kKretprobeOpenat && all[j].cur_pid == entry.cur_pid) ret = &all[j];
    ASSERT_NE(ret, nullptr) << entry.text_s();
    EXPECT_EQ(entry.value, -100);  // AT_FDCWD
    if (entry.text_s() == a) {
      ++found_a;
      EXPECT_GE(ret->value, 3);
    } else if (entry.text_s() == missing) {
      ++found_missing;
      EXPECT_EQ(ret->value, -ENOENT);
    }
  }
  EXPECT_EQ(found_a, 1);
  EXPECT_EQ(found_missing, 1);
}

TEST_F(ProcessEvents, ThreadsForkAsThreadsAndExitWithoutTheGroup) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3 to make threads";
  auto outcome = run({"/usr/bin/python3", "-S", "-c",
                      "import threading\n"
                      "t = threading.Thread(target=lambda: None)\nt.start()\nt.join()\n"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  const std::vector<Event> all = events();
  const std::vector<Event> execs = of(all, kExec);
  ASSERT_GE(execs.size(), 1u);
  const int32_t process = execs[0].pid;
  std::vector<Event> thread_exits;
  for (const Event& e : of(all, kExit))
    if (e.pid != process) thread_exits.push_back(e);
  std::string seen;
  for (const Event& e : all) {
    seen += std::to_string(e.kind) + ":" + std::to_string(e.pid) + "/" + std::to_string(e.other) +
            "@" + std::to_string(e.cur_pid) + " ";
  }
  ASSERT_EQ(thread_exits.size(), 1u) << seen;
  const Event& t = thread_exits[0];
  EXPECT_EQ(t.cur_tgid, process);  // a thread of the process
  EXPECT_EQ(t.task_tgid, process);
  EXPECT_EQ(t.task_ppid, getpid());  // a thread's real_parent is its process's parent
  // The fork event named the thread as the child, in the process's context.
  bool forked = false;
  for (const Event& f : of(all, kFork)) forked |= f.other == t.pid && f.pid == process;
  EXPECT_TRUE(forked);
  // Exactly one of the two exits ends the group: usually the process's, but join() returns
  // before the thread's kernel exit, so (as in Linux) the thread may be the last one out.
  int group_end = t.group_dead;
  for (const Event& e : of(all, kExit)) group_end += e.pid == process ? e.group_dead : 0;
  EXPECT_EQ(group_end, 1) << seen;
}

TEST_F(ProcessEvents, PrSetNameRefreshesTheCachedComm) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  auto outcome = run({"/usr/bin/python3", "-S", "-c",
                      "import ctypes\nctypes.CDLL(None).prctl(15, b'renamed-task', 0, 0, 0)\n"});
  ASSERT_TRUE(outcome) << outcome.error().message;
  const std::vector<Event> exits = of(events(), kExit);
  ASSERT_FALSE(exits.empty());
  // The exit runs after the rename: the record, the current comm and the model all see it.
  EXPECT_EQ(exits.back().comm2_s(), "renamed-task");
  EXPECT_EQ(exits.back().comm_s(), "renamed-task");
}

}  // namespace
}  // namespace userbpf::hooks
