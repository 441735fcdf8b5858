// Which helpers a program type may call, and which move the packet (Linux's <type>_func_proto
// callbacks returning NULL: "program of this type cannot use helper"). Modelled for the tracing
// family (kprobe, tracepoint, perf_event, raw_tracepoint), whose helpers are bpf_base_func_proto's,
// bpf_tracing_func_proto's and a few per type; other program types are not restricted here yet.
#include <linux/bpf.h>

#include <algorithm>
#include <iterator>

#include "verifier/context.hpp"

namespace userbpf::verifier {
namespace {

// bpf_base_func_proto (kernel/bpf/helpers.c), with the CAP_BPF and CAP_PERFMON parts.
constexpr uint32_t kBaseHelpers[] = {
    BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem,
    BPF_FUNC_map_push_elem, BPF_FUNC_map_pop_elem, BPF_FUNC_map_peek_elem,
    BPF_FUNC_map_lookup_percpu_elem, BPF_FUNC_get_prandom_u32, BPF_FUNC_get_smp_processor_id,
    BPF_FUNC_get_numa_node_id, BPF_FUNC_tail_call, BPF_FUNC_ktime_get_ns,
    BPF_FUNC_ktime_get_boot_ns, BPF_FUNC_ktime_get_tai_ns, BPF_FUNC_ringbuf_output,
    BPF_FUNC_ringbuf_reserve, BPF_FUNC_ringbuf_submit, BPF_FUNC_ringbuf_discard,
    BPF_FUNC_ringbuf_query, BPF_FUNC_strncmp, BPF_FUNC_strtol, BPF_FUNC_strtoul,
    BPF_FUNC_get_current_pid_tgid, BPF_FUNC_get_ns_current_pid_tgid,
    // CAP_BPF
    BPF_FUNC_spin_lock, BPF_FUNC_spin_unlock, BPF_FUNC_jiffies64, BPF_FUNC_per_cpu_ptr,
    BPF_FUNC_this_cpu_ptr, BPF_FUNC_timer_init, BPF_FUNC_timer_set_callback, BPF_FUNC_timer_start,
    BPF_FUNC_timer_cancel, BPF_FUNC_kptr_xchg, BPF_FUNC_for_each_map_elem, BPF_FUNC_loop,
    BPF_FUNC_user_ringbuf_drain, BPF_FUNC_ringbuf_reserve_dynptr, BPF_FUNC_ringbuf_submit_dynptr,
    BPF_FUNC_ringbuf_discard_dynptr, BPF_FUNC_dynptr_from_mem, BPF_FUNC_dynptr_read,
    BPF_FUNC_dynptr_write, BPF_FUNC_dynptr_data, linux_abi::kFuncCgrpStorageGet,
    linux_abi::kFuncCgrpStorageDelete, BPF_FUNC_get_current_cgroup_id,
    BPF_FUNC_get_current_ancestor_cgroup_id,
    // CAP_PERFMON
    BPF_FUNC_trace_printk, BPF_FUNC_get_current_task, BPF_FUNC_get_current_task_btf,
    BPF_FUNC_probe_read_user, BPF_FUNC_probe_read_kernel, BPF_FUNC_probe_read_user_str,
    BPF_FUNC_probe_read_kernel_str, BPF_FUNC_snprintf_btf, BPF_FUNC_snprintf, BPF_FUNC_task_pt_regs,
    BPF_FUNC_trace_vprintk};

// bpf_tracing_func_proto (kernel/trace/bpf_trace.c) beyond the base ones.
constexpr uint32_t kTracingHelpers[] = {BPF_FUNC_get_current_uid_gid,
                                        BPF_FUNC_get_current_comm,
                                        BPF_FUNC_perf_event_read,
                                        BPF_FUNC_probe_write_user,
                                        BPF_FUNC_probe_read,
                                        BPF_FUNC_probe_read_str,
                                        BPF_FUNC_current_task_under_cgroup,
                                        BPF_FUNC_send_signal,
                                        BPF_FUNC_send_signal_thread,
                                        BPF_FUNC_perf_event_read_value,
                                        BPF_FUNC_get_task_stack,
                                        BPF_FUNC_copy_from_user,
                                        BPF_FUNC_copy_from_user_task,
                                        BPF_FUNC_task_storage_get,
                                        BPF_FUNC_task_storage_delete,
                                        BPF_FUNC_get_func_ip,
                                        BPF_FUNC_get_branch_snapshot,
                                        BPF_FUNC_find_vma,
                                        BPF_FUNC_get_current_cgroup_id,
                                        BPF_FUNC_get_current_ancestor_cgroup_id};

// Shared by kprobe, tracepoint, perf_event and raw tracepoint programs.
constexpr uint32_t kTraceEventHelpers[] = {BPF_FUNC_perf_event_output, BPF_FUNC_get_stackid,
                                           BPF_FUNC_get_stack, BPF_FUNC_get_attach_cookie};

template <size_t N>
bool listed(const uint32_t (&list)[N], uint32_t id) {
  return std::find(std::begin(list), std::end(list), id) != std::end(list);
}

}  // namespace

bool helper_needs_capability(uint32_t func_id) {
  // bpf_base_func_proto's bpf_capable() and perfmon_capable() sections, without the cgroup id
  // helpers that the cgroup program types give everyone (cgroup_current_func_proto).
  static constexpr uint32_t kCapable[] = {BPF_FUNC_spin_lock,
                                          BPF_FUNC_spin_unlock,
                                          BPF_FUNC_jiffies64,
                                          BPF_FUNC_per_cpu_ptr,
                                          BPF_FUNC_this_cpu_ptr,
                                          BPF_FUNC_timer_init,
                                          BPF_FUNC_timer_set_callback,
                                          BPF_FUNC_timer_start,
                                          BPF_FUNC_timer_cancel,
                                          BPF_FUNC_kptr_xchg,
                                          BPF_FUNC_for_each_map_elem,
                                          BPF_FUNC_loop,
                                          BPF_FUNC_user_ringbuf_drain,
                                          BPF_FUNC_ringbuf_reserve_dynptr,
                                          BPF_FUNC_ringbuf_submit_dynptr,
                                          BPF_FUNC_ringbuf_discard_dynptr,
                                          BPF_FUNC_dynptr_from_mem,
                                          BPF_FUNC_dynptr_read,
                                          BPF_FUNC_dynptr_write,
                                          BPF_FUNC_dynptr_data,
                                          BPF_FUNC_trace_printk,
                                          BPF_FUNC_get_current_task,
                                          BPF_FUNC_get_current_task_btf,
                                          BPF_FUNC_probe_read_user,
                                          BPF_FUNC_probe_read_kernel,
                                          BPF_FUNC_probe_read_user_str,
                                          BPF_FUNC_probe_read_kernel_str,
                                          BPF_FUNC_snprintf_btf,
                                          BPF_FUNC_snprintf,
                                          BPF_FUNC_task_pt_regs,
                                          BPF_FUNC_trace_vprintk};
  return listed(kCapable, func_id);
}

bool helper_changes_packet_data(uint32_t func_id) {
  static constexpr uint32_t kMovers[] = {
      BPF_FUNC_clone_redirect,       BPF_FUNC_l3_csum_replace, BPF_FUNC_l4_csum_replace,
      BPF_FUNC_lwt_push_encap,       BPF_FUNC_lwt_seg6_action, BPF_FUNC_lwt_seg6_adjust_srh,
      BPF_FUNC_lwt_seg6_store_bytes, BPF_FUNC_msg_pop_data,    BPF_FUNC_msg_pull_data,
      BPF_FUNC_msg_push_data,        BPF_FUNC_skb_adjust_room, BPF_FUNC_skb_change_head,
      BPF_FUNC_skb_change_proto,     BPF_FUNC_skb_change_tail, BPF_FUNC_skb_pull_data,
      BPF_FUNC_skb_store_bytes,      BPF_FUNC_skb_vlan_pop,    BPF_FUNC_skb_vlan_push,
      BPF_FUNC_store_hdr_opt,        BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_meta,
      BPF_FUNC_xdp_adjust_tail,      BPF_FUNC_tail_call};
  return listed(kMovers, func_id);
}

bool helper_available(const Program& program, uint32_t func_id) {
  switch (program.prog_type) {
    case BPF_PROG_TYPE_KPROBE:
    case BPF_PROG_TYPE_TRACEPOINT:
    case BPF_PROG_TYPE_PERF_EVENT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: break;
    default: return true;
  }
  if (listed(kBaseHelpers, func_id) || listed(kTracingHelpers, func_id) ||
      listed(kTraceEventHelpers, func_id))
    return true;
  switch (program.prog_type) {
    case BPF_PROG_TYPE_KPROBE: return func_id == BPF_FUNC_override_return;
    case BPF_PROG_TYPE_PERF_EVENT:
      return func_id == BPF_FUNC_perf_prog_read_value || func_id == BPF_FUNC_read_branch_records;
    default: return false;
  }
}

}  // namespace userbpf::verifier
