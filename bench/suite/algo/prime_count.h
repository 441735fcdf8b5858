/* Bounded prime count: how many n below the frame's limit (a __u16) are prime, by trial
 * division. The outer loop runs through bpf_loop (its trip count comes from the packet, so the
 * verifier cannot unroll it); the inner loop is bounded by 256 (n < 65536). */
#ifndef USERBPF_BENCH_SUITE_PRIME_COUNT_H
#define USERBPF_BENCH_SUITE_PRIME_COUNT_H

#include "suite_env.h"

struct suite_prime_state {
  __u32 count;
};

SUITE_INLINE __u32 suite_is_prime(__u32 n) {
  if (n < 2) return 0;
  for (__u32 d = 2; d < 256; d++) {
    if (d * d > n) break;
    if (n % d == 0) return 0;
  }
  return 1;
}

static long suite_prime_step(__u32 index, void* ctx) {
  struct suite_prime_state* state = ctx;
  state->count += suite_is_prime(index);
  return 0;
}

SUITE_INLINE __u32 suite_prime_count(const __u8* data, const __u8* end) {
  if (data + SUITE_OFF_PRIME_LIMIT + 2 > end) return 0;
  __u32 limit = *(const __u16*)(data + SUITE_OFF_PRIME_LIMIT);
  struct suite_prime_state state = {0};
  SUITE_LOOP(limit, suite_prime_step, &state);
  return state.count;
}

#endif
