// The map implementations, one per family, as seen by the factory (map_factory.cpp). Each has
// file_size(): bytes of its backing file, a constructor that attaches to a mapped file, and
// initialize() that fills a freshly created (zeroed) file.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "maps/map_file.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

struct MapKind {
  uint64_t (*file_size)(const MapSpec& spec, uint32_t ncpus);
  std::shared_ptr<Map> (*attach)(std::shared_ptr<MapFile> file, const MapSpec& spec,
                                 uint32_t ncpus);
  void (*initialize)(Map& map);
};

// The kind implementing `type`, or nullptr.
const MapKind* array_kind();
const MapKind* hash_kind();
const MapKind* lpm_trie_kind();
const MapKind* queue_stack_kind();
const MapKind* bloom_filter_kind();

inline uint64_t round_up_page(uint64_t n) {
  return (n + 4095) & ~uint64_t{4095};
}

// A u32 key read from program or user memory that may be unaligned.
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// BPF_MAP_GET_NEXT_KEY of the maps indexed by a u32 (array, devmap, cpumap, xskmap), as Linux's
// array_map_get_next_key: index 0 for a null or out-of-range key, -ENOENT after the last index.
inline int index_get_next_key(const void* key, void* next_key, uint32_t max_entries) {
  const uint32_t index = key ? load_u32(key) : UINT32_MAX;
  uint32_t next = 0;
  if (index < max_entries) {
    if (index == max_entries - 1) return -ENOENT;
    next = index + 1;
  }
  std::memcpy(next_key, &next, sizeof(next));
  return 0;
}

}  // namespace userbpf::maps
