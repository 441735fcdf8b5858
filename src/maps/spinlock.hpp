// A spinlock that lives in shared memory: one 32-bit word, 0 = free, 1 = held. Lock-free
// std::atomic<uint32_t> is address-free, so the same word works across processes that map the
// same file. Used for hash buckets, tries, queues and for struct bpf_spin_lock in values.
#pragma once

#include <atomic>
#include <cstdint>

namespace userbpf::maps {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

inline void lock_word(std::atomic<uint32_t>& word) {
  while (word.exchange(1, std::memory_order_acquire) != 0) {
    while (word.load(std::memory_order_relaxed) != 0) cpu_relax();
  }
}

inline void unlock_word(std::atomic<uint32_t>& word) {
  word.store(0, std::memory_order_release);
}

// The shared-memory word behind a raw address inside a mapping (4-byte aligned).
inline std::atomic<uint32_t>& word_at(void* address) {
  static_assert(sizeof(std::atomic<uint32_t>) == 4 && std::atomic<uint32_t>::is_always_lock_free);
  return *static_cast<std::atomic<uint32_t>*>(address);
}

class SpinGuard {
 public:
  explicit SpinGuard(std::atomic<uint32_t>& word) : word_(word) { lock_word(word_); }
  ~SpinGuard() { unlock_word(word_); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  std::atomic<uint32_t>& word_;
};

}  // namespace userbpf::maps
