// A hook source: something that makes the syscalls and process events of a running command tree
// visible to programs. The ptrace supervisor (supervisor.hpp) is the first; an in-process agent
// (an LD_PRELOAD library, a binary rewriter) can later implement the same interface and the
// attached programs, the runtime and the dispatch (event_dispatcher.hpp) do not change.
#pragma once

#include <sys/types.h>

#include <bitset>
#include <string>
#include <vector>

#include "hooks/event_sink.hpp"
#include "hooks/uprobe_target.hpp"
#include "userbpf/error.hpp"

namespace userbpf::hooks {

// Which events a source must report. Sources stop the tracee only for these.
struct HookInterest {
  static constexpr size_t kMaxSyscalls = 1024;
  std::bitset<kMaxSyscalls> enter;
  std::bitset<kMaxSyscalls> exit;
  // Exits the receiver likes to see but that alone do not justify stopping every syscall of an
  // attached process (the identity-changing syscalls the task cache refreshes after): a seccomp
  // filter includes them, PTRACE_SYSCALL tracing (attach) is not turned on for them alone.
  std::bitset<kMaxSyscalls> optional_exit;
  bool all_enter = false;  // raw_tracepoint/sys_enter
  bool all_exit = false;   // raw_tracepoint/sys_exit
  // sched_process_exec wants the file name execve was given: the source captures it at the
  // execve/execveat entry (a stop of its own when no syscall hook wants those entries).
  bool process_exec = false;
  bool process_fork = false;
  // sched_process_exit: a stop at each thread's exit (PTRACE_O_TRACEEXIT).
  bool process_exit = false;
  // The uprobe sites: one per distinct (file, offset, entry or return). UprobeEvent::site indexes
  // this list. When one is in a library (mapped later by the dynamic loader) the source also
  // stops at mmap/mprotect calls that map code, to insert breakpoints into new mappings.
  std::vector<UprobeTarget> uprobes;

  void add(const HookPoint& hook);
  // The site index of `target` (added when new).
  uint32_t add_uprobe(const UprobeTarget& target);
  bool watches_mappings() const;
  // Reports the exit of syscall `nr`.
  void add_exit(int nr);
  // Reports the exit of syscall `nr` whenever the source stops there anyway (optional_exit).
  void add_optional_exit(int nr);
  bool wants(SyscallPhase phase, int nr) const;
  bool wants_any(int nr) const {
    return wants(SyscallPhase::enter, nr) || wants(SyscallPhase::exit, nr);
  }
  // The syscalls whose entry the source must stop at: the hooked ones, for process_exec execve
  // and execveat, and mmap and mprotect when watches_mappings().
  bool stops_at(int nr) const;
  // Whether some hook needs syscall stops beyond the optional exits: an attached process is
  // traced with PTRACE_SYSCALL (every syscall stops twice) only then.
  bool needs_syscall_stops() const;
  bool empty() const {
    return !all_enter && !all_exit && enter.none() && exit.none() && !process_exec &&
           !process_fork && !process_exit && uprobes.empty();
  }
};

// The name from when syscalls were the only events.
using SyscallInterest = HookInterest;

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  bool kill_on_exit = true;       // the tree dies with the supervisor (PTRACE_O_EXITKILL)
};

// How a command tree ended (or, for attach, how the attached tree ended): the first process's exit
// status as a shell reports it (code, or 128 + signal), or detached when the source was stopped
// before the tree exited.
struct CommandOutcome {
  int exit_status = 0;
  bool signaled = false;
  bool detached = false;
  int stop_signal = 0;     // SIGINT or SIGTERM when that made the source detach
  uint64_t events = 0;     // syscall and process events delivered to the sink
  uint64_t processes = 0;  // threads and processes seen in the tree
  uint64_t stops = 0;      // times a traced thread stopped for the source
  // A seccomp filter was installed in the command's processes: it stays after a detach, and
  // the hooked syscalls then fail with ENOSYS there. Never set for attach.
  bool seccomp_filter = false;
};

class HookSource {
 public:
  virtual ~HookSource() = default;
  // Runs the command, reporting the events `interest` names to `sink` until the whole tree has
  // exited (or the source is asked to stop, e.g. by SIGINT).
  virtual Result<CommandOutcome> run(const CommandSpec& command, const HookInterest& interest,
                                     EventSink& sink) = 0;
  // Attaches to the running process `pid` (all its threads) and reports its events and those of
  // the processes it starts from now on, until all have exited or the source is asked to stop;
  // then detaches, leaving them running. Errc::not_found when there is no such process,
  // Errc::io when the system refuses the attach (permissions), with the reason.
  virtual Result<CommandOutcome> attach(pid_t pid, const HookInterest& interest, EventSink& sink) {
    (void)pid, (void)interest, (void)sink;
    return make_error(Errc::unsupported, "this hook source cannot attach to a running process");
  }
};

}  // namespace userbpf::hooks
