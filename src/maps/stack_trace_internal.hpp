// The stack_trace map kind and its creation rules, for the factory and check_spec.
#pragma once

#include <string>

#include "userbpf/map.hpp"

namespace userbpf::maps {

struct MapKind;
const MapKind* stack_trace_kind();

// kernel/bpf/stackmap.c stack_map_alloc's checks: 0 or the negative errno Linux returns.
int check_stack_trace_spec(const MapSpec& spec, std::string* why);

}  // namespace userbpf::maps
