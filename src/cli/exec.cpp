// `userbpf exec PROG... -- COMMAND [ARGS]`: attaches programs already loaded in the runtime
// (PROG := { id ID | pinned PATH | tag TAG | name NAME }, as bpftool) to their syscall hooks and
// runs COMMAND under supervision.
#include "cli/runtime_access.hpp"
#include "cli/supervise.hpp"

namespace userbpf::cli {
namespace {
constexpr std::string_view kExecUsage = "exec PROG... -- COMMAND [ARGS]";
}  // namespace

Status do_exec(Context& ctx, Args args) {
  std::vector<std::string> words, command;
  if (Status s = split_command(kExecUsage, args, words, command); !s) return s;
  auto stripped = strip_global_options(ctx, words);
  if (!stripped) return stripped.take_error();
  if (stripped->empty()) {
    return make_error(Errc::invalid_argument,
                      "expected a program (usage: " + std::string(kExecUsage) + ")");
  }
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  std::vector<runtime::ProgramRecord> programs;
  Args rest(*stripped);
  while (!rest.empty()) {
    if (!is_handle_keyword(HandleKind::prog, rest[0])) {
      return make_error(Errc::invalid_argument, "expected a program handle, got '" + rest[0] +
                                                    "' (usage: " + std::string(kExecUsage) + ")");
    }
    auto match = resolve_handle(*rt, HandleKind::prog, rest);
    if (!match) return match.take_error();
    for (uint32_t id : match->ids) {
      auto record = rt->program(id);
      if (!record) return record.take_error();
      programs.push_back(std::move(*record));
    }
    rest = rest.subspan(match->consumed);
  }
  return supervise_command(ctx, *rt, programs, command);
}

}  // namespace userbpf::cli
