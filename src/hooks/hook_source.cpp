#include "hooks/hook_source.hpp"

namespace userbpf::hooks {

void SyscallInterest::add(const HookPoint& hook) {
  const bool entry = hook.phase == SyscallPhase::enter;
  if (hook.raw) {
    (entry ? all_enter : all_exit) = true;
  } else if (hook.nr >= 0 && static_cast<size_t>(hook.nr) < kMaxSyscalls) {
    (entry ? enter : exit).set(static_cast<size_t>(hook.nr));
  }
}

bool SyscallInterest::wants(SyscallPhase phase, int nr) const {
  const bool entry = phase == SyscallPhase::enter;
  if (entry ? all_enter : all_exit) return true;
  if (nr < 0 || static_cast<size_t>(nr) >= kMaxSyscalls) return false;
  return (entry ? enter : exit).test(static_cast<size_t>(nr));
}

}  // namespace userbpf::hooks
