#include "hooks/supervisor.hpp"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "hooks/seccomp_filter.hpp"

namespace userbpf::hooks {
namespace {

constexpr int kSyscallTrap = SIGTRAP | 0x80;  // PTRACE_O_TRACESYSGOOD's syscall stops

struct Tracee {
  bool initial_stop_pending = true;  // auto-attached threads start with a SIGSTOP to swallow
  bool awaiting_exit = false;        // resumed with PTRACE_SYSCALL for the exit of `exit_nr`
  int exit_nr = -1;
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
  Session(const SyscallInterest& interest, SyscallSink& sink, std::atomic<bool>& stop)
      : interest_(interest), sink_(sink), stop_(stop) {}

  Result<CommandOutcome> run(const CommandSpec& command);

 private:
  void handle(pid_t tid, int status);
  void on_seccomp_stop(pid_t tid, Tracee& t);
  void on_syscall_stop(pid_t tid, Tracee& t);
  void resume(pid_t tid, int signal = 0);
  void detach_all();
  bool take_signals(int timeout_ms);

  const SyscallInterest& interest_;
  SyscallSink& sink_;
  std::atomic<bool>& stop_;
  sigset_t waited_{};
  pid_t leader_ = 0;
  std::unordered_map<pid_t, Tracee> tracees_;
  CommandOutcome outcome_;
};

Result<CommandOutcome> Session::run(const CommandSpec& command) {
  if (command.argv.empty()) return make_error(Errc::invalid_argument, "no command to run");
  std::vector<char*> argv;
  for (const std::string& arg : command.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const std::string file = resolve_command(command.argv[0]);
  const std::vector<sock_filter> filter =
      interest_.empty() ? std::vector<sock_filter>{} : build_seccomp_filter(interest_);

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
  if (ptrace(PTRACE_SETOPTIONS, leader_, nullptr, reinterpret_cast<void*>(options)) != 0) {
    Error e = sys_error("PTRACE_SETOPTIONS");
    kill(leader_, SIGKILL);
    waitpid(leader_, &status, __WALL);
    pthread_sigmask(SIG_SETMASK, &original, nullptr);
    return e;
  }
  tracees_[leader_].initial_stop_pending = false;
  outcome_.processes = 1;
  resume(leader_);

  uint64_t since_check = 0;
  while (!tracees_.empty()) {
    if (stop_ || (++since_check % 64 == 0 && take_signals(0))) {
      detach_all();
      break;
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
  ptrace(syscall_exit ? PTRACE_SYSCALL : PTRACE_CONT, tid, nullptr,
         reinterpret_cast<void*>(static_cast<long>(signal)));
}

void Session::handle(pid_t tid, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    if (tid == leader_) {
      outcome_.signaled = WIFSIGNALED(status);
      outcome_.exit_status = outcome_.signaled ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    tracees_.erase(tid);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  auto [it, fresh] = tracees_.try_emplace(tid);
  if (fresh) ++outcome_.processes;
  Tracee& t = it->second;
  const int sig = WSTOPSIG(status);
  const int event = status >> 16;

  if (t.initial_stop_pending && sig == SIGSTOP && event == 0) {
    t.initial_stop_pending = false;
    resume(tid);
    return;
  }
  if (sig == kSyscallTrap) {
    on_syscall_stop(tid, t);
    return;
  }
  if (sig == SIGTRAP && event != 0) {
    switch (event) {
      case PTRACE_EVENT_SECCOMP: on_seccomp_stop(tid, t); return;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE: {
        unsigned long child = 0;
        if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &child) == 0) {
          if (tracees_.try_emplace(static_cast<pid_t>(child)).second) ++outcome_.processes;
        }
        break;
      }
      case PTRACE_EVENT_EXEC: {
        // A non-leader thread that execs takes over the leader's id; its former id is gone.
        unsigned long former = 0;
        if (ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former) == 0 &&
            static_cast<pid_t>(former) != tid) {
          if (auto old = tracees_.find(static_cast<pid_t>(former)); old != tracees_.end()) {
            Tracee moved = old->second;
            tracees_.erase(old);
            tracees_[tid] = moved;
          }
        }
        break;
      }
      default: break;
    }
    resume(tid);
    return;
  }
  // A signal-delivery-stop (deliver the signal) or, when PTRACE_GETSIGINFO fails, a group-stop
  // (resume without one).
  siginfo_t info;
  const bool delivery = ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0;
  resume(tid, delivery ? sig : 0);
}

void Session::on_seccomp_stop(pid_t tid, Tracee& t) {
  __ptrace_syscall_info info{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) <= 0 ||
      info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    resume(tid);
    return;
  }
  const int nr = static_cast<int>(info.seccomp.nr);
  if (interest_.wants(SyscallPhase::enter, nr)) {
    SyscallEvent event;
    event.phase = SyscallPhase::enter;
    event.tid = tid;
    event.nr = nr;
    for (int i = 0; i < 6; ++i) event.args[i] = info.seccomp.args[i];
    ptrace(PTRACE_GETREGS, tid, nullptr, &event.regs);
    ++outcome_.events;
    sink_.on_syscall(event);
  }
  t.awaiting_exit = interest_.wants(SyscallPhase::exit, nr);
  t.exit_nr = nr;
  resume(tid);
}

void Session::on_syscall_stop(pid_t tid, Tracee& t) {
  __ptrace_syscall_info info{};
  const bool have =
      ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) > 0;
  if (t.awaiting_exit && have && info.op == PTRACE_SYSCALL_INFO_EXIT) {
    t.awaiting_exit = false;
    SyscallEvent event;
    event.phase = SyscallPhase::exit;
    event.tid = tid;
    event.nr = t.exit_nr;
    event.ret = info.exit.rval;
    ptrace(PTRACE_GETREGS, tid, nullptr, &event.regs);
    ++outcome_.events;
    sink_.on_syscall(event);
  }
  resume(tid);
}

// Stops every tracee (SIGSTOP), detaches it at that stop, then lets the processes run on.
void Session::detach_all() {
  outcome_.detached = true;
  std::vector<pid_t> tgids;
  for (auto& [tid, t] : tracees_) syscall(SYS_tkill, tid, SIGSTOP);
  for (auto& [tid, t] : tracees_) {
    tgids.push_back(tid);
    for (;;) {
      int status = 0;
      if (waitpid(tid, &status, __WALL) != tid) break;
      if (!WIFSTOPPED(status)) break;  // exited meanwhile
      const int sig = WSTOPSIG(status);
      int deliver = 0;
      siginfo_t info;
      if ((status >> 16) == 0 && sig != SIGSTOP && sig != kSyscallTrap &&
          ptrace(PTRACE_GETSIGINFO, tid, nullptr, &info) == 0) {
        deliver = sig;  // a signal on its way in: hand it over with the detach
      }
      ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver)));
      break;
    }
  }
  // Our SIGSTOP may still be pending where the detach happened at another stop.
  for (pid_t tid : tgids) syscall(SYS_tkill, tid, SIGCONT);
  tracees_.clear();
}

}  // namespace

Result<CommandOutcome> PtraceSupervisor::run(const CommandSpec& command,
                                             const SyscallInterest& interest, SyscallSink& sink) {
  stop_requested_ = false;
  Session session(interest, sink, stop_requested_);
  return session.run(command);
}

}  // namespace userbpf::hooks
