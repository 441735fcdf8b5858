// Ring buffer helpers: bpf_ringbuf_output (130), reserve (131), submit (132), discard (133) and
// query (134), with Linux's argument checks (kernel/bpf/ringbuf.c). The map argument is the
// program's map handle (a maps::Map pointer); submit and discard find the ring from the sample.
#include <linux/bpf.h>

#include <cerrno>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"
#include "userbpf/ringbuf.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

maps::Map* ring_arg(CallContext& call, uint64_t handle) {
  const ProgramEnv* env = env_of(call);
  if (env && env->checked && !env->knows_map(handle)) return nullptr;
  auto* map = reinterpret_cast<maps::Map*>(handle);
  if (map == nullptr || map->spec().type != BPF_MAP_TYPE_RINGBUF) return nullptr;
  return map;
}

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

constexpr uint64_t kWakeupFlags = BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP;

uint64_t ringbuf_output(uint64_t m, uint64_t data, uint64_t size, uint64_t flags, uint64_t,
                        CallContext& call) {
  if (flags & ~kWakeupFlags) return err(-EINVAL);
  maps::Map* map = ring_arg(call, m);
  if (!map) return err(-EINVAL);
  if (size != 0 && !may_access(call, data, size, false)) return err(-EFAULT);
  return err(maps::ringbuf_output(*map, reinterpret_cast<const void*>(data), size, flags));
}

uint64_t ringbuf_reserve(uint64_t m, uint64_t size, uint64_t flags, uint64_t, uint64_t,
                         CallContext& call) {
  maps::Map* map = ring_arg(call, m);
  if (!map) return 0;
  void* sample = maps::ringbuf_reserve(*map, size, flags);
  if (sample) call.add_region({reinterpret_cast<uint64_t>(sample), size, true, "ringbuf record"});
  return reinterpret_cast<uint64_t>(sample);
}

// The verifier guarantees submit/discard get a reserved record exactly once; a checked run
// (no verifier) must not let a bad pointer reach the commit, which writes through it.
bool sample_ok(CallContext& call, uint64_t sample) {
  const ProgramEnv* env = env_of(call);
  if (env && !env->checked) return true;
  return maps::ringbuf_is_reserved(reinterpret_cast<const void*>(sample));
}

uint64_t ringbuf_submit(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t,
                        CallContext& call) {
  if (sample_ok(call, sample)) maps::ringbuf_submit(reinterpret_cast<void*>(sample), flags);
  return 0;
}

uint64_t ringbuf_discard(uint64_t sample, uint64_t flags, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  if (sample_ok(call, sample)) maps::ringbuf_discard(reinterpret_cast<void*>(sample), flags);
  return 0;
}

uint64_t ringbuf_query(uint64_t m, uint64_t flags, uint64_t, uint64_t, uint64_t,
                       CallContext& call) {
  maps::Map* map = ring_arg(call, m);
  return map ? maps::ringbuf_query(*map, flags) : 0;
}

}  // namespace

void register_ringbuf_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_ringbuf_output, {"ringbuf_output", ringbuf_output});
  t.set(BPF_FUNC_ringbuf_reserve, {"ringbuf_reserve", ringbuf_reserve});
  t.set(BPF_FUNC_ringbuf_submit, {"ringbuf_submit", ringbuf_submit});
  t.set(BPF_FUNC_ringbuf_discard, {"ringbuf_discard", ringbuf_discard});
  t.set(BPF_FUNC_ringbuf_query, {"ringbuf_query", ringbuf_query});
}

}  // namespace userbpf::helpers
