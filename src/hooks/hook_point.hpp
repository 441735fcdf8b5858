// The hook points userbpf can feed from real processes, parsed from a program's section name:
//
//   tracepoint/syscalls/sys_enter_<name>   (also tp/...)  one syscall's entry record
//   tracepoint/syscalls/sys_exit_<name>                   one syscall's exit record
//   raw_tracepoint/sys_enter               (also raw_tp/) every syscall's entry: u64 args[2] =
//   raw_tracepoint/sys_exit                               {struct pt_regs *, id or return value}
#pragma once

#include <string>
#include <string_view>

#include "userbpf/error.hpp"

namespace userbpf::hooks {

enum class SyscallPhase : uint8_t { enter, exit };

struct HookPoint {
  SyscallPhase phase = SyscallPhase::enter;
  bool raw = false;  // raw_tracepoint: every syscall, pt_regs context
  int nr = -1;       // the syscall of a tracepoint/syscalls/... hook; -1 for raw hooks

  bool matches(SyscallPhase p, int syscall_nr) const {
    return phase == p && (raw || nr == syscall_nr);
  }
  // "tracepoint/syscalls/sys_enter_openat", "raw_tracepoint/sys_exit".
  std::string name() const;
};

// The hook a section names. Errc::unsupported for sections that name no hook userbpf can feed
// (kprobes, XDP, other tracepoints); Errc::not_found for a syscall the host does not have.
Result<HookPoint> parse_hook_point(std::string_view section);

}  // namespace userbpf::hooks
