#include "hooks/task_identity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string_view>

namespace userbpf::hooks {
namespace {

// The whole of a small /proc file, or an empty string.
std::string_view read_small(const char* path, char* buf, size_t size) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  size_t len = 0;
  for (;;) {
    const ssize_t n = read(fd, buf + len, size - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
    if (len == size) break;
  }
  close(fd);
  return {buf, len};
}

template <class T>
bool parse_number(std::string_view& s, T& out) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return true;
}

// The rest of the line after "<key>:" in /proc/<tid>/status.
std::string_view status_field(std::string_view status, std::string_view key) {
  for (size_t at = 0; at < status.size();) {
    const size_t nl = status.find('\n', at);
    const std::string_view line = status.substr(at, nl == std::string_view::npos ? nl : nl - at);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':') {
      return line.substr(key.size() + 1);
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return {};
}

}  // namespace

std::optional<ProcTaskFacts> read_proc_task(pid_t tid) {
  char path[64];
  char buf[4096];
  ProcTaskFacts f;
  f.pid = tid;

  // stat: "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime ...". comm may
  // hold spaces and parentheses: it ends at the last ')'.
  std::snprintf(path, sizeof(path), "/proc/%d/stat", tid);
  std::string_view stat = read_small(path, buf, sizeof(buf));
  const size_t open_paren = stat.find('(');
  const size_t close_paren = stat.rfind(')');
  if (open_paren == std::string_view::npos || close_paren == std::string_view::npos ||
      close_paren < open_paren) {
    return std::nullopt;
  }
  f.comm = std::string(stat.substr(open_paren + 1, close_paren - open_paren - 1));
  std::string_view rest = stat.substr(close_paren + 1);
  // Fields 3.. follow; field 3 (state) is a letter.
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return std::nullopt;
  rest.remove_prefix(1);
  int64_t value = 0;
  for (int field = 4; field <= 22; ++field) {
    if (!parse_number(rest, value)) return std::nullopt;
    if (field == 4) f.ppid = static_cast<int32_t>(value);
    if (field == 19) f.nice = static_cast<int>(value);
    if (field == 22) {
      const long ticks = sysconf(_SC_CLK_TCK);
      f.start_ns = static_cast<uint64_t>(value) * (1'000'000'000ull / (ticks > 0 ? ticks : 100));
    }
  }

  std::snprintf(path, sizeof(path), "/proc/%d/status", tid);
  const std::string_view status = read_small(path, buf, sizeof(buf));
  std::string_view tgid = status_field(status, "Tgid");
  if (!parse_number(tgid, f.tgid)) return std::nullopt;
  std::string_view uids = status_field(status, "Uid");
  std::string_view gids = status_field(status, "Gid");
  for (int i = 0; i < 4; ++i) {
    parse_number(uids, f.uid[i]);
    parse_number(gids, f.gid[i]);
  }
  return f;
}

std::optional<helpers::TaskInfo> read_task_identity(pid_t tid) {
  auto facts = read_proc_task(tid);
  if (!facts) return std::nullopt;
  helpers::TaskInfo task;
  task.valid = true;
  task.pid = facts->pid;
  task.tgid = facts->tgid;
  task.uid = facts->uid[0];  // the real ids, as the kernel's cred->uid
  task.gid = facts->gid[0];
  task.comm = std::move(facts->comm);
  return task;
}

}  // namespace userbpf::hooks
