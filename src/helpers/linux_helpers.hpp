// The helpers userbpf implements, by Linux helper id (enum bpf_func_id), in one table.
#pragma once

#include "vm/interpreter.hpp"

namespace userbpf::helpers {

// Every implemented helper. Built once; safe to share between programs and threads.
const vm::HelperTable& linux_helpers();

// Groups of helpers, one per file; linux_helpers() calls each.
void register_map_helpers(vm::HelperTable& table);
void register_trace_helpers(vm::HelperTable& table);
void register_task_helpers(vm::HelperTable& table);
void register_memory_helpers(vm::HelperTable& table);
void register_packet_helpers(vm::HelperTable& table);
void register_string_helpers(vm::HelperTable& table);
void register_callback_helpers(vm::HelperTable& table);
void register_ringbuf_helpers(vm::HelperTable& table);
void register_tail_call_helper(vm::HelperTable& table);
void register_perf_event_helpers(vm::HelperTable& table);
void register_stack_helpers(vm::HelperTable& table);

// Takes each registered helper's traits (gpl_only) from its Linux prototype
// (isa/helper_prototypes.hpp), the one source of those facts.
void apply_prototypes(vm::HelperTable& table);

}  // namespace userbpf::helpers
