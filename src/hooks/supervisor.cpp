#include "hooks/supervisor.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>
#include <unordered_map>

#include "hooks/seccomp_filter.hpp"
#include "hooks/tracee_reads.hpp"
#include "hooks/uprobe_breakpoints.hpp"

namespace userbpf::hooks {
namespace {

constexpr int kSyscallTrap = SIGTRAP | 0x80;  // PTRACE_O_TRACESYSGOOD's syscall stops

struct Tracee {
  bool initial_stop_pending = true;  // auto-attached threads start with a SIGSTOP to swallow
  bool awaiting_exit = false;        // resumed with PTRACE_SYSCALL for the exit of `exit_nr`
  int exit_nr = -1;
  pid_t tgid = 0;
  // The parent's fork event was handled. A new thread whose first stop comes before that event
  // is held at that stop, so that sched_process_fork runs before anything of the child, as in
  // Linux (the child runs only after copy_process and its tracepoint).
  bool announced = false;
  bool held = false;
  bool exit_reported = false;  // PTRACE_EVENT_EXIT seen (the live-thread count already dropped)
  bool rescan_maps = false;    // at this syscall's exit: code may have been mapped (uprobes)
  // SIGSTOPs sent by pause_others that are still to come (the thread stopped elsewhere first).
  int sigstops_to_swallow = 0;
};

Error sys_error(const std::string& what) {
  return make_error(Errc::io, what + ": " + std::strerror(errno));
}

// The file execve runs for `name`: names without '/' are looked up in PATH here, in the
// supervisor, so the traced process makes one execve as the kernel would show for a shell-run
// command (execvp in the child would try every PATH entry, each an execve a hook sees).
std::string resolve_command(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env_path = getenv("PATH");
  std::string_view rest = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    const size_t end = rest.find(':');
    const std::string_view dir = rest.substr(0, end);
    std::string candidate(dir.empty() ? std::string_view(".") : dir);
    candidate += '/';
    candidate += name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string_view::npos) return name;  // execv fails: 127, as a shell's "not found"
    rest.remove_prefix(end + 1);
  }
}

