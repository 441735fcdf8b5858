// References a path holds (Linux's acquire_reference_state / release_reference): sockets from
// the socket lookups, ringbuf records, sockets from sockmap lookups. Every acquired reference must
// be released on every path before the program exits or tail-calls; releasing one invalidates
// every copy of the pointer. Also the bpf_spin_lock a path holds (process_spin_lock).
#include <algorithm>

#include "verifier/env.hpp"

namespace userbpf::verifier {

bool is_acquire_function(uint32_t func_id, uint32_t map_type) {
  switch (func_id) {
    case BPF_FUNC_sk_lookup_tcp:
    case BPF_FUNC_sk_lookup_udp:
    case BPF_FUNC_skc_lookup_tcp:
    case BPF_FUNC_ringbuf_reserve:
    case BPF_FUNC_kptr_xchg: return true;
    case BPF_FUNC_map_lookup_elem:
      return map_type == BPF_MAP_TYPE_SOCKMAP || map_type == BPF_MAP_TYPE_SOCKHASH;
    default: return false;
  }
}

bool is_ptr_cast_function(uint32_t func_id) {
  switch (func_id) {
    case BPF_FUNC_tcp_sock:
    case BPF_FUNC_sk_fullsock:
    case BPF_FUNC_skc_to_tcp_sock:
    case BPF_FUNC_skc_to_tcp6_sock:
    case BPF_FUNC_skc_to_udp6_sock:
    case BPF_FUNC_skc_to_mptcp_sock:
    case BPF_FUNC_skc_to_tcp_timewait_sock:
    case BPF_FUNC_skc_to_tcp_request_sock: return true;
    default: return false;
  }
}

uint32_t Env::acquire_reference(VerifierState& st) {
  const uint32_t id = new_id();
  st.refs.push_back({id, cur_insn()});
  return id;
}

bool Env::release_reference(VerifierState& st, uint32_t ref_obj_id) {
  const auto it = std::find_if(st.refs.begin(), st.refs.end(),
                               [&](const Reference& r) { return r.id == ref_obj_id; });
  if (it == st.refs.end()) return false;
  st.refs.erase(it);
  // Every copy of the released pointer becomes unusable: unknown for root, uninitialized
  // otherwise so that it cannot leak (Linux's mark_reg_invalid).
  auto invalidate = [&](RegState& r) {
    if (r.ref_obj_id != ref_obj_id) return;
    if (privileged())
      mark_unknown(r);
    else
      r = RegState{};
  };
  for (FuncFrame& frame : st.frames) {
    for (RegState& r : frame.regs) invalidate(r);
    for (StackSlot& slot : frame.stack) {
      if (!slot.is_spill() || slot.spilled.ref_obj_id != ref_obj_id) continue;
      if (privileged()) {
        mark_unknown(slot.spilled);
      } else {
        slot.spilled = RegState{};
        slot.bytes.fill(SlotByte::invalid);
      }
    }
  }
  return true;
}

void Env::log_unreleased(const VerifierState& st) {
  for (const Reference& ref : st.refs)
    log_line(fmt::format("Unreleased reference id={} alloc_insn={}", ref.id, ref.insn));
}

bool Env::process_spin_lock(VerifierState& st, const RegState& reg, int regno, bool lock) {
  if (!reg.is_const())
    return reject(
        "R{} doesn't have constant offset. bpf_spin_lock has to be at the constant offset", regno);
  const MapInfo& map = program().maps[reg.map_index];
  if (map.spin_lock_off < 0) return reject("map '{}' has no valid bpf_spin_lock", map.name);
  const int64_t at = static_cast<int64_t>(reg.var_off.value) + reg.off;
  if (at != map.spin_lock_off)
    return reject("off {} doesn't point to 'struct bpf_spin_lock' that is at {}", at,
                  map.spin_lock_off);
  if (lock) {
    if (st.lock.held()) return reject("Locking two bpf_spin_locks are not allowed");
    st.lock = {reg.map_index, reg.id};
    return true;
  }
  if (!st.lock.held()) return reject("bpf_spin_unlock without taking a lock");
  if (st.lock.map_index != reg.map_index || st.lock.id != reg.id)
    return reject("bpf_spin_unlock of different lock");
  st.lock = {};
  return true;
}

}  // namespace userbpf::verifier
