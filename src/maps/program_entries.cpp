// Which map types offer direct program-side entries (program_entries.hpp).
#include "maps/program_entries.hpp"

#include <linux/bpf.h>

namespace userbpf::maps {

ProgramEntries program_entries(Map& map) {
  switch (map.spec().type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: return hash_program_entries(map);
    default: return {};
  }
}

}  // namespace userbpf::maps
