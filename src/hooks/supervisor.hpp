// The ptrace hook source: runs a command as a traced child and follows its whole tree (fork,
// vfork, clone, exec). The child installs a seccomp filter (seccomp_filter.hpp) before exec, so
// the tracee stops only for hooked syscalls: PTRACE_EVENT_SECCOMP gives the entry; when a hook
// wants the exit too, the thread is resumed with PTRACE_SYSCALL and its syscall-exit-stop gives
// the return value. Process events come from the ptrace event stops: PTRACE_EVENT_FORK/VFORK/
// CLONE (sched_process_fork, reported before the child runs), PTRACE_EVENT_EXEC
// (sched_process_exec, with the file name captured at the execve entry) and, only when
// sched_process_exit is hooked, PTRACE_EVENT_EXIT. Uprobes are int3 breakpoints written into the
// tracees (uprobe_breakpoints.hpp): inserted at exec and, for probes in shared libraries, at the
// exits of mmap/mprotect calls that map code (the filter traces those two only then); the
// SIGTRAP of a hit runs the programs and the displaced instruction is single-stepped.
//
// Stopping: SIGINT or SIGTERM sent to the supervising process (while run() is active they are
// blocked and taken synchronously) or request_stop() detaches every tracee (PTRACE_DETACH) and
// run() returns with `detached` set. Before the detach, with every tracee stopped, each uprobe
// breakpoint's original byte and each live uretprobe frame's return address are written back.
// Caveat of the seccomp design: the filter stays in the detached processes and, with no tracer,
// the hooked syscalls then fail with ENOSYS (what SECCOMP_RET_TRACE means without a tracer); use
// kill_on_exit to end the tree instead. (Uprobes only in executables need no filter at all.)
#pragma once

#include <atomic>

#include "hooks/hook_source.hpp"

namespace userbpf::hooks {

class PtraceSupervisor : public HookSource {
 public:
  Result<CommandOutcome> run(const CommandSpec& command, const HookInterest& interest,
                             EventSink& sink) override;
  Result<CommandOutcome> attach(pid_t pid, const HookInterest& interest, EventSink& sink) override;

  // Asks the running supervisor to detach at its next wake-up (at most 100 ms later). Safe from
  // any thread.
  void request_stop() { stop_requested_ = true; }

 private:
  std::atomic<bool> stop_requested_{false};
};

}  // namespace userbpf::hooks
