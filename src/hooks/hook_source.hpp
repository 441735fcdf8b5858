// A hook source: something that makes the syscalls and process events of a running command tree
// visible to programs. The ptrace supervisor (supervisor.hpp) is the first; an in-process agent
// (an LD_PRELOAD library, a binary rewriter) can later implement the same interface and the
// attached programs, the runtime and the dispatch (event_dispatcher.hpp) do not change.
#pragma once

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
  // Reports the exit of syscall `nr` (e.g. one that changes the identity a receiver caches).
  void add_exit(int nr);
  bool wants(SyscallPhase phase, int nr) const;
  bool wants_any(int nr) const {
    return wants(SyscallPhase::enter, nr) || wants(SyscallPhase::exit, nr);
  }
  // The syscalls whose entry the source must stop at: the hooked ones, for process_exec execve
  // and execveat, and mmap and mprotect when watches_mappings().
  bool stops_at(int nr) const;
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

// How a command tree ended: the first process's exit status as a shell reports it (code, or
// 128 + signal), or detached when the source was stopped before the tree exited.
struct CommandOutcome {
  int exit_status = 0;
  bool signaled = false;
  bool detached = false;
  int stop_signal = 0;     // SIGINT or SIGTERM when that made the source detach
  uint64_t events = 0;     // syscall and process events delivered to the sink
  uint64_t processes = 0;  // threads and processes seen in the tree
  uint64_t stops = 0;      // times a traced thread stopped for the source
};

class HookSource {
 public:
  virtual ~HookSource() = default;
  // Runs the command, reporting the events `interest` names to `sink` until the whole tree has
  // exited (or the source is asked to stop, e.g. by SIGINT).
  virtual Result<CommandOutcome> run(const CommandSpec& command, const HookInterest& interest,
                                     EventSink& sink) = 0;
};

}  // namespace userbpf::hooks
