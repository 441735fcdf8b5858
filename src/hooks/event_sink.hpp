// Where hook sources deliver events. Called on the source's thread while the traced thread is
// stopped, so the handler may read the thread's memory consistently.
#pragma once

#include "hooks/process_event.hpp"
#include "hooks/syscall_event.hpp"
#include "hooks/uprobe_event.hpp"

namespace userbpf::hooks {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_syscall(const SyscallEvent& event) = 0;
  virtual void on_process_event(const ProcessEvent&) {}
  virtual void on_uprobe(const UprobeEvent&) {}
  // The source is about to detach: every tracee is stopped. Undo what was written into their
  // memory (USDT semaphores); they run on untraced right after.
  virtual void on_detaching() {}
};

// The name from when syscalls were the only events.
using SyscallSink = EventSink;

}  // namespace userbpf::hooks
