// The checks Linux makes on 64-bit immediate loads before any path is explored
// (resolve_pseudo_ldimm64): every map reference must name a map the program was given.
#pragma once

#include <optional>

#include "isa/instruction.hpp"
#include "verifier/cfg.hpp"
#include "verifier/verifier.hpp"

namespace userbpf::verifier {

// The first map reference that names no map, with Linux's message ("fd 0 is not pointing to
// valid bpf_map"); nullopt when every reference resolves. userbpf's programs reference maps by
// index into Program::maps (BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE: the loader turned the
// object's map relocations into them, as libbpf fills in fds). A BPF_PSEUDO_MAP_FD or
// BPF_PSEUDO_MAP_VALUE reference carries a file descriptor nobody resolved: the verifier has no
// descriptor table, so like Linux given an fd that is not a map, it refuses it. A direct value
// reference must point into a single-entry array's value ("invalid access to map value pointer,
// value_size=8 off=8"; other maps have "no direct value access support for this map type").
std::optional<CfgError> resolve_pseudo_ldimm64(const Program& program, const isa::Program& decoded);

}  // namespace userbpf::verifier
