#include "hooks/hook_source.hpp"

#include <asm/unistd_64.h>

namespace userbpf::hooks {

void HookInterest::add(const HookPoint& hook) {
  switch (hook.kind) {
    case HookKind::process_exec: process_exec = true; return;
    case HookKind::process_fork: process_fork = true; return;
    case HookKind::process_exit: process_exit = true; return;
    case HookKind::raw_syscalls:
      (hook.phase == SyscallPhase::enter ? all_enter : all_exit) = true;
      return;
    case HookKind::syscall_tracepoint:
    case HookKind::syscall_kprobe:
      if (hook.nr >= 0 && static_cast<size_t>(hook.nr) < kMaxSyscalls) {
        (hook.phase == SyscallPhase::enter ? enter : exit).set(static_cast<size_t>(hook.nr));
      }
      return;
    case HookKind::uprobe:
      if (hook.uprobe) add_uprobe(*hook.uprobe);
      return;
  }
}

uint32_t HookInterest::add_uprobe(const UprobeTarget& target) {
  for (size_t i = 0; i < uprobes.size(); ++i) {
    const UprobeTarget& u = uprobes[i];
    if (u.dev == target.dev && u.ino == target.ino && u.file_offset == target.file_offset &&
        u.retprobe == target.retprobe) {
      return static_cast<uint32_t>(i);
    }
  }
  uprobes.push_back(target);
  return static_cast<uint32_t>(uprobes.size() - 1);
}

bool HookInterest::watches_mappings() const {
  for (const UprobeTarget& u : uprobes) {
    if (u.library) return true;
  }
  return false;
}

void HookInterest::add_exit(int nr) {
  if (nr >= 0 && static_cast<size_t>(nr) < kMaxSyscalls) exit.set(static_cast<size_t>(nr));
}

void HookInterest::add_optional_exit(int nr) {
  if (nr >= 0 && static_cast<size_t>(nr) < kMaxSyscalls) optional_exit.set(static_cast<size_t>(nr));
}

bool HookInterest::wants(SyscallPhase phase, int nr) const {
  const bool entry = phase == SyscallPhase::enter;
  if (entry ? all_enter : all_exit) return true;
  if (nr < 0 || static_cast<size_t>(nr) >= kMaxSyscalls) return false;
  if (entry) return enter.test(static_cast<size_t>(nr));
  return exit.test(static_cast<size_t>(nr)) || optional_exit.test(static_cast<size_t>(nr));
}

bool HookInterest::needs_syscall_stops() const {
  return all_enter || all_exit || enter.any() || exit.any() || process_exec || watches_mappings();
}

bool HookInterest::stops_at(int nr) const {
  if (all_enter || all_exit || wants_any(nr)) return true;
  if (process_exec && (nr == __NR_execve || nr == __NR_execveat)) return true;
  return (nr == __NR_mmap || nr == __NR_mprotect) && watches_mappings();
}

}  // namespace userbpf::hooks
