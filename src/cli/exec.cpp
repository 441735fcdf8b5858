// `userbpf exec [PROG...] -- COMMAND [ARGS]`: runs COMMAND under supervision with programs
// attached. Given programs (PROG := { id ID | pinned PATH | tag TAG | name NAME }, as bpftool),
// each attaches where its section name says and exec prints their trace_pipe lines, as `run`
// does. Given none, the runtime's links (`prog attach`) say what runs where, and trace output
// stays in the trace buffer for `userbpf trace_pipe`: the tutorial's flow, with exec standing in
// for "every process on the machine".
#include "cli/runtime_access.hpp"
#include "cli/supervise.hpp"

namespace userbpf::cli {
namespace {
constexpr std::string_view kExecUsage = "exec [PROG...] -- COMMAND [ARGS]";

Result<std::vector<Attachment>> linked_attachments(runtime::Runtime& rt) {
  std::vector<Attachment> out;
  for (const runtime::LinkRecord& link : rt.links()) {
    auto program = rt.program(link.prog_id);
    if (!program) continue;  // unloaded since: the link is gone with it
    out.push_back({std::move(*program), link.target, link.cookie});
  }
  if (out.empty()) {
    return make_error(Errc::not_found,
                      "no program is attached: attach one with 'prog attach PROG ATTACH_TYPE "
                      "TARGET' or name programs before '--' (usage: " +
                          std::string(kExecUsage) + ")");
  }
  return out;
}
}  // namespace

Status do_exec(Context& ctx, Args args) {
  std::vector<std::string> words, command;
  if (Status s = split_command(kExecUsage, args, words, command); !s) return s;
  auto stripped = strip_global_options(ctx, words);
  if (!stripped) return stripped.take_error();
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  if (stripped->empty()) {
    auto attachments = linked_attachments(*rt);
    if (!attachments) return attachments.take_error();
    SuperviseOptions options;
    options.print_trace = false;
    return supervise_command(ctx, *rt, *attachments, command, options);
  }
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
  return supervise_command(ctx, *rt, attach_by_section(programs), command, SuperviseOptions{});
}

}  // namespace userbpf::cli
