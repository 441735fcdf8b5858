// Calls: helpers checked argument by argument against Linux's prototypes (check_helper_call,
// check_func_arg), their return values typed by the prototype, acquired and released references
// (ringbuf records), and bpf-to-bpf calls into a new frame.
#include <algorithm>

#include "isa/helper_ids.hpp"
#include "verifier/alignment.hpp"
#include "verifier/context.hpp"
#include "verifier/env.hpp"

namespace userbpf::verifier {
namespace {

using isa::ArgType;
namespace tf = isa::type_flag;

constexpr uint32_t kMaxVarSize = 1u << 29;  // BPF_MAX_VAR_SIZ

// Linux's mem_types list in its error message order.
constexpr const char* kMemTypes =
    "fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_";

// Linux's sock_types and btf_id_sock_common_types, in its message order.
constexpr const char* kSockTypes = "sock_common, sock, tcp_sock, xdp_sock";
constexpr const char* kBtfIdSockCommonTypes =
    "sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_";

bool is_sock_type(const RegState& r) {
  return r.type == RegType::ptr_to_sock_common || r.type == RegType::ptr_to_socket ||
         r.type == RegType::ptr_to_tcp_sock || r.type == RegType::ptr_to_xdp_sock;
}

// Kernel socket structs that begin with a struct sock_common (btf_struct_ids_match with the
// first member walk that bpf_sk_release's BTF_SOCK_TYPE_SOCK_COMMON argument allows).
bool btf_starts_with_sock_common(std::string_view name) {
  static constexpr std::string_view kSocks[] = {"sock_common",        "sock",
                                                "inet_sock",          "inet_connection_sock",
                                                "tcp_sock",           "udp_sock",
                                                "udp6_sock",          "tcp6_sock",
                                                "mptcp_sock",         "unix_sock",
                                                "inet_timewait_sock", "tcp_timewait_sock",
                                                "request_sock",       "inet_request_sock",
                                                "tcp_request_sock",   "raw_sock",
                                                "raw6_sock"};
  return std::find(std::begin(kSocks), std::end(kSocks), name) != std::end(kSocks);
}

bool is_mem_type(const RegState& r) {
  switch (r.type) {
    case RegType::ptr_to_stack:
    case RegType::ptr_to_packet:
    case RegType::ptr_to_packet_meta:
    case RegType::ptr_to_map_key:
    case RegType::ptr_to_map_value:
    case RegType::ptr_to_mem: return true;
    default: return false;
  }
}

}  // namespace

// Linux's do_refine_retval_range: helpers that fill a buffer return at most its size or a
// negative errno; the CPU number is below nr_cpu_ids. Linux sets these bounds, it does not
// intersect them.
void Env::refine_return_range(RegState& r0, uint32_t id, uint64_t size_max) const {
  constexpr int64_t kMaxErrno = 4095;
  switch (id) {
    case BPF_FUNC_get_stack:
    case BPF_FUNC_get_task_stack:
    case BPF_FUNC_probe_read_str:
    case BPF_FUNC_probe_read_kernel_str:
    case BPF_FUNC_probe_read_user_str:
      r0.smax = static_cast<int64_t>(size_max);
      r0.s32_max = static_cast<int32_t>(size_max);
      r0.smin = -kMaxErrno;
      r0.s32_min = -kMaxErrno;
      sync_bounds(r0);
      break;
    case BPF_FUNC_get_smp_processor_id:
      if (options_.nr_cpu_ids == 0) break;
      r0.umin = r0.u32_min = 0;
      r0.smin = r0.s32_min = 0;
      r0.umax = r0.u32_max = options_.nr_cpu_ids - 1;
      r0.smax = r0.s32_max = static_cast<int32_t>(options_.nr_cpu_ids - 1);
      sync_bounds(r0);
      break;
    default: break;
  }
}

bool Env::check_helper_call(VerifierState& st, const isa::Insn& insn) {
  const auto id = static_cast<uint32_t>(insn.imm);
  const isa::HelperPrototype* proto = isa::helper_prototype(id);
  if (!proto) return reject("invalid func unknown#{}", insn.imm);
  const std::string fname = isa::helper_name(id);
  if (!helper_available(program(), id) ||  // helper_availability.cpp
      (!privileged() && helper_needs_capability(id)))
    return reject("program of this type cannot use helper bpf_{}#{}", fname, id);
  if (proto->gpl_only && !program().gpl)
    return reject("cannot call GPL-restricted function from non-GPL compatible program");

  std::optional<uint32_t> map_index;
  int mem_regno = -1;     // the ptr_to_mem whose size the next argument gives
  uint64_t size_max = 0;  // the largest value of the size argument (Linux's msize_max_value)
  uint32_t mem_flags = 0;
  uint64_t alloc_size = 0;
  uint32_t release_ref = 0;
  uint32_t arg_ref_obj_id = 0;
  auto& regs = st.regs();
  if (st.lock.held() && id != BPF_FUNC_spin_unlock)
    return reject("function calls are not allowed while holding a lock");

  for (uint32_t i = 0; i < proto->args.size(); ++i) {
    const isa::ArgSpec& arg = proto->args[i];
    if (arg.type == ArgType::dontcare) break;
    const int regno = static_cast<int>(i) + 1;
    if (!check_reg_read(st, regno)) return false;
    const RegState reg = regs[regno];
    if (arg.type == ArgType::anything) {
      if (reg.is_pointer() && !privileged())
        return reject("R{} leaks addr into helper function", regno);
      continue;
    }
    // Packet memory goes only to helpers whose prototype declares pkt_access (Linux's
    // may_access_direct_pkt_data with the call's meta; cgroup sockopt programs pass it freely).
    if (reg.is_packet() && program().prog_type != BPF_PROG_TYPE_CGROUP_SOCKOPT &&
        !(proto->pkt_access && may_access_packet(program().prog_type, Access::read)))
      return reject("helper access to the packet is not allowed");
    // A NULL constant where the prototype allows NULL.
    if (arg.maybe_null() && reg.type == RegType::scalar && reg.is_const() &&
        reg.const_value() == 0) {
      if (arg.type == ArgType::ptr_to_mem) mem_regno = -2;  // the size must then be 0 too
      continue;
    }
    auto mismatch = [&](const char* expected) {
      return reject("R{} type={} expected={}", regno, reg_type_name(reg), expected);
    };
    // MEM_RDONLY in the prototype means the helper only reads, so read-only memory is fine.
    const bool rdonly_ok = (arg.flags & tf::kMemRdonly) != 0;
    const bool writes = (arg.flags & (tf::kMemUninit | tf::kMemWrite)) != 0;
    switch (arg.type) {
      case ArgType::const_map_ptr:
        if (reg.type != RegType::const_ptr_to_map || reg.maybe_null) return mismatch("map_ptr");
        map_index = reg.map_index;
        if (uint32_t& seen = call_map_[cur_insn()]; seen == Verdict::kNoMap)
          seen = reg.map_index;
        else if (seen != reg.map_index)
          seen = Verdict::kMixedMaps;
        // Unprivileged tail calls get a bounds check against their one prog array patched in
        // (Linux's do_misc_fixups): a call site reached with different maps cannot have it.
        if (id == BPF_FUNC_tail_call && !privileged() &&
            call_map_[cur_insn()] == Verdict::kMixedMaps)
          return reject("tail_call abusing map_ptr");
        break;
      case ArgType::ptr_to_map_key:
      case ArgType::ptr_to_map_value: {
        if (!is_mem_type(reg) || reg.maybe_null || (reg.rdonly && !rdonly_ok))
          return mismatch(kMemTypes);
        if (!map_index)
          return reject("invalid map_ptr to access map->{}",
                        arg.type == ArgType::ptr_to_map_key ? "key" : "value");
        const MapInfo& map = program().maps[*map_index];
        const uint32_t size = arg.type == ArgType::ptr_to_map_key ? map.key_size : map.value_size;
        if (!check_helper_mem(st, regno, size, writes ? Access::write : Access::read,
                              (arg.flags & tf::kMemUninit) != 0, false))
          return false;
        break;
      }
      case ArgType::ptr_to_mem:
        if (!is_mem_type(reg) || reg.maybe_null || (reg.rdonly && !rdonly_ok))
          return mismatch(kMemTypes);
        if (arg.flags & tf::kMemFixedSize) {
          if (!check_helper_mem(st, regno, arg.size, writes ? Access::write : Access::read,
                                (arg.flags & tf::kMemUninit) != 0, false))
            return false;
          // MEM_ALIGNED (ARG_PTR_TO_LONG and the like): the helper stores a whole word there.
          if (arg.flags & tf::kMemAligned)
            if (auto why = misaligned_access(reg, 0, static_cast<int>(arg.size), true))
              return reject("{}", *why);
        } else {
          mem_regno = regno;
          mem_flags = arg.flags;
        }
        break;
      case ArgType::const_size:
      case ArgType::const_size_or_zero: {
        if (reg.type != RegType::scalar) return mismatch("scalar");
        const bool zero_ok = arg.type == ArgType::const_size_or_zero;
        size_max = reg.umax;
        if (reg.smin < 0)
          return reject("R{} min value is negative, either use unsigned or 'var &= const'", regno);
        if (reg.umin == 0 && !zero_ok)
          return reject("R{} invalid zero-sized read: u64=[{},{}]", regno, reg.umin, reg.umax);
        if (reg.umax >= kMaxVarSize)
          return reject("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'",
                        regno);
        if (mem_regno == -2) {  // NULL memory: only a zero size goes with it
          if (reg.umax != 0) return reject("R{} type=scalar expected={}", regno - 1, kMemTypes);
          break;
        }
        if (mem_regno > 0) {
          const bool w = (mem_flags & (tf::kMemUninit | tf::kMemWrite)) != 0;
          // A size that is not a constant leaves part of the memory unwritten: it must be
          // initialized (check_mem_size_reg drops raw mode).
          if (!check_helper_mem(
                  st, mem_regno, static_cast<int64_t>(reg.umax), w ? Access::write : Access::read,
                  (mem_flags & tf::kMemUninit) != 0 && reg.is_const(), zero_ok && reg.umax == 0))
            return false;
        }
        mem_regno = -1;
        break;
      }
      case ArgType::const_alloc_size_or_zero:
        if (reg.type != RegType::scalar) return mismatch("scalar");
        if (!reg.is_const()) return reject("R{} is not a known constant'", regno);
        alloc_size = reg.const_value();
        break;
      case ArgType::ptr_to_ctx:
        if (reg.type != RegType::ptr_to_ctx) return mismatch("ctx");
        if (reg.off != 0 || !reg.is_const())
          return reject("dereference of modified ctx ptr R{} off={} disallowed", regno, reg.off);
        break;
      case ArgType::scalar:
        if (reg.type != RegType::scalar) return mismatch("scalar");
        break;
      case ArgType::ptr_to_stack:
        if (reg.type != RegType::ptr_to_stack) return mismatch("fp");
        break;
      case ArgType::ptr_to_sock_common:
        if (!is_sock_type(reg) || reg.maybe_null) return mismatch(kSockTypes);
        break;
      case ArgType::ptr_to_socket:
        if (reg.type != RegType::ptr_to_socket || reg.maybe_null) return mismatch("sock");
        break;
      case ArgType::ptr_to_btf_id_sock_common:
        if (reg.maybe_null ||
            !(is_sock_type(reg) || (reg.type == RegType::ptr_to_btf_id && !reg.untrusted)))
          return mismatch(kBtfIdSockCommonTypes);
        if (reg.type == RegType::ptr_to_btf_id && !btf_starts_with_sock_common(reg.btf_name))
          return reject("R{} is of type {} but {} is expected", regno, reg.btf_name, "sock_common");
        break;
      case ArgType::ptr_to_btf_id: {
        if (reg.type != RegType::ptr_to_btf_id || reg.maybe_null || reg.untrusted)
          return mismatch("ptr_, trusted_ptr_, rcu_ptr_");
        if (arg.btf_type && reg.btf_name != arg.btf_type)
          return reject("R{} is of type {} but {} is expected", regno, reg.btf_name, arg.btf_type);
        break;
      }
      case ArgType::ptr_to_spin_lock:
        if (reg.type != RegType::ptr_to_map_value || reg.maybe_null)
          return mismatch("map_value, ptr_");
        if (!process_spin_lock(st, reg, regno, id == BPF_FUNC_spin_lock)) return false;
        break;
      case ArgType::ptr_to_ringbuf_mem:
        if (reg.type != RegType::ptr_to_mem || !reg.ringbuf || reg.maybe_null)
          return mismatch("ringbuf_mem");
        break;
      case ArgType::ptr_to_func:
        if (reg.type != RegType::ptr_to_func) return mismatch("func");
        // The callback body is verified where the program's functions are (see the report of
        // this slice: callbacks are not yet explored as functions with the helper's arguments).
        break;
      case ArgType::ptr_to_const_str:
        if (reg.type != RegType::ptr_to_map_value || reg.maybe_null) return mismatch("map_value");
        break;
      default:
        return reject("userbpf: {} argument {} of {}#{} is not verified yet",
                      isa::arg_type_name(arg.type), regno, fname, id);
    }
    if (arg.flags & tf::kObjRelease) {
      if (!reg.ref_obj_id)
        return reject("R{} must be referenced when passed to release function", regno);
      if (reg.off != 0 || !reg.is_const())
        return reject("R{} must have zero offset when passed to release func", regno);
      release_ref = reg.ref_obj_id;
    }
    // The argument's reference, for pointer casts that return the same object (Linux's
    // meta->ref_obj_id).
    if (reg.ref_obj_id) {
      if (arg_ref_obj_id && arg_ref_obj_id != reg.ref_obj_id)
        return reject("verifier internal error: more than one arg with ref_obj_id R{} {} {}", regno,
                      reg.ref_obj_id, arg_ref_obj_id);
      arg_ref_obj_id = reg.ref_obj_id;
    }
  }

  // Scalar arguments other than ARG_ANYTHING were checked by value (sizes, flags, NULL):
  // states must match them to prune (precision.cpp).
  for (uint32_t i = 0; i < proto->args.size() && proto->args[i].type != ArgType::dontcare; ++i)
    if (proto->args[i].type != ArgType::anything) mark_precise(st, static_cast<int>(i) + 1);

  // A map the program may only read (BPF_F_RDONLY_PROG) goes to no helper that changes it
  // (Linux's record_func_map).
  if (map_index && (program().maps[*map_index].map_flags & BPF_F_RDONLY_PROG) &&
      (id == BPF_FUNC_map_update_elem || id == BPF_FUNC_map_delete_elem ||
       id == BPF_FUNC_map_push_elem || id == BPF_FUNC_map_pop_elem))
    return reject("write into map forbidden");

  if (release_ref && !release_reference(st, release_ref))
    return reject("func {}#{} reference has not been acquired before", fname, id);

  if (id == BPF_FUNC_tail_call && !st.refs.empty()) {
    log_unreleased(st);
    return reject("tail_call would lead to reference leak");
  }
  if (id == BPF_FUNC_tail_call && st.lock.held())
    return reject("tail_call cannot be used inside bpf_spin_lock-ed region");
  if (id == BPF_FUNC_tail_call && st.active_rcu_lock)
    return reject("tail_call cannot be used inside bpf_rcu_read_lock-ed region");
  if (id == BPF_FUNC_tail_call && st.active_preempt_lock)
    return reject("tail_call cannot be used inside bpf_preempt_disable-ed region");

  // get_local_storage() cannot fail, so it has no flags to fail on.
  if (id == BPF_FUNC_get_local_storage) mark_precise(st, 2);
  if (id == BPF_FUNC_get_local_storage &&
      !(regs[2].type == RegType::scalar && regs[2].is_const() && regs[2].const_value() == 0))
    return reject("get_local_storage() doesn't support non-zero flags");
  // Special maps go only to their own helpers and back (map_helper_rules.cpp).
  if (map_index && !map_func_compatible(program(), program().maps[*map_index].type, id))
    return reject("cannot pass map_type {} into func bpf_{}#{}", program().maps[*map_index].type,
                  fname, id);

  if (calls_callback(id)) {
    if (!push_callback_call(st, id)) return false;
  } else if (std::ranges::any_of(
                 proto->args, [](const auto& a) { return a.type == isa::ArgType::ptr_to_func; })) {
    // Never accept a callback nobody looked at.
    return reject("callbacks of {}#{} are not verified by userbpf yet", fname, id);
  }

  // The call clobbers r1..r5; r0 holds what the prototype returns.
  for (int r = 1; r <= 5; ++r) regs[r] = RegState{};
  RegState& r0 = regs[0];
  const isa::RetSpec& ret = proto->ret;
  switch (ret.type) {
    case isa::RetType::void_: r0 = RegState{}; break;
    case isa::RetType::ptr_to_map_value:
      if (!map_index) return reject("kernel subsystem misconfigured verifier");
      r0 = pointer_to(RegType::ptr_to_map_value);
      r0.map_index = *map_index;
      r0.maybe_null = (ret.flags & tf::kPtrMaybeNull) != 0;
      if (r0.maybe_null) r0.id = new_id();
      break;
    case isa::RetType::ptr_to_mem:
      if (ret.flags & tf::kMemRingbuf) {
        r0 = pointer_to(RegType::ptr_to_mem);
        r0.ringbuf = true;
        r0.mem_size = static_cast<uint32_t>(alloc_size);
        r0.maybe_null = (ret.flags & tf::kPtrMaybeNull) != 0;
        break;
      }
      mark_unknown(r0);
      break;
    case isa::RetType::ptr_to_socket:
    case isa::RetType::ptr_to_sock_common:
    case isa::RetType::ptr_to_tcp_sock:
      r0 = pointer_to(ret.type == isa::RetType::ptr_to_socket        ? RegType::ptr_to_socket
                      : ret.type == isa::RetType::ptr_to_sock_common ? RegType::ptr_to_sock_common
                                                                     : RegType::ptr_to_tcp_sock);
      r0.maybe_null = (ret.flags & tf::kPtrMaybeNull) != 0;
      break;
    case isa::RetType::ptr_to_btf_id:
      if (!ret.btf_type) {
        mark_unknown(r0);  // kptr_xchg: the map field's type is not tracked yet
        break;
      }
      r0 = pointer_to(RegType::ptr_to_btf_id);
      r0.btf_name = ret.btf_type;
      r0.maybe_null = (ret.flags & tf::kPtrMaybeNull) != 0;
      r0.trusted = (ret.flags & tf::kPtrTrusted) != 0;
      r0.untrusted = (ret.flags & tf::kPtrUntrusted) != 0;
      break;
    default:
      // Other kernel objects are not modelled yet: a scalar can never be dereferenced, so this
      // only ever refuses more than Linux does.
      mark_unknown(r0);
      break;
  }
  if (ret.type == isa::RetType::integer) refine_return_range(r0, id, size_max);
  if (r0.maybe_null) r0.id = new_id();
  const uint32_t lookup_map_type = map_index ? program().maps[*map_index].type : 0;
  if (is_ptr_cast_function(id)) {
    r0.ref_obj_id = arg_ref_obj_id;  // the same object: released with its source
  } else if (is_acquire_function(id, lookup_map_type) && r0.is_pointer()) {
    // The reference replaces the NULL-check id (Linux's acquire_reference_state).
    r0.id = acquire_reference(st);
    r0.ref_obj_id = r0.id;
  } else if (r0.type == RegType::ptr_to_map_value && map_index &&
             program().maps[*map_index].spin_lock_off >= 0 && !r0.id) {
    r0.id = new_id();  // the lock's identity (process_spin_lock compares it)
  }
  if (helper_changes_packet_data(id)) clear_packet_pointers(st);  // packet_access.cpp
  return true;
}

bool Env::check_local_call(VerifierState& st, const isa::Insn& insn) {
  std::optional<std::array<RegState, 5>> global_args;
  if (!global_call_args(st, insn, global_args)) return false;
  if (st.frames.size() >= static_cast<size_t>(isa::kMaxCallDepth))
    return reject("the call stack of {} frames is too deep !", st.frames.size() + 1);
  FuncFrame callee;
  callee.callsite = cur_insn();
  callee.subprog_start = static_cast<uint32_t>(insn.target);
  callee.frameno = static_cast<uint32_t>(st.frames.size());
  // A global function starts from its prototype, any other from its caller's registers.
  callee.global_func = global_args.has_value();
  for (int r = 1; r <= 5; ++r) callee.regs[r] = global_args ? (*global_args)[r - 1] : st.regs()[r];
  callee.regs[isa::kFramePointer] = pointer_to(RegType::ptr_to_stack);
  callee.regs[isa::kFramePointer].frameno = callee.frameno;
  st.frames.push_back(std::move(callee));
  st.insn = static_cast<uint32_t>(insn.target);
  return true;
}

}  // namespace userbpf::verifier
