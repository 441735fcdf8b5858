#include "helpers/linux_helpers.hpp"

#include <linux/bpf.h>

namespace userbpf::helpers {

const vm::HelperTable& linux_helpers() {
  static const vm::HelperTable table = [] {
    vm::HelperTable t;
    register_map_helpers(t);
    register_trace_helpers(t);
    register_task_helpers(t);
    register_memory_helpers(t);
    register_packet_helpers(t);
    register_string_helpers(t);
    register_callback_helpers(t);
    register_ringbuf_helpers(t);
    register_tail_call_helper(t);
    register_perf_event_helpers(t);
    mark_gpl_only_helpers(t);
    return t;
  }();
  return table;
}

// The helper ids whose prototypes Linux 6.12 declares gpl_only = true (kernel/bpf/helpers.c,
// kernel/bpf/stackmap.c, kernel/trace/bpf_trace.c, net/core/filter.c). Ids userbpf does not
// implement yet are listed too, so they are right the day they are registered.
void mark_gpl_only_helpers(vm::HelperTable& table) {
  static constexpr uint32_t kGplOnly[] = {
      BPF_FUNC_probe_read,           BPF_FUNC_probe_read_str,
      BPF_FUNC_probe_read_kernel,    BPF_FUNC_probe_read_kernel_str,
      BPF_FUNC_probe_read_user,      BPF_FUNC_probe_read_user_str,
      BPF_FUNC_probe_write_user,     BPF_FUNC_trace_printk,
      BPF_FUNC_trace_vprintk,        BPF_FUNC_snprintf,
      BPF_FUNC_get_func_ip,          BPF_FUNC_get_current_task,
      BPF_FUNC_get_current_task_btf, BPF_FUNC_get_stack,
      BPF_FUNC_get_stackid,          BPF_FUNC_perf_event_output,
      BPF_FUNC_perf_event_read,      BPF_FUNC_perf_event_read_value,
      BPF_FUNC_perf_prog_read_value, BPF_FUNC_override_return,
      BPF_FUNC_copy_from_user_task,  BPF_FUNC_timer_init,
      BPF_FUNC_timer_set_callback,   BPF_FUNC_timer_start,
      BPF_FUNC_timer_cancel,         BPF_FUNC_seq_printf,
      BPF_FUNC_seq_write,            BPF_FUNC_seq_printf_btf,
      BPF_FUNC_task_pt_regs,         BPF_FUNC_get_branch_snapshot,
      BPF_FUNC_read_branch_records,  BPF_FUNC_skb_output,
      BPF_FUNC_xdp_output,           BPF_FUNC_fib_lookup,
      BPF_FUNC_check_mtu,            BPF_FUNC_tcp_gen_syncookie,
      BPF_FUNC_tcp_check_syncookie,
  };
  for (uint32_t id : kGplOnly) {
    if (const vm::Helper* h = table.find(id)) {
      vm::Helper marked = *h;
      marked.gpl_only = true;
      table.set(id, marked);
    }
  }
}

}  // namespace userbpf::helpers
