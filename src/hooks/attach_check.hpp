// Whether a program may be attached to a hook point, by Linux's rules: the hook must exist
// (hook_point.hpp parses it) and each kind of hook takes one kind of program, as the kernel's
// perf_event_set_bpf_prog and bpf_raw_tp_link_attach insist.
#pragma once

#include <string_view>

#include "runtime/records.hpp"
#include "userbpf/error.hpp"

namespace userbpf::hooks {

// `target` is a hook in SEC() form ("tracepoint/syscalls/sys_enter_execve", "raw_tp/sys_exit",
// "kprobe/__x64_sys_clone", ...). Errc::invalid_argument names the program type the hook needs.
Status check_attach(const runtime::ProgramRecord& program, std::string_view target);

}  // namespace userbpf::hooks
