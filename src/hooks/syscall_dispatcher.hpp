// Runs attached programs on syscall events: builds each hook point's context exactly as Linux
// lays it out, makes the traced thread the programs' current task and its memory the "user"
// memory, and runs every program attached to the event's hook point (in attach order).
//
//   tracepoint/syscalls/sys_enter_<name>: struct trace_event_raw_sys_enter
//       u16 common_type, u8 common_flags, u8 common_preempt_count, i32 common_pid (= tid),
//       int __syscall_nr at 8, the syscall's arguments as u64 at 16, 24, ...
//   tracepoint/syscalls/sys_exit_<name>: same header, __syscall_nr at 8, long ret at 16
//   raw_tracepoint/sys_enter: u64 args[2] = {struct pt_regs *regs, long id}
//   raw_tracepoint/sys_exit:  u64 args[2] = {struct pt_regs *regs, long ret}
//
// Programs run in checked mode (there is no verifier in front of them yet): the record, the
// pt_regs copy and the program's own data are all they may touch directly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "hooks/hook_point.hpp"
#include "hooks/hook_source.hpp"
#include "hooks/syscall_event.hpp"
#include "hooks/tracefs_format.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::hooks {

// x86-64 struct pt_regs: the first 21 words of user_regs_struct, in the same order.
inline constexpr size_t kPtRegsSize = 21 * 8;

struct AttachStats {
  uint64_t runs = 0;
  uint64_t failures = 0;  // runs that ended in an error (fault, budget)
};

class SyscallDispatcher : public SyscallSink {
 public:
  // Attaches a program instance to a hook point; returns its index for stats().
  size_t attach(const HookPoint& hook, std::unique_ptr<runtime::RunnableProgram> program);

  // The syscall stops the attached programs need.
  SyscallInterest interest() const;

  void on_syscall(const SyscallEvent& event) override;

  // Called after the programs of each event ran (e.g. to print new trace_pipe lines).
  void set_after_event(std::function<void()> callback) { after_event_ = std::move(callback); }
  // Called with each failed run's error (the run itself is skipped, as a faulting program would
  // be in the kernel's eyes).
  void set_on_error(std::function<void(const runtime::ProgramRecord&, const Error&)> callback) {
    on_error_ = std::move(callback);
  }

  const AttachStats& stats(size_t index) const { return attached_[index].stats; }
  size_t attached() const { return attached_.size(); }

  // The record a tracepoint program sees for `event` (exposed for tests).
  std::vector<uint8_t> tracepoint_record(const SyscallEvent& event);

 private:
  struct Attached {
    HookPoint hook;
    std::unique_ptr<runtime::RunnableProgram> program;
    AttachStats stats;
  };
  const TracepointFormat& format_of(SyscallPhase phase, int nr);

  std::vector<Attached> attached_;
  std::unordered_map<int64_t, TracepointFormat> formats_;  // by (phase, nr)
  std::function<void()> after_event_;
  std::function<void(const runtime::ProgramRecord&, const Error&)> on_error_;
};

}  // namespace userbpf::hooks
