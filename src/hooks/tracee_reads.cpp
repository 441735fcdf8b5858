#include "hooks/tracee_reads.hpp"

#include <asm/unistd_64.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <linux/sched.h>

#include "helpers/safe_memory.hpp"

namespace userbpf::hooks {

std::optional<std::string> exec_filename(pid_t tid, int nr, const std::array<uint64_t, 6>& args) {
  const bool at = nr == __NR_execveat;
  if (!at && nr != __NR_execve) return std::nullopt;
  std::string path;
  if (helpers::read_string_nofault_in(tid, at ? args[1] : args[0], path, PATH_MAX) < 0) {
    return std::nullopt;
  }
  if (!at || path.starts_with('/')) return path;
  const int dirfd = static_cast<int>(args[0]);
  const int flags = static_cast<int>(args[4]);
  if (dirfd == AT_FDCWD) return path;
  std::string dev_fd = "/dev/fd/" + std::to_string(dirfd);
  if (path.empty() && (flags & AT_EMPTY_PATH)) return dev_fd;
  return dev_fd + "/" + path;
}

bool clone_made_thread(pid_t tid, const user_regs_struct& regs) {
  // At the event stop orig_rax still names the syscall and rdi its first argument.
  uint64_t flags = 0;
  if (regs.orig_rax == __NR_clone) {
    flags = regs.rdi;
  } else if (regs.orig_rax == __NR_clone3) {
    // struct clone_args starts with the u64 flags.
    if (!helpers::read_nofault_in(tid, regs.rdi, &flags, sizeof(flags))) return false;
  } else {
    return false;
  }
  return (flags & CLONE_THREAD) != 0;
}

}  // namespace userbpf::hooks
