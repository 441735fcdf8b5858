// probe_read and its user/kernel/_str forms: copies that never fault. "Kernel" memory is the
// runtime's own (the task model, contexts); "user" memory is the traced process's
// (ProgramEnv::memory_pid), or ours in a test run.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "helpers/safe_memory.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

uint64_t err(int e) { return static_cast<uint64_t>(static_cast<int64_t>(e)); }

int32_t user_pid(CallContext& call) {
  const ProgramEnv* env = env_of(call);
  return env ? env->memory_pid : 0;
}

// On failure the destination is zeroed, as the kernel's bpf_probe_read_*_common do.
uint64_t copy(CallContext& call, int32_t pid, uint64_t dst, uint64_t size, uint64_t src) {
  if (!may_access(call, dst, size, true)) return err(-EFAULT);
  if (read_nofault_in(pid, src, reinterpret_cast<void*>(dst), size)) return 0;
  std::memset(reinterpret_cast<void*>(dst), 0, size);
  return err(-EFAULT);
}

uint64_t copy_str(CallContext& call, int32_t pid, uint64_t dst, uint64_t size, uint64_t src) {
  if (size == 0) return 0;
  if (!may_access(call, dst, size, true)) return err(-EFAULT);
  std::string s;
  const long n = read_string_nofault_in(pid, src, s, size);
  char* out = reinterpret_cast<char*>(dst);
  if (n < 0) {
    std::memset(out, 0, size);
    return err(static_cast<int>(n));
  }
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return static_cast<uint64_t>(n);
}

uint64_t probe_read_kernel(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                           CallContext& call) {
  return copy(call, 0, dst, size, src);
}
uint64_t probe_read_user(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                         CallContext& call) {
  return copy(call, user_pid(call), dst, size, src);
}
uint64_t probe_read_kernel_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                               CallContext& call) {
  return copy_str(call, 0, dst, size, src);
}
uint64_t probe_read_user_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                             CallContext& call) {
  return copy_str(call, user_pid(call), dst, size, src);
}

// The legacy forms read user memory first and fall back to kernel memory, like x86's
// bpf_probe_read_compat where the address spaces do not overlap.
uint64_t probe_read(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                    CallContext& call) {
  const int32_t pid = user_pid(call);
  if (pid && copy(call, pid, dst, size, src) == 0) return 0;
  return copy(call, 0, dst, size, src);
}
uint64_t probe_read_str(uint64_t dst, uint64_t size, uint64_t src, uint64_t, uint64_t,
                        CallContext& call) {
  const int32_t pid = user_pid(call);
  if (pid) {
    const uint64_t r = copy_str(call, pid, dst, size, src);
    if (static_cast<int64_t>(r) >= 0) return r;
  }
  return copy_str(call, 0, dst, size, src);
}

}  // namespace

void register_memory_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_probe_read, {"probe_read", probe_read});
  t.set(BPF_FUNC_probe_read_str, {"probe_read_str", probe_read_str});
  t.set(BPF_FUNC_probe_read_kernel, {"probe_read_kernel", probe_read_kernel});
  t.set(BPF_FUNC_probe_read_user, {"probe_read_user", probe_read_user});
  t.set(BPF_FUNC_probe_read_kernel_str, {"probe_read_kernel_str", probe_read_kernel_str});
  t.set(BPF_FUNC_probe_read_user_str, {"probe_read_user_str", probe_read_user_str});
}

}  // namespace userbpf::helpers
