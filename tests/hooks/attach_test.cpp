// Attaching to running processes (PtraceSupervisor::attach, `userbpf run --pid`): targets are
// started WITHOUT supervision, attached to for a while, detached from; the tests check the events
// seen carry the target's pid, the target runs on afterwards with working syscalls (no seccomp
// filter, no ENOSYS), its code holds no breakpoint any more, and semaphores are back at zero.
#include <asm/unistd_64.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "hooks/event_dispatcher.hpp"
#include "hooks/proc_maps.hpp"
#include "hooks/supervisor.hpp"
#include "hooks/uprobe_target.hpp"
#include "hooks/usdt_attach.hpp"
#include "object/object.hpp"
#include "object/usdt_notes.hpp"
#include "support/supervised_run.hpp"
#include "support/uprobe_calls.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::hooks {
namespace {

using namespace uprobe_test;

using namespace std::chrono_literals;
using userbpf::testing::eventually;
using userbpf::testing::TempRuntime;
using userbpf::testing::UntracedProcess;
using userbpf::testing::with_watchdog;

std::map<uint32_t, uint64_t> counts(maps::Map& map) {
  return entries<uint32_t, uint64_t>(map);
}

size_t count_lines(const std::string& file, const std::string& text) {
  std::ifstream in(file);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line == text;
  return n;
}

// The byte at `address` of process `pid`, and the byte at `offset` of `file`.
int byte_in_process(pid_t pid, uint64_t address) {
  uint8_t b = 0;
  iovec local{&b, 1};
  iovec remote{reinterpret_cast<void*>(address), 1};
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == 1 ? b : -1;
}
int byte_in_file(const std::string& file, uint64_t offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  const int b = in.get();
  return in ? b : -1;
}

std::string fs_canonical(const std::string& path) {
  std::error_code ec;
  const auto p = std::filesystem::canonical(path, ec);
  return ec ? path : p.string();
}

// Where `file_offset` of `path` is mapped executable in `pid` (0 when it is not).
uint64_t mapped_address(pid_t pid, const std::string& path, uint64_t file_offset) {
  for (const Mapping& m : read_mappings(pid)) {
    if (m.executable && m.path == path && file_offset >= m.file_offset &&
        file_offset - m.file_offset < m.end - m.start) {
      return m.start + (file_offset - m.file_offset);
    }
  }
  return 0;
}

class Attach : public ::testing::Test {
 protected:
  Attach() : temp_("userbpf-attach") {}
  void SetUp() override { ASSERT_NE(temp_.runtime(), nullptr) << temp_.error(); }

  // Loads `object` and attaches the programs `wanted` accepts at their own sections.
  void load(const std::string& object, const std::function<bool(const std::string&)>& wanted) {
    auto obj = object::open(object);
    ASSERT_TRUE(obj) << obj.error().to_string();
    auto loaded = temp_.runtime()->load(*obj);
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    for (const runtime::ProgramRecord& record : *loaded) {
      if (!wanted(record.name)) continue;
      auto hook = parse_hook_point(record.section);
      ASSERT_TRUE(hook) << record.section << ": " << hook.error().message;
      auto instance = temp_.runtime()->instantiate(record);
      ASSERT_TRUE(instance) << instance.error().to_string();
      for (const auto& map : (*instance)->maps()) maps_[map->spec().name] = map;
      dispatcher_.attach(*hook, std::move(*instance));
    }
    dispatcher_.set_on_error([this](const runtime::ProgramRecord& r, const Error& e) {
      run_errors_.push_back(r.name + ": " + e.to_string());
    });
  }

  // Attaches to `pid` with `sink` for `duration`, then detaches (the watchdog's stop).
  Result<CommandOutcome> attach_for(pid_t pid, std::chrono::milliseconds duration,
                                    const HookInterest& interest, EventSink& sink) {
    auto outcome = with_watchdog(supervisor_, duration,
                                 [&] { return supervisor_.attach(pid, interest, sink); });
    EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
    return outcome;
  }
  Result<CommandOutcome> attach_for(pid_t pid, std::chrono::milliseconds duration) {
    return attach_for(pid, duration, dispatcher_.interest(), dispatcher_);
  }

