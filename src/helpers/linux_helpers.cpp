#include "helpers/linux_helpers.hpp"

namespace userbpf::helpers {

const vm::HelperTable& linux_helpers() {
  static const vm::HelperTable table = [] {
    vm::HelperTable t;
    register_map_helpers(t);
    register_trace_helpers(t);
    register_task_helpers(t);
    register_memory_helpers(t);
    return t;
  }();
  return table;
}

}  // namespace userbpf::helpers
