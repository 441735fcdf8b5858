// The watcher behind a pollable consumer descriptor (see wakeup_fd.hpp).
#include "maps/wakeup_fd.hpp"

#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

namespace userbpf::maps {
namespace {

// Shared (not FUTEX_PRIVATE_FLAG) futexes: producers in other processes wake the map's words
// with a plain FUTEX_WAKE.
long futex_wait(std::atomic<uint32_t>* word, uint32_t seen, int timeout_ms) {
  timespec ts{timeout_ms / 1000, static_cast<long>(timeout_ms % 1000) * 1000000};
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, seen, &ts, nullptr, 0);
}

}  // namespace

Result<std::unique_ptr<WakeupFd>> WakeupFd::start(std::vector<Word> words) {
  std::unique_ptr<WakeupFd> w(new WakeupFd());
  w->fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->fd_ < 0)
    return make_error(Errc::io, std::string("eventfd for a consumer: ") + std::strerror(errno));
  w->words_ = std::move(words);
  if (Status started = w->start_thread(); !started) return started.take_error();
  return w;
}

Status WakeupFd::rewatch(std::vector<Word> words) {
  stop_thread();
  words_ = std::move(words);
  return start_thread();
}

Status WakeupFd::start_thread() {
  stop_.store(0);
  // The words' values now, before the thread runs: a wake-up between the caller's return and
  // the thread's first look must count.
  std::vector<uint32_t> seen(words_.size());
  for (size_t i = 0; i < words_.size(); ++i) seen[i] = words_[i].seq->load();
  try {
    thread_ = std::thread([this, seen = std::move(seen)]() mutable { watch(std::move(seen)); });
  } catch (const std::system_error& e) {
    return make_error(Errc::io, std::string("consumer watcher thread: ") + e.what());
  }
  return ok_status();
}

void WakeupFd::stop_thread() {
  if (!thread_.joinable()) return;
  stop_.store(1, std::memory_order_seq_cst);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&stop_), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  thread_.join();
}

WakeupFd::~WakeupFd() {
  stop_thread();
  if (fd_ >= 0) close(fd_);
}

void WakeupFd::drain() {
  uint64_t count;
  while (read(fd_, &count, sizeof(count)) == sizeof(count)) {
  }
}

void WakeupFd::signal() {
  const uint64_t one = 1;
  // EAGAIN only when the counter is about to overflow: it is readable then anyway.
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof(one));
}

void WakeupFd::watch(std::vector<uint32_t> seen) {
  bool use_waitv = words_.size() + 1 <= FUTEX_WAITV_MAX;
  std::vector<futex_waitv> waiters(words_.size() + 1);
  while (stop_.load(std::memory_order_seq_cst) == 0) {
    // Announce the sleeper before the last look at the words: a producer bumps its word and
    // then checks for sleepers, so either it wakes us or we see its bump here.
    for (const Word& w : words_) w.waiters->fetch_add(1, std::memory_order_seq_cst);
    bool changed = false;
    for (size_t i = 0; i < words_.size(); ++i)
      changed |= words_[i].seq->load(std::memory_order_seq_cst) != seen[i];
    if (!changed) {
      if (use_waitv) {
        for (size_t i = 0; i < words_.size(); ++i) {
          waiters[i] = {};
          waiters[i].val = seen[i];
          waiters[i].uaddr = reinterpret_cast<uintptr_t>(words_[i].seq);
          waiters[i].flags = FUTEX_32;
        }
        waiters.back() = {};
        waiters.back().val = 0;
        waiters.back().uaddr = reinterpret_cast<uintptr_t>(&stop_);
        waiters.back().flags = FUTEX_32;
        const long r = syscall(SYS_futex_waitv, waiters.data(),
                               static_cast<unsigned>(waiters.size()), 0, nullptr, CLOCK_MONOTONIC);
        // Anything but a wake-up, a changed word or a signal: this kernel (or a seccomp policy)
        // does not give us futex_waitv; fall back to sliced waits.
        if (r < 0 && errno != EAGAIN && errno != EINTR) use_waitv = false;
      } else {
        // One word at a time, short slices so every word and the stop request are noticed.
        const int slice = words_.size() == 1 ? 50 : 1;
        for (size_t i = 0; i < words_.size() && stop_.load() == 0; ++i)
          if (futex_wait(words_[i].seq, seen[i], slice) == 0) break;
      }
    }
    for (const Word& w : words_) w.waiters->fetch_sub(1, std::memory_order_seq_cst);
    changed = false;
    for (size_t i = 0; i < words_.size(); ++i) {
      const uint32_t now = words_[i].seq->load(std::memory_order_seq_cst);
      if (now != seen[i]) {
        changed = true;
        seen[i] = now;
      }
    }
    if (changed) signal();
  }
}

}  // namespace userbpf::maps
