#include "hooks/hook_point.hpp"

#include "hooks/syscall_table.hpp"

namespace userbpf::hooks {
namespace {

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

Error unsupported(std::string_view section) {
  return make_error(Errc::unsupported,
                    "section '" + std::string(section) + "' names no hook userbpf can attach");
}

}  // namespace

std::string HookPoint::name() const {
  const char* which = phase == SyscallPhase::enter ? "enter" : "exit";
  if (raw) return std::string("raw_tracepoint/sys_") + which;
  return std::string("tracepoint/syscalls/sys_") + which + "_" + std::string(syscall_name(nr));
}

Result<HookPoint> parse_hook_point(std::string_view section) {
  std::string_view rest = section;
  HookPoint hook;
  if (consume(rest, "raw_tracepoint/") || consume(rest, "raw_tp/")) {
    hook.raw = true;
    if (rest == "sys_enter") return hook;
    if (rest == "sys_exit") {
      hook.phase = SyscallPhase::exit;
      return hook;
    }
    return unsupported(section);
  }
  if (!consume(rest, "tracepoint/") && !consume(rest, "tp/")) return unsupported(section);
  if (!consume(rest, "syscalls/")) return unsupported(section);
  if (consume(rest, "sys_enter_")) {
    hook.phase = SyscallPhase::enter;
  } else if (consume(rest, "sys_exit_")) {
    hook.phase = SyscallPhase::exit;
  } else {
    return unsupported(section);
  }
  const std::optional<int> nr = syscall_number(rest);
  if (!nr) {
    return make_error(Errc::not_found, "section '" + std::string(section) + "': no syscall '" +
                                           std::string(rest) + "' on this host");
  }
  hook.nr = *nr;
  return hook;
}

}  // namespace userbpf::hooks
