// Who a thread is, as the kernel's task_struct would answer: ids, parent, credentials, comm, nice
// and start time, read from /proc/<tid>/stat and /proc/<tid>/status with plain read(2)s (no
// streams: this runs when a traced thread is first seen and after identity changes).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "helpers/environment.hpp"

namespace userbpf::hooks {

struct ProcTaskFacts {
  int32_t pid = 0;   // the thread id
  int32_t tgid = 0;  // its process
  int32_t ppid = 0;  // the parent process (0 at the top of the pid namespace)
  // Real, effective, saved and filesystem ids, in /proc's order.
  uint32_t uid[4] = {};
  uint32_t gid[4] = {};
  std::string comm;       // unescaped, at most 15 bytes
  int nice = 0;           // prio = 120 + nice for normal tasks
  uint64_t start_ns = 0;  // since boot
};

// nullopt when the thread is gone (or /proc is not mounted).
std::optional<ProcTaskFacts> read_proc_task(pid_t tid);

// The TaskInfo helpers report, from /proc.
std::optional<helpers::TaskInfo> read_task_identity(pid_t tid);

}  // namespace userbpf::hooks
