// BPF_MAP_TYPE_PROG_ARRAY: the table bpf_tail_call indexes. userbpf stores runtime program ids
// (u32, 0 = empty slot) in the map's shared memory, so every process sees the same table; each
// process resolves an id to the program instance it runs (helpers::ProgramEnv::resolve_program).
// User space writes ids where Linux takes program fds (BPF_MAP_UPDATE_ELEM with flags BPF_ANY
// only, as Linux) and reads ids back, as bpftool shows them.
#pragma once

#include <cstdint>

#include "userbpf/map.hpp"

namespace userbpf::maps {

// The program id in slot `index` of a prog_array map; 0 when empty, out of range or `map` is of
// another type.
uint32_t prog_array_slot(const Map& map, uint32_t index);

}  // namespace userbpf::maps
