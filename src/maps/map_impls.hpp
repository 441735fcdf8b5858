// The map implementations, one per family, as seen by the factory (map_factory.cpp). Each has
// file_size(): bytes of its backing file, a constructor that attaches to a mapped file, and
// initialize() that fills a freshly created (zeroed) file.
#pragma once

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

}  // namespace userbpf::maps
