// The classic-BPF seccomp filter a supervised process runs under: SECCOMP_RET_TRACE for exactly
// the syscalls some hook wants (HookInterest::stops_at), SECCOMP_RET_ALLOW for the rest, so the
// tracer is woken only for hooked syscalls. Other ABIs (i386 int 0x80, x32) are allowed untraced:
// the hook points name x86-64 syscalls.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "hooks/hook_source.hpp"

namespace userbpf::hooks {

std::vector<sock_filter> build_seccomp_filter(const SyscallInterest& interest);

// Installs `filter` in the calling process (PR_SET_NO_NEW_PRIVS first, as unprivileged
// seccomp requires). Async-signal-safe: meant for the child between fork and exec. Returns 0 or
// an errno value.
int install_seccomp_filter(const std::vector<sock_filter>& filter);

}  // namespace userbpf::hooks
