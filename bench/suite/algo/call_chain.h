/* A chain of three bpf-to-bpf calls (functions that are never inlined, in eBPF and natively) per
 * round; the number of rounds (at most 1024) comes from the frame. */
#ifndef USERBPF_BENCH_SUITE_CALL_CHAIN_H
#define USERBPF_BENCH_SUITE_CALL_CHAIN_H

#include "suite_env.h"

static SUITE_NOINLINE __u64 suite_mix3(__u64 x) {
  x ^= x >> 29;
  return x * 0x9e3779b97f4a7c15ULL;
}

static SUITE_NOINLINE __u64 suite_mix2(__u64 x, __u64 y) {
  return suite_mix3(x + y) ^ (y << 3);
}

static SUITE_NOINLINE __u64 suite_mix1(__u64 x, __u32 round) {
  return suite_mix2(x, round) + 0x632be59bd9b4e019ULL;
}

SUITE_INLINE __u32 suite_call_chain(const __u8* data, const __u8* end) {
  if (data + SUITE_OFF_CALL_ROUNDS + 2 > end) return 0;
  __u32 rounds = *(const __u16*)(data + SUITE_OFF_CALL_ROUNDS);
  __u64 h = 1;
  for (__u32 i = 0; i < 1024; i++) {
    if (i >= rounds) break;
    h = suite_mix1(h, i);
  }
  return (__u32)(h ^ (h >> 32));
}

#endif
