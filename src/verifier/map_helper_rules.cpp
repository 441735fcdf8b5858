// Which helpers a map may be passed to, checked both ways as Linux's
// check_map_func_compatibility does: special maps (program arrays, perf event arrays, ring
// buffers, stack traces, cgroup storage, socket maps, ...) only go to their own helpers, and
// those helpers only take their own map types.
#include <linux/bpf.h>

#include <initializer_list>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

bool one_of(uint32_t value, std::initializer_list<uint32_t> values) {
  for (uint32_t v : values)
    if (v == value) return true;
  return false;
}

// may_update_sockmap: map_update_elem/map_delete_elem on socket maps from contexts where no
// socket lock can be held.
bool may_update_sockmap(const Program& p, uint32_t func) {
  if (func != BPF_FUNC_map_update_elem && func != BPF_FUNC_map_delete_elem) return false;
  switch (p.prog_type) {
    case BPF_PROG_TYPE_TRACING: return p.expected_attach_type == BPF_TRACE_ITER;
    case BPF_PROG_TYPE_SOCK_OPS: return func == BPF_FUNC_map_delete_elem;
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_SK_REUSEPORT:
    case BPF_PROG_TYPE_FLOW_DISSECTOR:
    case BPF_PROG_TYPE_SK_LOOKUP: return true;
    default: return false;
  }
}

// The map's side: the helpers a special map may be passed to.
bool map_allows(const Program& p, uint32_t map, uint32_t func) {
  switch (map) {
    case BPF_MAP_TYPE_PROG_ARRAY: return func == BPF_FUNC_tail_call;
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return one_of(func,
                    {BPF_FUNC_perf_event_read, BPF_FUNC_perf_event_output, BPF_FUNC_skb_output,
                     BPF_FUNC_perf_event_read_value, BPF_FUNC_xdp_output});
    case BPF_MAP_TYPE_RINGBUF:
      return one_of(func, {BPF_FUNC_ringbuf_output, BPF_FUNC_ringbuf_reserve,
                           BPF_FUNC_ringbuf_query, BPF_FUNC_ringbuf_reserve_dynptr,
                           BPF_FUNC_ringbuf_submit_dynptr, BPF_FUNC_ringbuf_discard_dynptr});
    case BPF_MAP_TYPE_USER_RINGBUF: return func == BPF_FUNC_user_ringbuf_drain;
    case BPF_MAP_TYPE_STACK_TRACE: return func == BPF_FUNC_get_stackid;
    case BPF_MAP_TYPE_CGROUP_ARRAY:
      return one_of(func, {BPF_FUNC_skb_under_cgroup, BPF_FUNC_current_task_under_cgroup});
    case BPF_MAP_TYPE_CGROUP_STORAGE:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: return func == BPF_FUNC_get_local_storage;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_XSKMAP:
      return one_of(func, {BPF_FUNC_redirect_map, BPF_FUNC_map_lookup_elem});
    case BPF_MAP_TYPE_CPUMAP: return func == BPF_FUNC_redirect_map;
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS: return func == BPF_FUNC_map_lookup_elem;
    case BPF_MAP_TYPE_SOCKMAP:
      return one_of(func,
                    {BPF_FUNC_sk_redirect_map, BPF_FUNC_sock_map_update, BPF_FUNC_msg_redirect_map,
                     BPF_FUNC_sk_select_reuseport, BPF_FUNC_map_lookup_elem}) ||
             may_update_sockmap(p, func);
    case BPF_MAP_TYPE_SOCKHASH:
      return one_of(func, {BPF_FUNC_sk_redirect_hash, BPF_FUNC_sock_hash_update,
                           BPF_FUNC_msg_redirect_hash, BPF_FUNC_sk_select_reuseport,
                           BPF_FUNC_map_lookup_elem}) ||
             may_update_sockmap(p, func);
    case BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: return func == BPF_FUNC_sk_select_reuseport;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
      return one_of(func, {BPF_FUNC_map_peek_elem, BPF_FUNC_map_pop_elem, BPF_FUNC_map_push_elem});
    case BPF_MAP_TYPE_SK_STORAGE:
      return one_of(func,
                    {BPF_FUNC_sk_storage_get, BPF_FUNC_sk_storage_delete, BPF_FUNC_kptr_xchg});
    case BPF_MAP_TYPE_INODE_STORAGE:
      return one_of(
          func, {BPF_FUNC_inode_storage_get, BPF_FUNC_inode_storage_delete, BPF_FUNC_kptr_xchg});
    case BPF_MAP_TYPE_TASK_STORAGE:
      return one_of(func,
                    {BPF_FUNC_task_storage_get, BPF_FUNC_task_storage_delete, BPF_FUNC_kptr_xchg});
    case linux_abi::kMapTypeCgrpStorage:
      return one_of(func, {linux_abi::kFuncCgrpStorageGet, linux_abi::kFuncCgrpStorageDelete,
                           BPF_FUNC_kptr_xchg});
    case BPF_MAP_TYPE_BLOOM_FILTER:
      return one_of(func, {BPF_FUNC_map_peek_elem, BPF_FUNC_map_push_elem});
    default: return true;
  }
}

