// A pollable descriptor for the futex wake-ups of ringbuf and perf_event_array consumers.
//
// Producers signal a consumer through futex words in the map's shared file (any process may
// produce, so an eventfd could not be shared with them). poll()/epoll need a descriptor, so a
// WakeupFd runs one watcher thread that sleeps on all the words at once (futex_waitv; a sliced
// wait where the kernel lacks it) and makes an eventfd readable after every wake-up a producer
// signals. Readiness therefore follows the producer's wake-up decisions exactly as a kernel
// ringbuf or perf event fd does: BPF_RB_NO_WAKEUP commits leave it unreadable, forced ones make
// it readable. The consumer drains the eventfd before it consumes, so a wake-up that arrives
// during consumption leaves it readable again and none is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "userbpf/error.hpp"

namespace userbpf::maps {

class WakeupFd {
 public:
  // One futex word a producer bumps, and the count of sleepers it checks before FUTEX_WAKE.
  struct Word {
    std::atomic<uint32_t>* seq;
    std::atomic<uint32_t>* waiters;
  };

  static Result<std::unique_ptr<WakeupFd>> start(std::vector<Word> words);
  // Stops the watcher thread and closes the eventfd.
  ~WakeupFd();
  WakeupFd(const WakeupFd&) = delete;
  WakeupFd& operator=(const WakeupFd&) = delete;

  int fd() const { return fd_; }
  // Watches another set of words with the same descriptor (a consumer gained a ring).
  Status rewatch(std::vector<Word> words);
  // Resets readiness (reads the eventfd counter to zero).
  void drain();
  // Makes the descriptor readable (data is known to be left).
  void signal();

 private:
  WakeupFd() = default;
  Status start_thread();
  void stop_thread();
  void watch(std::vector<uint32_t> seen);

  std::vector<Word> words_;
  int fd_ = -1;
  std::atomic<uint32_t> stop_{0};  // futex word too: the destructor wakes the watcher with it
  std::thread thread_;
};

}  // namespace userbpf::maps
