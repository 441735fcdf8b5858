// One syscall entry or exit of a traced thread, as a hook source reports it. What a source must
// fill is exactly what the syscall hook points hand programs: the thread's identity, the syscall,
// its arguments (entry) or return value (exit), and the thread's registers (raw_tracepoint's and
// kprobe's struct pt_regs).
#pragma once

#include <sys/user.h>

#include <array>
#include <cstdint>

#include "hooks/hook_point.hpp"

namespace userbpf::hooks {

struct SyscallEvent {
  SyscallPhase phase = SyscallPhase::enter;
  int32_t tid = 0;   // the thread (the kernel's task->pid)
  int32_t tgid = 0;  // its process
  int nr = -1;
  std::array<uint64_t, 6> args{};  // entry: the six argument registers
  int64_t ret = 0;                 // exit: the return value
  user_regs_struct regs{};         // the thread's registers at the stop (x86-64 pt_regs order)
};

}  // namespace userbpf::hooks
