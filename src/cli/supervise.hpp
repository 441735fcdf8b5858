// `userbpf run` and `userbpf exec`: programs attached to hook points while a command runs under
// supervision (hooks/supervisor.hpp), or while `run --pid PID` is attached to a running process.
// run loads object files first; exec attaches programs already in the runtime, or, given none,
// every link (`prog attach`) in the runtime.
#pragma once

#include <string>
#include <vector>

#include "cli/command_table.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::cli {

Status do_run(Context& ctx, Args args);
Status do_exec(Context& ctx, Args args);

// A program and the hook (SEC() form) it runs on.
struct Attachment {
  runtime::ProgramRecord program;
  std::string target;
  uint64_t cookie = 0;  // bpf_get_attach_cookie
};

// Attachments at the programs' own section names (auto-attach).
std::vector<Attachment> attach_by_section(const std::vector<runtime::ProgramRecord>& programs);

struct SuperviseOptions {
  // Print (consume) the trace_pipe lines the programs write as they come; otherwise they stay in
  // the trace buffer for `userbpf trace_pipe`.
  bool print_trace = true;
  // Print the records of the programs' ringbuf and perf_event_array maps (event_printer.hpp).
  bool events = false;
  std::string event_type;  // BTF type that decodes them; empty: hex
  // Attach to this running process (and follow what it starts) instead of running a command;
  // the command is empty then. Ends when the process tree exits or at SIGINT/SIGTERM, leaving
  // the processes running; exit code 0 either way.
  int attach_pid = 0;
};

// Attaches every attachment whose hook is supported (warning about the others), runs `command`
// under supervision (or attaches to options.attach_pid), and leaves the command's exit status in
// ctx.exit_code.
Status supervise_command(Context& ctx, runtime::Runtime& rt,
                         const std::vector<Attachment>& attachments,
                         const std::vector<std::string>& command, const SuperviseOptions& options);

// Splits `args` at the first "--": the words before and the command after. Error when there is
// no "--" or no command after it.
Status split_command(std::string_view usage, Args args, std::vector<std::string>& before,
                     std::vector<std::string>& command);

}  // namespace userbpf::cli
