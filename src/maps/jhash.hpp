// Bob Jenkins' lookup3 hash ("jhash" in Linux), written from the published algorithm. The bloom
// filter uses it so that with BPF_F_ZERO_SEED its bit positions, and so its false positives,
// are the same as the kernel's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace userbpf::maps {

inline uint32_t rotl32(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}

inline void jhash_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c, a ^= rotl32(c, 4), c += b;
  b -= a, b ^= rotl32(a, 6), a += c;
  c -= b, c ^= rotl32(b, 8), b += a;
  a -= c, a ^= rotl32(c, 16), c += b;
  b -= a, b ^= rotl32(a, 19), a += c;
  c -= b, c ^= rotl32(b, 4), b += a;
}

inline void jhash_final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b, c -= rotl32(b, 14);
  a ^= c, a -= rotl32(c, 11);
  b ^= a, b -= rotl32(a, 25);
  c ^= b, c -= rotl32(b, 16);
  a ^= c, a -= rotl32(c, 4);
  b ^= a, b -= rotl32(a, 14);
  c ^= b, c -= rotl32(b, 24);
}

// Hash of `length` bytes, little-endian 32-bit words as Linux reads them on x86.
inline uint32_t jhash(const void* data, size_t length, uint32_t initval) {
  const auto* k = static_cast<const uint8_t*>(data);
  uint32_t a = 0xdeadbeefu + static_cast<uint32_t>(length) + initval;
  uint32_t b = a;
  uint32_t c = a;
  auto word = [](const uint8_t* p) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    return w;
  };
  while (length > 12) {
    a += word(k);
    b += word(k + 4);
    c += word(k + 8);
    jhash_mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;
  // The last 1..12 bytes, zero-padded, fed as three words.
  uint8_t tail[12] = {};
  std::memcpy(tail, k, length);
  a += word(tail);
  b += word(tail + 4);
  c += word(tail + 8);
  jhash_final(a, b, c);
  return c;
}

}  // namespace userbpf::maps