// The child: stop for the tracer to set its options, install the filter, exec. Only
// async-signal-safe calls here.
[[noreturn]] void exec_child(const char* file, char* const* argv,
                             const std::vector<sock_filter>& filter,
                             const sigset_t& original_mask) {
  sigprocmask(SIG_SETMASK, &original_mask, nullptr);
  if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(126);
  raise(SIGSTOP);
  if (!filter.empty()) {
    if (const int e = install_seccomp_filter(filter); e != 0) {
      const char msg[] = "userbpf: cannot install the seccomp filter\n";
      (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
      _exit(126);
    }
  }
  execv(file, argv);
  const int e = errno;
  const char* reason = strerror(e);
  const char prefix[] = "userbpf: cannot run ";
  (void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
  (void)!write(STDERR_FILENO, argv[0], strlen(argv[0]));
  (void)!write(STDERR_FILENO, ": ", 2);
  (void)!write(STDERR_FILENO, reason, strlen(reason));
  (void)!write(STDERR_FILENO, "\n", 1);
  _exit(e == ENOENT ? 127 : 126);
}

class Session {
 public:
  Session(const HookInterest& interest, EventSink& sink, std::atomic<bool>& stop)
      : interest_(interest), sink_(sink), stop_(stop), uprobes_(interest.uprobes, sink) {
    uprobes_.set_step_guard([this](pid_t tid, pid_t tgid) { pause_others(tid, tgid); },
                            [this] { resume_paused(); });
  }

  Result<CommandOutcome> run(const CommandSpec& command);
  Result<CommandOutcome> attach(pid_t pid);

 private:
  Result<CommandOutcome> follow(const sigset_t& original);
  Status seize_threads(pid_t pid, long options, std::vector<pid_t>& seized);
  void handle(pid_t tid, int status);
  void on_seccomp_stop(pid_t tid, Tracee& t);
  void on_syscall_entry(pid_t tid, Tracee& t, int nr, const std::array<uint64_t, 6>& args);
  void on_syscall_stop(pid_t tid, Tracee& t);
  void on_new_task(pid_t tid, Tracee& t, int event);
  void on_exec(pid_t tid);
  void on_exit_stop(pid_t tid, Tracee& t);
  bool on_breakpoint(pid_t tid, Tracee& t);
  void forget(pid_t tid, int status);
  void deliver(const ProcessEvent& event);
  void resume(pid_t tid, int signal = 0);
  void detach_all();
  void pause_others(pid_t tid, pid_t tgid);
  void resume_paused();
  bool is_deferred(pid_t tid) const;
  void detach_new_task(pid_t parent, Tracee& t, int event, std::vector<pid_t>& pending);
  bool take_signals(int timeout_ms);

  const HookInterest& interest_;
  EventSink& sink_;
  std::atomic<bool>& stop_;
  sigset_t waited_{};
  pid_t leader_ = 0;
  // Attached with PTRACE_SEIZE (attach): new tasks start with PTRACE_EVENT_STOP instead of a
  // SIGSTOP, group-stops are PTRACE_EVENT_STOPs, PTRACE_INTERRUPT stops a tracee.
  bool seized_ = false;
  // Every syscall stops (PTRACE_SYSCALL): attach, where no seccomp filter may be installed.
  bool syscall_stops_ = false;
  // Stops taken out of order (while attaching, while pausing threads for a single step): handled
  // by the event loop before it waits for new ones.
  std::vector<std::pair<pid_t, int>> deferred_;
  std::vector<pid_t> paused_;  // stopped by pause_others, resumed by resume_paused
  std::unordered_map<pid_t, Tracee> tracees_;
  std::unordered_map<pid_t, int> live_threads_;           // by tgid
  std::unordered_map<pid_t, std::string> exec_filename_;  // by tid, from execve entry to exec
  CommandOutcome outcome_;
  UprobeBreakpoints uprobes_;
};

Result<CommandOutcome> Session::run(const CommandSpec& command) {
  if (command.argv.empty()) return make_error(Errc::invalid_argument, "no command to run");
  std::vector<char*> argv;
  for (const std::string& arg : command.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::string file = resolve_command(command.argv[0]);
  // No filter when no hook needs syscall stops (uprobes in executables, process events only):
  // nothing then stays behind in the processes after a detach. The filter, when there is one,
  // also traces the optional exits.
  const std::vector<sock_filter> filter = interest_.needs_syscall_stops()
                                              ? build_seccomp_filter(interest_)
                                              : std::vector<sock_filter>{};
  outcome_.seccomp_filter = !filter.empty();

  // SIGINT/SIGTERM (stop and detach) and SIGCHLD (a tracee changed state) are taken with
  // sigtimedwait, never by handlers, so a stop request cannot be lost between checks.
  sigemptyset(&waited_);
  sigaddset(&waited_, SIGINT);
  sigaddset(&waited_, SIGTERM);
  sigaddset(&waited_, SIGCHLD);
  sigset_t original;
  pthread_sigmask(SIG_BLOCK, &waited_, &original);

  leader_ = fork();
  if (leader_ < 0) {
    Error e = sys_error("fork");
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    return e;
  }
  if (leader_ == 0) exec_child(file.c_str(), argv.data(), filter, original);

  int status = 0;
  if (waitpid(leader_, &status, __WALL) != leader_ || !WIFSTOPPED(status)) {
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    return make_error(Errc::io, "the command's process did not stop for tracing");
  }
  long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP;
  if (command.kill_on_exit) options |= PTRACE_O_EXITKILL;
  if (interest_.process_exit) options |= PTRACE_O_TRACEEXIT;
  if (ptrace(PTRACE_SETOPTIONS, leader_, nullptr, reinterpret_cast<void*>(options)) != 0) {
    Error e = sys_error("PTRACE_SETOPTIONS");
    kill(leader_, SIGKILL);
    waitpid(leader_, &status, __WALL);
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    return e;
  }
  Tracee& leader = tracees_[leader_];
  leader.initial_stop_pending = false;
  leader.announced = true;
  leader.tgid = leader_;
  live_threads_[leader_] = 1;
  outcome_.processes = 1;
  resume(leader_);
  return follow(original);
}

// Why ptrace refused to attach to `pid`, in words a user can act on.
Error attach_error(pid_t pid, int error) {
  std::string message =
      "cannot attach to process " + std::to_string(pid) + ": " + std::strerror(error);
  if (error == ESRCH) return make_error(Errc::not_found, "no process " + std::to_string(pid));
  if (error == EPERM) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("TracerPid:", 0) == 0 && std::atoi(line.c_str() + 10) != 0) {
        message +=
            " (already traced by process " + std::to_string(std::atoi(line.c_str() + 10)) + ")";
        return make_error(Errc::io, message);
      }
    }
    std::ifstream scope_file("/proc/sys/kernel/yama/ptrace_scope");
    int scope = -1;
    if (scope_file >> scope && scope >= 1) {
      message += " (kernel.yama.ptrace_scope is " + std::to_string(scope) +
                 (scope >= 3 ? ": attaching is disabled"
                             : ": only a parent or a process with CAP_SYS_PTRACE may attach") +
                 ")";
    } else {
      message +=
          " (a process of another user, or one that changed its credentials, needs "
          "CAP_SYS_PTRACE)";
    }
  }
  return make_error(Errc::io, message);
}

