#include "cli/verify_options.hpp"

#include <ostream>

namespace userbpf::cli {

Result<int> parse_log_level(const std::string& text) {
  auto level = parse_unsigned(text, "log level");
  if (!level) return level.take_error();
  if (*level > 2) {
    return make_error(Errc::invalid_argument,
                      "log level " + text +
                          " is not one of 0, 1 (the failing path) or 2 (every "
                          "instruction's state)");
  }
  return static_cast<int>(*level);
}

Status apply_verify_options(const ParsedArgs& parsed, Context& ctx, runtime::LoadOptions& options) {
  options.unverified = parsed.has("unverified");
  int level = ctx.debug ? 2 : 0;
  if (const std::string* text = parsed.value("log-level")) {
    auto parsed_level = parse_log_level(*text);
    if (!parsed_level) return parsed_level.take_error();
    level = *parsed_level;
  }
  if (options.unverified && parsed.value("log-level")) {
    return make_error(Errc::invalid_argument, "--log-level needs the verifier, not --unverified");
  }
  options.verifier.log_level = level;
  if (level > 0) {
    options.on_verdict = [&ctx](const object::Program& prog, const verifier::Verdict& verdict) {
      ctx.err << "prog '" << prog.name << "': verifier log:\n" << verdict.log;
    };
  }
  return ok_status();
}

}  // namespace userbpf::cli
