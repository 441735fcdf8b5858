#include "helpers/linux_helpers.hpp"

#include "isa/helper_prototypes.hpp"

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
    register_stack_helpers(t);
    apply_prototypes(t);
    return t;
  }();
  return table;
}

void apply_prototypes(vm::HelperTable& table) {
  for (const isa::HelperPrototype& proto : isa::helper_prototypes()) {
    if (const vm::Helper* h = table.find(proto.id)) {
      vm::Helper updated = *h;
      updated.gpl_only = proto.gpl_only;
      table.set(proto.id, updated);
    }
  }
}

}  // namespace userbpf::helpers
