// Small facts about map types shared by the map implementations.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace userbpf::maps {

// Linux's internal ENOTSUPP (not in <errno.h>): what bpf() returns for an LRU map created with
// BPF_F_NO_PREALLOC or a lookup-and-delete on a map type without it.
inline constexpr int kENOTSUPP = 524;

// The bpftool name of a map type ("hash", "lru_percpu_hash", ...).
const char* map_type_name(uint32_t type);

inline bool is_percpu_type(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

}  // namespace userbpf::maps
