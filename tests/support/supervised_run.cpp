#include "support/supervised_run.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

namespace userbpf::testing {

namespace fs = std::filesystem;

TempRuntime::TempRuntime(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  auto rt = runtime::Runtime::open(dir_ / "state");
  if (!rt) {
    error_ = rt.error().to_string();
    return;
  }
  rt_.emplace(std::move(*rt));
}

TempRuntime::~TempRuntime() {
  rt_.reset();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

Result<hooks::CommandOutcome> with_watchdog(
    hooks::PtraceSupervisor& supervisor, std::chrono::milliseconds limit,
    const std::function<Result<hooks::CommandOutcome>()>& start, bool* stopped_by_watchdog) {
  std::mutex m;
  std::condition_variable done_cv;
  bool done = false;
  bool fired = false;
  std::thread watchdog([&] {
    // SIGINT/SIGTERM/SIGCHLD belong to the supervising thread's sigtimedwait.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock lock(m);
    if (!done_cv.wait_for(lock, limit, [&] { return done; })) {
      fired = true;
      supervisor.request_stop();
    }
  });
  auto outcome = start();
  {
    std::lock_guard lock(m);
    done = true;
  }
  done_cv.notify_one();
  watchdog.join();
  if (stopped_by_watchdog) *stopped_by_watchdog = fired;
  return outcome;
}

UntracedProcess::UntracedProcess(const std::vector<std::string>& argv, const std::string& output) {
  pid_ = fork();
  if (pid_ != 0) return;
  if (!output.empty()) {
    const int fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

UntracedProcess::~UntracedProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool UntracedProcess::running() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) reaped_ = true;
  return r == 0;
}

int UntracedProcess::stop(int sig) {
  if (pid_ <= 0 || reaped_) return -1;
  kill(pid_, sig);
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      return status;
    }
    usleep(10000);
  }
  return -1;
}

size_t UntracedProcess::threads() const {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid_) + "/task", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

int UntracedProcess::status_field(const std::string& name) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0) return std::atoi(line.c_str() + name.size() + 1);
  }
  return -1;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace userbpf::testing
