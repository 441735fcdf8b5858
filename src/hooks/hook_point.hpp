// The hook points userbpf can feed from real processes, parsed from a program's section name:
//
//   tracepoint/syscalls/sys_enter_<name>   (also tp/...)  one syscall's entry record
//   tracepoint/syscalls/sys_exit_<name>                   one syscall's exit record
//   raw_tracepoint/sys_enter               (also raw_tp/) every syscall's entry: u64 args[2] =
//   raw_tracepoint/sys_exit                               {struct pt_regs *, id or return value}
//   kprobe/__x64_sys_<name>, ksyscall/<name>              a syscall's entry, wrapper pt_regs
//   kretprobe/__x64_sys_<name>, kretsyscall/<name>        its return, pt_regs with ax = result
//   tracepoint/sched/sched_process_exec    (also tp/...)  a successful execve
//   tracepoint/sched/sched_process_fork                   a fork, vfork or clone (threads too)
//   tracepoint/sched/sched_process_exit                   a thread's exit
//   uprobe/PATH:FUNC[+OFF], uprobe/PATH:0xOFF, uretprobe/PATH:FUNC (and .s)  uprobe_target.hpp
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hooks/uprobe_target.hpp"
#include "userbpf/error.hpp"

namespace userbpf::hooks {

enum class SyscallPhase : uint8_t { enter, exit };

enum class HookKind : uint8_t {
  syscall_tracepoint,  // tracepoint/syscalls/sys_{enter,exit}_<name>
  raw_syscalls,        // raw_tracepoint/sys_{enter,exit}: every syscall
  syscall_kprobe,      // kprobe/kretprobe on __x64_sys_<name>, ksyscall/kretsyscall
  process_exec,        // tracepoint/sched/sched_process_exec
  process_fork,        // tracepoint/sched/sched_process_fork
  process_exit,        // tracepoint/sched/sched_process_exit
  uprobe,              // uprobe (phase enter) or uretprobe (phase exit) on a file's function
};

// The process events a source reports (sched_process_* and the bookkeeping around them).
enum class ProcessEventKind : uint8_t { exec, fork, exit };

struct HookPoint {
  HookKind kind = HookKind::syscall_tracepoint;
  SyscallPhase phase = SyscallPhase::enter;  // syscall kinds: entry or exit/return
  int nr = -1;  // the syscall of syscall_tracepoint and syscall_kprobe hooks; -1 otherwise
  std::shared_ptr<const UprobeTarget> uprobe;  // the uprobe kind's resolved target

  bool is_syscall() const {
    return kind == HookKind::syscall_tracepoint || kind == HookKind::raw_syscalls ||
           kind == HookKind::syscall_kprobe;
  }
  bool raw() const { return kind == HookKind::raw_syscalls; }
  bool matches(SyscallPhase p, int syscall_nr) const {
    return is_syscall() && phase == p && (raw() || nr == syscall_nr);
  }
  bool matches(ProcessEventKind event) const {
    switch (event) {
      case ProcessEventKind::exec: return kind == HookKind::process_exec;
      case ProcessEventKind::fork: return kind == HookKind::process_fork;
      case ProcessEventKind::exit: return kind == HookKind::process_exit;
    }
    return false;
  }
  // "tracepoint/syscalls/sys_enter_openat", "raw_tracepoint/sys_exit",
  // "kretprobe/__x64_sys_read", "tracepoint/sched/sched_process_exec".
  std::string name() const;
};

// The hook a section names. Errc::unsupported for sections that name no hook userbpf can feed
// (kprobes on other kernel functions, XDP, other tracepoints, a uprobe section without a target);
// Errc::not_found for a syscall the host does not have, or a uprobe's missing file or symbol
// (uprobe targets are resolved here: the file is read).
Result<HookPoint> parse_hook_point(std::string_view section);

// The hook of a uprobe (retprobe false) or uretprobe on `func` of the file `path`: the explicit
// target of a bare SEC("uprobe") program, or of USDT notes (a file offset).
Result<HookPoint> uprobe_hook_point(std::string_view path, const UprobeFunc& func, bool retprobe);

}  // namespace userbpf::hooks