// Seizes every thread of `pid` not seized yet and interrupts it. /proc/PID/task is listed again
// until a listing shows no new thread: a thread created by one not yet seized appears in the
// next listing, one created by a seized thread is attached by the kernel (PTRACE_O_TRACECLONE).
Status Session::seize_threads(pid_t pid, long options, std::vector<pid_t>& seized) {
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (bool found_new = true; found_new;) {
    found_new = false;
    DIR* dir = opendir(task_dir.c_str());
    if (!dir) {
      if (seized.empty()) return attach_error(pid, errno == ENOENT ? ESRCH : errno);
      break;  // the process ended meanwhile: its exit is reported by waitpid
    }
    while (const dirent* entry = readdir(dir)) {
      const pid_t tid = static_cast<pid_t>(std::atoi(entry->d_name));
      if (tid <= 0 || tracees_.contains(tid)) continue;
      if (ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(options)) != 0) {
        const int error = errno;
        if (error == ESRCH && tid != pid) continue;  // a thread that just exited
        closedir(dir);
        return attach_error(pid, error);
      }
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
      found_new = true;
      Tracee& t = tracees_[tid];
      t.announced = true;
      t.tgid = pid;
      ++live_threads_[pid];
      ++outcome_.processes;
      seized.push_back(tid);
    }
    closedir(dir);
  }
  return ok_status();
}

Result<CommandOutcome> Session::attach(pid_t pid) {
  if (pid <= 0)
    return make_error(Errc::invalid_argument, "invalid process id " + std::to_string(pid));
  if (pid == getpid()) return make_error(Errc::invalid_argument, "cannot attach to userbpf itself");
  {
    // A thread id is not a process: attach to the process the thread belongs to.
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return make_error(Errc::not_found, "no process " + std::to_string(pid));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Tgid:", 0) == 0 && std::atoi(line.c_str() + 5) != pid) {
        return make_error(Errc::invalid_argument, std::to_string(pid) + " is a thread of process " +
                                                      std::to_string(std::atoi(line.c_str() + 5)) +
                                                      ", not a process");
      }
    }
  }
  seized_ = true;
  leader_ = pid;
  // PTRACE_SYSCALL stops instead of a seccomp filter: a filter cannot be removed again, and after
  // the detach SECCOMP_RET_TRACE would make the hooked syscalls fail with ENOSYS.
  syscall_stops_ = interest_.needs_syscall_stops();
  sigemptyset(&waited_);
  sigaddset(&waited_, SIGINT);
  sigaddset(&waited_, SIGTERM);
  sigaddset(&waited_, SIGCHLD);
  sigset_t original;
  pthread_sigmask(SIG_BLOCK, &waited_, &original);

  // PTRACE_O_TRACESECCOMP: a process that still carries the filter of an earlier supervision
  // stops at its SECCOMP_RET_TRACE syscalls instead of having them fail with ENOSYS.
  long options = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP;
  if (interest_.process_exit) options |= PTRACE_O_TRACEEXIT;
  std::vector<pid_t> seized;
  if (Status s = seize_threads(pid, options, seized); !s) {
    detach_all();  // the threads seized before the refusal
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    return s.take_error();
  }
  // Every seized thread stops (PTRACE_EVENT_STOP from the interrupt, or an earlier stop that is
  // kept for later): with all of them stopped the breakpoints go into the code they run.
  std::vector<pid_t> stopped;
  for (pid_t tid : seized) {
    int status = 0;
    if (waitpid(tid, &status, __WALL) != tid) continue;
    if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP) {
      tracees_[tid].initial_stop_pending = false;
      stopped.push_back(tid);
      continue;
    }
    // Another stop first (a clone event, a signal), or the thread ended: handled in order after
    // the attach; the interrupt's own stop comes later and is resumed as any PTRACE_EVENT_STOP.
    tracees_[tid].initial_stop_pending = false;
    deferred_.emplace_back(tid, status);
  }
  if (!stopped.empty() || !deferred_.empty()) {
    const pid_t via = stopped.empty() ? deferred_.front().first : stopped.front();
    if (uprobes_.active()) uprobes_.on_mappings_changed(via, pid);
    ProcessEvent attached;
    attached.kind = ProcessEvent::Kind::attach;
    attached.tid = pid;
    sink_.on_process_event(attached);
  }
  for (pid_t tid : stopped) resume(tid);
  return follow(original);  // which handles the deferred stops first
}

