// The `map` object: `userbpf map { show | list | dump | lookup | update | delete | getnext | pin |
// peek | push | pop | enqueue | dequeue | help }` over the runtime's maps, bpftool's grammar and
// output formats.
#pragma once

#include "cli/command_table.hpp"
#include "runtime/records.hpp"

namespace userbpf::cli {

Status do_map(Context& ctx, Args args);

// What `map show` reports as memlock: keys and values rounded up to pages.
uint64_t map_memlock(const runtime::MapRecord& rec);

}  // namespace userbpf::cli
