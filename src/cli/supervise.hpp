// `userbpf run` and `userbpf exec`: programs attached to syscall hook points while a command runs
// under supervision (hooks/supervisor.hpp). run loads object files first; exec attaches programs
// already in the runtime.
#pragma once

#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

Status do_run(Context& ctx, Args args);
Status do_exec(Context& ctx, Args args);

// Attaches every program of `programs` that names a supported hook (warning about the others),
// runs `command` under supervision printing trace_pipe lines as they come, and leaves the
// command's exit status in ctx.exit_code.
Status supervise_command(Context& ctx, runtime::Runtime& rt,
                         const std::vector<runtime::ProgramRecord>& programs,
                         const std::vector<std::string>& command);

// Splits `args` at the first "--": the words before and the command after. Error when there is
// no "--" or no command after it.
Status split_command(std::string_view usage, Args args, std::vector<std::string>& before,
                     std::vector<std::string>& command);

}  // namespace userbpf::cli
