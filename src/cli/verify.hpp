// `userbpf verify OBJ [--prog NAME] [--type TYPE] [--unpriv] [--log-level N]`: runs the verifier
// on an object's programs without loading anything (no maps are created, no records written).
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

Status do_verify(Context& ctx, Args args);

}  // namespace userbpf::cli
