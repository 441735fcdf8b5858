// The map-in-map kind (array_of_maps, hash_of_maps), for the factory.
#pragma once

namespace userbpf::maps {

struct MapKind;
const MapKind* map_in_map_kind();

}  // namespace userbpf::maps
