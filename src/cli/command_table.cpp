#include "cli/command_table.hpp"

#include <vector>

#include "cli/command_args.hpp"
#include "cli/prefix_match.hpp"

namespace userbpf::cli {

Status dispatch(Context& ctx, const CommandTable& table, Args args) {
  auto globals = parse_args(args, global_option_specs(), ParseRules{"", {}, true});
  if (!globals) return globals.take_error();
  apply_global_options(*globals, ctx);
  args = args.subspan(globals->consumed);
  if (globals->has("help") && table.help != nullptr) return table.help(ctx, args);
  std::string_view word = table.default_command;
  Args rest;
  if (args.empty() && word.empty()) {
    std::string names;
    for (const Command& command : table.commands) {
      names += (names.empty() ? "" : " | ") + std::string(command.name);
    }
    return make_error(Errc::invalid_argument,
                      "'" + std::string(table.owner) + "' needs a command: { " + names + " }");
  }
  if (!args.empty()) {
    word = args[0];
    rest = args.subspan(1);
  }
  std::vector<PrefixCandidate> candidates;
  for (const Command& command : table.commands)
    candidates.push_back({command.name, command.preferred});
  const PrefixMatch match = match_prefix(word, candidates);
  if (match.status == PrefixMatch::Status::ambiguous) {
    return make_error(Errc::invalid_argument, ambiguous_prefix_message(word, match.tied));
  }
  if (!match.found()) {
    return make_error(Errc::invalid_argument, "command '" + std::string(word) + "' is unknown");
  }
  const Command& command = table.commands[match.index];
  if (command.handler == nullptr) {
    std::string full = table.owner.empty()
                           ? std::string(command.name)
                           : std::string(table.owner) + " " + std::string(command.name);
    return make_error(Errc::unsupported, "command '" + full + "' is not supported yet");
  }
  return command.handler(ctx, rest);
}

}  // namespace userbpf::cli