// The event loop: handles the tracees' stops until every tracee is gone or a stop is asked for.
Result<CommandOutcome> Session::follow(const sigset_t& original) {
  int status = 0;
  uint64_t since_check = 0;
  while (!tracees_.empty()) {
    if (stop_ || (++since_check % 64 == 0 && take_signals(0))) {
      detach_all();
      break;
    }
    if (!deferred_.empty()) {
      const auto [tid, deferred_status] = deferred_.front();
      deferred_.erase(deferred_.begin());
      handle(tid, deferred_status);
      continue;
    }
    const pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
    if (tid > 0) {
      handle(tid, status);
      continue;
    }
    if (tid < 0 && errno == ECHILD) break;
    if (tid < 0 && errno != EINTR) {
      Error e = sys_error("waitpid");
      detach_all();
      pthread_sigmask(SIG_SETMASK, &original, nullptr);
      return e;
    }
    if (take_signals(100)) {
      detach_all();
      break;
    }
  }
  pthread_sigmask(SIG_SETMASK, &original, nullptr);
  return outcome_;
}

// Waits up to timeout_ms for a signal; true when it was SIGINT or SIGTERM.
bool Session::take_signals(int timeout_ms) {
  const timespec timeout{0, static_cast<long>(timeout_ms) * 1000000L};
  const int sig = sigtimedwait(&waited_, nullptr, &timeout);
  if (sig != SIGINT && sig != SIGTERM) return false;
  outcome_.stop_signal = sig;
  return true;
}

void Session::resume(pid_t tid, int signal) {
  auto it = tracees_.find(tid);
  const bool syscall_exit = it != tracees_.end() && it->second.awaiting_exit;
  // ESRCH: the thread was killed meanwhile; its exit is reported by waitpid.
  ptrace(syscall_exit || syscall_stops_ ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr,
         reinterpret_cast<void*>(static_cast<long>(signal)));
}