  TempRuntime temp_;
  EventDispatcher dispatcher_;
  PtraceSupervisor supervisor_;
  std::map<std::string, std::shared_ptr<maps::Map>> maps_;
  std::vector<std::string> run_errors_;
};

// A shell loop started untraced: each round forks and execs cat (an openat in the child) and
// appends to a log (an openat in the shell itself). Attached for a while with syscall and sched
// hooks (PTRACE_SYSCALL, no seccomp filter), then detached: the shell runs on, every open working.
TEST_F(Attach, SyscallHooksOfARunningShellAndItRunsOnAfterTheDetach) {
  load(std::string(USERBPF_HOOK_PROG_DIR) + "/attach_counts.bpf.o",
       [](const std::string&) { return true; });
  ASSERT_EQ(dispatcher_.attached(), 3u);
  const std::string log = temp_.path("log");
  std::ofstream(temp_.path("data")) << "data\n";
  UntracedProcess shell({"sh", "-c",
                         "while :; do if cat " + temp_.path("data") +
                             " >/dev/null; then echo ok >>" + log + "; else echo FAIL >>" + log +
                             "; fi; sleep 0.02; done"});
  ASSERT_TRUE(eventually([&] { return count_lines(log, "ok") >= 2; }));

  auto outcome = attach_for(shell.pid(), 1500ms);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_TRUE(outcome->detached);
  EXPECT_FALSE(outcome->seccomp_filter);
  EXPECT_GT(outcome->events, 0u);

  // The shell's own opens (the log) and forks carry its pid; its children's opens (cat) theirs.
  const auto opens = counts(*maps_.at("opens"));
  const auto forks = counts(*maps_.at("forks"));
  const uint32_t shell_pid = static_cast<uint32_t>(shell.pid());
  ASSERT_TRUE(opens.contains(shell_pid));
  ASSERT_TRUE(forks.contains(shell_pid));
  EXPECT_GE(forks.at(shell_pid), 5u);  // 1.5 s of rounds 20 ms apart (and a slow machine)
  EXPECT_GE(opens.at(shell_pid), forks.at(shell_pid) - 1);  // one log append per round
  EXPECT_GE(opens.size(), 3u);  // the children (cat, sleep) count under their own pids
  EXPECT_EQ(forks.size(), 1u) << "only the shell forks";
  EXPECT_TRUE(counts(*maps_.at("open_errors")).empty());

  // Detached: no tracer, no filter, and the loop goes on with every cat succeeding.
  EXPECT_EQ(shell.status_field("TracerPid"), 0);
  EXPECT_EQ(shell.status_field("Seccomp"), 0);
  const size_t before = count_lines(log, "ok");
  EXPECT_TRUE(eventually([&] { return count_lines(log, "ok") >= before + 5; }));
  EXPECT_EQ(count_lines(log, "FAIL"), 0u);
  EXPECT_TRUE(shell.running());
}

// Detaching while the shell is inside vfork: the shell cannot stop until its child has exec'd,
// and the child is a tracee held at our stop. Many short attachments to a shell that runs an
// external command (dash: vfork + exec) back to back land in that window; each must end (the
// test would hang otherwise) and leave the shell running untraced.
TEST_F(Attach, DetachWhileTheShellIsInVfork) {
  load(std::string(USERBPF_HOOK_PROG_DIR) + "/attach_counts.bpf.o",
       [](const std::string&) { return true; });
  const std::string log = temp_.path("log");
  UntracedProcess shell({"sh", "-c", "while :; do /bin/true; echo ok >>" + log + "; done"});
  ASSERT_TRUE(eventually([&] { return count_lines(log, "ok") >= 2; }));
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(round);
    auto outcome = attach_for(shell.pid(), 20ms);
    ASSERT_TRUE(outcome) << outcome.error().to_string();
    EXPECT_TRUE(outcome->detached);
    ASSERT_TRUE(shell.running());
    EXPECT_EQ(shell.status_field("TracerPid"), 0);
  }
  const size_t before = count_lines(log, "ok");
  EXPECT_TRUE(eventually([&] { return count_lines(log, "ok") >= before + 5; }));
}

