// What the hook tests share: a temporary directory with a private runtime, a supervisor run or
// attach bounded by a watchdog (a bug detaches instead of hanging the test binary), and processes
// started WITHOUT supervision for the attach tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hooks/supervisor.hpp"
#include "runtime/runtime.hpp"

namespace userbpf::testing {

// A fresh /tmp directory (removed at destruction) holding a runtime state directory "state".
class TempRuntime {
 public:
  explicit TempRuntime(const std::string& prefix);
  ~TempRuntime();
  TempRuntime(const TempRuntime&) = delete;
  TempRuntime& operator=(const TempRuntime&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // The runtime; nullptr when the directory or the runtime could not be made (the error in
  // error()).
  runtime::Runtime* runtime() { return rt_ ? &*rt_ : nullptr; }
  const std::string& error() const { return error_; }

 private:
  std::filesystem::path dir_;
  std::optional<runtime::Runtime> rt_;
  std::string error_;
};

// Calls `start` (a supervisor's run or attach) while a watchdog asks `supervisor` to stop after
// `limit`. `stopped_by_watchdog` (if given) tells whether that happened.
Result<hooks::CommandOutcome> with_watchdog(
    hooks::PtraceSupervisor& supervisor, std::chrono::milliseconds limit,
    const std::function<Result<hooks::CommandOutcome>()>& start,
    bool* stopped_by_watchdog = nullptr);

// A process started with fork and exec, untraced (stdout and stderr to `output` when given);
// killed with SIGKILL and reaped at destruction unless already reaped.
class UntracedProcess {
 public:
  explicit UntracedProcess(const std::vector<std::string>& argv, const std::string& output = "");
  ~UntracedProcess();
  UntracedProcess(const UntracedProcess&) = delete;
  UntracedProcess& operator=(const UntracedProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Still running (not exited, not reaped).
  bool running();
  // Sends `sig` and waits for the end; returns the wait status, or -1 when it did not end
  // within 10 s.
  int stop(int sig);
  // The number of threads in /proc/PID/task.
  size_t threads() const;
  // "Seccomp:" and "TracerPid:" of /proc/PID/status (-1 when unreadable).
  int status_field(const std::string& name) const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Polls `done` every 10 ms until it holds or `limit` passes; returns its last value.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(10));

}  // namespace userbpf::testing
