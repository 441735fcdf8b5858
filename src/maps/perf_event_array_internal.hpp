// The perf_event_array map kind, for the factory.
#pragma once

namespace userbpf::maps {

struct MapKind;
const MapKind* perf_event_array_kind();

}  // namespace userbpf::maps
