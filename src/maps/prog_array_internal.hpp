// The prog_array map kind, for the factory.
#pragma once

namespace userbpf::maps {

struct MapKind;
const MapKind* prog_array_kind();

}  // namespace userbpf::maps
