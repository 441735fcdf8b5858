// The JIT's compile options for one instance of a verified program: which array maps its helper
// calls may inline and which hash maps they may call directly (jit::CompileOptions::array_maps,
// direct_maps), from the verifier's map at each helper call and the instance's mapped maps.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "jit/jit.hpp"
#include "userbpf/map.hpp"

namespace userbpf::runtime {

// (helper call's instruction index, index into the instance's maps): the verifier's
// Verdict::call_map without the calls that pass no map or different maps.
using CallMap = std::pair<uint32_t, uint32_t>;

// The direct entries of `map` for the helper call at `insn`, r1 proven (the verifier's map there),
// with the by-value lookup's search as data where the map describes it; nullopt when the map
// offers no entries.
std::optional<jit::DirectMapCall> direct_map_call(maps::Map& map, uint32_t insn);

jit::CompileOptions jit_options_for(std::span<const CallMap> call_maps,
                                    const std::vector<std::shared_ptr<maps::Map>>& maps);

}  // namespace userbpf::runtime
