// The `prog` object: `userbpf prog { run | dump xlated | help }`, bpftool's grammar.
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

Status do_prog(Context& ctx, Args args);

// The commands, for the table in prog.cpp (each in its own file).
Status do_prog_run(Context& ctx, Args args);
Status do_prog_dump(Context& ctx, Args args);
Status do_prog_help(Context& ctx, Args args);

}  // namespace userbpf::cli
