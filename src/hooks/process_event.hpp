// A process event of a traced tree, as a hook source reports it: what the kernel's
// sched_process_exec / _fork / _exit tracepoints see, plus the end of a thread (`gone`) so that
// the receiver can forget it. Sources report fork, exec and gone always (they cost no extra
// stop); exit (a stop before the thread dies, while it can still be inspected) only when
// HookInterest::process_exit asks for it.
#pragma once

#include <cstdint>
#include <string>

#include "hooks/hook_point.hpp"

namespace userbpf::hooks {

struct ProcessEvent {
  // attach: a running process became traced (tid is its pid), reported once per process the
  // source attached to, with every thread of it stopped; no tracepoint of its own.
  enum class Kind : uint8_t { exec, fork, exit, gone, attach };
  Kind kind = Kind::exec;
  int32_t tid = 0;  // the current thread: the forking parent, the exec'ing or exiting thread
  // fork: the new task, and whether it is a thread of the parent's process (CLONE_THREAD).
  int32_t child_tid = 0;
  bool child_is_thread = false;
  // exec: the thread id before exec (a non-leader thread takes the leader's id), and the file
  // name as execve was given it (the kernel's bprm->filename; empty unless
  // HookInterest::process_exec asked the source to capture it).
  int32_t old_tid = 0;
  std::string filename;
  // exit: the wait status the thread exits with (the kernel's task->exit_code), and whether it
  // is the last thread of its process.
  int32_t exit_code = 0;
  bool group_dead = false;
};

// The sched_process_* hook a process event feeds, if any.
inline bool process_event_kind(ProcessEvent::Kind kind, ProcessEventKind& out) {
  switch (kind) {
    case ProcessEvent::Kind::exec: out = ProcessEventKind::exec; return true;
    case ProcessEvent::Kind::fork: out = ProcessEventKind::fork; return true;
    case ProcessEvent::Kind::exit: out = ProcessEventKind::exit; return true;
    case ProcessEvent::Kind::gone:
    case ProcessEvent::Kind::attach: return false;
  }
  return false;
}

}  // namespace userbpf::hooks
