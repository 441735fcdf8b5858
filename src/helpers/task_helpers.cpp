// Clocks, randomness, the CPU, and the current task's identity.
#include <linux/bpf.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return clock_ns(CLOCK_MONOTONIC);
}
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return clock_ns(CLOCK_BOOTTIME);
}
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return clock_ns(CLOCK_MONOTONIC_COARSE);
}
uint64_t ktime_get_tai_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return clock_ns(CLOCK_TAI);
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  thread_local std::mt19937 engine{std::random_device{}()};
  return engine();
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return maps::current_cpu();
}

uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext&) {
  return 0;
}

TaskInfo current_task(CallContext& call) {
  const ProgramEnv* env = env_of(call);
  if (env && env->task.valid) return env->task;
  TaskInfo t;
  t.valid = true;
  t.pid = static_cast<int32_t>(gettid());
  t.tgid = static_cast<int32_t>(getpid());
  t.uid = getuid();
  t.gid = getgid();
  char comm[16] = {};
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  t.comm = comm;
  return t;
}

uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const TaskInfo t = current_task(call);
  return (static_cast<uint64_t>(static_cast<uint32_t>(t.tgid)) << 32) | static_cast<uint32_t>(t.pid);
}

uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const TaskInfo t = current_task(call);
  return (static_cast<uint64_t>(t.gid) << 32) | t.uid;
}

// Like the kernel's strscpy_pad(): NUL-terminated, the rest zeroed.
uint64_t get_current_comm(uint64_t buf, uint64_t size, uint64_t, uint64_t, uint64_t,
                          CallContext& call) {
  if (size == 0 || !may_access(call, buf, size, true)) return static_cast<uint64_t>(-EINVAL);
  const TaskInfo t = current_task(call);
  char* out = reinterpret_cast<char*>(buf);
  std::memset(out, 0, size);
  std::memcpy(out, t.comm.data(), std::min<size_t>(t.comm.size(), size - 1));
  return 0;
}

// The task model's block of the current task (the hook's task table fills it; its memory is
// handed to checked runs as a region, so direct loads through the _btf pointer work too).
uint64_t get_current_task(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const ProgramEnv* env = env_of(call);
  return env ? env->current_task : 0;
}

uint64_t get_attach_cookie(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const ProgramEnv* env = env_of(call);
  return env ? env->attach_cookie : 0;
}

uint64_t get_func_ip(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  const ProgramEnv* env = env_of(call);
  return env ? env->func_ip : 0;
}

}  // namespace

void register_task_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_ktime_get_ns, {"ktime_get_ns", ktime_get_ns});
  t.set(BPF_FUNC_ktime_get_boot_ns, {"ktime_get_boot_ns", ktime_get_boot_ns});
  t.set(BPF_FUNC_ktime_get_coarse_ns, {"ktime_get_coarse_ns", ktime_get_coarse_ns});
  t.set(BPF_FUNC_ktime_get_tai_ns, {"ktime_get_tai_ns", ktime_get_tai_ns});
  t.set(BPF_FUNC_get_prandom_u32, {"get_prandom_u32", get_prandom_u32});
  t.set(BPF_FUNC_get_smp_processor_id, {"get_smp_processor_id", get_smp_processor_id});
  t.set(BPF_FUNC_get_numa_node_id, {"get_numa_node_id", get_numa_node_id});
  t.set(BPF_FUNC_get_current_pid_tgid, {"get_current_pid_tgid", get_current_pid_tgid});
  t.set(BPF_FUNC_get_current_uid_gid, {"get_current_uid_gid", get_current_uid_gid});
  t.set(BPF_FUNC_get_current_comm, {"get_current_comm", get_current_comm});
  t.set(BPF_FUNC_get_current_task, {"get_current_task", get_current_task});
  t.set(BPF_FUNC_get_current_task_btf, {"get_current_task_btf", get_current_task});
  t.set(BPF_FUNC_get_attach_cookie, {"get_attach_cookie", get_attach_cookie});
  t.set(BPF_FUNC_get_func_ip, {"get_func_ip", get_func_ip});
}

}  // namespace userbpf::helpers
