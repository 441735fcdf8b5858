// The values userbpf gives a program's `extern ... __kconfig` variables: the "virtual" ones libbpf
// answers itself, as the runtime's kernel would have them:
//   LINUX_KERNEL_VERSION       the host's KERNEL_VERSION(a, b, c) (u32; c capped at 255)
//   LINUX_HAS_SYSCALL_WRAPPER  1: kprobe/__x64_sys_* contexts keep x86-64's wrapper convention
//                              (PT_REGS_PARM1 is the user pt_regs), as BPF_KSYSCALL expects
//   LINUX_HAS_BPF_COOKIE       1: bpf_get_attach_cookie works
// Other names (CONFIG_*) are unknown: weak externs stay zero, strong ones fail the load, which is
// what libbpf does without a kernel config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace userbpf::runtime {

std::optional<std::vector<uint8_t>> kconfig_value(const std::string& name);

}  // namespace userbpf::runtime
