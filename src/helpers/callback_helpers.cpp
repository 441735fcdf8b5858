// Helpers that call back into the program (bpf_loop, bpf_for_each_map_elem; kernel/bpf/bpf_iter.c
// and the maps' map_for_each_callback) and the signal helpers (kernel/trace/bpf_trace.c), which
// act on the run's current task.
#include <linux/bpf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

constexpr uint64_t kMaxLoops = uint64_t{1} << 23;  // BPF_MAX_LOOPS

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

// bpf_loop(nr_loops, callback, ctx, flags): callback(index, ctx) until it returns non-zero;
// answers the number of calls made. A callback that faults ends the whole run (the interpreter
// sees the failure when this helper returns).
uint64_t loop(uint64_t nr_loops, uint64_t callback, uint64_t ctx, uint64_t flags, uint64_t,
              CallContext& call) {
  if (flags) return err(-EINVAL);
  const uint32_t n = static_cast<uint32_t>(nr_loops);
  if (n > kMaxLoops) return err(-E2BIG);
  for (uint32_t i = 0; i < n; ++i) {
    auto r = call.call_function(callback, i, ctx, 0, 0, 0);
    if (!r) return err(-EINVAL);  // not a function handle (a fault already stopped the run)
    if (*r) return i + 1;
  }
  return n;
}

bool is_array(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}
bool is_hash(uint32_t type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

// bpf_for_each_map_elem(map, callback, ctx, flags): callback(map, &key, value, ctx) for every
// element until it returns non-zero; answers the number of elements visited. Values are the
// map's own (per-CPU maps: this CPU's slot), so callbacks may update them in place. Hash maps are
// walked over a snapshot of their keys, so a callback may delete elements (as in Linux) without
// disturbing the walk; an element deleted before its turn is skipped.
uint64_t for_each_map_elem(uint64_t map_arg, uint64_t callback, uint64_t ctx, uint64_t flags,
                           uint64_t, CallContext& call) {
  if (flags) return err(-EINVAL);
  const ProgramEnv* env = env_of(call);
  if (env && env->checked && !env->knows_map(map_arg)) return err(-EINVAL);
  auto* map = reinterpret_cast<maps::Map*>(map_arg);
  const maps::MapSpec& spec = map->spec();
  if (!is_array(spec.type) && !is_hash(spec.type)) return err(-EINVAL);  // no callback support
  const bool writable = !(spec.map_flags & BPF_F_RDONLY_PROG);

  // The key the callback sees lives here; the program may read it, not write it. (The read-only
  // region outlives this buffer for the rest of the run; a program that keeps the pointer can
  // only read stale heap bytes through it, never write.)
  std::vector<uint8_t> key(spec.key_size);
  call.add_region({reinterpret_cast<uint64_t>(key.data()), key.size(), false, "map key"});

  std::vector<uint8_t> keys;  // hash: the snapshot
  uint64_t count = 0;
  if (is_hash(spec.type)) {
    std::vector<uint8_t> next(spec.key_size);
    const void* prev = nullptr;
    while (map->get_next_key(prev, next.data()) == 0) {
      keys.insert(keys.end(), next.begin(), next.end());
      prev = keys.data() + keys.size() - spec.key_size;
    }
    count = keys.size() / spec.key_size;
  } else {
    count = spec.max_entries;
  }

  uint64_t visited = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (is_hash(spec.type)) {
      std::copy_n(keys.begin() + static_cast<ptrdiff_t>(i * spec.key_size), spec.key_size,
                  key.begin());
    } else {
      const uint32_t index = static_cast<uint32_t>(i);
      std::memcpy(key.data(), &index, sizeof index);
    }
    void* value = map->lookup(key.data());
    if (!value) continue;  // deleted by an earlier callback
    call.add_region({reinterpret_cast<uint64_t>(value), spec.value_size, writable, "map value"});
    ++visited;
    auto r = call.call_function(callback, map_arg, reinterpret_cast<uint64_t>(key.data()),
                                reinterpret_cast<uint64_t>(value), ctx, 0);
    if (!r) return err(-EINVAL);
    if (*r) break;
  }
  return visited;
}

// The signal helpers deliver to the run's current task (ProgramEnv::task, set by hooks). Test
// runs have no traced task, and userbpf will not signal itself on a program's behalf: -EPERM,
// which is also what Linux answers where no sound current task exists (kernel threads).
uint64_t send_signal_common(uint64_t sig_arg, bool thread, CallContext& call) {
  const ProgramEnv* env = env_of(call);
  if (!env || !env->task.valid) return err(-EPERM);
  if (env->task.tgid == 1) return err(-EPERM);  // never init
  const uint32_t sig = static_cast<uint32_t>(sig_arg);
  if (sig > static_cast<uint32_t>(_NSIG - 1)) return err(-EINVAL);
  const long r = thread ? syscall(SYS_tgkill, env->task.tgid, env->task.pid, static_cast<int>(sig))
                        : kill(env->task.tgid, static_cast<int>(sig));
  return r == 0 ? 0 : err(-errno);
}

uint64_t send_signal(uint64_t sig, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  return send_signal_common(sig, false, call);
}

uint64_t send_signal_thread(uint64_t sig, uint64_t, uint64_t, uint64_t, uint64_t,
                            CallContext& call) {
  return send_signal_common(sig, true, call);
}

}  // namespace

void register_callback_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_loop, {"loop", loop});
  t.set(BPF_FUNC_for_each_map_elem, {"for_each_map_elem", for_each_map_elem});
  t.set(BPF_FUNC_send_signal, {"send_signal", send_signal});
  t.set(BPF_FUNC_send_signal_thread, {"send_signal_thread", send_signal_thread});
}

}  // namespace userbpf::helpers