// A running target calling probed functions in its executable and in a library already mapped:
// the attach scans its mappings and inserts the breakpoints; the calls are seen with their
// arguments and the target's pid; after the detach the code is the file's again and the target
// runs on without a SIGTRAP (it ends only by our SIGTERM).
TEST_F(Attach, UprobesInARunningProcessAndCodeRestoredAtDetach) {
  load(std::string(USERBPF_UPROBE_PROG_DIR) + "/uprobes.bpf.o", [](const std::string& name) {
    return name == "add_entry" || name == "add_exit" || name == "mul_entry" || name == "rec_exit";
  });
  UntracedProcess target({kBin, "5", "loop"}, temp_.path("out"));
  // Started: the library is mapped.
  auto lib_offset = elf_function_offset(kLib, "lib_mul");
  ASSERT_TRUE(lib_offset) << lib_offset.error().message;
  ASSERT_TRUE(eventually(
      [&] { return mapped_address(target.pid(), fs_canonical(kLib), *lib_offset) != 0; }));
  auto outcome = attach_for(target.pid(), 1000ms);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_TRUE(outcome->detached);

  const auto adds = calls(*maps_.at("add_calls"));
  ASSERT_GT(adds.size(), 20u);
  for (const auto& [a, call] : adds) {
    EXPECT_EQ(call.count, 1u) << a;
    EXPECT_EQ(call.arg2, 1000 + a);
    EXPECT_EQ(call.tgid, static_cast<uint32_t>(target.pid()));
    EXPECT_EQ(call.pid, call.tgid);
    EXPECT_STREQ(call.comm, "uprobe_target");
  }
  // The returns of the calls whose entry was seen (the last entry's return may come after the
  // detach; a call in flight at the attach returns without its frame).
  const auto returns = calls(*maps_.at("add_returns"));
  size_t matched = 0;
  for (const auto& [a, call] : adds) matched += returns.contains(2 * a + 1000);
  EXPECT_GE(matched + 1, adds.size());
  EXPECT_GT(calls(*maps_.at("mul_calls")).size(), 20u);
  EXPECT_GT(calls(*maps_.at("rec_returns")).size(), 0u);

  // Every probed byte is the file's again.
  for (const auto& [file, symbol] : {std::pair{kBin, "target_add"}, std::pair{kLib, "lib_mul"}}) {
    auto offset = elf_function_offset(file, symbol);
    ASSERT_TRUE(offset) << offset.error().message;
    const uint64_t address = mapped_address(target.pid(), fs_canonical(file), *offset);
    ASSERT_NE(address, 0u) << symbol;
    EXPECT_EQ(byte_in_process(target.pid(), address), byte_in_file(file, *offset)) << symbol;
  }
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(target.running()) << "the target died after the detach";
  const int status = target.stop(SIGTERM);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
}

// Every thread of a multi-threaded target is seized (and their breakpoint hits carry their own
// tids), uprobes in the executable only need no syscall stops at all.
TEST_F(Attach, EveryThreadOfARunningProcess) {
  load(std::string(USERBPF_UPROBE_PROG_DIR) + "/uprobes.bpf.o",
       [](const std::string& name) { return name == "add_entry"; });
  UntracedProcess target({kBin, "5", "loop", "threads"}, temp_.path("out"));
  ASSERT_TRUE(eventually([&] { return target.threads() == 5; }));
  auto outcome = attach_for(target.pid(), 1000ms);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_TRUE(outcome->detached);
  EXPECT_GE(outcome->processes, 5u);
  std::set<uint32_t> tids;
  std::set<int64_t> workers;
  for (const auto& [a, call] : calls(*maps_.at("add_calls"))) {
    EXPECT_EQ(call.count, 1u) << a;
    EXPECT_EQ(call.tgid, static_cast<uint32_t>(target.pid()));
    tids.insert(call.pid);
    workers.insert(a / 1000000);
  }
  EXPECT_EQ(tids.size(), 4u);
  EXPECT_EQ(workers, (std::set<int64_t>{1, 2, 3, 4}));
  EXPECT_FALSE(tids.contains(static_cast<uint32_t>(target.pid())));  // main only joins
  // Uprobes in the executable only: the threads ran without syscall stops.
  EXPECT_FALSE(dispatcher_.interest().needs_syscall_stops());
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(target.running());
  EXPECT_EQ(target.threads(), 5u);
}

