#include "verifier/resolve_ldimm64.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

namespace userbpf::verifier {

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
        break;
      default: break;
    }
  }
  return std::nullopt;
}

}  // namespace userbpf::verifier
