// bpftool's command tables: each object noun (prog, later map, btf, link, ...) is a table of
// commands, and the top level is a table of objects. A word selects an entry by prefix (see
// prefix_match.hpp) and the entry's handler gets the remaining arguments.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "cli/context.hpp"
#include "userbpf/error.hpp"

namespace userbpf::cli {

using Args = std::span<const std::string>;
using Handler = Status (*)(Context& ctx, Args args);

struct Command {
  std::string_view name;
  // nullptr: bpftool has this command but userbpf does not implement it yet. Listing it keeps
  // prefix resolution stable (`prog p` stays ambiguous between pin and profile) and lets the
  // error say "not supported yet" instead of "unknown".
  Handler handler = nullptr;
  bool preferred = false;  // wins a prefix tie, see prefix_match.hpp
};

struct CommandTable {
  std::string_view owner;  // "prog"; empty for the top level
  std::span<const Command> commands;
  std::string_view default_command;  // run when no word is given (bpftool runs its first entry)
  Handler help = nullptr;            // run for -h/--help given before the command word
};

// Selects the entry args[0] names and runs it with args[1..]. Global options may come before the
// word (`userbpf prog -j run ...`, as bpftool's getopt allows); they are applied to ctx. Errors:
// "command 'x' is unknown", "ambiguous prefix: ...", "command 'prog load' is not supported yet".
Status dispatch(Context& ctx, const CommandTable& table, Args args);

}  // namespace userbpf::cli
