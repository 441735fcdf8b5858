/* 64-bit FNV-1a over every byte of the frame (up to SUITE_FRAME_BYTES), folded to 32 bits. */
#ifndef USERBPF_BENCH_SUITE_PACKET_HASH_H
#define USERBPF_BENCH_SUITE_PACKET_HASH_H

#include "suite_env.h"

SUITE_INLINE __u32 suite_packet_hash(const __u8* data, const __u8* end) {
  __u64 hash = 0xcbf29ce484222325ULL;
  for (__u32 i = 0; i < SUITE_FRAME_BYTES; i++) {
    if (data + i + 1 > end) break;
    hash ^= data[i];
    hash *= 0x100000001b3ULL;
  }
  return (__u32)(hash ^ (hash >> 32));
}

#endif
