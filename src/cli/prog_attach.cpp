// `prog attach PROG [ATTACH_TYPE TARGET] [cookie N]` and `prog detach PROG [ATTACH_TYPE TARGET]`.
// The tutorial's `prog attach PROG_ID tracepoint syscalls:sys_enter_execve` makes a persistent
// link: from then on `userbpf exec -- COMMAND` (and a shell started that way) fires the program,
// until `prog detach` or `link detach`. Without ATTACH_TYPE the program attaches where its SEC()
// name says, as libbpf's auto-attach does.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/command_args.hpp"
#include "cli/link.hpp"
#include "cli/runtime_access.hpp"
#include "hooks/attach_check.hpp"

namespace userbpf::cli {
namespace {

constexpr std::string_view kAttachUsage = "prog attach PROG [ATTACH_TYPE TARGET] [cookie N]";
constexpr std::string_view kDetachUsage = "prog detach PROG [ATTACH_TYPE TARGET]";

// bpftool's attach types for cgroups, sockets and the flow dissector: kernel objects user space
// does not have.
bool is_kernel_only_attach_type(std::string_view word) {
  for (std::string_view t : {"sk_msg_verdict", "sk_skb_verdict", "sk_skb_stream_verdict",
                             "sk_skb_stream_parser", "flow_dissector", "cgroup_inet_ingress",
                             "cgroup_inet_egress", "cgroup_device", "sk_lookup"}) {
    if (word == t) return true;
  }
  return false;
}

Error usage_error(std::string_view what, std::string_view usage) {
  return make_error(Errc::invalid_argument,
                    std::string(what) + " (usage: " + std::string(usage) + ")");
}

struct AttachRequest {
  runtime::ProgramRecord program;
  std::string target;
  uint64_t cookie = 0;
};

Result<AttachRequest> parse_request(Context& ctx, runtime::Runtime& rt, Args args,
                                    std::string_view usage, bool allow_cookie) {
  auto words = strip_global_options(ctx, args);
  if (!words) return words.take_error();
  Args rest(*words);
  auto match = resolve_single(rt, HandleKind::prog, rest);
  if (!match) return match.take_error();
  rest = rest.subspan(match->consumed);
  auto program = rt.program(match->ids[0]);
  if (!program) return program.take_error();
  AttachRequest request{std::move(*program), {}, 0};
  if (!rest.empty() && rest[0] != "cookie") {
    size_t consumed = 0;
    auto target = hook_target_from_words(rest, consumed);
    if (!target) return target.take_error();
    request.target = std::move(*target);
    rest = rest.subspan(consumed);
  } else {
    request.target = request.program.section;  // auto-attach by SEC() name
  }
  if (allow_cookie && rest.size() >= 2 && rest[0] == "cookie") {
    auto cookie = parse_unsigned(rest[1], "cookie");
    if (!cookie) return cookie.take_error();
    request.cookie = *cookie;
    rest = rest.subspan(2);
  }
  if (!rest.empty()) return usage_error("unexpected '" + rest[0] + "'", usage);
  return request;
}

}  // namespace

Result<std::string> hook_target_from_words(Args words, size_t& consumed) {
  const std::string& type = words[0];
  if (is_kernel_only_attach_type(type)) {
    return make_error(Errc::unsupported, "attach type '" + type +
                                             "' needs a kernel object (cgroup, socket map, "
                                             "network namespace) that userbpf does not have");
  }
  static const std::string_view kTyped[] = {"tracepoint", "raw_tracepoint", "kprobe",
                                            "kretprobe",  "ksyscall",       "kretsyscall",
                                            "uprobe",     "uretprobe",      "usdt"};
  bool known = false;
  for (std::string_view t : kTyped) known |= type == t;
  if (!known) return usage_error("unknown attach type '" + type + "'", kAttachUsage);
  if (words.size() < 2) {
    return usage_error("attach type '" + type + "' needs a target", kAttachUsage);
  }
  consumed = 2;
  std::string target = words[1];
  if (type == "tracepoint") {
    // The tutorial's CATEGORY:NAME (perf's spelling) or CATEGORY/NAME (libbpf's).
    const size_t sep = target.find_first_of(":/");
    if (sep == std::string::npos || sep == 0 || sep + 1 == target.size()) {
      return make_error(Errc::invalid_argument, "tracepoint '" + target +
                                                    "' is not CATEGORY:NAME (e.g. "
                                                    "syscalls:sys_enter_execve)");
    }
    target[sep] = '/';
  }
  return type + "/" + target;
}

Status do_prog_attach(Context& ctx, Args args) {
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto request = parse_request(ctx, *rt, args, kAttachUsage, true);
  if (!request) return request.take_error();
  if (Status s = hooks::check_attach(request->program, request->target); !s) return s;
  runtime::LinkOptions options;
  options.cookie = request->cookie;
  options.persistent = true;
  auto link = rt->create_link(request->program.id, request->target, options);
  if (!link) return link.take_error();
  // bpftool prints nothing; the link id is what `link detach` needs, so -d and -j give it.
  if (ctx.json) ctx.print_json({{"link_id", link->id}});
  if (ctx.debug) ctx.err << "link " << link->id << ": " << request->target << "\n";
  return ok_status();
}

Status do_prog_detach(Context& ctx, Args args) {
  auto rt = open_runtime(ctx);
  if (!rt) return rt.take_error();
  auto request = parse_request(ctx, *rt, args, kDetachUsage, false);
  if (!request) return request.take_error();
  size_t detached = 0;
  for (const runtime::LinkRecord& link : rt->links()) {
    if (link.prog_id != request->program.id || link.target != request->target) continue;
    if (Status s = rt->detach_link(link.id); !s) return s;
    ++detached;
  }
  if (detached == 0) {
    return make_error(Errc::not_found, "prog " + std::to_string(request->program.id) +
                                           " is not attached to " + request->target);
  }
  if (ctx.json) ctx.print_json(nullptr);
  return ok_status();
}

}  // namespace userbpf::cli