void Session::handle(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    if (tid == leader_) {
      outcome_.signaled = WIFSIGNALED(status);
      outcome_.exit_status = outcome_.signaled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    forget(tid, status);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  ++outcome_.stops;
  auto [it, fresh] = tracees_.try_emplace(tid);
  Tracee& t = it->second;
  if (fresh) {
    ++outcome_.processes;
    t.tgid = tid;  // until the parent's fork event says otherwise
  }
  const int sig = WSTOPSIG(status);
  const int event = status >> 16;

  // A new task's first stop: a SIGSTOP, or PTRACE_EVENT_STOP when the tree was seized.
  if (t.initial_stop_pending &&
      (seized_ ? event == PTRACE_EVENT_STOP : sig == SIGSTOP && event == 0)) {
    if (!t.announced) {
      t.held = true;  // resumed by the parent's fork event
      return;
    }
    t.initial_stop_pending = false;
    resume(tid);
    return;
  }
  if (sig == kSyscallTrap) {
    on_syscall_stop(tid, t);
    return;
  }
  if (sig == SIGTRAP && event == 0 && uprobes_.active() && on_breakpoint(tid, t)) return;
  if (seized_ && event == PTRACE_EVENT_STOP) {
    // A group-stop (SIGSTOP, SIGTSTP, ...): listen, so the process stays stopped as its user
    // asked and the next SIGCONT is reported; any other PTRACE_EVENT_STOP (an interrupt, the
    // end of a group-stop) resumes.
    const bool group_stop = sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
    if (!group_stop || ptrace(PTRACE_LISTEN, tid, nullptr, nullptr) != 0) resume(tid);
    return;
  }
  if (sig == SIGTRAP && event != 0) {
    switch (event) {
      case PTRACE_EVENT_SECCOMP:
        // With PTRACE_SYSCALL stops the syscall-entry stop (before this one) reported it.
        if (syscall_stops_) break;
        on_seccomp_stop(tid, t);
        return;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE: on_new_task(tid, t, event); break;
      case PTRACE_EVENT_EXEC: on_exec(tid); break;
      case PTRACE_EVENT_EXIT: on_exit_stop(tid, t); break;
      default: break;
    }
    resume(tid);
    return;
  }
  if (sig == SIGSTOP && event == 0 && t.sigstops_to_swallow > 0) {
    --t.sigstops_to_swallow;  // pause_others' request, come after the thread was resumed
    resume(tid);
    return;
  }
  // A signal-delivery-stop (deliver the signal) or, when PTRACE_GETSIGINFO fails, a group-stop
  // (resume without one).
  siginfo_t info;
  const bool delivery = ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0;
  resume(tid, delivery ? sig : 0);
}

// A SIGTRAP: a uprobe breakpoint (the programs run, the thread resumes) or a signal for the
// program (false).
bool Session::on_breakpoint(pid_t tid, Tracee& t) {
  int signal = 0;
  int status = 0;
  switch (uprobes_.on_trap(tid, t.tgid, signal, status)) {
    case UprobeBreakpoints::Trap::not_ours: return false;
    case UprobeBreakpoints::Trap::thread_gone: handle(tid, status); return true;
    case UprobeBreakpoints::Trap::handled:
      ++outcome_.events;
      resume(tid, signal);
      return true;
  }
  return false;
}

void Session::deliver(const ProcessEvent& event) {
  ++outcome_.events;
  sink_.on_process_event(event);
}

// The parent `tid` made a new task: announce it (sched_process_fork) before the child runs.
void Session::on_new_task(pid_t tid, Tracee& parent, int event) {
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg) != 0) return;
  const auto child_tid = static_cast<pid_t>(msg);
  bool thread = false;
  if (event == PTRACE_EVENT_CLONE) {
    user_regs_struct regs{};
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) thread = clone_made_thread(tid, regs);
  }
  auto [it, fresh] = tracees_.try_emplace(child_tid);
  if (fresh) ++outcome_.processes;
  Tracee& child = it->second;
  child.announced = true;
  child.tgid = thread ? parent.tgid : child_tid;
  ++live_threads_[child.tgid];
  if (uprobes_.active()) uprobes_.on_new_task(tid, parent.tgid, child_tid, thread);

  ProcessEvent fork;
  fork.kind = ProcessEvent::Kind::fork;
  fork.tid = tid;
  fork.child_tid = child_tid;
  fork.child_is_thread = thread;
  deliver(fork);
  if (child.held) {
    child.held = false;
    child.initial_stop_pending = false;
    resume(child_tid);
  }
}

void Session::on_exec(pid_t tid) {
  // A non-leader thread that execs takes over the leader's id; its former id is gone, and so is
  // the former leader (whose death is never reported).
  unsigned long msg = 0;
  pid_t former = tid;
  if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg) == 0) former = static_cast<pid_t>(msg);
  if (former != tid) {
    if (auto old = tracees_.find(former); old != tracees_.end()) {
      Tracee moved = old->second;
      tracees_.erase(old);
      if (auto leader = tracees_.find(tid); leader != tracees_.end()) {
        if (!leader->second.exit_reported) --live_threads_[leader->second.tgid];
      }
      tracees_[tid] = moved;
    }
  }
  if (uprobes_.active()) uprobes_.on_exec(tid, tracees_[tid].tgid, former);
  ProcessEvent exec;
  exec.kind = ProcessEvent::Kind::exec;
  exec.tid = tid;
  exec.old_tid = former;
  if (auto name = exec_filename_.find(former); name != exec_filename_.end()) {
    exec.filename = std::move(name->second);
    exec_filename_.erase(name);
  }
  deliver(exec);
}

void Session::on_exit_stop(pid_t tid, Tracee& t) {
  unsigned long msg = 0;
  ProcessEvent exit;
  exit.kind = ProcessEvent::Kind::exit;
  exit.tid = tid;
  if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &msg) == 0) exit.exit_code = static_cast<int>(msg);
  if (!t.exit_reported) {
    t.exit_reported = true;
    exit.group_dead = --live_threads_[t.tgid] <= 0;
  }
  deliver(exit);
}

