// The argument parser of a userbpf command. It accepts both spellings users know:
//   - GNU options:        --data FILE, --data=FILE, --repeat 5, -j, -jp, -- (end of options)
//   - bpftool keywords:   data_in FILE, repeat 5, opcodes (after the positional arguments)
// Long options and keywords match by unambiguous prefix, as getopt_long and bpftool do.
//
// Why not CLI11: bpftool's grammar needs keyword/value pairs recognised by prefix only after the
// positional arguments, prefix-matched nouns above them, and errors that go through the one
// Error model so -j can print them as {"error": ...}; CLI11 prints and throws its own errors and
// has no notion of keyword arguments. This parser is small and keeps those rules in one place.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/context.hpp"
#include "userbpf/error.hpp"

namespace userbpf::cli {

struct OptionSpec {
  std::string_view name;        // the key, and the long form without dashes: "data" is --data
  char short_name = 0;          // e.g. 'j' for -j; 0 when none
  std::string_view keyword;     // bpftool keyword form, e.g. "data_in"; empty when none
  std::string_view value_name;  // what the value is ("FILE", "N"); empty for a flag
  std::string_view help;        // one line for usage texts

  bool takes_value() const { return !value_name.empty(); }
};

struct ParsedArgs {
  std::vector<std::string> positionals;
  std::vector<std::pair<std::string_view, std::string>> options;  // (spec name, value), in order
  size_t consumed = 0;  // arguments consumed (all of them unless stopping at a positional)

  bool has(std::string_view name) const;
  // The last value given for `name` (options may be repeated; the last one wins, as in bpftool),
  // or nullptr.
  const std::string* value(std::string_view name) const;
};

struct ParseRules {
  std::string_view command;  // for messages, e.g. "prog run"
  // Names of the positional arguments expected before any keyword, e.g. {"FILE"}.
  std::span<const std::string_view> positionals;
  // Stop at the first bare word and leave it and the rest unparsed (global options before the
  // object noun).
  bool stop_at_positional = false;
};

// Parses `args` against `specs`. Fails with Errc::invalid_argument naming the offending word:
// unknown option, ambiguous prefix, missing value, unexpected argument.
Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const OptionSpec> specs,
                              const ParseRules& rules);

// The global options: -j/--json, -p/--pretty, -d/--debug, -h/--help, -V/--version,
// --state-dir DIR. Every command accepts them too (bpftool's getopt lets them go anywhere).
std::span<const OptionSpec> global_option_specs();

// Applies the global options found in `parsed` to `ctx` (-p implies -j).
void apply_global_options(const ParsedArgs& parsed, Context& ctx);

// parse_args over `specs` plus the global options, which are applied to `ctx`. When -h/--help is
// present the positional arguments are not required (the caller prints its help).
Result<ParsedArgs> parse_command_args(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, const ParseRules& rules,
                                      Context& ctx);

// Parses an unsigned decimal or 0x-hex number for option `what`: "can't parse 'x' as N for
// --repeat" style errors.
Result<uint64_t> parse_unsigned(std::string_view text, std::string_view what);

}  // namespace userbpf::cli
