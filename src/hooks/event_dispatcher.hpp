// Runs attached programs on the events of a hook source: builds each hook point's context exactly
// as Linux lays it out, makes the traced thread the programs' current task (identity, memory and
// its task_struct in the task model) and runs every program attached to the event's hook point,
// in attach order.
//
//   tracepoint/syscalls/sys_enter_<name>: struct trace_event_raw_sys_enter
//       u16 common_type, u8 common_flags, u8 common_preempt_count, i32 common_pid (= tid),
//       int __syscall_nr at 8, the syscall's arguments as u64 at 16, 24, ...
//   tracepoint/syscalls/sys_exit_<name>: same header, __syscall_nr at 8, long ret at 16
//   raw_tracepoint/sys_enter: u64 args[2] = {struct pt_regs *regs, long id}
//   raw_tracepoint/sys_exit:  u64 args[2] = {struct pt_regs *regs, long ret}
//   kprobe/__x64_sys_<name>:  struct pt_regs of the syscall wrapper: di (PT_REGS_PARM1) points to
//                             the user's struct pt_regs, whose di, si, dx, r10, r8, r9 are the
//                             syscall's arguments (PT_REGS_PARM1_CORE_SYSCALL, BPF_KSYSCALL)
//   kretprobe/__x64_sys_<name>: struct pt_regs with ax (PT_REGS_RC) = the return value
//   tracepoint/sched/sched_process_{exec,fork,exit}: sched_records.hpp
//   uprobe/..., uretprobe/...: struct pt_regs of the thread that hit the probe (uprobe_event.hpp:
//                             ip is the probed address; at a return ax is the return value),
//                             PT_REGS_PARM1..6 are di, si, dx, cx, r8, r9 of the call
//
// Programs run in checked mode (there is no verifier in front of them yet): the context, the
// pt_regs copy, the task model and the program's own data are all they may touch directly.
// Return values of these programs are ignored, as Linux ignores them for tracing programs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "hooks/hook_point.hpp"
#include "hooks/hook_source.hpp"
#include "hooks/task_table.hpp"
#include "hooks/tracefs_format.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::hooks {

// x86-64 struct pt_regs: the first 21 words of user_regs_struct, in the same order.
inline constexpr size_t kPtRegsSize = 21 * 8;

struct AttachStats {
  uint64_t runs = 0;
  uint64_t failures = 0;  // runs that ended in an error (fault, budget)
};

class EventDispatcher : public EventSink {
 public:
  // Attaches a program instance to a hook point; returns its index for stats(). The program's
  // env().attach_cookie is what bpf_get_attach_cookie returns.
  size_t attach(const HookPoint& hook, std::unique_ptr<runtime::RunnableProgram> program);

  // Attaches a program instance to a uprobe (retprobe false) or uretprobe on `func` of the file
  // `path` (a symbol, symbol+offset, or a file offset: uprobe_target.hpp) with the cookie
  // bpf_get_attach_cookie returns. The interface the CLI, the C++ API and USDT attach through.
  // Errors (missing file or symbol, ...) name the file and the symbol; nothing is attached then.
  Result<size_t> attach_uprobe(std::unique_ptr<runtime::RunnableProgram> program,
                               std::string_view path, const UprobeFunc& func, bool retprobe,
                               uint64_t cookie);

  // The events the attached programs need, plus the exits of the syscalls that change a
  // thread's cached identity (prctl, the setuid family, setpriority) as optional exits: seen
  // where the source stops for syscalls anyway, so a source that needs no syscall stops (uprobes
  // in an executable only) misses a later prctl(PR_SET_NAME) or setuid of the traced threads.
  HookInterest interest() const;

  void on_syscall(const SyscallEvent& event) override;
  void on_process_event(const ProcessEvent& event) override;
  void on_uprobe(const UprobeEvent& event) override;

  // Called after the programs of each event ran (e.g. to print new trace_pipe lines).
  void set_after_event(std::function<void()> callback) { after_event_ = std::move(callback); }
  // Called with each failed run's error (the run itself is skipped, as a faulting program would
  // be in the kernel's eyes).
  void set_on_error(std::function<void(const runtime::ProgramRecord&, const Error&)> callback) {
    on_error_ = std::move(callback);
  }

  const AttachStats& stats(size_t index) const { return attached_[index].stats; }
  size_t attached() const { return attached_.size(); }
  TaskTable& tasks() { return tasks_; }

  // The record a tracepoint program sees for `event` (exposed for tests).
  std::vector<uint8_t> tracepoint_record(const SyscallEvent& event);

 private:
  struct Attached {
    HookPoint hook;
    std::unique_ptr<runtime::RunnableProgram> program;
    AttachStats stats;
    uint32_t site = 0;  // uprobes: the HookInterest::uprobes index (interest() adds in this order)
  };
  // The current task of an event, looked up once for all its programs.
  struct Current {
    pid_t tid = 0;
    pid_t tgid = 0;
    bool resolved = false;
    helpers::TaskInfo info;
    runtime::TaskModel* task = nullptr;
    // The thread's user registers at the stop (bpf_get_stack's user stack); nullptr when the
    // event has none.
    const void* user_regs = nullptr;
  };
  const TracepointFormat& format_of(SyscallPhase phase, int nr);
  void resolve(Current& current);
  void run(Attached& a, Current& current, const void* ctx, size_t ctx_size,
           std::span<const vm::Region> extra = {});
  void run_syscall_programs(const SyscallEvent& event);

  std::vector<Attached> attached_;
  HookInterest uprobe_sites_;  // the uprobe sites in attach order, as interest() numbers them
  std::unordered_map<int64_t, TracepointFormat> formats_;  // by (phase, nr)
  TaskTable tasks_;
  std::function<void()> after_event_;
  std::function<void(const runtime::ProgramRecord&, const Error&)> on_error_;
};

}  // namespace userbpf::hooks