// The thread is gone (waitpid reported its end with `status`). A thread killed before its
// PTRACE_EVENT_EXIT stop (SIGKILL, another thread's exit_group or exec) still gets its
// sched_process_exit, late, as every thread does in Linux.
void Session::forget(pid_t tid, int status) {
  auto it = tracees_.find(tid);
  if (it != tracees_.end()) {
    Tracee& t = it->second;
    if (!t.exit_reported) {
      t.exit_reported = true;
      const bool group_dead = --live_threads_[t.tgid] <= 0;
      if (interest_.process_exit) {
        ProcessEvent exit;
        exit.kind = ProcessEvent::Kind::exit;
        exit.tid = tid;
        exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) << 8 : WTERMSIG(status);
        exit.group_dead = group_dead;
        deliver(exit);
      }
    }
    if (live_threads_[t.tgid] <= 0) {
      live_threads_.erase(t.tgid);
      uprobes_.on_process_gone(t.tgid);
    }
    tracees_.erase(it);
  }
  uprobes_.on_thread_gone(tid);
  exec_filename_.erase(tid);
  ProcessEvent gone;
  gone.kind = ProcessEvent::Kind::gone;
  gone.tid = tid;
  sink_.on_process_event(gone);
}

void Session::on_seccomp_stop(pid_t tid, Tracee& t) {
  __ptrace_syscall_info info{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) <= 0 ||
      info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    resume(tid);
    return;
  }
  std::array<uint64_t, 6> args;
  for (int i = 0; i < 6; ++i) args[i] = info.seccomp.args[i];
  on_syscall_entry(tid, t, static_cast<int>(info.seccomp.nr), args);
}

// A syscall entry the source stopped at (a seccomp stop, or a PTRACE_SYSCALL entry stop).
void Session::on_syscall_entry(pid_t tid, Tracee& t, int nr, const std::array<uint64_t, 6>& args) {
  if (!interest_.stops_at(nr)) {
    t.awaiting_exit = false;
    t.exit_nr = -1;
    resume(tid);
    return;
  }
  if (interest_.process_exec) {
    if (auto name = exec_filename(tid, nr, args)) exec_filename_[tid] = std::move(*name);
  }
  if (interest_.wants(SyscallPhase::enter, nr)) {
    SyscallEvent event;
    event.phase = SyscallPhase::enter;
    event.tid = tid;
    event.tgid = t.tgid;
    event.nr = nr;
    event.args = args;
    ptrace(PTRACE_GETREGS, tid, nullptr, &event.regs);
    ++outcome_.events;
    sink_.on_syscall(event);
  }
  // Code mapped from a file (the dynamic loader's mmap of a library's text, or an mprotect
  // adding PROT_EXEC): look for probed files in the mappings at the syscall's exit.
  t.rescan_maps = uprobes_.watches_mappings() && (nr == __NR_mmap || nr == __NR_mprotect) &&
                  (args[2] & PROT_EXEC) != 0;
  t.awaiting_exit = interest_.wants(SyscallPhase::exit, nr) || t.rescan_maps;
  t.exit_nr = nr;
  resume(tid);
}

void Session::on_syscall_stop(pid_t tid, Tracee& t) {
  __ptrace_syscall_info info{};
  const bool have =
      ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) > 0;
  if (have && info.op == PTRACE_SYSCALL_INFO_ENTRY) {
    std::array<uint64_t, 6> args;
    for (int i = 0; i < 6; ++i) args[i] = info.entry.args[i];
    on_syscall_entry(tid, t, static_cast<int>(info.entry.nr), args);
    return;
  }
  if (t.awaiting_exit && have && info.op == PTRACE_SYSCALL_INFO_EXIT) {
    t.awaiting_exit = false;
    if (t.rescan_maps) {
      t.rescan_maps = false;
      if (info.exit.rval >= 0 || info.exit.rval < -4095) uprobes_.on_mappings_changed(tid, t.tgid);
    }
    if (!interest_.wants(SyscallPhase::exit, t.exit_nr)) {
      resume(tid);
      return;
    }
    SyscallEvent event;
    event.phase = SyscallPhase::exit;
    event.tid = tid;
    event.tgid = t.tgid;
    event.nr = t.exit_nr;
    event.ret = info.exit.rval;
    ptrace(PTRACE_GETREGS, tid, nullptr, &event.regs);
    ++outcome_.events;
    sink_.on_syscall(event);
  }
  resume(tid);
}

bool Session::is_deferred(pid_t tid) const {
  for (const auto& [deferred, status] : deferred_) {
    if (deferred == tid) return true;
  }
  return false;
}

