// The prototype table: Linux 6.12's struct bpf_func_proto facts for every helper id of
// __BPF_FUNC_MAPPER, read from kernel/bpf/{helpers,stackmap,ringbuf,...}.c,
// kernel/trace/bpf_trace.c, net/core/{filter,sock_map,bpf_sk_storage}.c,
// kernel/bpf/{cgroup,bpf_lsm,bpf_*_storage}.c and drivers/media/rc/bpf-lirc.c. A comment names
// the kernel's prototype where it is not bpf_<name>_proto.
#include "isa/helper_prototypes.hpp"

#include <linux/bpf.h>

#include <initializer_list>

#include "isa/helper_ids.hpp"

namespace userbpf::isa {
namespace {

using namespace type_flag;

constexpr ArgSpec A(ArgType type, uint32_t flags = 0, uint32_t size = 0,
                    const char* btf_type = nullptr) {
  return ArgSpec{type, flags, size, btf_type};
}
constexpr RetSpec R(RetType type, uint32_t flags = 0, const char* btf_type = nullptr) {
  return RetSpec{type, flags, btf_type};
}

// The argument and return types most prototypes use, under short names.
constexpr ArgSpec kMap = A(ArgType::const_map_ptr);
constexpr ArgSpec kKey = A(ArgType::ptr_to_map_key);
constexpr ArgSpec kValue = A(ArgType::ptr_to_map_value);
constexpr ArgSpec kCtx = A(ArgType::ptr_to_ctx);
constexpr ArgSpec kAny = A(ArgType::anything);
constexpr ArgSpec kSize = A(ArgType::const_size);
constexpr ArgSpec kSizeOrZero = A(ArgType::const_size_or_zero);
constexpr ArgSpec kFunc = A(ArgType::ptr_to_func);
constexpr ArgSpec kConstStr = A(ArgType::ptr_to_const_str);
constexpr ArgSpec kTimer = A(ArgType::ptr_to_timer);
constexpr ArgSpec kStackOrNull = A(ArgType::ptr_to_stack, kPtrMaybeNull);
constexpr ArgSpec kMemIn = A(ArgType::ptr_to_mem, kMemRdonly);  // read by the helper
constexpr ArgSpec kMemInOrNull = A(ArgType::ptr_to_mem, kPtrMaybeNull | kMemRdonly);
constexpr ArgSpec kMemOut =
    A(ArgType::ptr_to_mem, kMemUninit | kMemWrite);  // ARG_PTR_TO_UNINIT_MEM
constexpr RetSpec kInt = R(RetType::integer);
constexpr RetSpec kVoid = R(RetType::void_);

constexpr uint8_t kGpl = 1;
constexpr uint8_t kPkt = 2;
constexpr uint8_t kSleep = 4;

constexpr HelperPrototype P(uint32_t id, RetSpec ret, std::initializer_list<ArgSpec> args,
                            uint8_t traits = 0) {
  HelperPrototype p;
  p.id = id;
  p.ret = ret;
  uint32_t i = 0;
  for (const ArgSpec& a : args) p.args[i++] = a;
  p.gpl_only = (traits & kGpl) != 0;
  p.pkt_access = (traits & kPkt) != 0;
  p.might_sleep = (traits & kSleep) != 0;
  return p;
}

// In id order, one entry per id from 1 to 211.
constexpr HelperPrototype kPrototypes[] = {
    P(BPF_FUNC_map_lookup_elem, R(RetType::ptr_to_map_value, kPtrMaybeNull), {kMap, kKey}, kPkt),
    P(BPF_FUNC_map_update_elem, kInt, {kMap, kKey, kValue, kAny}, kPkt),
    P(BPF_FUNC_map_delete_elem, kInt, {kMap, kKey}, kPkt),
    // probe_read: bpf_probe_read_compat_proto (kernel/trace/bpf_trace.c)
    P(BPF_FUNC_probe_read, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_ktime_get_ns, kInt, {}),
    P(BPF_FUNC_trace_printk, kInt, {kMemIn, kSize}, kGpl),
    P(BPF_FUNC_get_prandom_u32, kInt, {}),
    P(BPF_FUNC_get_smp_processor_id, kInt, {}),
    P(BPF_FUNC_skb_store_bytes, kInt, {kCtx, kAny, kMemIn, kSize, kAny}),
    P(BPF_FUNC_l3_csum_replace, kInt, {kCtx, kAny, kAny, kAny, kAny}),
    P(BPF_FUNC_l4_csum_replace, kInt, {kCtx, kAny, kAny, kAny, kAny}),
    P(BPF_FUNC_tail_call, kVoid, {kCtx, kMap, kAny}),
    P(BPF_FUNC_clone_redirect, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_get_current_pid_tgid, kInt, {}),
    P(BPF_FUNC_get_current_uid_gid, kInt, {}),
    P(BPF_FUNC_get_current_comm, kInt, {kMemOut, kSize}),
    P(BPF_FUNC_get_cgroup_classid, kInt, {kCtx}),
    P(BPF_FUNC_skb_vlan_push, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_skb_vlan_pop, kInt, {kCtx}),
    P(BPF_FUNC_skb_get_tunnel_key, kInt, {kCtx, kMemOut, kSize, kAny}),
    P(BPF_FUNC_skb_set_tunnel_key, kInt, {kCtx, kMemIn, kSize, kAny}),
    P(BPF_FUNC_perf_event_read, kInt, {kMap, kAny}, kGpl),
    P(BPF_FUNC_redirect, kInt, {kAny, kAny}),
    P(BPF_FUNC_get_route_realm, kInt, {kCtx}),
    P(BPF_FUNC_perf_event_output, kInt, {kCtx, kMap, kAny, kMemIn, kSizeOrZero}, kGpl),
    P(BPF_FUNC_skb_load_bytes, kInt, {kCtx, kAny, kMemOut, kSize}),
    // perf_event programs get bpf_get_stackid_proto_pe: the same arguments, not gpl_only.
    P(BPF_FUNC_get_stackid, kInt, {kCtx, kMap, kAny}, kGpl),
    P(BPF_FUNC_csum_diff, kInt, {kMemInOrNull, kSizeOrZero, kMemInOrNull, kSizeOrZero, kAny}, kPkt),
    P(BPF_FUNC_skb_get_tunnel_opt, kInt, {kCtx, kMemOut, kSize}),
    P(BPF_FUNC_skb_set_tunnel_opt, kInt, {kCtx, kMemIn, kSize}),
    P(BPF_FUNC_skb_change_proto, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_skb_change_type, kInt, {kCtx, kAny}),
    P(BPF_FUNC_skb_under_cgroup, kInt, {kCtx, kMap, kAny}),
    P(BPF_FUNC_get_hash_recalc, kInt, {kCtx}),
    P(BPF_FUNC_get_current_task, kInt, {}, kGpl),
    P(BPF_FUNC_probe_write_user, kInt, {kAny, kMemIn, kSize}, kGpl),
    P(BPF_FUNC_current_task_under_cgroup, kInt, {kMap, kAny}),
    P(BPF_FUNC_skb_change_tail, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_skb_pull_data, kInt, {kCtx, kAny}),
    P(BPF_FUNC_csum_update, kInt, {kCtx, kAny}),
    P(BPF_FUNC_set_hash_invalid, kInt, {kCtx}),
    P(BPF_FUNC_get_numa_node_id, kInt, {}),
    P(BPF_FUNC_skb_change_head, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_xdp_adjust_head, kInt, {kCtx, kAny}),
    // probe_read_str: bpf_probe_read_compat_str_proto (kernel/trace/bpf_trace.c)
    P(BPF_FUNC_probe_read_str, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_get_socket_cookie, kInt, {kCtx}),
    P(BPF_FUNC_get_socket_uid, kInt, {kCtx}),
    P(BPF_FUNC_set_hash, kInt, {kCtx, kAny}),
    // setsockopt: bpf_sock_ops_setsockopt_proto (net/core/filter.c)
    P(BPF_FUNC_setsockopt, kInt, {kCtx, kAny, kAny, kMemIn, kSize}),
    P(BPF_FUNC_skb_adjust_room, kInt, {kCtx, kAny, kAny, kAny}),
    // redirect_map: bpf_xdp_redirect_map_proto (net/core/filter.c)
    P(BPF_FUNC_redirect_map, kInt, {kMap, kAny, kAny}),
    P(BPF_FUNC_sk_redirect_map, kInt, {kCtx, kMap, kAny, kAny}),
    P(BPF_FUNC_sock_map_update, kInt, {kCtx, kMap, kKey, kAny}, kPkt),
    P(BPF_FUNC_xdp_adjust_meta, kInt, {kCtx, kAny}),
    P(BPF_FUNC_perf_event_read_value, kInt, {kMap, kAny, kMemOut, kSize}, kGpl),
    P(BPF_FUNC_perf_prog_read_value, kInt, {kCtx, kMemOut, kSize}, kGpl),
    // getsockopt: bpf_sock_ops_getsockopt_proto (net/core/filter.c)
    P(BPF_FUNC_getsockopt, kInt, {kCtx, kAny, kAny, kMemOut, kSize}),
    P(BPF_FUNC_override_return, kInt, {kCtx, kAny}, kGpl),
    P(BPF_FUNC_sock_ops_cb_flags_set, kInt, {kCtx, kAny}),
    P(BPF_FUNC_msg_redirect_map, kInt, {kCtx, kMap, kAny, kAny}),
    P(BPF_FUNC_msg_apply_bytes, kInt, {kCtx, kAny}),
    P(BPF_FUNC_msg_cork_bytes, kInt, {kCtx, kAny}),
    P(BPF_FUNC_msg_pull_data, kInt, {kCtx, kAny, kAny, kAny}),
    P(BPF_FUNC_bind, kInt, {kCtx, kMemIn, kSize}),
    P(BPF_FUNC_xdp_adjust_tail, kInt, {kCtx, kAny}),
    P(BPF_FUNC_skb_get_xfrm_state, kInt, {kCtx, kAny, kMemOut, kSize, kAny}),
    // raw tracepoints get bpf_get_stack_proto_raw_tp (arg2 ARG_PTR_TO_MEM | MEM_RDONLY).
    P(BPF_FUNC_get_stack, kInt, {kCtx, kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_skb_load_bytes_relative, kInt, {kCtx, kAny, kMemOut, kSize, kAny}),
    // fib_lookup: bpf_xdp_fib_lookup_proto (net/core/filter.c)
    P(BPF_FUNC_fib_lookup, kInt, {kCtx, A(ArgType::ptr_to_mem), kSize, kAny}, kGpl),
    P(BPF_FUNC_sock_hash_update, kInt, {kCtx, kMap, kKey, kAny}, kPkt),
    P(BPF_FUNC_msg_redirect_hash, kInt, {kCtx, kMap, kKey, kAny}),
    P(BPF_FUNC_sk_redirect_hash, kInt, {kCtx, kMap, kKey, kAny}),
    // lwt_push_encap: bpf_lwt_in_push_encap_proto (net/core/filter.c)
    P(BPF_FUNC_lwt_push_encap, kInt, {kCtx, kAny, kMemIn, kSize}),
    P(BPF_FUNC_lwt_seg6_store_bytes, kInt, {kCtx, kAny, kMemIn, kSize}),
    P(BPF_FUNC_lwt_seg6_adjust_srh, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_lwt_seg6_action, kInt, {kCtx, kAny, kMemIn, kSize}),
    // rc_repeat: rc_repeat_proto (drivers/media/rc/bpf-lirc.c)
    P(BPF_FUNC_rc_repeat, kInt, {kCtx}, kGpl),
    // rc_keydown: rc_keydown_proto (drivers/media/rc/bpf-lirc.c)
    P(BPF_FUNC_rc_keydown, kInt, {kCtx, kAny, kAny, kAny}, kGpl),
    P(BPF_FUNC_skb_cgroup_id, kInt, {kCtx}),
    P(BPF_FUNC_get_current_cgroup_id, kInt, {}),
    P(BPF_FUNC_get_local_storage, R(RetType::ptr_to_map_value), {kMap, kAny}),
    // sk_select_reuseport: sk_select_reuseport_proto (net/core/filter.c)
    P(BPF_FUNC_sk_select_reuseport, kInt, {kCtx, kMap, kKey, kAny}),
    P(BPF_FUNC_skb_ancestor_cgroup_id, kInt, {kCtx, kAny}),
    P(BPF_FUNC_sk_lookup_tcp, R(RetType::ptr_to_socket, kPtrMaybeNull),
      {kCtx, kMemIn, kSizeOrZero, kAny, kAny}, kPkt),
    P(BPF_FUNC_sk_lookup_udp, R(RetType::ptr_to_socket, kPtrMaybeNull),
      {kCtx, kMemIn, kSizeOrZero, kAny, kAny}, kPkt),
    P(BPF_FUNC_sk_release, kInt, {A(ArgType::ptr_to_btf_id_sock_common, kObjRelease)}),
    P(BPF_FUNC_map_push_elem, kInt, {kMap, kValue, kAny}, kPkt),
    P(BPF_FUNC_map_pop_elem, kInt, {kMap, A(ArgType::ptr_to_map_value, kMemUninit | kMemWrite)}),
    P(BPF_FUNC_map_peek_elem, kInt, {kMap, A(ArgType::ptr_to_map_value, kMemUninit | kMemWrite)}),
    P(BPF_FUNC_msg_push_data, kInt, {kCtx, kAny, kAny, kAny}),
    P(BPF_FUNC_msg_pop_data, kInt, {kCtx, kAny, kAny, kAny}),
    // rc_pointer_rel: rc_pointer_rel_proto (drivers/media/rc/bpf-lirc.c)
    P(BPF_FUNC_rc_pointer_rel, kInt, {kCtx, kAny, kAny}, kGpl),
    P(BPF_FUNC_spin_lock, kVoid, {A(ArgType::ptr_to_spin_lock, 0, 0, nullptr)}),
    P(BPF_FUNC_spin_unlock, kVoid, {A(ArgType::ptr_to_spin_lock, 0, 0, nullptr)}),
    P(BPF_FUNC_sk_fullsock, R(RetType::ptr_to_socket, kPtrMaybeNull),
      {A(ArgType::ptr_to_sock_common)}),
    P(BPF_FUNC_tcp_sock, R(RetType::ptr_to_tcp_sock, kPtrMaybeNull),
      {A(ArgType::ptr_to_sock_common)}),
    P(BPF_FUNC_skb_ecn_set_ce, kInt, {kCtx}),
    P(BPF_FUNC_get_listener_sock, R(RetType::ptr_to_socket, kPtrMaybeNull),
      {A(ArgType::ptr_to_sock_common)}),
    P(BPF_FUNC_skc_lookup_tcp, R(RetType::ptr_to_sock_common, kPtrMaybeNull),
      {kCtx, kMemIn, kSizeOrZero, kAny, kAny}, kPkt),
    P(BPF_FUNC_tcp_check_syncookie, kInt,
      {A(ArgType::ptr_to_btf_id_sock_common), kMemIn, kSize, kMemIn, kSize}, kGpl | kPkt),
    P(BPF_FUNC_sysctl_get_name, kInt, {kCtx, A(ArgType::ptr_to_mem), kSize, kAny}),
    P(BPF_FUNC_sysctl_get_current_value, kInt, {kCtx, kMemOut, kSize}),
    P(BPF_FUNC_sysctl_get_new_value, kInt, {kCtx, kMemOut, kSize}),
    P(BPF_FUNC_sysctl_set_new_value, kInt, {kCtx, kMemIn, kSize}),
    P(BPF_FUNC_strtol, kInt,
      {kMemIn, kSize, kAny,
       A(ArgType::ptr_to_mem, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned, 8)}),
    P(BPF_FUNC_strtoul, kInt,
      {kMemIn, kSize, kAny,
       A(ArgType::ptr_to_mem, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned, 8)}),
    P(BPF_FUNC_sk_storage_get, R(RetType::ptr_to_map_value, kPtrMaybeNull),
      {kMap, A(ArgType::ptr_to_btf_id_sock_common), A(ArgType::ptr_to_map_value, kPtrMaybeNull),
       kAny}),
    P(BPF_FUNC_sk_storage_delete, kInt, {kMap, A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_send_signal, kInt, {kAny}),
    P(BPF_FUNC_tcp_gen_syncookie, kInt,
      {A(ArgType::ptr_to_btf_id_sock_common), kMemIn, kSize, kMemIn, kSize}, kGpl | kPkt),
    P(BPF_FUNC_skb_output, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "sk_buff"), kMap, kAny, kMemIn, kSizeOrZero}, kGpl),
    P(BPF_FUNC_probe_read_user, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_probe_read_kernel, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_probe_read_user_str, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_probe_read_kernel_str, kInt, {kMemOut, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_tcp_send_ack, kInt, {A(ArgType::ptr_to_btf_id, 0, 0, "tcp_sock"), kAny}),
    P(BPF_FUNC_send_signal_thread, kInt, {kAny}),
    P(BPF_FUNC_jiffies64, kInt, {}),
    P(BPF_FUNC_read_branch_records, kInt,
      {kCtx, A(ArgType::ptr_to_mem, kPtrMaybeNull), kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_get_ns_current_pid_tgid, kInt, {kAny, kAny, kMemOut, kSize}),
    P(BPF_FUNC_xdp_output, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "xdp_buff"), kMap, kAny, kMemIn, kSizeOrZero}, kGpl),
    // get_netns_cookie: bpf_get_netns_cookie_sock_proto (net/core/filter.c)
    P(BPF_FUNC_get_netns_cookie, kInt, {A(ArgType::ptr_to_ctx, kPtrMaybeNull)}),
    P(BPF_FUNC_get_current_ancestor_cgroup_id, kInt, {kAny}),
    P(BPF_FUNC_sk_assign, kInt, {kCtx, A(ArgType::ptr_to_btf_id_sock_common), kAny}),
    P(BPF_FUNC_ktime_get_boot_ns, kInt, {}),
    P(BPF_FUNC_seq_printf, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "seq_file"), kMemIn, kSize, kMemInOrNull, kSizeOrZero},
      kGpl),
    P(BPF_FUNC_seq_write, kInt, {A(ArgType::ptr_to_btf_id, 0, 0, "seq_file"), kMemIn, kSizeOrZero},
      kGpl),
    P(BPF_FUNC_sk_cgroup_id, kInt, {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_sk_ancestor_cgroup_id, kInt, {A(ArgType::ptr_to_btf_id_sock_common), kAny}),
    P(BPF_FUNC_ringbuf_output, kInt, {kMap, kMemIn, kSizeOrZero, kAny}),
    P(BPF_FUNC_ringbuf_reserve, R(RetType::ptr_to_mem, kPtrMaybeNull | kMemRingbuf),
      {kMap, A(ArgType::const_alloc_size_or_zero), kAny}),
    P(BPF_FUNC_ringbuf_submit, kVoid, {A(ArgType::ptr_to_ringbuf_mem, kObjRelease), kAny}),
    P(BPF_FUNC_ringbuf_discard, kVoid, {A(ArgType::ptr_to_ringbuf_mem, kObjRelease), kAny}),
    P(BPF_FUNC_ringbuf_query, kInt, {kMap, kAny}),
    P(BPF_FUNC_csum_level, kInt, {kCtx, kAny}),
    P(BPF_FUNC_skc_to_tcp6_sock, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "tcp6_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_skc_to_tcp_sock, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "tcp_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_skc_to_tcp_timewait_sock,
      R(RetType::ptr_to_btf_id, kPtrMaybeNull, "tcp_timewait_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_skc_to_tcp_request_sock,
      R(RetType::ptr_to_btf_id, kPtrMaybeNull, "tcp_request_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_skc_to_udp6_sock, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "udp6_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_get_task_stack, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "task_struct"), kMemOut, kSizeOrZero, kAny}),
    // load_hdr_opt: bpf_sock_ops_load_hdr_opt_proto (net/core/filter.c)
    P(BPF_FUNC_load_hdr_opt, kInt, {kCtx, A(ArgType::ptr_to_mem, kMemWrite), kSize, kAny}),
    // store_hdr_opt: bpf_sock_ops_store_hdr_opt_proto (net/core/filter.c)
    P(BPF_FUNC_store_hdr_opt, kInt, {kCtx, kMemIn, kSize, kAny}),
    // reserve_hdr_opt: bpf_sock_ops_reserve_hdr_opt_proto (net/core/filter.c)
    P(BPF_FUNC_reserve_hdr_opt, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_inode_storage_get, R(RetType::ptr_to_map_value, kPtrMaybeNull),
      {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "inode"),
       A(ArgType::ptr_to_map_value, kPtrMaybeNull), kAny}),
    P(BPF_FUNC_inode_storage_delete, kInt,
      {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "inode")}),
    P(BPF_FUNC_d_path, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "path"), A(ArgType::ptr_to_mem), kSizeOrZero}),
    P(BPF_FUNC_copy_from_user, kInt, {kMemOut, kSizeOrZero, kAny}, kSleep),
    P(BPF_FUNC_snprintf_btf, kInt, {A(ArgType::ptr_to_mem), kSize, kMemIn, kSize, kAny}),
    P(BPF_FUNC_seq_printf_btf, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "seq_file"), kMemIn, kSizeOrZero, kAny}, kGpl),
    P(BPF_FUNC_skb_cgroup_classid, kInt, {kCtx}),
    P(BPF_FUNC_redirect_neigh, kInt, {kAny, kMemInOrNull, kSizeOrZero, kAny}),
    P(BPF_FUNC_per_cpu_ptr, R(RetType::ptr_to_mem_or_btf_id, kPtrMaybeNull | kMemRdonly),
      {A(ArgType::ptr_to_percpu_btf_id), kAny}),
    P(BPF_FUNC_this_cpu_ptr, R(RetType::ptr_to_mem_or_btf_id, kMemRdonly),
      {A(ArgType::ptr_to_percpu_btf_id)}),
    P(BPF_FUNC_redirect_peer, kInt, {kAny, kAny}),
    P(BPF_FUNC_task_storage_get, R(RetType::ptr_to_map_value, kPtrMaybeNull),
      {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "task_struct"),
       A(ArgType::ptr_to_map_value, kPtrMaybeNull), kAny}),
    P(BPF_FUNC_task_storage_delete, kInt,
      {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "task_struct")}),
    P(BPF_FUNC_get_current_task_btf, R(RetType::ptr_to_btf_id, kPtrTrusted, "task_struct"), {},
      kGpl),
    P(BPF_FUNC_bprm_opts_set, kInt, {A(ArgType::ptr_to_btf_id, 0, 0, "linux_binprm"), kAny}),
    P(BPF_FUNC_ktime_get_coarse_ns, kInt, {}),
    P(BPF_FUNC_ima_inode_hash, kInt, {A(ArgType::ptr_to_btf_id, 0, 0, "inode"), kMemOut, kSize},
      kSleep),
    P(BPF_FUNC_sock_from_file, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "socket"),
      {A(ArgType::ptr_to_btf_id, 0, 0, "file")}),
    // check_mtu: bpf_xdp_check_mtu_proto (net/core/filter.c)
    P(BPF_FUNC_check_mtu, kInt,
      {kCtx, kAny, A(ArgType::ptr_to_mem, kMemFixedSize | kMemWrite | kMemAligned, 4), kAny, kAny},
      kGpl),
    P(BPF_FUNC_for_each_map_elem, kInt, {kMap, kFunc, kStackOrNull, kAny}),
    P(BPF_FUNC_snprintf, kInt,
      {A(ArgType::ptr_to_mem, kPtrMaybeNull), kSizeOrZero, kConstStr, kMemInOrNull, kSizeOrZero},
      kGpl),
    P(BPF_FUNC_sys_bpf, kInt, {kAny, kMemIn, kSize}, kSleep),
    P(BPF_FUNC_btf_find_by_name_kind, kInt, {kMemIn, kSize, kAny, kAny}, kSleep),
    P(BPF_FUNC_sys_close, kInt, {kAny}, kSleep),
    P(BPF_FUNC_timer_init, kInt, {kTimer, kMap, kAny}, kGpl),
    P(BPF_FUNC_timer_set_callback, kInt, {kTimer, kFunc}, kGpl),
    P(BPF_FUNC_timer_start, kInt, {kTimer, kAny, kAny}, kGpl),
    P(BPF_FUNC_timer_cancel, kInt, {kTimer}, kGpl),
    // get_func_ip: bpf_get_func_ip_proto_tracing (kernel/trace/bpf_trace.c)
    P(BPF_FUNC_get_func_ip, kInt, {kCtx}, kGpl),
    P(BPF_FUNC_get_attach_cookie, kInt, {kCtx}),
    P(BPF_FUNC_task_pt_regs, R(RetType::ptr_to_btf_id, 0, "pt_regs"),
      {A(ArgType::ptr_to_btf_id, 0, 0, "task_struct")}, kGpl),
    P(BPF_FUNC_get_branch_snapshot, kInt, {kMemOut, kSizeOrZero}, kGpl),
    P(BPF_FUNC_trace_vprintk, kInt, {kMemIn, kSize, kMemInOrNull, kSizeOrZero}, kGpl),
    P(BPF_FUNC_skc_to_unix_sock, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "unix_sock"),
      {A(ArgType::ptr_to_btf_id_sock_common)}),
    P(BPF_FUNC_kallsyms_lookup_name, kInt,
      {A(ArgType::ptr_to_mem), kSizeOrZero, kAny,
       A(ArgType::ptr_to_mem, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned, 8)}),
    P(BPF_FUNC_find_vma, kInt,
      {A(ArgType::ptr_to_btf_id, 0, 0, "task_struct"), kAny, kFunc, kStackOrNull, kAny}),
    P(BPF_FUNC_loop, kInt, {A(ArgType::scalar), kFunc, kStackOrNull, kAny}),
    P(BPF_FUNC_strncmp, kInt, {kMemIn, kSize, kConstStr}),
    P(BPF_FUNC_get_func_arg, kInt,
      {kCtx, kAny,
       A(ArgType::ptr_to_mem, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned, 8)}),
    P(BPF_FUNC_get_func_ret, kInt,
      {kCtx, A(ArgType::ptr_to_mem, kMemFixedSize | kMemUninit | kMemWrite | kMemAligned, 8)}),
    P(BPF_FUNC_get_func_arg_cnt, kInt, {kCtx}),
    P(BPF_FUNC_get_retval, kInt, {}),
    P(BPF_FUNC_set_retval, kInt, {kAny}),
    P(BPF_FUNC_xdp_get_buff_len, kInt, {kCtx}),
    P(BPF_FUNC_xdp_load_bytes, kInt, {kCtx, kAny, kMemOut, kSize}),
    P(BPF_FUNC_xdp_store_bytes, kInt, {kCtx, kAny, kMemIn, kSize}),
    P(BPF_FUNC_copy_from_user_task, kInt,
      {kMemOut, kSizeOrZero, kAny, A(ArgType::ptr_to_btf_id, 0, 0, "task_struct"), kAny},
      kGpl | kSleep),
    P(BPF_FUNC_skb_set_tstamp, kInt, {kCtx, kAny, kAny}),
    P(BPF_FUNC_ima_file_hash, kInt, {A(ArgType::ptr_to_btf_id, 0, 0, "file"), kMemOut, kSize},
      kSleep),
    P(BPF_FUNC_kptr_xchg, R(RetType::ptr_to_btf_id, kPtrMaybeNull),
      {A(ArgType::kptr_xchg_dest), A(ArgType::ptr_to_btf_id, kPtrMaybeNull | kObjRelease, 0, nullptr)}),
    P(BPF_FUNC_map_lookup_percpu_elem, R(RetType::ptr_to_map_value, kPtrMaybeNull),
      {kMap, kKey, kAny}, kPkt),
    P(BPF_FUNC_skc_to_mptcp_sock, R(RetType::ptr_to_btf_id, kPtrMaybeNull, "mptcp_sock"),
      {A(ArgType::ptr_to_sock_common)}),
    P(BPF_FUNC_dynptr_from_mem, kInt,
      {kMemOut, kSizeOrZero, kAny,
       A(ArgType::ptr_to_dynptr, kDynptrTypeLocal | kMemUninit | kMemWrite)}),
    P(BPF_FUNC_ringbuf_reserve_dynptr, kInt,
      {kMap, kAny, kAny, A(ArgType::ptr_to_dynptr, kDynptrTypeRingbuf | kMemUninit | kMemWrite)}),
    P(BPF_FUNC_ringbuf_submit_dynptr, kVoid,
      {A(ArgType::ptr_to_dynptr, kDynptrTypeRingbuf | kObjRelease), kAny}),
    P(BPF_FUNC_ringbuf_discard_dynptr, kVoid,
      {A(ArgType::ptr_to_dynptr, kDynptrTypeRingbuf | kObjRelease), kAny}),
    P(BPF_FUNC_dynptr_read, kInt,
      {kMemOut, kSizeOrZero, A(ArgType::ptr_to_dynptr, kMemRdonly), kAny, kAny}),
    P(BPF_FUNC_dynptr_write, kInt,
      {A(ArgType::ptr_to_dynptr, kMemRdonly), kAny, kMemIn, kSizeOrZero, kAny}),
    P(BPF_FUNC_dynptr_data, R(RetType::ptr_to_mem, kPtrMaybeNull),
      {A(ArgType::ptr_to_dynptr, kMemRdonly), kAny, A(ArgType::const_alloc_size_or_zero)}),
    P(BPF_FUNC_tcp_raw_gen_syncookie_ipv4, kInt,
      {A(ArgType::ptr_to_mem, kMemFixedSize, 20), A(ArgType::ptr_to_mem), kSizeOrZero},
      kGpl | kPkt),
    P(BPF_FUNC_tcp_raw_gen_syncookie_ipv6, kInt,
      {A(ArgType::ptr_to_mem, kMemFixedSize, 40), A(ArgType::ptr_to_mem), kSizeOrZero},
      kGpl | kPkt),
    P(BPF_FUNC_tcp_raw_check_syncookie_ipv4, kInt,
      {A(ArgType::ptr_to_mem, kMemFixedSize, 20), A(ArgType::ptr_to_mem, kMemFixedSize, 20)},
      kGpl | kPkt),
    P(BPF_FUNC_tcp_raw_check_syncookie_ipv6, kInt,
      {A(ArgType::ptr_to_mem, kMemFixedSize, 40), A(ArgType::ptr_to_mem, kMemFixedSize, 20)},
      kGpl | kPkt),
    P(BPF_FUNC_ktime_get_tai_ns, kInt, {}),
    P(BPF_FUNC_user_ringbuf_drain, kInt, {kMap, kFunc, kStackOrNull, kAny}),
    // Linux 6.2's cgroup storage helpers; the installed <linux/bpf.h> may predate them.
    P(210, R(RetType::ptr_to_map_value, kPtrMaybeNull),
      {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "cgroup"),
       A(ArgType::ptr_to_map_value, kPtrMaybeNull), kAny}),
    P(211, kInt, {kMap, A(ArgType::ptr_to_btf_id, kPtrMaybeNull, 0, "cgroup")}),
};

