// One uprobe or uretprobe hit of a traced thread, as a hook source reports it: which probe site
// (an index into HookInterest::uprobes) and the thread's registers as the programs see them in
// their x86-64 struct pt_regs. For an entry probe ip is the probed address (the kernel sets it
// back from after the breakpoint before the handlers run); for a return probe ip is the address
// returned to, sp is the stack after the return and ax holds the return value.
#pragma once

#include <sys/user.h>

#include <cstdint>

namespace userbpf::hooks {

struct UprobeEvent {
  int32_t tid = 0;
  int32_t tgid = 0;
  uint32_t site = 0;  // HookInterest::uprobes index
  bool retprobe = false;
  user_regs_struct regs{};
};

}  // namespace userbpf::hooks