// A sink behind the USDT one that looks at the tracee when the source announces the detach:
// the semaphore must already be back at zero while the process is still traced.
struct DetachObserver : EventSink {
  EventSink& inner;
  pid_t pid = 0;
  uint64_t semaphore = 0;
  int tracer_at_detach = -1;
  int semaphore_at_detach = -1;
  explicit DetachObserver(EventSink& next) : inner(next) {}
  void on_syscall(const SyscallEvent& e) override { inner.on_syscall(e); }
  void on_process_event(const ProcessEvent& e) override { inner.on_process_event(e); }
  void on_uprobe(const UprobeEvent& e) override { inner.on_uprobe(e); }
  void on_detaching() override {
    inner.on_detaching();
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("TracerPid:", 0) == 0) tracer_at_detach = std::atoi(line.c_str() + 10);
    }
    uint16_t value = 0xffff;
    iovec local{&value, sizeof(value)};
    iovec remote{reinterpret_cast<void*>(semaphore), sizeof(value)};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof(value)) {
      semaphore_at_detach = value;
    }
  }
};

// USDT in a running process: its semaphore is counted up at the attach (the guarded probe starts
// firing), counted down before the detach, and the probes fire with the target's pid.
TEST_F(Attach, UsdtSemaphoreCountedAtAttachAndDownBeforeTheDetach) {
  auto obj = object::open(std::string(USERBPF_HOOK_PROG_DIR) + "/usdt_probes.bpf.o");
  ASSERT_TRUE(obj) << obj.error().to_string();
  auto loaded = temp_.runtime()->load(*obj);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  UsdtAttacher usdt(dispatcher_);
  for (const runtime::ProgramRecord& record : *loaded) {
    if (record.name != "on_guarded" && record.name != "on_none") continue;
    auto target = parse_usdt_section(record.section);
    ASSERT_TRUE(target) << target.error().to_string();
    target->path = USERBPF_USDT_PROBES;
    auto sites = usdt.attach(*temp_.runtime(), record, *target, 0);
    ASSERT_TRUE(sites) << sites.error().to_string();
  }
  auto guarded = object::find_usdt_probes(USERBPF_USDT_PROBES, "userbpf_test", "guarded");
  ASSERT_TRUE(guarded) << guarded.error().to_string();
  const uint64_t semaphore_offset = guarded->front().semaphore_offset;

  const std::string out = temp_.path("out");
  UntracedProcess target({USERBPF_USDT_PROBES, "3", "loop"}, out);
  ASSERT_TRUE(eventually([&] { return count_lines(out, "guarded=0") >= 2; }));
  HookInterest interest = usdt.interest();
  EXPECT_FALSE(interest.needs_syscall_stops()) << "probes in an executable: no syscall stops";

  DetachObserver observer(usdt.sink());
  observer.pid = target.pid();
  std::thread reader;
  int semaphore_while_attached = -1;
  auto outcome = with_watchdog(supervisor_, 1000ms, [&] {
    reader = std::thread([&] {
      std::this_thread::sleep_for(500ms);
      const std::vector<uint64_t> counted = usdt.semaphores().counted(target.pid());
      if (counted.size() == 1) {
        observer.semaphore = counted[0];
        semaphore_while_attached = byte_in_process(target.pid(), counted[0]);
      }
    });
    return supervisor_.attach(target.pid(), interest, observer);
  });
  reader.join();
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_TRUE(run_errors_.empty()) << run_errors_.front();
  EXPECT_TRUE(outcome->detached);
  EXPECT_EQ(semaphore_while_attached, 1);
  EXPECT_EQ(observer.semaphore_at_detach, 0);
  EXPECT_EQ(observer.tracer_at_detach, getpid()) << "counted down only after the detach";
  EXPECT_EQ(observer.semaphore % 4096, semaphore_offset % 4096);

  // The guarded probe fired while attached (batches printed guarded=3).
  EXPECT_GE(count_lines(out, "guarded=3"), 1u);
  // Both programs saw the target's pid, 3 hits per batch each.
  std::shared_ptr<maps::Map> ring;
  for (const runtime::MapRecord& record : temp_.runtime()->maps()) {
    if (record.spec.name == "usdt_events") ring = *temp_.runtime()->open_map(record.id);
  }
  ASSERT_NE(ring, nullptr);
  std::map<uint32_t, size_t> by_probe;
  auto consumer = maps::RingBuffer::create(ring, [&](const void* data, size_t size) {
    uint32_t probe = 0, pid = 0;
    EXPECT_GE(size, 8u);
    std::memcpy(&probe, data, 4);
    std::memcpy(&pid, static_cast<const char*>(data) + 4, 4);
    EXPECT_EQ(pid, static_cast<uint32_t>(target.pid()));
    ++by_probe[probe];
    return 0;
  });
  ASSERT_TRUE(consumer);
  (*consumer)->consume();
  EXPECT_GE(by_probe[3], 3u);  // none
  EXPECT_GE(by_probe[5], 3u);  // guarded

  // Detached: the semaphore is zero, the probe site is a nop again, the batches go on unguarded.
  const size_t unguarded = count_lines(out, "guarded=0");
  EXPECT_TRUE(eventually([&] { return count_lines(out, "guarded=0") >= unguarded + 3; }));
  EXPECT_EQ(byte_in_process(target.pid(), observer.semaphore), 0);
  ASSERT_TRUE(target.running());
}