// Stops every running thread of process `tgid` but `tid` (PTRACE_INTERRUPT when seized, else a
// SIGSTOP): the single step of a displaced instruction puts the original byte back, and another
// thread passing there meanwhile would miss its hit. A thread that reports some other stop first
// (a breakpoint, a syscall) stays stopped there and that stop is deferred to the event loop.
void Session::pause_others(pid_t tid, pid_t tgid) {
  auto live = live_threads_.find(tgid);
  if (live == live_threads_.end() || live->second <= 1) return;
  std::vector<pid_t> pausing;
  for (auto& [other, t] : tracees_) {
    if (other == tid || t.tgid != tgid || t.held || t.exit_reported || is_deferred(other)) continue;
    if (seized_) {
      ptrace(PTRACE_INTERRUPT, other, nullptr, nullptr);
    } else {
      syscall(SYS_tgkill, tgid, other, SIGSTOP);
    }
    pausing.push_back(other);
  }
  for (pid_t other : pausing) {
    int status = 0;
    if (waitpid(other, &status, __WALL) != other) continue;
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    const bool ours = WIFSTOPPED(status) && (seized_ ? event == PTRACE_EVENT_STOP && sig == SIGTRAP
                                                     : event == 0 && sig == SIGSTOP);
    if (ours) {
      paused_.push_back(other);
      continue;
    }
    // Stopped elsewhere (or gone): a seized thread's pending interrupt becomes a later
    // PTRACE_EVENT_STOP that is resumed; a SIGSTOP still to come is swallowed.
    if (!seized_ && WIFSTOPPED(status)) ++tracees_[other].sigstops_to_swallow;
    deferred_.emplace_back(other, status);
  }
}

void Session::resume_paused() {
  for (pid_t tid : paused_) resume(tid);
  paused_.clear();
}

// During the detach, `parent` reported a new task: it is a tracee that stops at its start (the
// kernel attached it). It gets the parent's breakpoint table (a forked copy of the memory holds
// the breakpoints and the semaphore counts: the fork event tells the sink) and joins `pending`.
void Session::detach_new_task(pid_t parent, Tracee& t, int event, std::vector<pid_t>& pending) {
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, parent, nullptr, &msg) != 0) return;
  const auto child = static_cast<pid_t>(msg);
  bool thread = false;
  if (event == PTRACE_EVENT_CLONE) {
    user_regs_struct regs{};
    if (ptrace(PTRACE_GETREGS, parent, nullptr, &regs) == 0)
      thread = clone_made_thread(parent, regs);
  }
  if (uprobes_.active()) uprobes_.on_new_task(parent, t.tgid, child, thread);
  ProcessEvent fork;
  fork.kind = ProcessEvent::Kind::fork;
  fork.tid = parent;
  fork.child_tid = child;
  fork.child_is_thread = thread;
  deliver(fork);
  auto [it, fresh] = tracees_.try_emplace(child);
  it->second.tgid = thread ? t.tgid : child;
  it->second.announced = true;
  // Not fresh: its first stop was already seen (held), and it is in `pending` already.
  if (fresh) pending.push_back(child);
}

// Is SIGTRAP pending for thread `tid` (its own pending set, where the kernel queues a trap)?
bool sigtrap_pending(pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("SigPnd:", 0) == 0) {
      const uint64_t mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (mask >> (SIGTRAP - 1)) & 1;
    }
  }
  return false;
}

