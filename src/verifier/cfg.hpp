// Control-flow checks before any path is explored (Linux's check_subprogs and check_cfg): the
// program ends in an exit or jump, every instruction is reachable, and, for unprivileged
// programs, there are no loops at all.
#pragma once

#include <optional>
#include <string>

#include "isa/instruction.hpp"

namespace userbpf::verifier {

struct CfgError {
  uint32_t insn = 0;
  std::string message;
};

// Jumps out of range and into lddw are refused by the decoder already.
std::optional<CfgError> check_cfg(const isa::Program& program, bool allow_loops);

}  // namespace userbpf::verifier
