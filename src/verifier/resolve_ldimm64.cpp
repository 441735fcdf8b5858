#include "verifier/resolve_ldimm64.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include <string>

namespace userbpf::verifier {
namespace {

constexpr uint32_t kMaxVarOff = 1u << 29;  // BPF_MAX_VAR_OFF
constexpr uint32_t kMapTypeArena = 33;     // BPF_MAP_TYPE_ARENA (newer than some headers)

// Why a direct reference to byte `off` of the map's value cannot be resolved (Linux's checks
// around map_direct_value_addr), or nullopt. Only single-entry arrays (global data) and arenas
// have a value address; userbpf does not resolve arena addresses here.
std::optional<std::string> direct_value_error(const MapInfo& map, uint32_t off) {
  if (off >= kMaxVarOff) return fmt::format("direct value offset of {} is not allowed", off);
  if (map.type == kMapTypeArena) return std::nullopt;
  if (map.type != BPF_MAP_TYPE_ARRAY) return "no direct value access support for this map type";
  if (map.max_entries != 1 || off >= map.value_size)
    return fmt::format("invalid access to map value pointer, value_size={} off={}", map.value_size,
                       off);
  return std::nullopt;
}

}  // namespace

std::optional<CfgError> resolve_pseudo_ldimm64(const Program& program,
                                               const isa::Program& decoded) {
  for (uint32_t i = 0; i < decoded.insns.size(); ++i) {
    const isa::Insn& insn = decoded.insns[i];
    if (insn.kind != isa::Kind::lddw) continue;
    switch (insn.src) {
      case BPF_PSEUDO_MAP_FD:
      case BPF_PSEUDO_MAP_VALUE:
        // Linux: add_used_map_from_fd finds no map behind the descriptor.
        return CfgError{i, fmt::format("fd {} is not pointing to valid bpf_map", insn.imm)};
      case BPF_PSEUDO_MAP_IDX:
      case BPF_PSEUDO_MAP_IDX_VALUE:
        // The index plays the part of Linux's fd_array slot; a slot with no map fails the same
        // way.
        if (insn.imm < 0 || static_cast<uint32_t>(insn.imm) >= program.maps.size())
          return CfgError{i, fmt::format("fd {} is not pointing to valid bpf_map", insn.imm)};
        if (insn.src == BPF_PSEUDO_MAP_IDX_VALUE) {
          if (auto why = direct_value_error(program.maps[static_cast<uint32_t>(insn.imm)],
                                            static_cast<uint32_t>(insn.next_imm)))
            return CfgError{i, *why};
        }
        break;
      default: break;
    }
  }
  return std::nullopt;
}

}  // namespace userbpf::verifier
