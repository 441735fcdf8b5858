// Facts the supervisor reads from a stopped tracee at its syscall and event stops: the file name
// an execve/execveat runs (the kernel's bprm->filename) and whether a clone made a thread.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace userbpf::hooks {

// bprm->filename of execve(path, ...) or execveat(dirfd, path, ..., flags) given the syscall's
// arguments: the path as given when absolute or relative to AT_FDCWD, "/dev/fd/<dirfd>" for
// AT_EMPTY_PATH with an empty path, "/dev/fd/<dirfd>/<path>" otherwise. nullopt when the path is
// not readable.
std::optional<std::string> exec_filename(pid_t tid, int nr, const std::array<uint64_t, 6>& args);

// At a PTRACE_EVENT_CLONE stop: did the clone/clone3 syscall in `regs` create a thread
// (CLONE_THREAD)? false when it cannot tell.
bool clone_made_thread(pid_t tid, const user_regs_struct& regs);

}  // namespace userbpf::hooks
