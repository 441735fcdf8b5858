// bpf_get_stackid (27) and bpf_get_stack (67) with Linux's flags and results
// (kernel/bpf/stackmap.c), over the stacks user space has.
//
// The user stack (BPF_F_USER_STACK) is collected as x86's perf_callchain_user does: the ip of
// the event's registers (ProgramEnv::user_regs), then one return address per frame while
// walking the frame-pointer chain from bp, each frame being [saved bp][return ip] in the task's
// memory (ProgramEnv::memory_pid), read without faulting; the walk stops at an unreadable frame,
// a frame past the user address range, or the depth limit. Code built without frame pointers
// gives short stacks, as in Linux.
//
// The kernel stack (no BPF_F_USER_STACK) is empty. There is no kernel under a userbpf program;
// and the registers userbpf hands programs are always user-mode registers of a task, for which
// Linux's get_perf_callchain collects no kernel frames either (it walks the kernel stack only
// when !user_mode(regs)). So, as Linux does for a uprobe: get_stackid(ctx, map, 0) is -EFAULT
// (no frame to store) and get_stack(ctx, buf, size, 0) returns 0 with the buffer zeroed.
#include <asm/ptrace.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <vector>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "helpers/safe_memory.hpp"
#include "userbpf/map.hpp"
#include "userbpf/stack_trace.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

uint64_t err(long e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

// x86-64 TASK_SIZE_MAX with 4-level page tables: the end of user addresses (what
// valid_user_frame's access_ok allows).
constexpr uint64_t kUserAddressEnd = (uint64_t{1} << 47) - 4096;

// The user stack of the event, at most max_depth entries, innermost first.
std::vector<uint64_t> user_stack(const ProgramEnv* env, uint32_t max_depth) {
  std::vector<uint64_t> ips;
#if defined(__x86_64__)
  if (env == nullptr || env->user_regs == nullptr || max_depth == 0) return ips;
  const auto* regs = static_cast<const pt_regs*>(env->user_regs);
  ips.reserve(max_depth);
  ips.push_back(regs->rip);
  uint64_t fp = regs->rbp;
  while (ips.size() < max_depth) {
    if (fp > kUserAddressEnd - 16) break;
    uint64_t frame[2];  // saved bp, return address
    if (!read_nofault_in(env->memory_pid, fp, frame, sizeof(frame))) break;
    ips.push_back(frame[1]);
    fp = frame[0];
  }
#else
  (void)env;
  (void)max_depth;
#endif
  return ips;
}

std::vector<uint64_t> collect(CallContext& call, uint64_t flags, uint32_t max_depth) {
  if (!(flags & BPF_F_USER_STACK)) return {};  // the kernel stack: see the file comment
  return user_stack(env_of(call), max_depth);
}

maps::Map* stack_map_arg(CallContext& call, uint64_t handle) {
  const ProgramEnv* env = env_of(call);
  if (env && env->checked && !env->knows_map(handle)) return nullptr;
  auto* map = reinterpret_cast<maps::Map*>(handle);
  if (map == nullptr || map->spec().type != BPF_MAP_TYPE_STACK_TRACE) return nullptr;
  return map;
}

uint64_t get_stackid(uint64_t, uint64_t m, uint64_t flags, uint64_t, uint64_t, CallContext& call) {
  constexpr uint64_t kAllowed =
      BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID;
  if (flags & ~kAllowed) return err(-EINVAL);
  maps::Map* map = stack_map_arg(call, m);
  if (map == nullptr) return err(-EINVAL);
  const uint32_t elem = (map->spec().map_flags & BPF_F_STACK_BUILD_ID) ? sizeof(bpf_stack_build_id)
                                                                       : sizeof(uint64_t);
  const uint32_t max_depth = maps::stack_max_depth(map->spec().value_size, elem, flags);
  const std::vector<uint64_t> trace = collect(call, flags, max_depth);
  return err(maps::stack_trace_get_id(*map, trace, flags));
}

uint64_t get_stack(uint64_t, uint64_t buf, uint64_t size64, uint64_t flags, uint64_t,
                   CallContext& call) {
  const uint32_t size = static_cast<uint32_t>(size64);  // the helper takes a u32 size
  if (size != 0 && !may_access(call, buf, size, true)) return err(-EFAULT);
  auto* out = reinterpret_cast<uint8_t*>(buf);
  const auto fail = [&](int e) {
    if (size != 0) std::memset(out, 0, size);
    return err(e);
  };
  constexpr uint64_t kAllowed = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID;
  if (flags & ~kAllowed) return fail(-EINVAL);
  const bool build_id = (flags & BPF_F_USER_BUILD_ID) != 0;
  if (build_id && !(flags & BPF_F_USER_STACK)) return fail(-EINVAL);
  const uint32_t elem = build_id ? sizeof(bpf_stack_build_id) : sizeof(uint64_t);
  if (size % elem != 0) return fail(-EINVAL);

  const uint32_t skip = static_cast<uint32_t>(flags & BPF_F_SKIP_FIELD_MASK);
  const uint32_t max_depth = maps::stack_max_depth(size, elem, flags);
  const std::vector<uint64_t> trace = collect(call, flags, max_depth);
  if (trace.size() < skip) return fail(-EFAULT);

  // At most max_depth entries were collected, so the stored ones fit in size bytes.
  const uint32_t nr = static_cast<uint32_t>(trace.size()) - skip;
  const uint64_t copy_len = uint64_t{nr} * elem;
  for (uint32_t i = 0; i < nr; ++i) {
    const uint64_t ip = trace[skip + i];
    if (build_id) {
      // Linux's per-entry fallback when no build id is found: status IP, build_id zeroed.
      bpf_stack_build_id entry{};
      entry.status = BPF_STACK_BUILD_ID_IP;
      entry.ip = ip;
      std::memcpy(out + uint64_t{i} * elem, &entry, sizeof(entry));
    } else {
      std::memcpy(out + uint64_t{i} * elem, &ip, sizeof(ip));
    }
  }
  if (size > copy_len) std::memset(out + copy_len, 0, size - copy_len);
  return copy_len;
}

}  // namespace

void register_stack_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_get_stackid, {"get_stackid", get_stackid});
  t.set(BPF_FUNC_get_stack, {"get_stack", get_stack});
}

}  // namespace userbpf::helpers
