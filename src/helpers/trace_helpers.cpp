// trace_printk, trace_vprintk and snprintf: the kernel's format rules (bprintf.hpp); printk
// output goes to the runtime's trace buffer, like the kernel's trace_pipe.
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "helpers/bprintf.hpp"
#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "trace/trace_buffer.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

uint64_t err(int e) { return static_cast<uint64_t>(static_cast<int64_t>(e)); }

// Emits one trace_pipe event for `message` as the current task.
void emit(CallContext& call, std::string message) {
  ProgramEnv* env = env_of(call);
  if (!env || !env->trace) return;
  trace::TraceEvent event = trace::event_for_current_thread(std::move(message));
  if (env->task.valid) {
    event.pid = env->task.pid;
    event.comm = env->task.comm;
  }
  env->trace->write(event);
}

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3,
                      CallContext& call) {
  if (fmt_size == 0 || !may_access(call, fmt, fmt_size, false)) return err(-EINVAL);
  const uint64_t args[kMaxTracePrintkArgs] = {a1, a2, a3};
  std::string out;
  const int ret = bprintf(std::string_view(reinterpret_cast<const char*>(fmt), fmt_size), args, out);
  if (ret < 0) return err(ret);
  emit(call, std::move(out));
  return static_cast<uint64_t>(ret);
}

// The arguments of the v-forms: data_len bytes of u64s, at most MAX_BPRINTF_VARARGS.
bool vargs(CallContext& call, uint64_t data, uint64_t data_len, uint64_t (&args)[kMaxBprintfArgs],
           size_t& count) {
  if (data_len % 8 || data_len > kMaxBprintfArgs * 8 || (data_len && !data)) return false;
  if (data_len && !may_access(call, data, data_len, false)) return false;
  count = data_len / 8;
  if (count) std::memcpy(args, reinterpret_cast<const void*>(data), data_len);
  return true;
}

uint64_t trace_vprintk(uint64_t fmt, uint64_t fmt_size, uint64_t data, uint64_t data_len, uint64_t,
                       CallContext& call) {
  uint64_t args[kMaxBprintfArgs] = {};
  size_t count = 0;
  if (!vargs(call, data, data_len, args, count)) return err(-EINVAL);
  if (fmt_size == 0 || !may_access(call, fmt, fmt_size, false)) return err(-EINVAL);
  std::string out;
  const int ret = bprintf(std::string_view(reinterpret_cast<const char*>(fmt), fmt_size),
                          std::span<const uint64_t>(args, count), out);
  if (ret < 0) return err(ret);
  emit(call, std::move(out));
  return static_cast<uint64_t>(ret);
}

// Length of the NUL-terminated string at `addr` that the program may read, or -1.
int64_t const_string_size(CallContext& call, uint64_t addr) {
  constexpr uint64_t kLimit = 64 * 1024;
  for (uint64_t n = 0; n < kLimit; ++n) {
    if (!may_access(call, addr + n, 1, false)) return -1;
    if (reinterpret_cast<const char*>(addr)[n] == '\0') return static_cast<int64_t>(n + 1);
  }
  return -1;
}

uint64_t snprintf_helper(uint64_t str, uint64_t str_size, uint64_t fmt, uint64_t data,
                         uint64_t data_len, CallContext& call) {
  uint64_t args[kMaxBprintfArgs] = {};
  size_t count = 0;
  if (!vargs(call, data, data_len, args, count)) return err(-EINVAL);
  const int64_t fmt_size = const_string_size(call, fmt);
  if (fmt_size < 0) return err(-EINVAL);
  if (str_size && !may_access(call, str, str_size, true)) return err(-EFAULT);
  std::string out;
  const int ret = bprintf(std::string_view(reinterpret_cast<const char*>(fmt), fmt_size),
                          std::span<const uint64_t>(args, count), out);
  if (ret < 0) return err(ret);
  if (str_size) {
    const size_t n = std::min<size_t>(out.size(), str_size - 1);
    std::memcpy(reinterpret_cast<char*>(str), out.data(), n);
    reinterpret_cast<char*>(str)[n] = '\0';
  }
  return static_cast<uint64_t>(ret) + 1;  // like the kernel: the length with its NUL
}

}  // namespace

void register_trace_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_trace_printk, {"trace_printk", trace_printk});
  t.set(BPF_FUNC_trace_vprintk, {"trace_vprintk", trace_vprintk});
  t.set(BPF_FUNC_snprintf, {"snprintf", snprintf_helper});
}

}  // namespace userbpf::helpers
