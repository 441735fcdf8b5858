#include "cli/command_args.hpp"

#include <charconv>

#include "cli/prefix_match.hpp"

namespace userbpf::cli {
namespace {

Error bad_argument(std::string message) {
  return make_error(Errc::invalid_argument, std::move(message));
}

// Finds the spec a long option ("--data", without the dashes) names, by exact name or prefix.
Result<const OptionSpec*> find_long(std::string_view name, std::span<const OptionSpec> specs,
                                    std::string_view spelled) {
  std::vector<PrefixCandidate> candidates;
  for (const OptionSpec& spec : specs) candidates.push_back({spec.name});
  const PrefixMatch match = match_prefix(name, candidates);
  if (match.found()) return &specs[match.index];
  if (match.status == PrefixMatch::Status::ambiguous) {
    std::vector<std::string> dashed;
    for (std::string_view tied : match.tied) dashed.push_back("--" + std::string(tied));
    std::vector<std::string_view> views(dashed.begin(), dashed.end());
    return bad_argument(ambiguous_prefix_message(spelled, views));
  }
  return bad_argument("unknown option '" + std::string(spelled) + "'");
}

const OptionSpec* find_short(char letter, std::span<const OptionSpec> specs) {
  for (const OptionSpec& spec : specs) {
    if (spec.short_name != 0 && spec.short_name == letter) return &spec;
  }
  return nullptr;
}

// bpftool's message when a word after the positionals is no keyword it knows:
// "expected no more arguments, 'data_in', 'data_out' or 'repeat', got: 'x'?"
std::string unexpected_word_message(std::string_view word, std::span<const OptionSpec> specs) {
  std::vector<std::string_view> keywords;
  for (const OptionSpec& spec : specs) {
    if (!spec.keyword.empty()) keywords.push_back(spec.keyword);
  }
  if (keywords.empty()) return "unexpected argument '" + std::string(word) + "'";
  std::string message = "expected no more arguments";
  for (size_t i = 0; i < keywords.size(); ++i) {
    message += (i + 1 == keywords.size()) ? " or '" : ", '";
    message += std::string(keywords[i]) + "'";
  }
  return message + ", got: '" + std::string(word) + "'?";
}

}  // namespace

bool ParsedArgs::has(std::string_view name) const {
  return value(name) != nullptr;
}

const std::string* ParsedArgs::value(std::string_view name) const {
  const std::string* found = nullptr;
  for (const auto& [key, value] : options) {
    if (key == name) found = &value;
  }
  return found;
}

Result<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const OptionSpec> specs,
                              const ParseRules& rules) {
  ParsedArgs parsed;
  std::vector<PrefixCandidate> keywords;
  std::vector<const OptionSpec*> keyword_specs;
  for (const OptionSpec& spec : specs) {
    if (spec.keyword.empty()) continue;
    keywords.push_back({spec.keyword});
    keyword_specs.push_back(&spec);
  }

  bool options_ended = false;
  size_t i = 0;
  // Takes the value of `spec` from the next argument; `spelled` is how the user wrote the option.
  auto take_value = [&](const OptionSpec& spec, std::string_view spelled) -> Status {
    if (i + 1 >= args.size()) {
      return bad_argument("option '" + std::string(spelled) + "' needs an argument (" +
                          std::string(spec.value_name) + ")");
    }
    parsed.options.emplace_back(spec.name, args[++i]);
    return ok_status();
  };

  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool is_option = !options_ended && arg.size() > 1 && arg[0] == '-';
    if (!is_option) {
      const bool positional_slot =
          options_ended || parsed.positionals.size() < rules.positionals.size();
      if (rules.stop_at_positional) break;
      if (positional_slot || keywords.empty()) {
        if (!positional_slot) return bad_argument(unexpected_word_message(arg, specs));
        parsed.positionals.push_back(arg);
        continue;
      }
      const PrefixMatch match = match_prefix(arg, keywords);
      if (match.status == PrefixMatch::Status::ambiguous) {
        return bad_argument(ambiguous_prefix_message(arg, match.tied));
      }
      if (!match.found()) return bad_argument(unexpected_word_message(arg, specs));
      const OptionSpec& spec = *keyword_specs[match.index];
      if (spec.takes_value()) {
        if (i + 1 >= args.size()) {
          return bad_argument("'" + std::string(spec.keyword) + "' needs an argument (" +
                              std::string(spec.value_name) + ")");
        }
        parsed.options.emplace_back(spec.name, args[++i]);
      } else {
        parsed.options.emplace_back(spec.name, std::string());
      }
      continue;
    }
    if (arg == "--") {
      options_ended = true;
      continue;
    }
    if (arg.starts_with("--")) {
      const size_t eq = arg.find('=');
      const std::string_view name =
          std::string_view(arg).substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      const std::string_view spelled = std::string_view(arg).substr(0, eq);
      auto spec = find_long(name, specs, spelled);
      if (!spec) return spec.take_error();
      if (eq != std::string::npos) {
        if (!(*spec)->takes_value()) {
          return bad_argument("option '--" + std::string((*spec)->name) + "' takes no argument");
        }
        parsed.options.emplace_back((*spec)->name, arg.substr(eq + 1));
      } else if ((*spec)->takes_value()) {
        if (Status s = take_value(**spec, "--" + std::string((*spec)->name)); !s)
          return s.take_error();
      } else {
        parsed.options.emplace_back((*spec)->name, std::string());
      }
      continue;
    }
    // One or more short options: -j, -jp, -dFILE style values as getopt allows.
    for (size_t k = 1; k < arg.size(); ++k) {
      const OptionSpec* spec = find_short(arg[k], specs);
      if (spec == nullptr) return bad_argument("unknown option '-" + std::string(1, arg[k]) + "'");
      if (!spec->takes_value()) {
        parsed.options.emplace_back(spec->name, std::string());
        continue;
      }
      if (k + 1 < arg.size()) {
        parsed.options.emplace_back(spec->name, arg.substr(k + 1));
      } else if (Status s = take_value(*spec, "-" + std::string(1, arg[k])); !s) {
        return s.take_error();
      }
      break;
    }
  }
  parsed.consumed = i;
  return parsed;
}

