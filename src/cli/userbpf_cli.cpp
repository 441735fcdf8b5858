#include "cli/userbpf_cli.hpp"

#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/btf.hpp"
#include "cli/command_args.hpp"
#include "cli/command_table.hpp"
#include "cli/link.hpp"
#include "cli/map.hpp"
#include "cli/prog.hpp"
#include "cli/supervise.hpp"
#include "cli/trace.hpp"
#include "cli/verify.hpp"
#include "jit/jit.hpp"

namespace userbpf::cli {
namespace {

Status do_help(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(nullptr);  // as bpftool: help has no JSON form
    return ok_status();
  }
  const std::string& bin = ctx.bin_name;
  ctx.err << "Usage: " << bin << " [OPTIONS] OBJECT { COMMAND | help }\n"
          << "       " << bin << " version\n"
          << "\n"
          << "       " << bin << " trace_pipe\n"
          << "       " << bin << " run OBJ... [--prog NAME] { -- COMMAND [ARGS] | --pid PID }\n"
          << "       " << bin << " exec [PROG...] -- COMMAND [ARGS]\n"
          << "       " << bin
          << " verify OBJ [--prog NAME] [--type TYPE] [--unpriv] [--log-level N]\n"
          << "\n"
          << "       OBJECT := { prog | map | link | btf }\n"
          << "       OPTIONS := { {-j|--json} [{-p|--pretty}] | {-d|--debug} |\n"
          << "                    {-V|--version} | --state-dir DIR | --engine {interp|jit} }\n";
  return ok_status();
}

Status do_version(Context& ctx, Args) {
  if (ctx.json) {
    ctx.print_json(
        {{"version", kVersion}, {"features", {{"interp", true}, {"jit", jit::available()}}}});
  } else {
    ctx.out << ctx.bin_name << " v" << kVersion << "\n"
            << "features: interp" << (jit::available() ? ", jit" : "") << "\n";
  }
  return ok_status();
}

// bpftool's objects in bpftool's order, then userbpf's trace_pipe (the kernel's
// /sys/kernel/tracing/trace_pipe). `prog` wins its tie with `perf`, keeping bpftool's `p`
// shorthand.
constexpr Command kObjects[] = {
    {"help", do_help},
    {"batch", nullptr},
    {"prog", do_prog, true},
    {"map", do_map},
    {"link", do_link},
    {"cgroup", nullptr},
    {"perf", nullptr},
    {"net", nullptr},
    {"feature", nullptr},
    {"btf", do_btf},
    {"gen", nullptr},
    {"struct_ops", nullptr},
    {"iter", nullptr},
    {"version", do_version},
    {"trace_pipe", stream_trace},
    // userbpf's own: programs on syscall hooks of a supervised command (supervise.hpp).
    {"run", do_run},
    {"exec", do_exec},
    // The verifier on an object's programs, without loading them (cli/verify.hpp).
    {"verify", do_verify},
};

// Is -j/--json/-p/--pretty anywhere on the line? Decides the form of an error found while the
// arguments are still being parsed (bpftool's getopt has seen all options by then too).
bool wants_json(std::span<const std::string> args) {
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--json" || arg == "--pretty") return true;
    if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' &&
        arg.find_first_not_of("jpdhV", 1) == std::string::npos &&
        arg.find_first_of("jp", 1) != std::string::npos) {
      return true;
    }
  }
  return false;
}

Status run(Context& ctx, std::span<const std::string> args) {
  // -V is only a top-level option; dispatch handles the others (and -h) itself.
  auto globals = parse_args(args, global_option_specs(), ParseRules{"", {}, true});
  if (!globals) return globals.take_error();
  if (globals->has("version") && !globals->has("help")) {
    apply_global_options(*globals, ctx);
    return do_version(ctx, args.subspan(globals->consumed));
  }
  return dispatch(ctx, CommandTable{"", kObjects, "help", do_help}, args);
}

}  // namespace

int run_userbpf(Context& ctx, std::span<const std::string> args) {
  if (wants_json(args)) ctx.json = true;
  Status status = run(ctx, args);
  if (status) return ctx.exit_code;
  ctx.print_error(status.error());
  return kExitFailure;
}

}  // namespace userbpf::cli