// The helper's side: the map types a map-specific helper takes.
bool func_allows(uint32_t func, uint32_t map) {
  switch (func) {
    case BPF_FUNC_tail_call: return map == BPF_MAP_TYPE_PROG_ARRAY;
    case BPF_FUNC_perf_event_read:
    case BPF_FUNC_perf_event_output:
    case BPF_FUNC_perf_event_read_value:
    case BPF_FUNC_skb_output:
    case BPF_FUNC_xdp_output: return map == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    case BPF_FUNC_ringbuf_output:
    case BPF_FUNC_ringbuf_reserve:
    case BPF_FUNC_ringbuf_query:
    case BPF_FUNC_ringbuf_reserve_dynptr:
    case BPF_FUNC_ringbuf_submit_dynptr:
    case BPF_FUNC_ringbuf_discard_dynptr: return map == BPF_MAP_TYPE_RINGBUF;
    case BPF_FUNC_user_ringbuf_drain: return map == BPF_MAP_TYPE_USER_RINGBUF;
    case BPF_FUNC_get_stackid: return map == BPF_MAP_TYPE_STACK_TRACE;
    case BPF_FUNC_current_task_under_cgroup:
    case BPF_FUNC_skb_under_cgroup: return map == BPF_MAP_TYPE_CGROUP_ARRAY;
    case BPF_FUNC_redirect_map:
      return one_of(map, {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_CPUMAP,
                          BPF_MAP_TYPE_XSKMAP});
    case BPF_FUNC_sk_redirect_map:
    case BPF_FUNC_msg_redirect_map:
    case BPF_FUNC_sock_map_update: return map == BPF_MAP_TYPE_SOCKMAP;
    case BPF_FUNC_sk_redirect_hash:
    case BPF_FUNC_msg_redirect_hash:
    case BPF_FUNC_sock_hash_update: return map == BPF_MAP_TYPE_SOCKHASH;
    case BPF_FUNC_get_local_storage:
      return one_of(map, {BPF_MAP_TYPE_CGROUP_STORAGE, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE});
    case BPF_FUNC_sk_select_reuseport:
      return one_of(
          map, {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, BPF_MAP_TYPE_SOCKMAP, BPF_MAP_TYPE_SOCKHASH});
    case BPF_FUNC_map_pop_elem: return one_of(map, {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK});
    case BPF_FUNC_map_peek_elem:
    case BPF_FUNC_map_push_elem:
      return one_of(map, {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_BLOOM_FILTER});
    case BPF_FUNC_map_lookup_percpu_elem:
      return one_of(
          map, {BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH});
    case BPF_FUNC_sk_storage_get:
    case BPF_FUNC_sk_storage_delete: return map == BPF_MAP_TYPE_SK_STORAGE;
    case BPF_FUNC_inode_storage_get:
    case BPF_FUNC_inode_storage_delete: return map == BPF_MAP_TYPE_INODE_STORAGE;
    case BPF_FUNC_task_storage_get:
    case BPF_FUNC_task_storage_delete: return map == BPF_MAP_TYPE_TASK_STORAGE;
    case linux_abi::kFuncCgrpStorageGet:
    case linux_abi::kFuncCgrpStorageDelete: return map == linux_abi::kMapTypeCgrpStorage;
    default: return true;
  }
}

}  // namespace

bool map_func_compatible(const Program& program, uint32_t map_type, uint32_t func_id) {
  return map_allows(program, map_type, func_id) && func_allows(func_id, map_type);
}

}  // namespace userbpf::verifier