constexpr uint32_t kCount = sizeof(kPrototypes) / sizeof(kPrototypes[0]);
static_assert(kCount + 1 == kHelperIdLimit, "one prototype per helper id 1..211");

constexpr bool dense_in_id_order() {
  for (uint32_t i = 0; i < kCount; ++i)
    if (kPrototypes[i].id != i + 1) return false;
  return true;
}
static_assert(dense_in_id_order(), "kPrototypes[i] must be helper id i + 1");

}  // namespace

const HelperPrototype* helper_prototype(uint32_t id) {
  if (id == 0 || id > kCount) return nullptr;
  return &kPrototypes[id - 1];
}

std::span<const HelperPrototype> helper_prototypes() {
  return {kPrototypes, kCount};
}

const char* arg_type_name(ArgType type) {
  static constexpr const char* kNames[] = {
      "ARG_DONTCARE",
      "ARG_CONST_MAP_PTR",
      "ARG_PTR_TO_MAP_KEY",
      "ARG_PTR_TO_MAP_VALUE",
      "ARG_PTR_TO_MEM",
      "ARG_PTR_TO_ARENA",
      "ARG_CONST_SIZE",
      "ARG_CONST_SIZE_OR_ZERO",
      "ARG_PTR_TO_CTX",
      "ARG_ANYTHING",
      "ARG_SCALAR",
      "ARG_PTR_TO_SPIN_LOCK",
      "ARG_PTR_TO_SOCK_COMMON",
      "ARG_PTR_TO_SOCKET",
      "ARG_PTR_TO_BTF_ID",
      "ARG_PTR_TO_RINGBUF_MEM",
      "ARG_CONST_ALLOC_SIZE_OR_ZERO",
      "ARG_PTR_TO_BTF_ID_SOCK_COMMON",
      "ARG_PTR_TO_PERCPU_BTF_ID",
      "ARG_PTR_TO_FUNC",
      "ARG_PTR_TO_STACK",
      "ARG_PTR_TO_CONST_STR",
      "ARG_PTR_TO_TIMER",
      "ARG_KPTR_XCHG_DEST",
      "ARG_PTR_TO_DYNPTR",
  };
  const auto i = static_cast<size_t>(type);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "ARG_?";
}

