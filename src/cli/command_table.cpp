#include "cli/command_table.hpp"

#include <vector>

#include "cli/prefix_match.hpp"

namespace userbpf::cli {

Status dispatch(Context& ctx, const CommandTable& table, Args args) {
  std::string_view word = table.default_command;
  Args rest;
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
