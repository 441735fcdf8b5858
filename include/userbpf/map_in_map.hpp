// BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS. An outer map's values are inner map
// ids (u32) in its shared memory: user space writes an id where Linux takes an inner map fd and
// reads ids back; a program's bpf_map_lookup_elem gets the inner map's handle (a Map pointer it
// passes to the other map helpers), or NULL.
//
// Ids are resolved per process: by default the inner map is the file "<id>.map" next to the
// outer map's file (the runtime's state directory layout, <root>/maps/<id>.map); anonymous outer
// maps need set_inner_map_resolver(). An inner map must match the template the outer map was
// created with (Linux's inner_map_fd, bpf_map_meta_equal): type, key and value size, flags, and
// max_entries unless the template has BPF_F_INNER_MAP.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "userbpf/error.hpp"
#include "userbpf/map.hpp"

namespace userbpf::maps {

using InnerMapResolver = std::function<std::shared_ptr<Map>(uint32_t id)>;

// Creates an array_of_maps / hash_of_maps whose inner maps must look like `inner` (its name is
// ignored). Fails as Linux does when `inner` is itself a map-in-map, a prog_array, ringbuf or
// perf_event_array (-EINVAL) or when `outer` is not a map-in-map type or its value_size is not 4.
Result<std::shared_ptr<Map>> create_map_in_map(const MapSpec& outer, const MapSpec& inner,
                                               const Backing& backing = {});

// Replaces the id -> map resolution of an outer map in this process.
void set_inner_map_resolver(Map& outer, InnerMapResolver resolver);

// The inner map template of an outer map (type 0 when `map` is not a map-in-map).
MapSpec inner_map_template(const Map& map);

}  // namespace userbpf::maps
