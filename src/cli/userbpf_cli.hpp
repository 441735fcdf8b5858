// The userbpf command line: `userbpf [OPTIONS] OBJECT { COMMAND | help }`, bpftool's grammar.
// userbpf_main.cpp is a thin wrapper around run_userbpf so that tests can run commands in process.
#pragma once

#include <span>
#include <string>

#include "cli/context.hpp"

namespace userbpf::cli {

inline constexpr const char* kVersion = "0.1.0";

// Runs one command line (`args` without argv[0]), printing to ctx.out / ctx.err. Returns the
// process exit status: 0, or kExitFailure after printing "Error: ..." (or {"error": ...} under
// -j).
int run_userbpf(Context& ctx, std::span<const std::string> args);

}  // namespace userbpf::cli
