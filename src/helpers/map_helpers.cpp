// Map helpers: lookup, update, delete, push, pop, peek. The map argument is the handle the
// runtime put in the program's lddw (a maps::Map pointer); in checked runs it must be one of the
// program's maps and key/value pointers must lie in memory the program may access.
#include <linux/bpf.h>

#include <cerrno>

#include "helpers/environment.hpp"
#include "helpers/linux_helpers.hpp"
#include "userbpf/map.hpp"

namespace userbpf::helpers {
namespace {

using vm::CallContext;

// The map named by `handle`, or nullptr when a checked run passes something else.
maps::Map* map_arg(CallContext& call, uint64_t handle) {
  const ProgramEnv* env = env_of(call);
  if (env && env->checked && !env->knows_map(handle)) return nullptr;
  return reinterpret_cast<maps::Map*>(handle);
}

uint64_t err(int e) {
  return static_cast<uint64_t>(static_cast<int64_t>(e));
}

// Only a checked run reads the regions helpers hand out; an unchecked one (the runtime's env
// says so) need not record one per lookup.
bool wants_regions(CallContext& call) {
  const ProgramEnv* env = env_of(call);
  return env == nullptr || env->checked;
}

uint64_t map_lookup_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map || !may_access(call, key, map->spec().key_size, false)) return 0;
  void* value = map->lookup(reinterpret_cast<const void*>(key));
  const uint32_t type = map->spec().type;
  if (value && (type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS)) {
    // The value is an inner map's handle: the program may pass it to map helpers, not touch it.
    if (ProgramEnv* env = env_of(call)) env->maps.insert(static_cast<const maps::Map*>(value));
  } else if (value && wants_regions(call)) {
    const bool writable = !(map->spec().map_flags & BPF_F_RDONLY_PROG);
    call.add_region(
        {reinterpret_cast<uint64_t>(value), map->spec().value_size, writable, "map value"});
  }
  return reinterpret_cast<uint64_t>(value);
}

uint64_t map_update_elem(uint64_t m, uint64_t key, uint64_t value, uint64_t flags, uint64_t,
                         CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map) return err(-EINVAL);
  if (!may_access(call, key, map->spec().key_size, false) ||
      !may_access(call, value, map->spec().value_size, false))
    return err(-EFAULT);
  return err(
      map->update(reinterpret_cast<const void*>(key), reinterpret_cast<const void*>(value), flags));
}

uint64_t map_delete_elem(uint64_t m, uint64_t key, uint64_t, uint64_t, uint64_t,
                         CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map) return err(-EINVAL);
  if (!may_access(call, key, map->spec().key_size, false)) return err(-EFAULT);
  return err(map->erase(reinterpret_cast<const void*>(key)));
}

uint64_t map_push_elem(uint64_t m, uint64_t value, uint64_t flags, uint64_t, uint64_t,
                       CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map) return err(-EINVAL);
  if (!may_access(call, value, map->spec().value_size, false)) return err(-EFAULT);
  return err(map->push(reinterpret_cast<const void*>(value), flags));
}

uint64_t map_pop_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t, CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map) return err(-EINVAL);
  if (!may_access(call, value, map->spec().value_size, true)) return err(-EFAULT);
  return err(map->pop(reinterpret_cast<void*>(value)));
}

uint64_t map_peek_elem(uint64_t m, uint64_t value, uint64_t, uint64_t, uint64_t,
                       CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map) return err(-EINVAL);
  if (!may_access(call, value, map->spec().value_size, true)) return err(-EFAULT);
  return err(map->peek(reinterpret_cast<void*>(value)));
}

uint64_t map_lookup_percpu_elem(uint64_t m, uint64_t key, uint64_t cpu, uint64_t, uint64_t,
                                CallContext& call) {
  maps::Map* map = map_arg(call, m);
  if (!map || !may_access(call, key, map->spec().key_size, false)) return 0;
  void* value = map->lookup_percpu(reinterpret_cast<const void*>(key), static_cast<uint32_t>(cpu));
  if (value && wants_regions(call))
    call.add_region({reinterpret_cast<uint64_t>(value), map->spec().value_size, true, "map value"});
  return reinterpret_cast<uint64_t>(value);
}

uint64_t spin_lock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  if (!may_access(call, lock, 4, true)) return 0;
  maps::spin_lock(reinterpret_cast<void*>(lock));
  return 0;
}

uint64_t spin_unlock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, CallContext& call) {
  if (!may_access(call, lock, 4, true)) return 0;
  maps::spin_unlock(reinterpret_cast<void*>(lock));
  return 0;
}

}  // namespace

void register_map_helpers(vm::HelperTable& t) {
  t.set(BPF_FUNC_map_lookup_elem, {"map_lookup_elem", map_lookup_elem});
  t.set(BPF_FUNC_map_update_elem, {"map_update_elem", map_update_elem});
  t.set(BPF_FUNC_map_delete_elem, {"map_delete_elem", map_delete_elem});
  t.set(BPF_FUNC_map_push_elem, {"map_push_elem", map_push_elem});
  t.set(BPF_FUNC_map_pop_elem, {"map_pop_elem", map_pop_elem});
  t.set(BPF_FUNC_map_peek_elem, {"map_peek_elem", map_peek_elem});
  t.set(BPF_FUNC_map_lookup_percpu_elem, {"map_lookup_percpu_elem", map_lookup_percpu_elem});
  t.set(BPF_FUNC_spin_lock, {"spin_lock", spin_lock});
  t.set(BPF_FUNC_spin_unlock, {"spin_unlock", spin_unlock});
}

}  // namespace userbpf::helpers
