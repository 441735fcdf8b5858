// Copying map values as Linux's copy_map_value family does: the `struct bpf_spin_lock` word
// inside a value belongs to the map and is never overwritten by a copy; BPF_F_LOCK copies hold
// that lock; values copied out to user space show the lock word as zero.
#pragma once

#include <cstdint>
#include <cstring>

#include "maps/spinlock.hpp"

namespace userbpf::maps {

inline constexpr uint32_t kSpinLockSize = 4;  // sizeof(struct bpf_spin_lock)

inline uint32_t round_up8(uint32_t n) {
  return (n + 7u) & ~7u;
}

// Copies `size` bytes except the lock word at `lock_off` (when >= 0).
inline void copy_value(void* dst, const void* src, uint32_t size, int32_t lock_off) {
  if (lock_off < 0) {
    std::memcpy(dst, src, size);
    return;
  }
  auto* d = static_cast<uint8_t*>(dst);
  const auto* s = static_cast<const uint8_t*>(src);
  uint32_t off = static_cast<uint32_t>(lock_off);
  std::memcpy(d, s, off);
  std::memcpy(d + off + kSpinLockSize, s + off + kSpinLockSize, size - off - kSpinLockSize);
}

// copy_value while holding the spinlock found at `lock_off` inside `locked_value` (which is the
// map's copy: `dst` when writing into the map, `src` when reading out of it).
inline void copy_value_locked(void* dst, const void* src, uint32_t size, int32_t lock_off,
                              void* locked_value) {
  auto& word = word_at(static_cast<uint8_t*>(locked_value) + lock_off);
  SpinGuard guard(word);
  copy_value(dst, src, size, lock_off);
}

inline void zero_lock_word(void* value, int32_t lock_off) {
  if (lock_off >= 0) std::memset(static_cast<uint8_t*>(value) + lock_off, 0, kSpinLockSize);
}

}  // namespace userbpf::maps