// Waits up to `limit` for `tid` to stop or end: its waitpid result, or 0 when it did neither.
pid_t wait_stop_within(pid_t tid, int* status, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const pid_t got = waitpid(tid, status, __WALL | WNOHANG);
    if (got != 0) return got;
    if (std::chrono::steady_clock::now() >= deadline) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// Stops every tracee (PTRACE_INTERRUPT when seized, else SIGSTOP), then, while all are stopped,
// lets the sink undo its writes (USDT semaphores counted down), removes the uprobe breakpoints
// and restores hijacked return addresses, detaches each at its stop, and lets them run on.
// A parent blocked in vfork cannot stop until its child has run on (exec or exit), and that child
// is one of the tracees held at a stop: such a parent is detached in a second round, after the
// others (waiting for it first would wait forever).
void Session::detach_all() {
  outcome_.detached = true;
  struct Stopped {
    pid_t tid;
    pid_t tgid;
    int deliver;
  };
  std::vector<Stopped> stopped;
  std::vector<pid_t> pending;
  // Threads whose stop was taken but not handled yet stay at that stop.
  std::unordered_map<pid_t, int> taken(deferred_.begin(), deferred_.end());
  deferred_.clear();
  for (auto& [tid, t] : tracees_) {
    pending.push_back(tid);
    if (t.held || taken.contains(tid)) continue;  // already in a reported stop
    if (seized_) {
      ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    } else {
      syscall(SYS_tkill, tid, SIGSTOP);
    }
  }
  std::vector<pid_t> signalled(pending);
  // Takes `tid`'s stop (or end); a tracee may report a fork or clone instead: its new task is a
  // tracee too (auto-attached, stopping at its start), appended to `queue`.
  auto take = [&](pid_t tid, int status, std::vector<pid_t>& queue) {
    Tracee& t = tracees_[tid];
    if (!WIFSTOPPED(status)) {  // exited meanwhile
      handle(tid, status);
      return;
    }
    if ((status >> 16) == PTRACE_EVENT_STOP && uprobes_.active() && sigtrap_pending(tid)) {
      // The thread executed a breakpoint just before our interrupt: the interrupt stop is
      // reported first and the SIGTRAP stays pending, to kill the process once it runs untraced.
      // Let it take the signal now, at a signal-delivery stop, where it is handled below.
      ptrace(PTRACE_CONT, tid, nullptr, nullptr);
      if (waitpid(tid, &status, __WALL) != tid) return;
      if (!WIFSTOPPED(status)) {
        handle(tid, status);
        return;
      }
    }
    const int sig = WSTOPSIG(status);
    const int event = status >> 16;
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
      detach_new_task(tid, t, event, queue);
    }
    int deliver = 0;
    siginfo_t info;
    if (event == 0 && sig != SIGSTOP && sig != kSyscallTrap &&
        ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0) {
      deliver = sig;  // a signal on its way in: hand it over with the detach
      // ... unless it is a breakpoint hit nobody handled yet: run the instruction again instead.
      if (sig == SIGTRAP && uprobes_.active() && uprobes_.rewind_trap(tid, t.tgid)) deliver = 0;
    }
    stopped.push_back({tid, t.tgid, deliver});
  };
  auto detach_stopped = [&] {
    if (uprobes_.active()) {
      std::vector<std::pair<pid_t, pid_t>> threads;
      for (const Stopped& s : stopped) threads.emplace_back(s.tid, s.tgid);
      uprobes_.restore(threads);
    }
    for (const Stopped& s : stopped) {
      ptrace(PTRACE_DETACH, s.tid, nullptr, reinterpret_cast<void*>(static_cast<long>(s.deliver)));
    }
    stopped.clear();
  };
  // A stop normally comes within microseconds; one that does not come in this time is a tracee
  // blocked in the kernel (in vfork, waiting for a child we hold): it goes to the second round.
  constexpr std::chrono::milliseconds kFirstRoundWait{200};
  constexpr std::chrono::milliseconds kSecondRoundWait{5000};
  std::vector<pid_t> late;
  for (size_t i = 0; i < pending.size(); ++i) {
    const pid_t tid = pending[i];
    Tracee& t = tracees_[tid];
    if (t.held) {
      stopped.push_back({tid, t.tgid, 0});
      continue;
    }
    int status = 0;
    if (auto it = taken.find(tid); it != taken.end()) {
      status = it->second;
    } else {
      const pid_t got = wait_stop_within(tid, &status, kFirstRoundWait);
      if (got == 0) late.push_back(tid);
      if (got != tid) continue;
    }
    take(tid, status, pending);
  }
  sink_.on_detaching();
  detach_stopped();
  // The second round: with the others running on, a vfork child execs or exits and its parent
  // reaches our stop. One that still does not stop is left (it is stopped by the kernel once it
  // can be, and detached when this process ends).
  for (size_t i = 0; i < late.size(); ++i) {
    const pid_t tid = late[i];
    int status = 0;
    if (wait_stop_within(tid, &status, kSecondRoundWait) != tid) continue;
    take(tid, status, late);
  }
  detach_stopped();
  // Our SIGSTOP may still be pending where the detach happened at another stop (a pending
  // PTRACE_INTERRUPT is dropped by the detach itself).
  if (!seized_) {
    for (pid_t tid : signalled) syscall(SYS_tkill, tid, SIGCONT);
  }
  tracees_.clear();
}

}  // namespace

Result<CommandOutcome> PtraceSupervisor::run(const CommandSpec& command,
                                             const HookInterest& interest, EventSink& sink) {
  stop_requested_ = false;
  Session session(interest, sink, stop_requested_);
  return session.run(command);
}

Result<CommandOutcome> PtraceSupervisor::attach(pid_t pid, const HookInterest& interest,
                                                EventSink& sink) {
  stop_requested_ = false;
  Session session(interest, sink, stop_requested_);
  return session.attach(pid);
}

}  // namespace userbpf::hooks
