// Who a traced thread is, as the kernel's current task would answer: pid (thread id), tgid,
// real uid/gid and comm, read from /proc.
#pragma once

#include <sys/types.h>

#include <optional>

#include "helpers/environment.hpp"

namespace userbpf::hooks {

// nullopt when the thread is gone (or /proc is not mounted).
std::optional<helpers::TaskInfo> read_task_identity(pid_t tid);

}  // namespace userbpf::hooks
