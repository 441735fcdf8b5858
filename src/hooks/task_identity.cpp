#include "hooks/task_identity.hpp"

#include <fstream>
#include <sstream>
#include <string>

namespace userbpf::hooks {

std::optional<helpers::TaskInfo> read_task_identity(pid_t tid) {
  const std::string dir = "/proc/" + std::to_string(tid);
  std::ifstream status(dir + "/status");
  if (!status) return std::nullopt;
  helpers::TaskInfo task;
  task.valid = true;
  task.pid = tid;
  bool have_tgid = false;
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "Tgid:") {
      have_tgid = static_cast<bool>(fields >> task.tgid);
    } else if (key == "Uid:") {
      fields >> task.uid;  // the real id comes first, as the kernel's cred->uid
    } else if (key == "Gid:") {
      fields >> task.gid;
    }
  }
  if (!have_tgid) return std::nullopt;
  // comm as the task has it (status escapes some bytes; comm does not).
  std::ifstream comm(dir + "/comm");
  std::getline(comm, task.comm);
  return task;
}

}  // namespace userbpf::hooks