const char* ret_type_name(RetType type) {
  static constexpr const char* kNames[] = {
      "RET_INTEGER",          "RET_VOID",
      "RET_PTR_TO_MAP_VALUE", "RET_PTR_TO_SOCKET",
      "RET_PTR_TO_TCP_SOCK",  "RET_PTR_TO_SOCK_COMMON",
      "RET_PTR_TO_MEM",       "RET_PTR_TO_MEM_OR_BTF_ID",
      "RET_PTR_TO_BTF_ID",
  };
  const auto i = static_cast<size_t>(type);
  return i < sizeof(kNames) / sizeof(kNames[0]) ? kNames[i] : "RET_?";
}

std::string type_flags_text(uint32_t flags) {
  static constexpr const char* kFlagNames[] = {
      "PTR_MAYBE_NULL",    "MEM_RDONLY",
      "MEM_RINGBUF",       "MEM_USER",
      "MEM_PERCPU",        "OBJ_RELEASE",
      "PTR_UNTRUSTED",     "MEM_UNINIT",
      "DYNPTR_TYPE_LOCAL", "DYNPTR_TYPE_RINGBUF",
      "MEM_FIXED_SIZE",    "MEM_ALLOC",
      "PTR_TRUSTED",       "MEM_RCU",
      "NON_OWN_REF",       "DYNPTR_TYPE_SKB",
      "DYNPTR_TYPE_XDP",   "MEM_ALIGNED",
      "MEM_WRITE",
  };
  std::string out;
  for (uint32_t bit = 0; bit < sizeof(kFlagNames) / sizeof(kFlagNames[0]); ++bit) {
    if (!(flags & (1u << (bit + 8)))) continue;
    if (!out.empty()) out += " | ";
    out += kFlagNames[bit];
  }
  return out;
}

}  // namespace userbpf::isa
