// The `prog` object: `userbpf prog { show | list | dump | pin | load | loadall | tracelog | run |
// help }`, bpftool's grammar.
#pragma once

#include "cli/command_table.hpp"

namespace userbpf::cli {

Status do_prog(Context& ctx, Args args);

// The commands, for the table in prog.cpp (each in its own file).
Status do_prog_run(Context& ctx, Args args);
Status do_prog_dump(Context& ctx, Args args);
Status do_prog_help(Context& ctx, Args args);
Status do_prog_show(Context& ctx, Args args);
Status do_prog_load(Context& ctx, Args args);
Status do_prog_loadall(Context& ctx, Args args);
Status do_prog_pin(Context& ctx, Args args);
Status do_prog_tracelog(Context& ctx, Args args);

// prog run of a loaded program (PROG handle) or an ELF object (prog_run_loaded.cpp);
// run_targets_runtime tells whether a `prog run` command line is one of those.
bool run_targets_runtime(Args args);
Status do_prog_run_loaded(Context& ctx, Args args);
// prog dump xlated PROG (prog_dump_loaded.cpp).
Status do_prog_dump_loaded(Context& ctx, Args args);

// `type TYPE` of prog load/loadall and verify: bpftool's program type names ("xdp",
// "tracepoint", ...) or, as bpftool also accepts, a section name ("kprobe/foo", "tp/a/b").
Result<uint32_t> parse_prog_type(const std::string& text);

// Gives an object-loading error the object file's name when it lacks one.
Error with_object(Error error, const std::string& path);

}  // namespace userbpf::cli
