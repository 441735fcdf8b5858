// bpf_perf_event_output (25): a sample into a perf_event_array slot (userbpf's in-file per-slot
// buffers, include/userbpf/perf_buffer.hpp). The ctx argument is unused: userbpf has no
// perf_sample_data to fill from it.
#include <linux/bpf.h>

#include <cerrno>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"
#include "userbpf/perf_buffer.hpp"

namespace userbpf::helpers {
namespace {

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

uint64_t perf_event_output(uint64_t, uint64_t m, uint64_t flags, uint64_t data, uint64_t size,
                           vm::CallContext& call) {
  const ProgramEnv* env = env_of(call);
  if (env && env->checked && !env->knows_map(m)) return err(-EINVAL);
  auto* map = reinterpret_cast<maps::Map*>(m);
  if (map == nullptr || map->spec().type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) return err(-EINVAL);
  if (size != 0 && !may_access(call, data, size, false)) return err(-EFAULT);
  return err(maps::perf_event_output(*map, flags, reinterpret_cast<const void*>(data), size));
}

}  // namespace

void register_perf_event_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_perf_event_output, {"perf_event_output", perf_event_output});
}

}  // namespace userbpf::helpers
