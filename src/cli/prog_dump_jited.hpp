// `userbpf prog dump jited PROG [opcodes] [linum] [file FILE]` (prog_dump_jited.cpp).
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

Status do_prog_dump_jited(Context& ctx, Args args);

}  // namespace userbpf::cli
