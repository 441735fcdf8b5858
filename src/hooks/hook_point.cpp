#include "hooks/hook_point.hpp"

#include "hooks/syscall_table.hpp"

namespace userbpf::hooks {
namespace {

constexpr std::string_view kWrapperPrefix = "__x64_sys_";

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

Error unsupported(std::string_view section) {
  return make_error(Errc::unsupported,
                    "section '" + std::string(section) + "' names no hook userbpf can attach");
}

Result<int> syscall_of(std::string_view section, std::string_view name) {
  const std::optional<int> nr = syscall_number(name);
  if (!nr) {
    return make_error(Errc::not_found, "section '" + std::string(section) + "': no syscall '" +
                                           std::string(name) + "' on this host");
  }
  return *nr;
}

// kprobe/<function>: only the x86-64 syscall wrappers (__x64_sys_<name>) exist in the runtime's
// kernel. libbpf's `ksyscall/<name>` resolves to the same wrapper (the kernel has them).
Result<HookPoint> parse_kprobe(std::string_view section, std::string_view target,
                               SyscallPhase phase, bool syscall_form) {
  HookPoint hook;
  hook.kind = HookKind::syscall_kprobe;
  hook.phase = phase;
  if (!syscall_form) {
    if (target.find('+') != std::string_view::npos && !target.ends_with("+0")) {
      return make_error(Errc::unsupported, "section '" + std::string(section) +
                                               "': kprobes at an offset inside a function are "
                                               "not supported, only function entry");
    }
    if (target.ends_with("+0")) target.remove_suffix(2);
    if (!consume(target, kWrapperPrefix)) {
      if (target.starts_with("sys_") && syscall_number(target.substr(4))) {
        return make_error(Errc::not_found,
                          "section '" + std::string(section) + "': the runtime's kernel has " +
                              "x86-64 syscall wrappers; attach to __x64_" + std::string(target) +
                              " or use ksyscall/" + std::string(target.substr(4)));
      }
      return unsupported(section);
    }
  }
  if (target.empty()) return unsupported(section);  // SEC("ksyscall"): attached by hand only
  auto nr = syscall_of(section, target);
  if (!nr) return nr.take_error();
  hook.nr = *nr;
  return hook;
}

Result<HookPoint> parse_sched(std::string_view section, std::string_view event) {
  HookPoint hook;
  if (event == "sched_process_exec") {
    hook.kind = HookKind::process_exec;
  } else if (event == "sched_process_fork") {
    hook.kind = HookKind::process_fork;
  } else if (event == "sched_process_exit") {
    hook.kind = HookKind::process_exit;
  } else {
    return unsupported(section);
  }
  return hook;
}

}  // namespace

std::string HookPoint::name() const {
  const char* which = phase == SyscallPhase::enter ? "enter" : "exit";
  switch (kind) {
    case HookKind::raw_syscalls: return std::string("raw_tracepoint/sys_") + which;
    case HookKind::syscall_tracepoint:
      return std::string("tracepoint/syscalls/sys_") + which + "_" + std::string(syscall_name(nr));
    case HookKind::syscall_kprobe:
      return std::string(phase == SyscallPhase::enter ? "kprobe/" : "kretprobe/") +
             std::string(kWrapperPrefix) + std::string(syscall_name(nr));
    case HookKind::process_exec: return "tracepoint/sched/sched_process_exec";
    case HookKind::process_fork: return "tracepoint/sched/sched_process_fork";
    case HookKind::process_exit: return "tracepoint/sched/sched_process_exit";
    case HookKind::uprobe: return uprobe ? uprobe->name() : "uprobe";
  }
  return {};
}

Result<HookPoint> uprobe_hook_point(std::string_view path, const UprobeFunc& func, bool retprobe) {
  auto target = resolve_uprobe(path, func, retprobe);
  if (!target) return target.take_error();
  HookPoint hook;
  hook.kind = HookKind::uprobe;
  hook.phase = retprobe ? SyscallPhase::exit : SyscallPhase::enter;
  hook.uprobe = std::make_shared<const UprobeTarget>(std::move(*target));
  return hook;
}

Result<HookPoint> parse_hook_point(std::string_view section) {
  std::string_view rest = section;
  HookPoint hook;
  if (is_uprobe_section(section)) {
    auto parsed = parse_uprobe_section(section);
    if (!parsed) return parsed.take_error();
    if (!parsed->has_target) {
      return make_error(Errc::unsupported, "section '" + std::string(section) +
                                               "' names no file and function: a bare uprobe "
                                               "attaches only through an explicit target");
    }
    return uprobe_hook_point(parsed->path, parsed->func, parsed->retprobe);
  }
  if (consume(rest, "raw_tracepoint/") || consume(rest, "raw_tp/")) {
    hook.kind = HookKind::raw_syscalls;
    if (rest == "sys_enter") return hook;
    if (rest == "sys_exit") {
      hook.phase = SyscallPhase::exit;
      return hook;
    }
    return unsupported(section);
  }
  if (consume(rest, "kprobe/")) return parse_kprobe(section, rest, SyscallPhase::enter, false);
  if (consume(rest, "kretprobe/")) return parse_kprobe(section, rest, SyscallPhase::exit, false);
  if (consume(rest, "ksyscall/")) return parse_kprobe(section, rest, SyscallPhase::enter, true);
  if (consume(rest, "kretsyscall/")) return parse_kprobe(section, rest, SyscallPhase::exit, true);
  if (!consume(rest, "tracepoint/") && !consume(rest, "tp/")) return unsupported(section);
  if (consume(rest, "sched/")) return parse_sched(section, rest);
  if (!consume(rest, "syscalls/")) return unsupported(section);
  if (consume(rest, "sys_enter_")) {
    hook.phase = SyscallPhase::enter;
  } else if (consume(rest, "sys_exit_")) {
    hook.phase = SyscallPhase::exit;
  } else {
    return unsupported(section);
  }
  auto nr = syscall_of(section, rest);
  if (!nr) return nr.take_error();
  hook.nr = *nr;
  return hook;
}

}  // namespace userbpf::hooks
