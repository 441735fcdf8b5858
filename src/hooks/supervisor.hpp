// The ptrace hook source: runs a command as a traced child and follows its whole tree (fork,
// vfork, clone, exec), or attaches to a running process (attach) and follows it the same way. A
// command's child installs a seccomp filter (seccomp_filter.hpp) before exec, so the tracee stops
// only for hooked syscalls: PTRACE_EVENT_SECCOMP gives the entry; when a hook wants the exit too,
// the thread is resumed with PTRACE_SYSCALL and its syscall-exit-stop gives the return value.
// Process events come from the ptrace event stops: PTRACE_EVENT_FORK/VFORK/CLONE
// (sched_process_fork, reported before the child runs), PTRACE_EVENT_EXEC (sched_process_exec,
// with the file name captured at the execve entry) and, only when sched_process_exit is hooked,
// PTRACE_EVENT_EXIT. Uprobes are int3 breakpoints written into the tracees
// (uprobe_breakpoints.hpp): inserted at exec (at attach: into the current mappings) and, for
// probes in shared libraries, at the exits of mmap/mprotect calls that map code; the SIGTRAP of
// a hit runs the programs and the displaced instruction is single-stepped with the process's
// other threads paused.
//
// Attaching (`userbpf run OBJ --pid PID`, as `strace -p`): every thread of PID is seized
// (PTRACE_SEIZE, /proc/PID/task listed again until no new thread shows up; threads they create
// are attached by the kernel) and interrupted; with all of them stopped the uprobe breakpoints
// and USDT semaphores go into the current mappings (ProcessEvent::Kind::attach). A running
// process never gets a seccomp filter (it could not be removed, and after the detach
// SECCOMP_RET_TRACE would make the hooked syscalls fail with ENOSYS): when a hook needs syscall
// stops (HookInterest::needs_syscall_stops: syscall hooks, sched_process_exec's file name,
// library uprobes) its threads run under PTRACE_SYSCALL, so EVERY syscall stops twice, which is
// much slower than the filter; uprobes in the executable and process events alone need no
// syscall stops. Group-stops (SIGSTOP, Ctrl-Z) are kept with PTRACE_LISTEN. Not attached: the
// process's existing children (as strace -p without -f).
//
// Stopping: SIGINT or SIGTERM sent to the supervising process (while run() or attach() is active
// they are blocked and taken synchronously) or request_stop() detaches every tracee
// (PTRACE_DETACH) and the call returns with `detached` set. Before the detach, with every tracee
// stopped (PTRACE_INTERRUPT when seized, else SIGSTOP; a fork reported then is detached too), the
// sink undoes its writes (EventSink::on_detaching: USDT semaphores counted down), then each
// uprobe breakpoint's original byte and each live uretprobe frame's return address are written
// back. Caveat of the seccomp design (commands only): the filter stays in the detached processes
// and, with no tracer, the hooked syscalls then fail with ENOSYS (what SECCOMP_RET_TRACE means
// without a tracer); use kill_on_exit to end the tree instead. A command whose hooks need no
// syscall stops (uprobes in executables, process events) gets no filter and leaves nothing
// behind (CommandOutcome::seccomp_filter says which). The identity-refresh exits (prctl, setuid,
// ...) are optional: without syscall stops a later PR_SET_NAME or setuid of a traced thread is
// not seen by the identity helpers.
#pragma once

#include <atomic>

#include "hooks/hook_source.hpp"

namespace userbpf::hooks {

class PtraceSupervisor : public HookSource {
 public:
  Result<CommandOutcome> run(const CommandSpec& command, const HookInterest& interest,
                             EventSink& sink) override;
  // Every thread of `pid` is seized; errors: Errc::not_found (no such process), invalid_argument
  // (a thread id, userbpf itself), io (refused: already traced, another user, ptrace_scope).
  Result<CommandOutcome> attach(pid_t pid, const HookInterest& interest, EventSink& sink) override;

  // Asks the running supervisor to detach at its next wake-up (at most 100 ms later). Safe from
  // any thread.
  void request_stop() { stop_requested_ = true; }

 private:
  std::atomic<bool> stop_requested_{false};
};

}  // namespace userbpf::hooks