std::span<const OptionSpec> global_option_specs() {
  static constexpr OptionSpec kGlobals[] = {
      {"json", 'j', "", "", "print JSON"},
      {"pretty", 'p', "", "", "print pretty JSON (implies --json)"},
      {"debug", 'd', "", "", "print debug information"},
      {"help", 'h', "", "", "print usage"},
      {"version", 'V', "", "", "print the version"},
      {"state-dir", 0, "", "DIR", "keep loaded objects in DIR"},
      {"engine", 0, "", "ENGINE", "run verified programs with interp or jit (default jit)"},
  };
  return kGlobals;
}

void apply_global_options(const ParsedArgs& parsed, Context& ctx) {
  for (const auto& [name, value] : parsed.options) {
    if (name == "json") ctx.json = true;
    if (name == "pretty") ctx.json = ctx.pretty = true;
    if (name == "debug") ctx.debug = true;
    if (name == "state-dir") ctx.state_dir = value;
    if (name == "engine") ctx.engine = value;
  }
}

Result<ParsedArgs> parse_command_args(std::span<const std::string> args,
                                      std::span<const OptionSpec> specs, const ParseRules& rules,
                                      Context& ctx) {
  std::vector<OptionSpec> all(specs.begin(), specs.end());
  for (const OptionSpec& global : global_option_specs()) all.push_back(global);
  auto parsed = parse_args(args, all, rules);
  if (!parsed) return parsed;
  apply_global_options(*parsed, ctx);
  if (!parsed->has("help") && parsed->positionals.size() < rules.positionals.size()) {
    return bad_argument("'" + std::string(rules.command) + "' needs " +
                        std::string(rules.positionals[parsed->positionals.size()]));
  }
  return parsed;
}

Result<uint64_t> parse_unsigned(std::string_view text, std::string_view what) {
  std::string_view digits = text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return bad_argument("can't parse '" + std::string(text) + "' as " + std::string(what));
  }
  return value;
}

}  // namespace userbpf::cli
