// Key hashing and comparison for the hash map family. Keys of 4 and 8 bytes (the common u32 and
// u64 keys) take one 64x64->128 multiply folded to 64 bits (the "mum" step of wyhash-style
// hashes), which spreads sequential, strided and random keys like a random function while
// costing a few cycles; other sizes fold 8-byte words through a murmur finalizer. A seed of 0
// (BPF_F_ZERO_SEED) gives the same hash in every process and run.
#pragma once

#include <cstdint>
#include <cstring>

namespace userbpf::maps {

inline uint64_t mum_fold(uint64_t a, uint64_t b) {
  unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

inline constexpr uint64_t kHashMultiplier = 0x9e3779b97f4a7c15ull;
// Keeps the zero key under the zero seed away from hash 0 (the tag of an empty bucket slot).
inline constexpr uint64_t kHashOffset = 0x2d358dccaa6c78a5ull;

inline uint32_t hash_key(const void* key, uint32_t size, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(key);
  if (size == 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return static_cast<uint32_t>(mum_fold(w ^ seed ^ kHashOffset, kHashMultiplier));
  }
  if (size == 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    return static_cast<uint32_t>(mum_fold(w ^ seed ^ kHashOffset, kHashMultiplier));
  }
  uint64_t h = seed ^ (uint64_t{size} * kHashMultiplier);
  uint32_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = fmix64(h ^ w) + kHashMultiplier;
  }
  if (i < size) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, size - i);
    h = fmix64(h ^ w ^ 0x5bd1e995u);
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

inline bool keys_equal(const void* a, const void* b, uint32_t size) {
  switch (size) {
    case 4: {
      uint32_t x, y;
      std::memcpy(&x, a, 4);
      std::memcpy(&y, b, 4);
      return x == y;
    }
    case 8: {
      uint64_t x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      return x == y;
    }
    default: return std::memcmp(a, b, size) == 0;
  }
}

}  // namespace userbpf::maps