TEST_F(Attach, PreciseErrors) {
  load(std::string(USERBPF_HOOK_PROG_DIR) + "/attach_counts.bpf.o",
       [](const std::string&) { return true; });
  // No such process (pid_max is at most 2^22).
  auto none = supervisor_.attach(1 << 23, dispatcher_.interest(), dispatcher_);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_EQ(none.error().message, "no process 8388608");
  auto self = supervisor_.attach(getpid(), dispatcher_.interest(), dispatcher_);
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().code, Errc::invalid_argument);

  // A thread id names a thread, not a process.
  UntracedProcess threads({kBin, "5", "loop", "threads"}, temp_.path("out"));
  ASSERT_TRUE(eventually([&] { return threads.threads() == 5; }));
  pid_t thread = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(threads.pid()) + "/task")) {
    const pid_t tid = std::atoi(entry.path().filename().c_str());
    if (tid != threads.pid()) thread = tid;
  }
  auto not_a_process = supervisor_.attach(thread, dispatcher_.interest(), dispatcher_);
  ASSERT_FALSE(not_a_process);
  EXPECT_EQ(not_a_process.error().message, std::to_string(thread) + " is a thread of process " +
                                               std::to_string(threads.pid()) + ", not a process");

  // A process already traced (by the supervisor of another attach).
  std::string busy_message;
  {
    PtraceSupervisor other;
    std::thread second;
    auto outcome = with_watchdog(other, 600ms, [&] {
      second = std::thread([&] {
        std::this_thread::sleep_for(300ms);
        PtraceSupervisor again;
        auto refused = again.attach(threads.pid(), dispatcher_.interest(), dispatcher_);
        if (!refused) busy_message = refused.error().message;
      });
      return other.attach(threads.pid(), HookInterest{}, dispatcher_);
    });
    second.join();
    ASSERT_TRUE(outcome) << outcome.error().to_string();
  }
  EXPECT_NE(busy_message.find("cannot attach to process " + std::to_string(threads.pid()) +
                              ": Operation not permitted (already traced by process " +
                              std::to_string(getpid()) + ")"),
            std::string::npos)
      << busy_message;
  EXPECT_TRUE(threads.running());
}

// Another user's process: refused with EPERM and a reason, from a child that dropped to nobody.
TEST_F(Attach, AnotherUsersProcessIsRefused) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to start a process as another user";
  UntracedProcess victim({"sleep", "30"});
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    std::string message = "setuid failed";
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      EventDispatcher dispatcher;
      PtraceSupervisor supervisor;
      auto refused = supervisor.attach(victim.pid(), HookInterest{}, dispatcher);
      message = refused ? "attached" : refused.error().message;
    }
    (void)!write(pipe_fds[1], message.data(), message.size());
    _exit(0);
  }
  close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) message.append(buffer, n);
  close(pipe_fds[0]);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(message.rfind("cannot attach to process " + std::to_string(victim.pid()) +
                              ": Operation not permitted (",
                          0),
            0u)
      << message;
  EXPECT_TRUE(victim.running());
}

}  // namespace
}  // namespace userbpf::hooks
