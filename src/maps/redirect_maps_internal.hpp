// The XDP redirect maps (devmap, devmap_hash, cpumap, xskmap) as seen by the factory and the
// spec check: their kinds, Linux's creation rules and the flags Linux adds at creation.
#pragma once

#include <cstdint>
#include <string>

#include "userbpf/map.hpp"

namespace userbpf::maps {

struct MapKind;
const MapKind* devmap_kind();
const MapKind* devmap_hash_kind();
const MapKind* cpumap_kind();
const MapKind* xskmap_kind();

bool is_redirect_map_type(uint32_t type);

// dev_map_init_map / cpu_map_alloc / xsk_map_alloc: 0 or the negative errno Linux returns.
int check_redirect_map_spec(const MapSpec& spec, std::string* why);

// Does the host (this process's network namespace) have a device with this ifindex? Linux's
// devmap update takes a reference with dev_get_by_index() and refuses an unknown ifindex;
// userbpf has no devices of its own, so an ifindex means the host's device of that index.
bool host_ifindex_exists(uint32_t ifindex);

}  // namespace userbpf::maps
