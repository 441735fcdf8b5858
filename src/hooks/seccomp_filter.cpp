#include "hooks/seccomp_filter.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace userbpf::hooks {
namespace {

constexpr uint32_t kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT

sock_filter stmt(uint16_t code, uint32_t k) {
  return sock_filter{code, 0, 0, k};
}
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

}  // namespace

std::vector<sock_filter> build_seccomp_filter(const SyscallInterest& interest) {
  std::vector<sock_filter> f;
  // Not x86-64: allow.
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  // x32 syscalls (nr | 0x40000000): allow.
  f.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 1));
  f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  if (interest.all_enter || interest.all_exit) {
    f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
    return f;
  }
  // One compare and one return per hooked syscall keeps every jump offset at 0 or 1 (classic BPF
  // offsets are 8 bits) however many syscalls are hooked.
  for (size_t nr = 0; nr < SyscallInterest::kMaxSyscalls; ++nr) {
    if (!interest.stops_at(static_cast<int>(nr))) continue;
    f.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1));
    f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  }
  f.push_back(stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return f;
}

int install_seccomp_filter(const std::vector<sock_filter>& filter) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  sock_fprog prog{static_cast<unsigned short>(filter.size()),
                  const_cast<sock_filter*>(filter.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

}  // namespace userbpf::hooks
