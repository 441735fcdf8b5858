// The verifier options every loading command shares (`prog load`, `prog loadall`, `prog run OBJ`,
// `run`): --unverified loads without the verifier (the program then always runs checked),
// --log-level N prints the verifier's kernel-style log of each program on stderr, and -d prints
// it at level 2, as bpftool's -d asks libbpf for the kernel's verifier log.
#pragma once

#include "cli/command_args.hpp"
#include "cli/context.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

// The option specs to add to a command's own.
inline constexpr OptionSpec kUnverifiedOption = {
    "unverified", 0, "", "", "load without verifying; the program always runs checked"};
inline constexpr OptionSpec kLogLevelOption = {
    "log-level", 0, "", "N", "print the verifier log at level N (1, 2) on stderr"};

// Parses a verifier log level (0, 1 or 2).
Result<int> parse_log_level(const std::string& text);

// Sets `options` from --unverified, --log-level and -d (ctx.debug), the log printed on ctx.err.
Status apply_verify_options(const ParsedArgs& parsed, Context& ctx, runtime::LoadOptions& options);

}  // namespace userbpf::cli
